/**
 * The three FIS write calls as the simulator answers them: the state machine READY ->
 * ACKNOWLEDGED -> POSTING_CONFIRMED_SUCCESS | POSTING_CONFIRMED_FAILURE, one result per document
 * with Concur's service codes, and whole-request refusals (HTTP 400) for bodies it cannot read.
 */
import type { DocumentStore, StoredDocument } from './simulator-state.ts';

export type WriteAnswer =
  | { readonly status: 200; readonly results: readonly object[] }
  | { readonly status: 400; readonly message: string };

export interface WriteContext {
  readonly store: DocumentStore;
  readonly docType: string;
  /** The company's configured ERP system id; when set, any other systemId gets 99. */
  readonly systemId?: string;
  /** One seeded draw per document: true answers 199. */
  readonly drawFault: () => boolean;
}

const MESSAGES: Readonly<Record<number, string>> = {
  0: '',
  99: 'System ID in request does not match system ID in FI database.',
  102: 'This document has been recalled.',
  103: 'This document is not ready.',
  104: 'This document does not exist in the FI database.',
  105: 'This document is not of type',
  111: 'This document has not been acknowledged.',
  112: 'This document has been recalled.',
  113: 'Confirmation has been posted for this document.',
  114: 'Document is not in a known state.',
  115: 'This document is not of type',
  116: 'This document does not exist in the FI database.',
  198: 'Invalid request - this same request will not work if tried again.',
  199: 'Unknown error, please try again later.',
};

type Fields = Readonly<Record<string, unknown>>;

function parseBody(body: string): Fields | string {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Fields;
    return 'The request body must be a JSON object.';
  } catch {
    return 'The request body is not valid JSON.';
  }
}

/** systemId: a string of at most 50 characters; required unless `optional` (the acknowledgement example omits it). */
function readSystemId(body: Fields, optional: boolean): string | { readonly error: string } {
  const value = body.systemId;
  if ((value === undefined || value === null) && optional) return '';
  if (typeof value !== 'string') return { error: 'systemId is required (it may be an empty string).' };
  if (value.length > 50) return { error: 'systemId must be at most 50 characters.' };
  return value;
}

function result(key: string, code: number, docId: unknown, systemId: string, value: string, detailMessage = '', errorMessage: string | null = MESSAGES[code] ?? ''): object {
  return { code, docId: typeof docId === 'string' ? docId : null, systemId, [key]: value, errorMessage, detailMessage };
}

/** The checks every call runs first, in Concur's order; a code, or the document when they pass. */
function locate(ctx: WriteContext, docId: unknown, systemId: string, codes: { readonly missing: number; readonly type: number; readonly recalled: number }, checkOwner: boolean): StoredDocument | number {
  if (ctx.drawFault()) return 199;
  const document = typeof docId === 'string' ? ctx.store.get(docId) : undefined;
  if (!document) return codes.missing;
  if (document.docType !== ctx.docType) return codes.type;
  if (document.recalled) return codes.recalled;
  if (ctx.systemId !== undefined && systemId !== ctx.systemId) return 99;
  if (checkOwner && document.erpSystemId !== null && document.erpSystemId !== systemId) return 99;
  return document;
}

export function acknowledge(ctx: WriteContext, body: string): WriteAnswer {
  const parsed = parseBody(body);
  if (typeof parsed === 'string') return { status: 400, message: parsed };
  const systemId = readSystemId(parsed, true);
  if (typeof systemId !== 'string') return { status: 400, message: systemId.error };
  const ids = parsed.ids;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string')) {
    return { status: 400, message: 'ids must be a non-empty array of document ids.' };
  }
  const results = ids.map((docId: string) => {
    const found = locate(ctx, docId, systemId, { missing: 104, type: 105, recalled: 102 }, false);
    if (typeof found === 'number') {
      const document = ctx.store.get(docId);
      if (document) document.acknowledgements.refused += 1;
      return result('acknowledgeResult', found, docId, systemId, 'FAILURE');
    }
    if (!found.ready) {
      found.acknowledgements.refused += 1;
      return result('acknowledgeResult', 103, docId, systemId, 'FAILURE');
    }
    if (found.status !== 'READY') {
      const same = found.erpSystemId === systemId;
      found.acknowledgements[same ? 'repeats' : 'refused'] += 1;
      const code = same ? 101 : 99;
      const message = same ? `This document was previously acknowledged by SystemId: ${found.erpSystemId || 'null'}.` : MESSAGES[99];
      return result('acknowledgeResult', code, docId, systemId, 'FAILURE', '', message);
    }
    found.status = 'ACKNOWLEDGED';
    found.erpSystemId = systemId;
    found.acknowledgements.successful += 1;
    return result('acknowledgeResult', 0, docId, systemId, 'SUCCESS');
  });
  return { status: 200, results };
}

const POSTING_RESULTS: Readonly<Record<number, string>> = { 0: 'SUCCESS', 111: 'NOT_YET_ACKNOWLEDGED', 112: 'WAS_RECALLED', 116: 'DOCUMENT_NOT_FOUND', 199: 'SYSTEM_ERROR_OCCURRED' };

export function confirmPostings(ctx: WriteContext, body: string): WriteAnswer {
  const parsed = parseBody(body);
  if (typeof parsed === 'string') return { status: 400, message: parsed };
  const systemId = readSystemId(parsed, false);
  if (typeof systemId !== 'string') return { status: 400, message: systemId.error };
  if (!Array.isArray(parsed.postingConfirmations)) return { status: 400, message: 'postingConfirmations must be an array.' };
  const results = parsed.postingConfirmations.map((entry: unknown) => {
    const fields = (typeof entry === 'object' && entry !== null ? entry : {}) as Fields;
    const answer = (code: number, detail = '') => result('postingConfirmationResult', code, fields.docId, systemId, POSTING_RESULTS[code] ?? 'FAILURE', detail);
    const invalid = checkPostingEntry(fields);
    if (invalid) return answer(198, invalid);
    const found = locate(ctx, fields.docId, systemId, { missing: 116, type: 115, recalled: 112 }, true);
    if (typeof found === 'number') return answer(found);
    const code = !found.ready ? 114 : found.status === 'READY' ? 111 : found.status === 'POSTING_CONFIRMED_SUCCESS' ? 113 : 0;
    const postingDocs = Array.isArray(fields.postingDocs) ? (fields.postingDocs as Fields[]) : [];
    const messages = Array.isArray(fields.systemMessages) ? (fields.systemMessages as Fields[]) : [];
    found.postings.push({
      code,
      overallPostingStatusCode: String(fields.overallPostingStatusCode),
      documentNumbers: postingDocs.map((doc) => (typeof doc.documentNumber === 'string' ? doc.documentNumber : '')),
      messages: messages.map((message) => (typeof message.messageShortText === 'string' ? message.messageShortText : '')),
    });
    // A confirmed failure may be followed by a corrected confirmation: Concur invites fixing and retrying.
    if (code === 0) found.status = fields.overallPostingStatusCode === 'success' ? 'POSTING_CONFIRMED_SUCCESS' : 'POSTING_CONFIRMED_FAILURE';
    return answer(code);
  });
  return { status: 200, results };
}

/** Why an entry can never be accepted (code 198), or undefined. */
function checkPostingEntry(fields: Fields): string | undefined {
  if (typeof fields.docId !== 'string' || fields.docId === '') return 'docId is required.';
  if (fields.overallPostingStatusCode !== 'success' && fields.overallPostingStatusCode !== 'error') return 'overallPostingStatusCode must be success or error.';
  for (const key of ['postingDocs', 'systemMessages']) {
    const list = fields[key];
    if (list !== undefined && (!Array.isArray(list) || !list.every((item) => typeof item === 'object' && item !== null))) return `${key} must be an array of objects.`;
  }
  const docs = (fields.postingDocs ?? []) as Fields[];
  if (docs.some((doc) => typeof doc.companyId !== 'string' || doc.companyId === '')) return 'postingDocs[].companyId is required.';
  if (docs.some((doc) => doc.documentNumber !== undefined && (typeof doc.documentNumber !== 'string' || doc.documentNumber.length > 80))) {
    return 'postingDocs[].documentNumber must be a string of at most 80 characters.';
  }
  return undefined;
}

const PAYMENT_STATUS_OF: Readonly<Record<string, string>> = { CP: 'P_PAID', PP: 'P_PROC', RE: 'P_NOTP', OB: 'P_NOTP' };

export function confirmPayments(ctx: WriteContext, body: string): WriteAnswer {
  const parsed = parseBody(body);
  if (typeof parsed === 'string') return { status: 400, message: parsed };
  const systemId = readSystemId(parsed, false);
  if (typeof systemId !== 'string') return { status: 400, message: systemId.error };
  if (!Array.isArray(parsed.processingConfirmation)) return { status: 400, message: 'processingConfirmation must be an array.' };
  const results = parsed.processingConfirmation.map((entry: unknown) => {
    const fields = (typeof entry === 'object' && entry !== null ? entry : {}) as Fields;
    const paymentRef = readPaymentRef(fields);
    const answer = (code: number, value: string, detail = '', message?: string) => ({
      ...result('paymentConfirmationResult', code, fields.docId, systemId, value, detail, message ?? (code === 0 ? null : MESSAGES[code])),
      paymentRef,
    });
    const invalid = checkPaymentEntry(fields);
    if (invalid) return answer(198, 'FAILURE', invalid);
    const found = locate(ctx, fields.docId, systemId, { missing: 116, type: 115, recalled: 112 }, true);
    if (typeof found === 'number') return answer(found, found === 116 ? 'DOCUMENT_NOT_FOUND' : found === 199 ? 'SYSTEM_ERROR_OCCURRED' : 'FAILURE');
    const record = (code: number) => found.payments.push({ code, processingStatusCode: String(fields.processingStatusCode), paymentRef });
    if (found.status !== 'POSTING_CONFIRMED_SUCCESS') {
      const code = found.status === 'READY' ? 111 : 114;
      record(code);
      return answer(code, 'NOT_POSTING_CONFIRMED');
    }
    const key = `${String(fields.processingStatusCode)}:${paymentRef ?? ''}`;
    if (found.paymentKeys.has(key)) {
      record(298);
      return answer(298, 'NOOP', '', `Payment confirmation already exist ${paymentRef ?? ''}.`);
    }
    found.paymentKeys.add(key);
    found.paymentStatusId = PAYMENT_STATUS_OF[String(fields.processingStatusCode)];
    record(0);
    return answer(0, 'SUCCESS');
  });
  return { status: 200, results };
}

function readPaymentRef(fields: Fields): string | null {
  const details = Array.isArray(fields.clearingDetails) ? (fields.clearingDetails as unknown[]) : [];
  const first = details[0] as { clearingReference?: { paymentRef?: unknown } } | undefined;
  const ref = typeof first === 'object' && first !== null ? first.clearingReference?.paymentRef : undefined;
  return typeof ref === 'string' ? ref : null;
}

function checkPaymentEntry(fields: Fields): string | undefined {
  if (typeof fields.docId !== 'string' || fields.docId === '') return 'docId is required.';
  if (typeof fields.processingStatusCode !== 'string' || !Object.hasOwn(PAYMENT_STATUS_OF, fields.processingStatusCode)) return 'processingStatusCode must be CP, PP, RE or OB.';
  const details = fields.clearingDetails;
  if (details !== undefined && (!Array.isArray(details) || !details.every((d) => typeof d === 'object' && d !== null))) return 'clearingDetails must be an array of objects.';
  for (const detail of (details ?? []) as Fields[]) {
    const amount = detail.clearingAmount;
    if (amount !== undefined && typeof amount !== 'number' && !(typeof amount === 'string' && /^-?\d{1,15}(\.\d{1,8})?$/.test(amount))) return 'clearingAmount must be a decimal.';
  }
  return undefined;
}
