/**
 * Xero's side of a reconciliation: the posted manual journals of ours dated in one period, read
 * with `GET /api.xro/2.0/ManualJournals?where=…&page=N` (100 journals a page, with their lines
 * only when `page` is given), as a LineSource for the engine (src/reconciliation).
 *
 *   where = Status=="POSTED" AND Date >= DateTime(2026, 04, 01) AND Date < DateTime(2026, 05, 01)
 *           AND Narration.StartsWith("fs_")
 *
 * Each journal line becomes one ReconLine: key = the external key leading the Narration,
 * document = ManualJournalID, account = `accountCodeOf(AccountCode)` or the AccountCode itself
 * (finsync posts its own codes where the references map has none, so the code Xero holds is ours),
 * currency = the organisation's base currency (manual journals carry none), amountMinor =
 * LineAmount in minor units, read digit by digit (exact-json.ts, money.ts), never through a float.
 * A journal that cannot be read (an amount with too many decimals, a date outside the period)
 * stops the run with a ReconciliationInputError naming it: a line left out would hide a break.
 *
 * A page is safe to read again, so busy (429), unavailable and network failures are retried with
 * at least Xero's Retry-After; what still fails throws a XeroReadError with the classified error.
 * Every page is one call against the organisation's 60-a-minute and 5,000-a-day budget, shared with
 * the posting lane.
 */
import { ExponentialBackoff, handleWhen, retry, type IBackoff, type IBackoffFactory, type IRetryBackoffContext } from 'cockatiel';
import { RETRYABLE_KINDS, type ConnectorError, type ErrorKind } from '../contract.ts';
import { ReconciliationInputError } from '../../reconciliation/line-file.ts';
import type { LineSource, ReconLine } from '../../reconciliation/types.ts';
import { RAW_ANSWER_MAX_BYTES, truncateUtf8 } from './errors.ts';
import { JsonDecimal, parseJsonExact } from './exact-json.ts';
import { describeNetworkFailure, isNetworkFailure, type Answer, type Exchange } from './http.ts';
import { keyFromNarration, PAGE_SIZE_DEFAULT, periodWhere, readManualJournal, XeroShapeError, type NormalizedXeroJournal } from './mapping.ts';

export interface XeroReadbackSettings {
  /** Sent as `pageSize` when set (1 to 1000); by default Xero's 100 a page. */
  readonly pageSize?: number;
  /** Attempts per page; default 4. */
  readonly attempts?: number;
  /** First retry delay, doubled each attempt and never below Xero's Retry-After; default 1 s. */
  readonly retryDelayMs?: number;
  /** The longest wait between attempts; default 60 s (a minute-limit Retry-After). A longer Retry-After (the day limit) fails the page at once. */
  readonly retryWaitMsMax?: number;
}

export interface XeroReadbackOptions extends XeroReadbackSettings {
  readonly entity: string;
  /** `YYYY-MM` */
  readonly period: string;
  /** The organisation's base currency. */
  readonly currency: string;
  readonly accountCodeOf: (erpAccount: string) => string | undefined;
  readonly classify: (answer: Answer) => ConnectorError;
}

/** A page of the read-back that failed after its retries. */
export class XeroReadError extends Error {
  readonly kind: ErrorKind;
  readonly vendorCode: string;
  readonly httpStatus: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly raw: string | undefined;

  constructor(error: ConnectorError, subject: string) {
    super(`${subject}: ${error.message}`);
    this.name = 'XeroReadError';
    this.kind = error.kind;
    this.vendorCode = error.vendorCode;
    this.httpStatus = error.httpStatus;
    this.retryAfterMs = error.retryAfterMs;
    this.raw = error.raw;
  }
}

const PAGES_MAX = 100_000;

export function xeroJournalLines(exchange: Exchange, options: XeroReadbackOptions): LineSource {
  const where = periodWhere(options.period);
  if (options.pageSize !== undefined && (!Number.isInteger(options.pageSize) || options.pageSize < 1 || options.pageSize > 1000)) {
    throw new Error(`Assertion failed: Xero page size ${options.pageSize} is outside 1..1000`);
  }
  const name = `Xero manual journals of ${options.entity} in ${options.period}`;
  return { name, side: 'erp', checked: false, batches: readBatches(exchange, options, where, name) };
}

async function* readBatches(exchange: Exchange, options: XeroReadbackOptions, where: string, name: string): AsyncGenerator<readonly ReconLine[]> {
  const readPage = pageReader(exchange, options, where, name);
  const pageSize = options.pageSize ?? PAGE_SIZE_DEFAULT;
  const seen = new Set<string>();
  let row = 0;
  for (let page = 1; page <= PAGES_MAX; page++) {
    const { journals, pageCount } = await readPage(page);
    const lines: ReconLine[] = [];
    for (const raw of journals) {
      row++;
      const journal = readJournal(raw, options, name, row);
      // Offset paging over a list that changes while it is read can repeat a journal: keep the first copy.
      if (journal === undefined || seen.has(journal.manualJournalId as string)) continue;
      seen.add(journal.manualJournalId as string);
      lines.push(...toLines(journal, options, name, row));
    }
    if (lines.length > 0) yield lines;
    if (journals.length < pageSize || (pageCount !== undefined && page >= pageCount)) return;
  }
  throw new Error(`Assertion failed: ${name} did not end after ${PAGES_MAX} pages`);
}

interface Page {
  readonly journals: readonly unknown[];
  readonly pageCount?: number;
}

function pageReader(exchange: Exchange, options: XeroReadbackOptions, where: string, name: string): (page: number) => Promise<Page> {
  const waitMsMax = options.retryWaitMsMax ?? 60_000;
  const policy = retry(
    handleWhen((error) => error instanceof XeroReadError && RETRYABLE_KINDS.has(error.kind)),
    { maxAttempts: Math.max(0, (options.attempts ?? 4) - 1), backoff: new RetryAfterBackoff(new ExponentialBackoff({ initialDelay: options.retryDelayMs ?? 1000, maxDelay: waitMsMax }), waitMsMax) },
  );
  const fetchPage = async (page: number): Promise<Page> => {
    const subject = `${name}, page ${page}`;
    const query = { where, page: String(page), ...(options.pageSize !== undefined && { pageSize: String(options.pageSize) }) };
    const result = await exchange({ method: 'GET', path: '/ManualJournals', query });
    if (isNetworkFailure(result)) throw new XeroReadError(describeNetworkFailure(result), subject);
    if (result.status !== 200) throw new XeroReadError(options.classify(result), subject);
    const parsed = readPage(result.text);
    if (typeof parsed === 'string') {
      throw new XeroReadError({ kind: 'transient', vendorCode: 'MALFORMED_ANSWER', message: `Xero answered HTTP 200 with ${parsed}; the run can be retried.`, httpStatus: 200, raw: truncateUtf8(result.text, RAW_ANSWER_MAX_BYTES) }, subject);
    }
    return parsed;
  };
  return async (page) => {
    let last: unknown;
    try {
      return await policy.execute(async () => {
        try {
          return await fetchPage(page);
        } catch (error) {
          last = error;
          throw error;
        }
      });
    } catch (error) {
      // The backoff refused to wait as long as Xero asked: report Xero's own answer.
      throw error instanceof WaitTooLong ? last : error;
    }
  };
}

/** Thrown by the backoff when Xero's Retry-After exceeds what one run is willing to wait. */
class WaitTooLong extends Error {}

class RetryAfterBackoff implements IBackoffFactory<IRetryBackoffContext<unknown>> {
  constructor(
    private readonly inner: IBackoffFactory<IRetryBackoffContext<unknown>>,
    private readonly waitMsMax: number,
  ) {}

  next(context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> {
    const step = this.inner.next(context);
    const error = 'error' in context.result ? context.result.error : undefined;
    const asked = error instanceof XeroReadError ? (error.retryAfterMs ?? 0) : 0;
    if (asked > this.waitMsMax) throw new WaitTooLong();
    return { duration: Math.min(Math.max(step.duration, asked), this.waitMsMax), next: (c) => new RetryAfterBackoff(step, this.waitMsMax).next(c) };
  }
}

function readPage(text: string): Page | string {
  let parsed: unknown;
  try {
    parsed = parseJsonExact(text);
  } catch {
    return 'a body that is not JSON';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || parsed instanceof JsonDecimal) return 'a body that is not a JSON object';
  const body = parsed as Record<string, unknown>;
  if (!Array.isArray(body.ManualJournals)) return 'no ManualJournals array';
  const count = (body.pagination as { pageCount?: unknown } | undefined)?.pageCount;
  return { journals: body.ManualJournals, ...(count instanceof JsonDecimal && { pageCount: count.toNumber() }) };
}

/** One journal of a page; undefined for one that is not ours or not posted. */
function readJournal(raw: unknown, options: XeroReadbackOptions, name: string, row: number): NormalizedXeroJournal | undefined {
  let journal: NormalizedXeroJournal;
  try {
    journal = readManualJournal(raw, options.currency, 'ManualJournal');
  } catch (error) {
    if (!(error instanceof XeroShapeError)) throw error;
    const id = typeof (raw as { ManualJournalID?: unknown } | null)?.ManualJournalID === 'string' ? (raw as { ManualJournalID: string }).ManualJournalID : '?';
    throw new ReconciliationInputError(name, row, error.path.replace(/^ManualJournal\.?/, '') || 'ManualJournal', `manual journal ${id}: ${error.detail}; check the journal in Xero`);
  }
  if (keyFromNarration(journal.narration) === undefined || journal.status !== 'POSTED') return undefined;
  const where = `manual journal ${journal.manualJournalId ?? '?'} (${journal.narration.slice(0, 60)})`;
  if (journal.manualJournalId === undefined || journal.manualJournalId === '') {
    throw new ReconciliationInputError(name, row, 'ManualJournalID', `${where}: Xero sent no ManualJournalID; check the journal in Xero`);
  }
  if (journal.date === undefined || journal.date.slice(0, 7) !== options.period) {
    throw new ReconciliationInputError(name, row, 'Date', `${where}: the date ${JSON.stringify(journal.date)} is not a day of ${options.period}; check the journal in Xero`);
  }
  return journal;
}

function toLines(journal: NormalizedXeroJournal, options: XeroReadbackOptions, name: string, row: number): ReconLine[] {
  const key = keyFromNarration(journal.narration) as string;
  return journal.lines.map((line, index) => {
    if (line.accountCode === '') throw new ReconciliationInputError(name, row, `JournalLines[${index}].AccountCode`, `manual journal ${journal.manualJournalId}: the line has no account code; check the journal in Xero`);
    const account = options.accountCodeOf(line.accountCode) ?? line.accountCode;
    return { key, entity: options.entity, currency: options.currency, period: options.period, account, amountMinor: line.amountMinor, status: '', document: journal.manualJournalId as string };
  });
}
