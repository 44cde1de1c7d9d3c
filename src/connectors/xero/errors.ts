/**
 * Xero answers -> our error kinds. Xero sends three kinds of error body: its `Error` object
 * (`{ErrorNumber, Type, Message, Elements[{ValidationErrors[{Message}]}]}`, the only one in the
 * official description, on 400), an RFC 7807-like problem from its identity layer on 401/403
 * (`{Type, Title, Status, Detail, Instance}`), and on 429 nothing but headers
 * (`Retry-After`, `X-Rate-Limit-Problem`). The status decides the kind; the body adds the code, the
 * reference at fault and the message. See README.md for the table.
 */
import type { ConnectorError, ErrorKind } from '../contract.ts';
import { JsonDecimal, parseJsonExact } from './exact-json.ts';

/** The raw answer kept on an error: at most 4 KB of UTF-8. */
export const RAW_ANSWER_MAX_BYTES = 4096;

export interface ClassifyOptions {
  /** The clock for Retry-After given as an HTTP date; default Date.now. */
  readonly nowMs?: number;
  /** Tracking category names -> our field (`costCenter`, `project`), so a tracking message names the right field. */
  readonly trackingFields?: Readonly<Record<string, string>>;
}

/** What Xero's body said, whichever of its shapes it came in. */
export interface XeroErrorBody {
  readonly type?: string;
  readonly errorNumber?: number;
  readonly message?: string;
  /** Every ValidationErrors[].Message of every element, in order. */
  readonly validation: readonly string[];
  /** From the identity layer's problem body (401/403): `TokenExpired: …`, `AuthenticationUnsuccessful`. */
  readonly detail?: string;
}

export function classifyXeroError(httpStatus: number, bodyText: string, headers: Headers, options: ClassifyOptions = {}): ConnectorError {
  const body = readErrorBody(bodyText);
  const problem = headers.get('x-rate-limit-problem')?.trim().toLowerCase() || undefined;
  const kind = kindOf(httpStatus, body);
  const retryAfterMs = kind === 'rate_limited' || kind === 'unavailable' || kind === 'transient' ? readRetryAfterMs(headers.get('retry-after'), options.nowMs ?? Date.now()) : undefined;
  const reference = kind === 'invalid' || kind === 'conflict' ? findReference(body, options.trackingFields ?? {}) : undefined;
  return {
    kind: kind ?? 'invalid',
    vendorCode: vendorCodeOf(kind, httpStatus, body, problem),
    message: describe(kind, httpStatus, body, problem, reference, retryAfterMs),
    httpStatus,
    ...(retryAfterMs !== undefined && { retryAfterMs }),
    ...(reference !== undefined && { field: reference.field, value: reference.value }),
    raw: truncateUtf8(bodyText === '' ? describeHeaders(headers) : bodyText, RAW_ANSWER_MAX_BYTES),
  };
}

/** The kind for a status and body; undefined when nothing fits (finsync quarantines it as UNCLASSIFIED). */
function kindOf(httpStatus: number, body: XeroErrorBody | undefined): ErrorKind | undefined {
  switch (httpStatus) {
    case 400:
    case 422:
      // What Xero answers to a reused Idempotency-Key with another body is not documented [U];
      // the simulator's 400 says "Idempotency-Key", and so would any message about the key.
      return mentionsIdempotency(body) ? 'conflict' : 'invalid';
    case 401:
    case 403:
      return 'auth';
    case 404:
      return 'not_found';
    case 409:
      return 'conflict';
    case 429:
      return 'rate_limited';
    case 500:
      return 'transient';
    case 502:
    case 503:
    case 504:
      return 'unavailable';
    default:
      return undefined;
  }
}

function mentionsIdempotency(body: XeroErrorBody | undefined): boolean {
  if (body === undefined) return false;
  return [body.message, body.type, ...body.validation].some((text) => text !== undefined && /idempotency/i.test(text));
}

function vendorCodeOf(kind: ErrorKind | undefined, httpStatus: number, body: XeroErrorBody | undefined, problem: string | undefined): string {
  if (kind === undefined) return 'UNCLASSIFIED';
  if (kind === 'rate_limited') return problem === undefined ? 'HTTP_429' : `RATE_LIMIT_${problem.toUpperCase()}`;
  if (kind === 'conflict' && httpStatus !== 409) return 'IDEMPOTENCY_KEY_REUSED';
  if (kind === 'auth' && body?.detail !== undefined) return body.detail.split(':')[0].trim() || `HTTP_${httpStatus}`;
  return body?.type ?? `HTTP_${httpStatus}`;
}

/** Reads any of Xero's error bodies; undefined for an empty or non-JSON body. */
export function readErrorBody(bodyText: string): XeroErrorBody | undefined {
  let parsed: unknown;
  try {
    parsed = parseJsonExact(bodyText);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || parsed instanceof JsonDecimal) return undefined;
  const record = parsed as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const validation: string[] = [];
  const collect = (holder: unknown) => {
    const errors = (holder as { ValidationErrors?: unknown } | null)?.ValidationErrors;
    if (!Array.isArray(errors)) return;
    for (const error of errors) {
      const message = text((error as { Message?: unknown } | null)?.Message);
      if (message !== undefined) validation.push(message);
    }
  };
  if (Array.isArray(record.Elements)) for (const element of record.Elements) collect(element);
  // With summarizeErrors=false Xero answers 200 and the journal itself carries ValidationErrors.
  if (Array.isArray(record.ManualJournals)) for (const journal of record.ManualJournals) collect(journal);
  const type = text(record.Type) ?? text(record.Title);
  const message = text(record.Message);
  const detail = text(record.Detail);
  return {
    ...(type !== undefined && { type }),
    ...(record.ErrorNumber instanceof JsonDecimal && { errorNumber: record.ErrorNumber.toNumber() }),
    ...(message !== undefined && { message }),
    validation,
    ...(detail !== undefined && { detail }),
  };
}

/** Retry-After is delay-seconds or an HTTP date; anything else is ignored. */
export function readRetryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const dateMs = Date.parse(trimmed);
  if (Number.isNaN(dateMs)) return undefined;
  return Math.max(0, dateMs - nowMs);
}

interface Reference {
  readonly field: string;
  readonly value: string;
}

/**
 * Xero's validation messages name the record at fault in quotes. The texts are general knowledge
 * of Xero's answers [M] (e.g. "Account code '6110' is not a valid code for this document."), so
 * each pattern is loose and a message that fits none leaves the error without a field.
 */
const REFERENCE_PATTERNS: readonly { readonly pattern: RegExp; readonly field: (match: RegExpExecArray, tracking: Readonly<Record<string, string>>) => string; readonly value: (match: RegExpExecArray) => string }[] = [
  { pattern: /account code '([^']*)'/i, field: () => 'account', value: (m) => m[1] },
  { pattern: /tracking option '([^']*)'[^']*(?:tracking )?category '([^']*)'/i, field: (m, t) => t[m[2]] ?? 'costCenter', value: (m) => m[1] },
  { pattern: /tracking category '([^']*)'/i, field: (m, t) => t[m[1]] ?? 'trackingCategory', value: (m) => m[1] },
  { pattern: /tax ?type(?: code)? '([^']*)'/i, field: () => 'taxCode', value: (m) => m[1] },
  { pattern: /lock date[^0-9]*(\d{1,2} \w{3} \d{4}|\d{4}-\d{2}-\d{2})?/i, field: () => 'postingDate', value: (m) => m[1] ?? '' },
  { pattern: /Idempotency-Key '([^']*)'/i, field: () => 'externalKey', value: (m) => m[1] },
];

function findReference(body: XeroErrorBody | undefined, tracking: Readonly<Record<string, string>>): Reference | undefined {
  if (body === undefined) return undefined;
  for (const text of [...body.validation, body.message ?? '']) {
    for (const { pattern, field, value } of REFERENCE_PATTERNS) {
      const match = pattern.exec(text);
      if (match) return { field: field(match, tracking), value: value(match) };
    }
  }
  return undefined;
}

const LIMIT_NAMES: Readonly<Record<string, string>> = {
  minute: 'the 60 calls a minute per organisation',
  day: 'the 5,000 calls a day per organisation',
  concurrent: 'the 5 calls in flight per organisation',
  appminute: "the app's 10,000 calls a minute across all organisations",
};

function describe(kind: ErrorKind | undefined, httpStatus: number, body: XeroErrorBody | undefined, problem: string | undefined, reference: Reference | undefined, retryAfterMs: number | undefined): string {
  const said = saidOf(httpStatus, body);
  const after = retryAfterMs === undefined ? '' : ` after ${Math.ceil(retryAfterMs / 1000)} s`;
  switch (kind) {
    case 'rate_limited':
      return `Xero refused the call: over ${problem === undefined ? 'a rate limit' : (LIMIT_NAMES[problem] ?? `the "${problem}" limit`)} (HTTP 429); the lane retries${after}.`;
    case 'unavailable':
      return `Xero is unavailable (${said}); the lane retries${after || ' when it is back'}.`;
    case 'transient':
      return `Xero failed on its side (${said}); the lane retries.`;
    case 'auth':
      return `Xero refused the credentials (${said}): refresh the access token, check that the organisation (xero-tenant-id) is still connected to the app, then replay.`;
    case 'not_found':
      return `Xero has no such resource (${said}).`;
    case 'conflict':
      return `Xero refused a reused Idempotency-Key (${said}): an earlier request with this key had another body; look the journal up, and post a changed journal as a new revision.`;
    case 'invalid':
      if (reference !== undefined && reference.field !== 'postingDate') {
        return `Xero rejected ${reference.field} ${reference.value} (${said}): activate it in Xero or fix the mapping, then replay.`;
      }
      if (reference?.field === 'postingDate') return `Xero rejected the journal date (${said}): the period is locked in Xero; unlock it or post into an open period, then replay.`;
      return `Xero rejected the journal (${said}): fix the data, then replay.`;
    default:
      return `Xero answered HTTP ${httpStatus}, which finsync does not recognise (${said}): inspect the raw answer.`;
  }
}

function saidOf(httpStatus: number, body: XeroErrorBody | undefined): string {
  if (body === undefined) return `HTTP ${httpStatus} without a Xero error body`;
  const head = [body.type, body.detail ?? body.message].filter((part) => part !== undefined).join(': ');
  const details = body.validation.length > 0 ? `; ${body.validation.join('; ')}` : '';
  return `HTTP ${httpStatus} ${head || 'with an empty error'}${details}`;
}

function describeHeaders(headers: Headers): string {
  const names = ['retry-after', 'x-rate-limit-problem', 'x-minlimit-remaining', 'x-daylimit-remaining', 'x-appminlimit-remaining'];
  return names.flatMap((name) => (headers.get(name) === null ? [] : [`${name}: ${headers.get(name)}`])).join('\n');
}

/** At most `maxBytes` of UTF-8, cut on a character boundary. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}
