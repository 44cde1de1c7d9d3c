/**
 * S/4HANA answers -> our error kinds, at three levels:
 * - the HTTP answer to a SOAP call (`classifyPostAnswer`): status, SOAP 1.1 fault, and whether
 *   the request may have been committed before the failure (S/4HANA has no duplicate guard, so a
 *   failure after which a document may exist is reported as an unknown outcome);
 * - one document's `Log` in a confirmation (`classifyLogItems`): severity-3 items, matched by
 *   message class and text; where the text names a master-data record (a G/L account, cost
 *   center, tax code or company code) the error carries `field` and `value`;
 * - the OData read service's error body (`classifyODataError`).
 * Anything that fits no rule is `invalid` with vendorCode UNCLASSIFIED and the raw answer (the
 * lane quarantines it as ERP_UNCLASSIFIED).
 */
import type { ConnectorError, ErrorKind } from '../contract.ts';
import type { LogItem } from './confirmation.ts';
import { element, parseXml, readSoapBody, text } from './xml.ts';

/** How much of a raw answer is kept on an error (at most 4 KB). */
export const RAW_ANSWER_MAX_CHARS = 4000;

const ERROR_SEVERITY = '3';
/** The generic "document could not be posted" item S/4HANA puts before the messages that say why [S]. */
const WRAPPER_TYPE_ID = /^609\(RW\)$/;

interface LogRule {
  readonly pattern: RegExp;
  readonly kind: ErrorKind;
  /** The reference the first capture group names. */
  readonly field?: string;
  readonly next: string;
}

/**
 * Severity-3 texts we recognise, first match wins. The texts are S/4HANA's as the simulator
 * and fixtures word them (README, "Error classification"); matching on words rather than message
 * numbers keeps real variants of the same message in the same rule.
 */
const LOG_RULES: readonly LogRule[] = [
  { pattern: /\b(?:locked by user|currently locked|is being processed by)\b/i, kind: 'transient', next: 'another user or job holds the lock; the lane retries' },
  { pattern: /\bmessage\b.*\balready (?:been )?processed\b/i, kind: 'conflict', next: 'an earlier message with this ID was processed: look the document up before any resend' },
  { pattern: /\bG\/L account ([^\s,;:]+?)\.?\s.*\b(?:does not exist|is not defined|not created)\b/i, kind: 'invalid', field: 'account', next: 'create the G/L account in the company code or fix the account mapping, then replay' },
  { pattern: /\bG\/L account ([^\s,;:]+?)\.?\s.*\b(?:blocked|locked|marked for deletion)\b/i, kind: 'invalid', field: 'account', next: 'unblock the G/L account in S/4HANA or map the line to another account, then replay' },
  { pattern: /\bcost center (?:[^\s/]+\/)?([^\s,;:]+?)\.?\s.*\b(?:does not exist|is not defined)\b/i, kind: 'invalid', field: 'costCenter', next: 'create the cost center for the date or fix the cost-center mapping, then replay' },
  { pattern: /\bcost center (?:[^\s/]+\/)?([^\s,;:]+?)\.?\s.*\b(?:blocked|locked|not valid)\b/i, kind: 'invalid', field: 'costCenter', next: 'unblock the cost center for the date or change the allocation, then replay' },
  { pattern: /\btax code ([^\s,;:]+?)\.?\s/i, kind: 'invalid', field: 'taxCode', next: 'define the tax code for the company code or fix the tax mapping, then replay' },
  { pattern: /\bcompany code ([^\s,;:]+?)\.?\s.*\b(?:does not exist|is not defined)\b/i, kind: 'invalid', field: 'companyCode', next: "check the entity's company code in the connection, then replay" },
  { pattern: /\bposting period\b.*\bnot open\b/i, kind: 'invalid', next: 'open the posting period in S/4HANA or re-date the journal, then replay' },
  { pattern: /\bbalance\b/i, kind: 'invalid', next: 'the journal does not balance as S/4HANA read it: check the amounts, then replay' },
];

/** The error of a document whose log holds severity-3 items. */
export function classifyLogItems(items: readonly LogItem[], raw: string): ConnectorError {
  const errors = items.filter((item) => item.severityCode === ERROR_SEVERITY);
  const specific = errors.filter((item) => !WRAPPER_TYPE_ID.test(item.typeId));
  const candidates = specific.length > 0 ? specific : errors;
  const kept = raw.slice(0, RAW_ANSWER_MAX_CHARS);
  if (candidates.length === 0) {
    return { kind: 'invalid', vendorCode: 'UNCLASSIFIED', message: 'S/4HANA reported an error for the journal without saying which: inspect the raw answer.', raw: kept };
  }
  for (const item of candidates) {
    for (const rule of LOG_RULES) {
      const match = rule.pattern.exec(item.note);
      if (!match) continue;
      const value = rule.field === undefined ? undefined : match[1];
      return {
        kind: rule.kind,
        vendorCode: item.typeId || 'SEVERITY_3',
        message: `S/4HANA refused the journal: ${describeItems(item, candidates.length)}: ${rule.next}.`,
        ...(rule.field !== undefined && value !== undefined && { field: rule.field, value }),
        raw: kept,
      };
    }
  }
  const first = candidates[0];
  return { kind: 'invalid', vendorCode: first.typeId || 'SEVERITY_3', message: `S/4HANA refused the journal: ${describeItems(first, candidates.length)}: correct the data named, then replay.`, raw: kept };
}

function describeItems(item: LogItem, count: number): string {
  const more = count > 1 ? ` (and ${count - 1} more error message${count > 2 ? 's' : ''})` : '';
  return `"${item.note}" [${item.typeId || 'no message id'}]${more}`;
}

/** A failed SOAP call: its error, and whether a document may exist anyway. */
export interface PostFailure {
  readonly maybeCommitted: boolean;
  readonly error: ConnectorError;
}

/** An HTTP answer to a SOAP call that is neither a confirmation (sync) nor an acknowledgement (async). */
export function classifyPostAnswer(httpStatus: number, bodyText: string, headers: Headers, nowMs: number = Date.now()): PostFailure {
  const raw = bodyText.slice(0, RAW_ANSWER_MAX_CHARS);
  const fault = readSoapFault(bodyText);
  const retryAfterMs = readRetryAfterMs(headers.get('retry-after'), nowMs);
  const said = fault ? `SOAP fault ${fault.code}: ${fault.text}` : `HTTP ${httpStatus}`;
  const fail = (kind: ErrorKind, vendorCode: string, next: string, maybeCommitted = false): PostFailure => ({
    maybeCommitted,
    error: { kind, vendorCode, message: `S/4HANA answered ${said}: ${next}.`, httpStatus, ...(retryAfterMs !== undefined && (kind === 'rate_limited' || kind === 'unavailable') && { retryAfterMs }), raw },
  });
  switch (httpStatus) {
    case 401:
    case 403:
      return fail('auth', `HTTP_${httpStatus}`, 'check the communication user, its password and the communication arrangement (SAP_COM_0002), then replay');
    case 404:
      return fail('not_found', 'HTTP_404', 'the service path is not active on this tenant: check the communication arrangement and the connection\'s paths');
    case 429:
      return fail('rate_limited', 'HTTP_429', 'the lane retries after a pause');
    case 503:
      return fail('unavailable', 'HTTP_503', 'S/4HANA is unavailable (maintenance?); nothing was posted, the lane retries when it is back');
    case 502:
    case 504:
      // A gateway gave up waiting for S/4HANA, which may still have posted the document.
      return fail('unavailable', `HTTP_${httpStatus}`, 'a gateway gave up on S/4HANA, which may have posted the journal: look it up before any resend', true);
    case 500:
      if (fault && /(^|:)Client$/i.test(fault.code)) return fail('invalid', 'SOAP_FAULT_CLIENT', 'S/4HANA could not read the request; nothing was posted. Check the raw answer and the request, then replay');
      if (fault && /(^|:)Server$/i.test(fault.code)) return fail('transient', 'SOAP_FAULT_SERVER', 'S/4HANA failed while processing and may have posted part of the request: look it up before any resend', true);
      return fail('transient', 'HTTP_500', 'S/4HANA failed on its side and may have posted the journal: look it up before any resend', true);
    default:
      return { maybeCommitted: false, error: unclassified(httpStatus, bodyText, `S/4HANA answered ${said}, which finsync does not recognise`) };
  }
}

/** An answer no rule covers: kind invalid, vendorCode UNCLASSIFIED, the raw answer kept. */
export function unclassified(httpStatus: number | undefined, bodyText: string, reason: string): ConnectorError {
  return {
    kind: 'invalid',
    vendorCode: 'UNCLASSIFIED',
    message: `${reason}: inspect the raw answer, then replay.`,
    ...(httpStatus !== undefined && { httpStatus }),
    raw: bodyText.slice(0, RAW_ANSWER_MAX_CHARS),
  };
}

export interface SoapFault {
  readonly code: string;
  readonly text: string;
}

/** The faultcode and faultstring of a SOAP 1.1 fault, or undefined when the text is not one. */
export function readSoapFault(bodyText: string): SoapFault | undefined {
  const body = readSoapBody(bodyText);
  if (typeof body === 'string' || body.name !== 'Fault') return undefined;
  return { code: text(body.element, 'faultcode') ?? '', text: text(body.element, 'faultstring') ?? '' };
}

/** The error body of the OData read service, classified by status; the OData error code becomes the vendorCode. */
export function classifyODataError(httpStatus: number, bodyText: string, headers: Headers, nowMs: number = Date.now()): ConnectorError {
  const body = readODataError(bodyText);
  const retryAfterMs = readRetryAfterMs(headers.get('retry-after'), nowMs);
  const said = body ? `${body.code}: ${body.message}` : `HTTP ${httpStatus}`;
  const kinds: Readonly<Record<number, readonly [ErrorKind, string]>> = {
    400: ['invalid', 'the read service refused the query (a finsync defect or a service without the fields finsync reads)'],
    401: ['auth', 'check the communication user and its password'],
    403: ['auth', 'the communication user may not read journal entry items: add scenario SAP_COM_0087 (or the custom read view) to its arrangement'],
    404: ['not_found', 'the read service or entity set does not exist on this tenant: check the connection\'s OData path'],
    429: ['rate_limited', 'the reader retries after a pause'],
    500: ['transient', 'S/4HANA failed on its side; the read is retried'],
    502: ['unavailable', 'the read is retried when S/4HANA is reachable'],
    503: ['unavailable', 'the read is retried when S/4HANA is back'],
    504: ['unavailable', 'the read is retried when S/4HANA is reachable'],
  };
  const entry = kinds[httpStatus];
  if (!entry) return unclassified(httpStatus, bodyText, `The S/4HANA read service answered ${said}, which finsync does not recognise`);
  const [kind, next] = entry;
  return {
    kind,
    vendorCode: body?.code ?? `HTTP_${httpStatus}`,
    message: `The S/4HANA read service answered ${said}: ${next}.`,
    httpStatus,
    ...(retryAfterMs !== undefined && (kind === 'rate_limited' || kind === 'unavailable') && { retryAfterMs }),
    raw: bodyText.slice(0, RAW_ANSWER_MAX_CHARS),
  };
}

/** OData V2's `{"error":{"code","message":{"lang","value"}}}`, or its XML rendering. */
function readODataError(bodyText: string): { code: string; message: string } | undefined {
  try {
    const parsed = JSON.parse(bodyText) as { error?: { code?: unknown; message?: { value?: unknown } | string } };
    const error = parsed.error;
    if (error && typeof error.code === 'string') {
      const message = typeof error.message === 'string' ? error.message : typeof error.message?.value === 'string' ? error.message.value : '';
      return { code: error.code, message };
    }
  } catch {
    const xml = parseXml(bodyText);
    const error = element(xml, 'error');
    const code = text(error, 'code');
    if (code !== undefined) return { code, message: text(error, 'message') ?? '' };
  }
  return undefined;
}

/** Retry-After is either delay-seconds or an HTTP date; anything else is ignored. */
export function readRetryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const dateMs = Date.parse(trimmed);
  return Number.isNaN(dateMs) ? undefined : Math.max(0, dateMs - nowMs);
}

/** A request that failed below HTTP, and whether it may have reached S/4HANA. */
export interface NetworkFailure {
  readonly code: string;
  readonly maybeSent: boolean;
  readonly message: string;
}

/** Codes meaning no connection was made, so S/4HANA cannot have seen the request. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

export function readNetworkFailure(error: unknown): NetworkFailure {
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') return { code: 'TIMEOUT', maybeSent: true, message: 'S/4HANA did not answer in time' };
  const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const rawCode = typeof cause?.code === 'string' ? cause.code : 'NETWORK_ERROR';
  const detail = typeof cause?.message === 'string' ? cause.message : String(error);
  if (NOT_SENT_CODES.has(rawCode)) return { code: rawCode, maybeSent: false, message: `S/4HANA could not be reached (${detail})` };
  // A cut connection may come after S/4HANA committed the request, so it counts as sent.
  return { code: RESET_CODES.has(rawCode) ? 'ECONNRESET' : rawCode, maybeSent: true, message: `The connection to S/4HANA broke (${detail})` };
}

/** A network failure as our error: `unavailable` when nothing was sent, `transient` (look up first) when it may have been. */
export function describeNetworkFailure(failure: NetworkFailure): ConnectorError {
  const next = failure.maybeSent ? 'look the journal up before any resend' : 'nothing was sent; the lane retries when S/4HANA is reachable';
  return { kind: failure.maybeSent ? 'transient' : 'unavailable', vendorCode: failure.code, message: `${failure.message}: ${next}.` };
}
