/**
 * The SAP S/4HANA Cloud target connector: posts journals as `JournalEntryBulkCreateRequest` SOAP
 * messages (communication scenario SAP_COM_0002), synchronously or asynchronously, and looks
 * them up and reads them back through the OData read service. HTTP only: the XML comes from
 * mapping.ts and confirmation.ts, errors are classified by errors.ts.
 *
 * S/4HANA has no duplicate guard we could confirm [U]. finsync never sends a journal twice
 * anyway: every answer after which a document may exist (timeout, cut connection, HTTP 500 or a
 * gateway error, an async message without its confirmation) is an `unknown` outcome, and the lane
 * looks the key up before any resend. In async mode `lookup` also knows the messages still
 * awaiting their confirmation (async-confirmations.ts), so a message queued in S/4HANA is not
 * mistaken for an absent document.
 */
import type { ConnectorError, LookupOutcome, PostingRequest, PostOutcome, ReadBackScope, TargetConnector } from '../contract.ts';
import type { LineSource } from '../../reconciliation/types.ts';
import { AsyncConfirmations, type ConfirmationReceipt } from './async-confirmations.ts';
import { documentIdOf, isPosted } from './confirmation.ts';
import { unclassified } from './errors.ts';
import { ASYNC_PATH, documentMessageId, keyProblem, referenceOfKey, SOAP_ACTION, SYNC_PATH, type S4Posting } from './mapping.ts';
import { createODataReader, ODataError, odataString, type ODataReader } from './odata.ts';
import { LEADING_LEDGER, READBACK_ORDER, s4hanaJournalLines } from './readback.ts';
import { sendBulk, type SoapChannel } from './soap-post.ts';

export type { ConfirmationReceipt } from './async-confirmations.ts';
export { ASYNC_PATH, SOAP_ACTION, SYNC_PATH } from './mapping.ts';
export { outcomeOf } from './soap-post.ts';

export interface S4HanaConnectorOptions {
  /** The connection name, e.g. "s4hana". */
  readonly target: string;
  /** e.g. https://my123456-api.s4hana.cloud.sap, without a trailing slash. */
  readonly baseUrl: string;
  /** The communication user of the arrangement (basic auth). */
  readonly user: string;
  readonly password: string;
  /** sync: the confirmation is the HTTP answer; async: HTTP 202, the confirmation comes to `receiveConfirmation`. */
  readonly mode: 'sync' | 'async';
  readonly requestTimeoutMs: number;
  /** Async: how long `post` waits for the confirmation before it answers unknown; default 30 s. */
  readonly confirmationWaitMs?: number;
  /** Async: how long a message sent without a confirmation counts as possibly queued (lookup then fails transiently instead of answering absent); default 15 min. */
  readonly asyncSettleMs?: number;
  /** The company code of an entity; default `request.references.subsidiaryId` (and the read-back scope's subsidiaryId). */
  readonly companyCodeOf?: (entity: string) => string | undefined;
  /** Requests in flight; no published limit [U], default 4. */
  readonly maxConcurrency?: number;
  /** Journals per bulk request; default 50. */
  readonly maxBatch?: number;
  readonly syncPath?: string;
  readonly asyncPath?: string;
  readonly soapAction?: string;
  /** The OData read service (README: the standard one may lack the fields finsync reads). */
  readonly odataServicePath?: string;
  readonly odataEntitySet?: string;
  /** The leading ledger read by lookup and read-back; default 0L. */
  readonly ledger?: string;
  /** CreatedByUser on every document; default the communication user (cut to 12 characters). */
  readonly createdByUser?: string;
  readonly now?: () => number;
}

export interface S4HanaConnector extends TargetConnector {
  readonly mode: 'sync' | 'async';
  readonly maxBatch: number;
  postBatch(requests: readonly PostingRequest[]): Promise<PostOutcome[]>;
  readBack(scope: ReadBackScope): LineSource;
  /** Takes in a confirmation S/4HANA pushed to the callback URL (async mode); the route answers 200 when accepted, 400 when rejected. */
  receiveConfirmation(xml: string): ConfirmationReceipt;
}

export function createS4HanaConnector(options: S4HanaConnectorOptions): S4HanaConnector {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const now = options.now ?? Date.now;
  const maxBatch = options.maxBatch ?? 50;
  const confirmations = new AsyncConfirmations({ settleMs: options.asyncSettleMs ?? 15 * 60_000, now });
  const channel: SoapChannel = {
    url: `${baseUrl}${options.mode === 'async' ? (options.asyncPath ?? ASYNC_PATH) : (options.syncPath ?? SYNC_PATH)}`,
    authorization: `Basic ${Buffer.from(`${options.user}:${options.password}`).toString('base64')}`,
    soapAction: options.soapAction ?? SOAP_ACTION,
    mode: options.mode,
    createdByUser: options.createdByUser ?? options.user,
    requestTimeoutMs: options.requestTimeoutMs,
    confirmationWaitMs: options.confirmationWaitMs ?? 30_000,
    confirmations,
    now,
  };
  const readerOptions = { baseUrl, user: options.user, password: options.password, requestTimeoutMs: options.requestTimeoutMs, servicePath: options.odataServicePath, entitySet: options.odataEntitySet, now };
  // The lane retries a failed lookup itself; the read-back retries its pages here.
  const lookupReader = createODataReader({ ...readerOptions, attempts: 1 });
  const readBackReader: ODataReader = createODataReader(readerOptions);
  const companyCodeOf = (entity: string, fallback: string) => options.companyCodeOf?.(entity) ?? fallback;

  async function postBatch(requests: readonly PostingRequest[]): Promise<PostOutcome[]> {
    if (requests.length === 0 || requests.length > maxBatch) throw new Error(`Assertion failed: a batch holds 1 to ${maxBatch} requests, not ${requests.length}`);
    const outcomes: PostOutcome[] = new Array(requests.length);
    const sendable: { index: number; posting: S4Posting }[] = [];
    requests.forEach((request, index) => {
      const problem = keyProblem(request.externalKey);
      const companyCode = companyCodeOf(request.journal.entity, request.references.subsidiaryId);
      if (problem) outcomes[index] = refused('KEY_UNSUPPORTED', `${problem}: S/4HANA cannot carry it, so the journal was not sent`);
      else if (!/^[A-Za-z0-9]{1,4}$/.test(companyCode)) outcomes[index] = refused('COMPANY_CODE_MISSING', `entity ${request.journal.entity} has no S/4HANA company code ("${companyCode}"): set it on the entity, then replay`);
      else sendable.push({ index, posting: { request, companyCode } });
    });
    if (sendable.length > 0) {
      const sent = await sendBulk(channel, sendable.map((item) => item.posting));
      sendable.forEach((item, i) => (outcomes[item.index] = sent[i]));
    }
    return Promise.all(outcomes.map((outcome, index) => settleDuplicate(outcome, requests[index].externalKey)));
  }

  /** A duplicate-message rejection means the document may exist: a found document is `already_exists`. */
  async function settleDuplicate(outcome: PostOutcome, externalKey: string): Promise<PostOutcome> {
    if (outcome.status !== 'failed' || outcome.error.kind !== 'conflict') return outcome;
    const found = await lookup(externalKey);
    return found.status === 'found' ? { status: 'already_exists', documentId: found.documentId } : outcome;
  }

  const lookup = (externalKey: string) => lookupKey(lookupReader, confirmations, options.ledger ?? LEADING_LEDGER, externalKey);

  function readBack(scope: ReadBackScope): LineSource {
    return s4hanaJournalLines(readBackReader, { companyCode: companyCodeOf(scope.entity, scope.subsidiaryId), entity: scope.entity, period: scope.period, accountCodeOf: scope.accountCodeOf, ...(options.ledger !== undefined && { ledger: options.ledger }) });
  }

  return {
    target: options.target,
    mode: options.mode,
    maxConcurrency: options.maxConcurrency ?? 4,
    maxBatch,
    post: async (request) => (await postBatch([request]))[0],
    postBatch,
    lookup,
    readBack,
    receiveConfirmation: (xml) => confirmations.receive(xml),
  };
}

function refused(vendorCode: string, message: string): PostOutcome {
  const error: ConnectorError = { kind: 'invalid', vendorCode, message };
  return { status: 'failed', error };
}

/**
 * Finds the document holding a key through the read service. When the service has none, a
 * remembered confirmation still counts (the service can lag behind), and a message sent without
 * a confirmation inside the settle window is not called absent: it may still be queued.
 */
async function lookupKey(reader: ODataReader, confirmations: AsyncConfirmations, ledger: string, externalKey: string): Promise<LookupOutcome> {
  // A key S/4HANA cannot carry was never sent.
  if (keyProblem(externalKey)) return { status: 'absent' };
  const reference = referenceOfKey(externalKey);
  const filter = `Ledger eq ${odataString(ledger)} and DocumentReferenceID eq ${odataString(reference.documentReferenceId)} and AssignmentReference eq ${odataString(reference.assignmentReference)}`;
  try {
    for await (const rows of reader.pages({ filter, select: ['CompanyCode', 'AccountingDocument', 'FiscalYear'], orderby: READBACK_ORDER, top: 1 })) {
      const [companyCode, accountingDocument, fiscalYear] = [rows[0].CompanyCode, rows[0].AccountingDocument, rows[0].FiscalYear].map((value) => (typeof value === 'string' ? value : ''));
      if (!/^\d{1,10}$/.test(accountingDocument) || !/^\d{4}$/.test(fiscalYear) || companyCode === '') {
        return { status: 'failed', error: unclassified(200, JSON.stringify(rows[0]), `The S/4HANA read service named no readable document for ${externalKey}`) };
      }
      return { status: 'found', documentId: documentIdOf(companyCode, accountingDocument, fiscalYear) };
    }
  } catch (error) {
    if (error instanceof ODataError) return { status: 'failed', error: error.error };
    throw error;
  }
  const id = documentMessageId(externalKey);
  const confirmed = confirmations.confirmationOf(id);
  if (confirmed && isPosted(confirmed)) return { status: 'found', documentId: documentIdOf(confirmed.companyCode, confirmed.accountingDocument, confirmed.fiscalYear) };
  if (confirmations.isPending(id)) {
    const message = `The message for ${externalKey} was sent and S/4HANA has not confirmed it; it may still be queued, so it does not count as absent yet: the lane looks again later.`;
    return { status: 'failed', error: { kind: 'transient', vendorCode: 'CONFIRMATION_PENDING', message } };
  }
  return { status: 'absent' };
}
