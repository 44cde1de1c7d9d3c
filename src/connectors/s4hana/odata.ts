/**
 * A reader for the OData V2 read service of journal entry items (by default
 * `/sap/opu/odata/sap/API_JOURNALENTRYITEMBASIC_SRV/A_JournalEntryItemBasic`). HTTP only. Pages
 * with `$top`/`$skip` in a unique `$orderby`, and follows a server-driven `__next` link when
 * the server cuts a page shorter than `$top`. Every answer is checked before it is believed;
 * failures become an `ODataError` carrying our classified error. A page read is safe to repeat,
 * so retryable failures are retried here a few times (never longer than `retryWaitMsMax`).
 */
import { RETRYABLE_KINDS, type ConnectorError } from '../contract.ts';
import { classifyODataError, describeNetworkFailure, readNetworkFailure, unclassified } from './errors.ts';

export const JOURNAL_ITEM_SERVICE_PATH = '/sap/opu/odata/sap/API_JOURNALENTRYITEMBASIC_SRV';
export const JOURNAL_ITEM_ENTITY_SET = 'A_JournalEntryItemBasic';

export interface ODataReaderOptions {
  /** e.g. https://my123456-api.s4hana.cloud.sap, without a trailing slash. */
  readonly baseUrl: string;
  readonly user: string;
  readonly password: string;
  readonly requestTimeoutMs: number;
  /** Default API_JOURNALENTRYITEMBASIC_SRV; a custom CDS-based service on a tenant whose standard one lacks the fields (README). */
  readonly servicePath?: string;
  readonly entitySet?: string;
  /** Attempts per page for retryable failures; default 3. */
  readonly attempts?: number;
  /** First retry delay, doubled per attempt, at least the Retry-After sent; default 250 ms. */
  readonly retryDelayMs?: number;
  /** A Retry-After longer than this fails the page at once; default 5 s. */
  readonly retryWaitMsMax?: number;
  readonly now?: () => number;
}

export interface ODataQuery {
  readonly filter: string;
  readonly select: readonly string[];
  readonly orderby: readonly string[];
  readonly top: number;
}

export type ODataRow = Readonly<Record<string, unknown>>;

export interface ODataReader {
  readonly name: string;
  /** The rows of the query page by page, in `orderby` order. */
  pages(query: ODataQuery): AsyncGenerator<readonly ODataRow[]>;
}

/** A read that failed: S/4HANA refused it, answered something else, or could not be reached. */
export class ODataError extends Error {
  constructor(readonly error: ConnectorError) {
    super(error.message);
    this.name = 'ODataError';
  }
}

export function createODataReader(options: ODataReaderOptions): ODataReader {
  const root = `${options.baseUrl.replace(/\/+$/, '')}${options.servicePath ?? JOURNAL_ITEM_SERVICE_PATH}/${options.entitySet ?? JOURNAL_ITEM_ENTITY_SET}`;
  const authorization = `Basic ${Buffer.from(`${options.user}:${options.password}`).toString('base64')}`;
  const now = options.now ?? Date.now;

  async function fetchPage(url: string): Promise<{ rows: ODataRow[]; next: string | undefined }> {
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, { headers: { Authorization: authorization, Accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(options.requestTimeoutMs) });
      text = await response.text();
    } catch (error) {
      throw new ODataError(describeNetworkFailure(readNetworkFailure(error)));
    }
    if (response.status !== 200) throw new ODataError(classifyODataError(response.status, text, response.headers, now()));
    const page = readPage(text);
    if (typeof page === 'string') throw new ODataError(unclassified(200, text, `The S/4HANA read service answered HTTP 200 with ${page}`));
    return { rows: page.results, next: page.next === undefined ? undefined : new URL(page.next, url).toString() };
  }

  async function fetchWithRetries(url: string): Promise<{ rows: ODataRow[]; next: string | undefined }> {
    const attempts = Math.max(1, options.attempts ?? 3);
    let delayMs = options.retryDelayMs ?? 250;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fetchPage(url);
      } catch (error) {
        if (!(error instanceof ODataError) || !RETRYABLE_KINDS.has(error.error.kind) || attempt >= attempts) throw error;
        const waitMs = Math.max(delayMs, error.error.retryAfterMs ?? 0);
        if (waitMs > (options.retryWaitMsMax ?? 5_000)) throw error;
        await new Promise((resolve) => setTimeout(resolve, waitMs));
        delayMs *= 2;
      }
    }
  }

  async function* pages(query: ODataQuery): AsyncGenerator<readonly ODataRow[]> {
    if (!Number.isSafeInteger(query.top) || query.top < 1) throw new Error(`Assertion failed: $top ${query.top} is not a positive integer`);
    for (let skip = 0; ; skip += query.top) {
      let url: string | undefined = `${root}?${queryString(query, skip)}`;
      let inWindow = 0;
      while (url !== undefined) {
        const page: { rows: ODataRow[]; next: string | undefined } = await fetchWithRetries(url);
        inWindow += page.rows.length;
        if (page.rows.length > 0) yield page.rows;
        url = page.next;
      }
      // A window that came back short is the last one; one that came back longer means the
      // server ignored $top and paged the whole result itself, so there is nothing after it.
      if (inWindow !== query.top) return;
    }
  }

  return { name: `S/4HANA ${options.servicePath ?? JOURNAL_ITEM_SERVICE_PATH}/${options.entitySet ?? JOURNAL_ITEM_ENTITY_SET}`, pages };
}

function queryString(query: ODataQuery, skip: number): string {
  const parts = [
    ['$filter', query.filter],
    ['$select', query.select.join(',')],
    ['$orderby', query.orderby.join(',')],
    ['$top', String(query.top)],
    ['$skip', String(skip)],
    ['$format', 'json'],
  ];
  return parts.map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('&');
}

/** `{ d: { results: [...], __next? } }`; a string says what is wrong. */
function readPage(text: string): { results: ODataRow[]; next: string | undefined } | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'a body that is not JSON';
  }
  const d = typeof parsed === 'object' && parsed !== null ? (parsed as { d?: unknown }).d : undefined;
  const results = typeof d === 'object' && d !== null ? (d as { results?: unknown }).results : undefined;
  if (!Array.isArray(results) || !results.every((row) => typeof row === 'object' && row !== null && !Array.isArray(row))) return 'a body without d.results rows';
  const next = (d as { __next?: unknown }).__next;
  if (next !== undefined && typeof next !== 'string') return 'a __next link that is not a string';
  return { results: results as ODataRow[], next };
}

/** An OData V2 string literal: single quotes doubled. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Edm.DateTime in JSON V2 (`/Date(1777507200000)/`) as YYYY-MM-DD (UTC), or undefined. */
export function readODataDate(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^\/Date\((-?\d+)(?:[+-]\d{4})?\)\/$/.exec(value);
  if (!match) return /^\d{4}-\d{2}-\d{2}(T[\d:.]+)?$/.test(value) ? value.slice(0, 10) : undefined;
  const date = new Date(Number(match[1]));
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString().slice(0, 10);
}
