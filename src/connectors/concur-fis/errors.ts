/**
 * Concur answers -> our error kinds, in two layers. A whole request fails with an HTTP status
 * (classified by `classifyConcurHttpError`); a request that succeeds answers HTTP 200 with one
 * result per document, whose service code `SERVICE_CODES` classifies. Network failures and
 * timeouts are transient: every FIS call is safe to repeat (the state machine answers a repeat
 * with an "already done" code), so the runner may simply retry.
 */
import type { ConnectorError, ErrorKind } from '../contract.ts';

/** How much of a raw answer is kept on an error for the exception queue. */
export const RAW_ANSWER_MAX_CHARS = 4096;

/**
 * What a per-document service code means for the caller:
 * - `ok`: done now; `already_done`: done before (a repeat), which is a success too.
 * - `recalled`: the employee or an approver withdrew the report; stop, the document will not post.
 * - `state`: the document is not in the state the call needs (not ready, not acknowledged yet, unknown).
 * - `not_found`, `invalid`: no such document / a request Concur will never accept; quarantine.
 * - `config`: the systemId does not match the one that holds the document; fix the connection.
 * - `retry`: Concur failed on its side; send the same request again later.
 * - `unknown`: a code this table does not list; quarantine and read the raw answer.
 */
export type ServiceOutcome = 'ok' | 'already_done' | 'recalled' | 'state' | 'not_found' | 'invalid' | 'config' | 'retry' | 'unknown';

export type FisCall = 'acknowledge' | 'posting' | 'payment';

export interface ServiceCode {
  readonly code: number;
  readonly meaning: string;
  readonly calls: readonly FisCall[];
  readonly outcome: ServiceOutcome;
  /** The error kind for the runner; absent when the outcome is a success. */
  readonly kind?: ErrorKind;
  /** What to do next, said in the error message. */
  readonly next: string;
}

const ALL: readonly FisCall[] = ['acknowledge', 'posting', 'payment'];

/**
 * The classification table (README.md shows it too). Codes 0-199 are Concur's documented list; 298 is
 * from its payment example. `calls` says where Concur documents a code, plus where our simulator
 * answers it (111, 112, 114, 115 on payments).
 */
export const SERVICE_CODES: readonly ServiceCode[] = [
  { code: 0, meaning: 'processed', calls: ALL, outcome: 'ok', next: '' },
  { code: 99, meaning: 'the systemId does not match the one in the FI database', calls: ALL, outcome: 'config', kind: 'auth', next: 'check the connection\'s systemId against the one that acknowledged the document, then replay' },
  { code: 101, meaning: 'already acknowledged', calls: ['acknowledge'], outcome: 'already_done', next: '' },
  { code: 102, meaning: 'recalled', calls: ['acknowledge'], outcome: 'recalled', kind: 'conflict', next: 'the report was withdrawn in Concur; it will come back as a new document if resubmitted' },
  { code: 103, meaning: 'not ready', calls: ['acknowledge'], outcome: 'state', kind: 'conflict', next: 'pull it again once Concur lists it as READY' },
  { code: 104, meaning: 'does not exist', calls: ['acknowledge'], outcome: 'not_found', kind: 'not_found', next: 'check the document id' },
  { code: 105, meaning: 'not of this document type', calls: ['acknowledge'], outcome: 'invalid', kind: 'invalid', next: 'use the document type the document was pulled with' },
  { code: 111, meaning: 'not acknowledged yet', calls: ['posting', 'payment'], outcome: 'state', kind: 'conflict', next: 'acknowledge the document (and confirm its posting, for a payment) first, then send this again' },
  { code: 112, meaning: 'recalled', calls: ['posting', 'payment'], outcome: 'recalled', kind: 'conflict', next: 'the report was withdrawn in Concur: reverse any journal posted for it' },
  { code: 113, meaning: 'a posting confirmation was already accepted', calls: ['posting'], outcome: 'already_done', next: '' },
  { code: 114, meaning: 'not in a known state', calls: ['posting', 'payment'], outcome: 'state', kind: 'conflict', next: 'look the document up with ignoreDocumentStatus=yes and inspect it' },
  { code: 115, meaning: 'not of this document type', calls: ['posting', 'payment'], outcome: 'invalid', kind: 'invalid', next: 'use the document type the document was pulled with' },
  { code: 116, meaning: 'does not exist', calls: ['posting', 'payment'], outcome: 'not_found', kind: 'not_found', next: 'check the document id' },
  { code: 198, meaning: 'invalid request that will never succeed', calls: ['posting', 'payment'], outcome: 'invalid', kind: 'invalid', next: 'fix the confirmation, then replay' },
  { code: 199, meaning: 'unknown error on Concur\'s side', calls: ALL, outcome: 'retry', kind: 'transient', next: 'the runner sends it again later' },
  { code: 298, meaning: 'this payment confirmation already exists', calls: ['payment'], outcome: 'already_done', next: '' },
];

const BY_CODE = new Map(SERVICE_CODES.map((entry) => [entry.code, entry]));

export function classifyServiceCode(code: number): ServiceCode {
  return BY_CODE.get(code) ?? { code, meaning: 'a code finsync does not know', calls: ALL, outcome: 'unknown', kind: 'invalid', next: 'inspect the raw answer' };
}

/** The error of one document's result, or undefined when the outcome is a success (ok or already done). */
export function serviceCodeError(code: number, docId: string, errorMessage: string | null, raw: string): ConnectorError | undefined {
  const entry = classifyServiceCode(code);
  if (entry.kind === undefined) return undefined;
  const said = errorMessage ? ` ("${errorMessage}")` : '';
  return {
    kind: entry.kind,
    vendorCode: `FIS_${code}`,
    message: `Concur answered ${code} for document ${docId}: ${entry.meaning}${said}; ${entry.next}.`,
    raw: raw.slice(0, RAW_ANSWER_MAX_CHARS),
  };
}

/** Classifies a whole-request failure from its status, the `{errorId, errorMessage, ...}` body when there is one, and Retry-After. */
export function classifyConcurHttpError(httpStatus: number, bodyText: string, headers: Headers, nowMs: number = Date.now()): ConnectorError {
  const kind = kindOfStatus(httpStatus);
  const retryAfterMs = readRetryAfterMs(headers.get('retry-after'), nowMs);
  const said = readErrorMessage(bodyText) ?? `HTTP ${httpStatus} without a Concur error body`;
  const correlation = headers.get('concur-correlationid');
  const trace = correlation ? ` [concur-correlationid ${correlation}]` : '';
  return {
    kind,
    vendorCode: `HTTP_${httpStatus}`,
    message: `${describeKind(kind, httpStatus)} (${said})${trace}`,
    httpStatus,
    ...(retryAfterMs !== undefined && { retryAfterMs }),
    raw: bodyText.slice(0, RAW_ANSWER_MAX_CHARS),
  };
}

function kindOfStatus(httpStatus: number): ErrorKind {
  if (httpStatus === 401 || httpStatus === 403) return 'auth';
  if (httpStatus === 404) return 'not_found';
  if (httpStatus === 408) return 'transient';
  if (httpStatus === 409) return 'conflict';
  if (httpStatus === 429) return 'rate_limited';
  if (httpStatus === 502 || httpStatus === 503 || httpStatus === 504) return 'unavailable';
  if (httpStatus >= 500) return 'transient';
  return 'invalid';
}

function describeKind(kind: ErrorKind, httpStatus: number): string {
  switch (kind) {
    case 'auth':
      return httpStatus === 403
        ? 'Concur refused the token for this call: it needs a company-level token with the FISVC scope'
        : 'Concur refused the token: renew the company access token, then replay';
    case 'not_found':
      return 'Concur has no such resource';
    case 'rate_limited':
      return 'Concur is throttling requests; the runner retries after a pause';
    case 'unavailable':
      return 'Concur is unavailable; the runner retries when it is back';
    case 'transient':
      return 'Concur failed on its side; the runner retries';
    case 'conflict':
      return 'Concur reports a conflicting state';
    default:
      return `Concur refused the request (HTTP ${httpStatus}): fix it, then replay`;
  }
}

function readErrorMessage(bodyText: string): string | undefined {
  try {
    const body = JSON.parse(bodyText) as { errorMessage?: unknown; errorId?: unknown };
    if (typeof body !== 'object' || body === null || typeof body.errorMessage !== 'string') return undefined;
    return typeof body.errorId === 'string' ? `${body.errorMessage}, errorId ${body.errorId}` : body.errorMessage;
  } catch {
    return undefined;
  }
}

/** Retry-After is delay-seconds or an HTTP date; anything else is ignored. */
export function readRetryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const dateMs = Date.parse(trimmed);
  return Number.isNaN(dateMs) ? undefined : Math.max(0, dateMs - nowMs);
}

/** A network failure or timeout: transient, as every FIS call may be repeated safely. */
export function classifyNetworkError(error: unknown): ConnectorError {
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return { kind: 'transient', vendorCode: 'TIMEOUT', message: 'Concur did not answer in time; the runner retries (every FIS call is safe to repeat).' };
  }
  const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : 'NETWORK_ERROR';
  const detail = typeof cause?.message === 'string' ? cause.message : String(error);
  return { kind: 'transient', vendorCode: code, message: `Concur could not be reached (${detail}); the runner retries.` };
}

/** An answer that does not have the shape the contract promises: kept whole (up to 4 KB) for inspection. */
export function malformedAnswer(what: string, httpStatus: number, bodyText: string, problem: string): ConnectorError {
  return {
    kind: 'invalid',
    vendorCode: 'MALFORMED_ANSWER',
    message: `Concur answered ${what} with HTTP ${httpStatus} in a shape finsync does not read (${problem}): inspect the raw answer.`,
    httpStatus,
    raw: bodyText.slice(0, RAW_ANSWER_MAX_CHARS),
  };
}
