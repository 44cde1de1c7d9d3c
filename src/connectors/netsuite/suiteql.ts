/**
 * A SuiteQL reader over NetSuite's REST query service: `POST /services/rest/query/v1/suiteql`
 * with `Prefer: transient`, paged by limit and offset until NetSuite says there is no more.
 * HTTP only. Every answer is checked before it is believed; anything else becomes a
 * `SuiteQlError` that carries the HTTP status, NetSuite's error code and our error kind.
 */
import { ExponentialBackoff, handleWhen, retry, type IBackoff, type IBackoffFactory, type IRetryBackoffContext } from 'cockatiel';
import { RETRYABLE_KINDS, type ErrorKind } from '../contract.ts';
import { classifyNetSuiteError, RAW_ANSWER_MAX_CHARS } from './errors.ts';

export const SUITEQL_PATH = '/services/rest/query/v1/suiteql';
/** Largest page NetSuite serves (suiteql npm README; not in Oracle's help). */
export const SUITEQL_PAGE_SIZE_MAX = 1000;
/** NetSuite returns at most this many results per query (Oracle help, section_157909186990). */
export const SUITEQL_RESULTS_MAX = 100_000;

export interface SuiteQlClientOptions {
  /** e.g. https://1234567.suitetalk.api.netsuite.com, without a trailing slash. */
  readonly baseUrl: string;
  readonly token: string;
  readonly requestTimeoutMs: number;
  /** The per-query result cap to guard against; default 100,000. Tests lower it. */
  readonly resultsMax?: number;
  /** Attempts per page when NetSuite is busy (429), briefly unavailable or the network fails; default 8. */
  readonly attempts?: number;
  /** First retry delay; doubled each attempt (with jitter) and never below NetSuite's Retry-After. Default 250 ms. */
  readonly retryDelayMs?: number;
  /**
   * The longest wait between attempts, default 5 s. When NetSuite asks for a longer one (a
   * maintenance window's Retry-After), the page fails at once: the sync applies nothing and its
   * next run starts from the same cursor, rather than a run holding its lease for an hour.
   */
  readonly retryWaitMsMax?: number;
}

/** Thrown by the backoff when NetSuite's Retry-After exceeds what one run is willing to wait. */
class WaitTooLong extends Error {}

/** Each delay is at least the Retry-After NetSuite sent with the error. */
class RetryAfterBackoff implements IBackoffFactory<IRetryBackoffContext<unknown>> {
  constructor(
    private readonly inner: IBackoffFactory<IRetryBackoffContext<unknown>>,
    private readonly waitMsMax: number,
  ) {}

  next(context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> {
    const step = this.inner.next(context);
    const error = 'error' in context.result ? context.result.error : undefined;
    const asked = error instanceof SuiteQlError ? (error.retryAfterMs ?? 0) : 0;
    if (asked > this.waitMsMax) throw new WaitTooLong();
    return { duration: Math.min(Math.max(step.duration, asked), this.waitMsMax), next: (c) => new RetryAfterBackoff(step, this.waitMsMax).next(c) };
  }
}

export interface SuiteQlPage {
  /** The rows of this page: every value a string, NetSuite's per-row `links` removed. */
  readonly items: Record<string, string>[];
  readonly totalResults: number;
  readonly offset: number;
}

export interface SuiteQlClient {
  /** Pages through the query's results in order; the query should ORDER BY a unique column. */
  query(q: string, pageSize?: number): AsyncGenerator<SuiteQlPage>;
}

/** A SuiteQL request that failed: NetSuite refused it, answered nonsense, or could not be reached. */
export class SuiteQlError extends Error {
  readonly kind: ErrorKind;
  /** NetSuite's `o:errorCode` (e.g. INVALID_PARAMETER), else HTTP_nnn, MALFORMED_ANSWER, TIMEOUT or a network code. */
  readonly vendorCode: string;
  readonly httpStatus: number | undefined;
  readonly retryAfterMs: number | undefined;
  /** The start of the answer's body, for the log. */
  readonly raw: string | undefined;

  constructor(fields: { kind: ErrorKind; vendorCode: string; message: string; httpStatus?: number; retryAfterMs?: number; raw?: string }) {
    super(fields.message);
    this.name = 'SuiteQlError';
    this.kind = fields.kind;
    this.vendorCode = fields.vendorCode;
    this.httpStatus = fields.httpStatus;
    this.retryAfterMs = fields.retryAfterMs;
    this.raw = fields.raw;
  }
}

interface Envelope {
  readonly items: Record<string, string>[];
  readonly hasMore: boolean;
  readonly totalResults: number;
}

export function createSuiteQlClient(options: SuiteQlClientOptions): SuiteQlClient {
  const endpoint = `${options.baseUrl.replace(/\/+$/, '')}${SUITEQL_PATH}`;
  const resultsMax = options.resultsMax ?? SUITEQL_RESULTS_MAX;
  // A page read is safe to repeat, so busy, unavailable and network failures are retried here;
  // what is still failing after the last attempt fails the sync, which applies nothing.
  const pagePolicy = retry(
    handleWhen((error) => error instanceof SuiteQlError && RETRYABLE_KINDS.has(error.kind)),
    {
      maxAttempts: Math.max(0, (options.attempts ?? 8) - 1),
      backoff: new RetryAfterBackoff(new ExponentialBackoff({ initialDelay: options.retryDelayMs ?? 250, maxDelay: options.retryWaitMsMax ?? 5_000 }), options.retryWaitMsMax ?? 5_000),
    },
  );
  const readPage = async (url: string, q: string, offset: number, subject: string): Promise<Envelope> => {
    let last: unknown;
    try {
      return await pagePolicy.execute(async () => {
        try {
          return await fetchPage(url, q, offset, subject);
        } catch (error) {
          last = error;
          throw error;
        }
      });
    } catch (error) {
      // The backoff refused to wait as long as NetSuite asked: report NetSuite's own answer.
      throw error instanceof WaitTooLong ? last : error;
    }
  };

  async function* query(q: string, pageSize = SUITEQL_PAGE_SIZE_MAX): AsyncGenerator<SuiteQlPage> {
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > SUITEQL_PAGE_SIZE_MAX) {
      throw new Error(`Assertion failed: SuiteQL page size ${pageSize} is outside 1..${SUITEQL_PAGE_SIZE_MAX}`);
    }
    const subject = describeQuery(q);
    let offset = 0;
    for (;;) {
      const page = await readPage(`${endpoint}?limit=${pageSize}&offset=${offset}`, q, offset, subject);
      if (page.totalResults >= resultsMax) {
        throw new SuiteQlError({
          kind: 'invalid',
          vendorCode: 'RESULT_LIMIT',
          message: `${subject} matches ${page.totalResults} rows, and NetSuite returns at most ${resultsMax} per query, so the rest would be missing: narrow the query (for example by lastmodifieddate or id ranges).`,
          httpStatus: 200,
        });
      }
      yield { items: page.items, totalResults: page.totalResults, offset };
      if (!page.hasMore) return;
      offset += page.items.length;
    }
  }

  async function fetchPage(url: string, q: string, offset: number, subject: string): Promise<Envelope> {
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { Authorization: `Bearer ${options.token}`, Accept: 'application/json', 'Content-Type': 'application/json', Prefer: 'transient' },
        body: JSON.stringify({ q }),
        redirect: 'manual',
        signal: AbortSignal.timeout(options.requestTimeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw networkError(error, subject);
    }
    if (response.status !== 200) throw answerError(response.status, text, response.headers, subject);
    const envelope = readEnvelope(text, offset);
    if (typeof envelope === 'string') {
      throw new SuiteQlError({
        kind: 'transient',
        vendorCode: 'MALFORMED_ANSWER',
        message: `NetSuite answered ${subject} with HTTP 200 but ${envelope}; the sync can be retried.`,
        httpStatus: 200,
        raw: text.slice(0, RAW_ANSWER_MAX_CHARS),
      });
    }
    return envelope;
  }

  return { query };
}

/** The query's table, for messages: the full text can be long and is in the log anyway. */
function describeQuery(q: string): string {
  const table = /\bfrom\s+([A-Za-z_][A-Za-z0-9_]*)/i.exec(q)?.[1];
  return table === undefined ? 'the SuiteQL query' : `the SuiteQL query on ${table}`;
}

function answerError(httpStatus: number, text: string, headers: Headers, subject: string): SuiteQlError {
  const classified = classifyNetSuiteError(httpStatus, text, headers);
  const said = readDetail(text);
  const what = `NetSuite refused ${subject} (HTTP ${httpStatus} ${classified.vendorCode}${said ? `: ${said}` : ''})`;
  const next: Record<ErrorKind, string> = {
    invalid: 'fix the query or the column names for this account',
    auth: "check the token and the integration role's SuiteQL and REST permissions, then sync again",
    rate_limited: 'the sync can be retried after a pause',
    unavailable: 'the sync can be retried when NetSuite is back',
    transient: 'the sync can be retried',
    not_found: 'check the account URL',
    conflict: 'check the request, then sync again',
  };
  return new SuiteQlError({
    kind: classified.kind,
    vendorCode: classified.vendorCode,
    message: `${what}: ${next[classified.kind]}.`,
    httpStatus,
    ...(classified.retryAfterMs !== undefined && { retryAfterMs: classified.retryAfterMs }),
    raw: text.slice(0, RAW_ANSWER_MAX_CHARS),
  });
}

function readDetail(text: string): string | undefined {
  try {
    const details = (JSON.parse(text) as { 'o:errorDetails'?: unknown })['o:errorDetails'];
    const first = Array.isArray(details) ? (details[0] as { detail?: unknown } | undefined) : undefined;
    return typeof first?.detail === 'string' ? first.detail : undefined;
  } catch {
    return undefined;
  }
}

function networkError(error: unknown, subject: string): SuiteQlError {
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new SuiteQlError({ kind: 'transient', vendorCode: 'TIMEOUT', message: `NetSuite did not answer ${subject} in time; the sync can be retried.` });
  }
  const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : 'NETWORK_ERROR';
  const detail = typeof cause?.message === 'string' ? cause.message : String(error);
  // A read changes nothing in NetSuite, so every network failure is safe to retry.
  return new SuiteQlError({ kind: 'unavailable', vendorCode: code, message: `NetSuite could not be reached for ${subject} (${detail}); the sync can be retried.` });
}

/** The answer as an envelope, or what is wrong with it. */
function readEnvelope(text: string, offset: number): Envelope | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'a body that is not JSON';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'a body that is not a JSON object';
  const body = parsed as Record<string, unknown>;
  if (!Array.isArray(body.items)) return 'no items array';
  if (typeof body.hasMore !== 'boolean') return 'no hasMore flag';
  const count = body.count;
  if (count !== body.items.length) return `count ${String(count)} for ${body.items.length} items`;
  if (body.offset !== offset) return `offset ${String(body.offset)} where ${offset} was asked for`;
  const totalResults = body.totalResults;
  if (typeof totalResults !== 'number' || !Number.isInteger(totalResults) || totalResults < offset + body.items.length) {
    return `totalResults ${String(totalResults)}, fewer than the rows it has sent`;
  }
  if (body.hasMore && body.items.length === 0) return 'hasMore set on an empty page';
  const items: Record<string, string>[] = [];
  for (const [index, item] of body.items.entries()) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return `item ${index} that is not an object`;
    const row: Record<string, string> = {};
    for (const [key, value] of Object.entries(item as Record<string, unknown>)) {
      if (key === 'links') continue;
      if (typeof value !== 'string') return `item ${index} with a non-string value in ${key}`;
      row[key] = value;
    }
    items.push(row);
  }
  return { items, hasMore: body.hasMore, totalResults };
}
