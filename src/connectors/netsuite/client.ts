/**
 * The NetSuite target connector: posts journals by external-id upsert over REST and looks them up
 * by external id. HTTP only; the body comes from mapping.ts and errors are classified by errors.ts.
 */
import { netsuiteJournalLines } from './readback.ts';
import type { ConnectorError, LookupOutcome, PostOutcome, PostingRequest, ReadBackScope, TargetConnector } from '../contract.ts';
import { classifyNetSuiteError, RAW_ANSWER_MAX_CHARS } from './errors.ts';
import { EXTERNAL_ID_PATTERN, toNetSuiteJournal } from './mapping.ts';

export interface NetSuiteConnectorOptions {
  /** The connection name, e.g. "netsuite". */
  readonly target: string;
  /** e.g. https://1234567.suitetalk.api.netsuite.com, without a trailing slash. */
  readonly baseUrl: string;
  readonly token: string;
  /** The account's concurrency limit (shared by SOAP, REST and RESTlets); the lane never exceeds it. */
  readonly maxConcurrency: number;
  readonly requestTimeoutMs: number;
}

const JOURNAL_PATH = '/services/rest/record/v1/journalEntry';

/** A network failure, and whether the request may have reached NetSuite before it happened. */
interface NetworkFailure {
  readonly code: string;
  readonly maybeSent: boolean;
  readonly message: string;
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** Codes meaning no connection was made, so NetSuite cannot have seen the request. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

export function createNetSuiteConnector(options: NetSuiteConnectorOptions): TargetConnector {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const headers = { Authorization: `Bearer ${options.token}`, Accept: 'application/json' };

  function journalUrl(externalKey: string): string {
    if (!EXTERNAL_ID_PATTERN.test(externalKey)) {
      throw new Error(`Assertion failed: external key "${externalKey}" has characters NetSuite does not accept in an external id`);
    }
    return `${baseUrl}${JOURNAL_PATH}/eid:${externalKey}`;
  }

  async function post(request: PostingRequest): Promise<PostOutcome> {
    const url = journalUrl(request.externalKey);
    const body = JSON.stringify(toNetSuiteJournal(request));
    const result = await exchange(url, { method: 'PUT', headers: { ...headers, 'Content-Type': 'application/json' }, body }, options.requestTimeoutMs);
    if ('code' in result) {
      if (!result.maybeSent) return { status: 'failed', error: describeNetworkFailure(result, 'unavailable') };
      return { status: 'unknown', error: describeNetworkFailure(result, 'transient') };
    }
    if (result.status < 200 || result.status >= 300) {
      return { status: 'failed', error: classifyNetSuiteError(result.status, result.text, result.headers) };
    }
    // NetSuite's upsert answers 204 for both create and update, so a repeat looks like a create.
    const documentId = readDocumentId(result.headers.get('location'));
    if (documentId === undefined) {
      return {
        status: 'unknown',
        error: {
          kind: 'transient',
          vendorCode: 'MISSING_LOCATION',
          message: `NetSuite answered HTTP ${result.status} without a Location header naming the journal: look it up before any resend.`,
          httpStatus: result.status,
          raw: result.text.slice(0, RAW_ANSWER_MAX_CHARS),
        },
      };
    }
    return { status: 'created', documentId };
  }

  async function lookup(externalKey: string): Promise<LookupOutcome> {
    const result = await exchange(journalUrl(externalKey), { method: 'GET', headers }, options.requestTimeoutMs);
    if ('code' in result) {
      return { status: 'failed', error: describeNetworkFailure(result, result.maybeSent ? 'transient' : 'unavailable') };
    }
    if (result.status === 404) return { status: 'absent' };
    if (result.status !== 200) {
      return { status: 'failed', error: classifyNetSuiteError(result.status, result.text, result.headers) };
    }
    const documentId = readRecordId(result.text);
    if (documentId === undefined) {
      return {
        status: 'failed',
        error: {
          kind: 'transient',
          vendorCode: 'MALFORMED_ANSWER',
          message: 'NetSuite answered HTTP 200 to a lookup without a record id; the lane retries.',
          httpStatus: 200,
          raw: result.text.slice(0, RAW_ANSWER_MAX_CHARS),
        },
      };
    }
    return { status: 'found', documentId };
  }

  // Reconciliation reads journals back through SuiteQL (readback.ts), on its own client: its paging and retries are not the lane's.
  const readBack = (scope: ReadBackScope) =>
    netsuiteJournalLines({ baseUrl, token: options.token, requestTimeoutMs: options.requestTimeoutMs }, { subsidiaryId: scope.subsidiaryId, entity: scope.entity, period: scope.period, accountCodeOf: scope.accountCodeOf });
  return { target: options.target, maxConcurrency: options.maxConcurrency, post, lookup, readBack };
}

/** Sends one request and reads the whole answer body, so the connection is always drained. */
async function exchange(url: string, init: RequestInit, requestTimeoutMs: number): Promise<Answer | NetworkFailure> {
  try {
    const response = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(requestTimeoutMs) });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text };
  } catch (error) {
    return readNetworkFailure(error);
  }
}

function readNetworkFailure(error: unknown): NetworkFailure {
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return { code: 'TIMEOUT', maybeSent: true, message: 'NetSuite did not answer in time' };
  }
  const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const rawCode = typeof cause?.code === 'string' ? cause.code : 'NETWORK_ERROR';
  const detail = typeof cause?.message === 'string' ? cause.message : String(error);
  if (NOT_SENT_CODES.has(rawCode)) return { code: rawCode, maybeSent: false, message: `NetSuite could not be reached (${detail})` };
  // A cut connection may come after NetSuite committed the request, so it counts as sent.
  const code = RESET_CODES.has(rawCode) ? 'ECONNRESET' : rawCode;
  return { code, maybeSent: true, message: `The connection to NetSuite broke (${detail})` };
}

function describeNetworkFailure(failure: NetworkFailure, kind: 'transient' | 'unavailable'): ConnectorError {
  const next = failure.maybeSent ? 'look the journal up before any resend' : 'the lane retries when NetSuite is reachable';
  return { kind, vendorCode: failure.code, message: `${failure.message}: ${next}.` };
}

/** The Location header ends in the internal id of the record: .../record/v1/journalEntry/{id}. */
function readDocumentId(location: string | null): string | undefined {
  if (location === null) return undefined;
  return /\/journalEntry\/([^/?#]+)\/?$/.exec(location)?.[1];
}

function readRecordId(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as { id?: unknown };
    if (typeof parsed.id === 'string' && parsed.id !== '') return parsed.id;
    if (typeof parsed.id === 'number') return String(parsed.id);
  } catch {
    return undefined;
  }
  return undefined;
}
