/**
 * NetSuite answers -> our error kinds. NetSuite REST errors are RFC 7807-like JSON with an
 * `o:errorDetails` array; gateways in front of it answer with HTML, so the status decides the
 * kind whenever the body is not the envelope.
 */
import type { ConnectorError, ErrorKind } from '../contract.ts';

export const RAW_ANSWER_MAX_CHARS = 4000;

/** Reference fields a NetSuite detail or error path can name; the exception queue shows them as the fix. */
const REFERENCE_FIELDS = new Set(['account', 'department', 'entity', 'subsidiary', 'class', 'location', 'taxCode', 'currency']);

/** RESTlet and SOAP concurrency rejections, which arrive as HTTP 400 rather than 429. */
const THROTTLE_CODES = new Set(['SSS_REQUEST_LIMIT_EXCEEDED', 'WS_REQUEST_BLOCKED', 'CONCURRENCY_LIMIT_EXCEEDED']);

interface EnvelopeDetail {
  readonly detail: string;
  readonly code?: string;
  readonly path?: string;
  readonly title?: string;
}

export function classifyNetSuiteError(httpStatus: number, bodyText: string, headers: Headers, nowMs: number = Date.now()): ConnectorError {
  const envelope = readEnvelope(bodyText);
  const kind = kindOf(httpStatus, envelope);
  const retryAfterMs = kind === 'rate_limited' || kind === 'unavailable' ? readRetryAfterMs(headers.get('retry-after'), nowMs) : undefined;
  const reference = kind === 'invalid' && envelope ? readReference(envelope) : undefined;
  const vendorCode = kind === undefined ? 'UNCLASSIFIED' : (envelope?.code ?? `HTTP_${httpStatus}`);
  return {
    kind: kind ?? 'invalid',
    vendorCode,
    message: describe(kind, httpStatus, envelope, reference),
    httpStatus,
    ...(retryAfterMs !== undefined && { retryAfterMs }),
    ...(reference?.field !== undefined && { field: reference.field }),
    ...(reference?.value !== undefined && { value: reference.value }),
    raw: bodyText.slice(0, RAW_ANSWER_MAX_CHARS),
  };
}

/** The kind for a status and envelope, or undefined when the answer fits no rule (the pipeline quarantines it). */
function kindOf(httpStatus: number, envelope: EnvelopeDetail | undefined): ErrorKind | undefined {
  switch (httpStatus) {
    case 429:
      return 'rate_limited';
    case 502:
    case 503:
    case 504:
      return 'unavailable';
    case 500:
      return 'transient';
    case 401:
    case 403:
      return 'auth';
    case 404:
      return 'not_found';
    case 409:
      return 'conflict';
    case 400:
      // A repeated X-NetSuite-Idempotency-Key is a 400 whose title reads "Conflict", not a 409.
      if (envelope?.code === 'IDEMPOTENCY_ERROR' || envelope?.title === 'Conflict') return 'conflict';
      if (envelope?.code !== undefined && THROTTLE_CODES.has(envelope.code)) return 'rate_limited';
      return 'invalid';
    default:
      return undefined;
  }
}

function readEnvelope(bodyText: string): EnvelopeDetail | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const record = parsed as Record<string, unknown>;
  const details = record['o:errorDetails'];
  if (!Array.isArray(details)) return undefined;
  const first = (details[0] ?? {}) as Record<string, unknown>;
  return {
    detail: typeof first.detail === 'string' ? first.detail : '',
    ...(typeof first['o:errorCode'] === 'string' && { code: first['o:errorCode'] }),
    ...(typeof first['o:errorPath'] === 'string' && { path: first['o:errorPath'] }),
    ...(typeof record.title === 'string' && { title: record.title }),
  };
}

/** Retry-After is either delay-seconds or an HTTP date; anything else is ignored. */
export function readRetryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const dateMs = Date.parse(trimmed);
  if (Number.isNaN(dateMs)) return undefined;
  return Math.max(0, dateMs - nowMs);
}

interface Reference {
  readonly field?: string;
  readonly value?: string;
  readonly path?: string;
}

function readReference(envelope: EnvelopeDetail): Reference | undefined {
  const fromDetail = /Invalid value (\S+) for field (\w+)/i.exec(envelope.detail);
  const pathField = envelope.path === undefined ? undefined : /(?:^|\.)(\w+)$/.exec(envelope.path)?.[1];
  const field = [pathField, fromDetail?.[2]].find((name) => name !== undefined && REFERENCE_FIELDS.has(name));
  if (field === undefined) return envelope.path === undefined ? undefined : { path: envelope.path };
  return {
    field,
    ...(fromDetail && { value: fromDetail[1] }),
    ...(envelope.path !== undefined && { path: envelope.path }),
  };
}

function describe(kind: ErrorKind | undefined, httpStatus: number, envelope: EnvelopeDetail | undefined, reference: Reference | undefined): string {
  const said = envelope ? `${envelope.code ?? 'no code'}: ${envelope.detail || envelope.title || 'no detail'}` : `HTTP ${httpStatus} without a NetSuite error body`;
  switch (kind) {
    case 'rate_limited':
      return `NetSuite is throttling requests (${said}); the lane retries after a pause.`;
    case 'unavailable':
      return `NetSuite is unavailable (${said}); the lane retries when it is back.`;
    case 'transient':
      return `NetSuite failed on its side (${said}); the lane retries.`;
    case 'auth':
      return `NetSuite refused the credentials (${said}): check the token and the integration role, then replay.`;
    case 'not_found':
      return `NetSuite has no such record (${said}).`;
    case 'conflict':
      return `NetSuite reports a conflicting earlier request (${said}): look up the document before any resend.`;
    case 'invalid':
      if (reference?.field !== undefined) {
        const where = reference.path === undefined ? '' : ` at ${reference.path}`;
        const value = reference.value === undefined ? '' : ` ${reference.value}`;
        return `NetSuite rejected ${reference.field}${value}${where} (${said}): activate the record in NetSuite or fix the mapping, then replay.`;
      }
      return `NetSuite rejected the journal${reference?.path === undefined ? '' : ` at ${reference.path}`} (${said}): fix the data, then replay.`;
    default:
      return `NetSuite answered HTTP ${httpStatus}, which finsync does not recognise (${said}): inspect the raw answer.`;
  }
}
