/**
 * NetSuite's side of a reconciliation: the journal lines NetSuite holds under our external ids for
 * one subsidiary and accounting period, read back through SuiteQL (suiteql.ts does the paging,
 * retries and error classification) as a LineSource for the engine (src/reconciliation).
 *
 * One query per period, paged in id order (`ORDER BY t.id, tl.id`, unique):
 *
 *   SELECT t.id, t.externalid, TO_CHAR(t.trandate, 'YYYY-MM-DD') AS trandate, t.currency,
 *          tl.id AS line, tl.account, tl.debitforeignamount, tl.creditforeignamount
 *   FROM transaction t INNER JOIN transactionline tl ON tl.transaction = t.id
 *   WHERE t.type = 'Journal' AND t.posting = 'T' AND tl.subsidiary = {id} AND t.externalid LIKE 'fs_%'
 *     AND t.trandate >= TO_DATE('{first day}', 'YYYY-MM-DD') AND t.trandate <= TO_DATE('{last day}', 'YYYY-MM-DD')
 *
 * NetSuite returns at most 100,000 results per query, and the client refuses a result that reaches
 * the cap (RESULT_LIMIT) before anything of it is used. The read-back then splits the range and reads
 * each part: by halves of the date range down to a single day, then by transaction id
 * (`t.id >= lo AND t.id < hi`): the day's lowest and highest id of our journals (two one-row
 * queries) cut it into below, between and above, and a part still too large is halved again. A
 * document lies in one day and has one id, so no document is split; a refused attempt costs one
 * request.
 *
 * Each row becomes one ReconLine: key = externalid (rows whose externalid does not start with `fs_`
 * are not ours: LIKE's `_` matches any character), document = the transaction's internal id (what
 * the posting recorded as document_id), account = `accountCodeOf(tl.account)` or `netsuite:{id}` for
 * an account finsync does not know (it then shows as an account_mismatch rather than stopping the
 * run), currency = the ISO code of `t.currency`, amountMinor = debit − credit in minor units, parsed
 * from NetSuite's decimal strings by money.ts (never floats). A row that cannot be read (a malformed
 * amount, an unknown currency, a date outside the period) stops the reconciliation with a
 * ReconciliationInputError naming the transaction: a line left out would make a break disappear.
 */
import { DomainError } from '../../domain/domain-error.ts';
import { isKnownCurrency, parseAmount } from '../../domain/money.ts';
import { ReconciliationInputError } from '../../reconciliation/line-file.ts';
import type { LineSource, ReconLine } from '../../reconciliation/types.ts';
import { createSuiteQlClient, SUITEQL_PAGE_SIZE_MAX, SuiteQlError, type SuiteQlClient, type SuiteQlClientOptions, type SuiteQlPage } from './suiteql.ts';

export interface NetSuiteReadbackOptions {
  /** NetSuite's internal id of the entity's subsidiary. */
  readonly subsidiaryId: string;
  /** Our code of the legal entity, written on every line. */
  readonly entity: string;
  /** `YYYY-MM`: journals whose trandate falls in it. */
  readonly period: string;
  /** Our GL account code for a NetSuite account internal id; undefined when finsync knows none. */
  readonly accountCodeOf: (internalId: string) => string | undefined;
  /** The ISO 4217 code of a NetSuite currency internal id. Default: NetSuite's currency table, read once per source. */
  readonly currencyOf?: (internalId: string) => string | undefined;
  /** Rows per page, 1 to 1000; default 1000. */
  readonly pageSize?: number;
}

/** Where an id range starts when a single day has more rows than NetSuite returns per query. */
const ID_LIMIT = 2 ** 53;
const PERIOD = /^(\d{4})-(0[1-9]|1[0-2])$/;
const DAY_MS = 86_400_000;

/** Days as 'YYYY-MM-DD', both included; optionally transaction ids lo (included) to hi (excluded). */
export interface ReadbackRange {
  readonly from: string;
  readonly to: string;
  readonly ids?: readonly [number, number];
}

export function netsuiteJournalLines(client: SuiteQlClient | SuiteQlClientOptions, options: NetSuiteReadbackOptions): LineSource {
  const match = PERIOD.exec(options.period);
  if (!match) throw new Error(`Assertion failed: period ${options.period} is not YYYY-MM`);
  if (!/^\d+$/.test(options.subsidiaryId)) throw new Error(`Assertion failed: subsidiary id ${options.subsidiaryId} is not a NetSuite internal id`);
  const suiteQl = 'query' in client ? client : createSuiteQlClient(client);
  const lastDay = new Date(Date.UTC(Number(match[1]), Number(match[2]), 0)).getUTCDate();
  const range: ReadbackRange = { from: `${options.period}-01`, to: `${options.period}-${String(lastDay).padStart(2, '0')}` };
  const name = `NetSuite journals of subsidiary ${options.subsidiaryId} (${options.entity}) in ${options.period}`;
  return { name, side: 'erp', checked: false, batches: readBatches(suiteQl, options, range, name) };
}

/** The SuiteQL text for one range of the read-back. */
export function journalLinesQuery(subsidiaryId: string, range: ReadbackRange): string {
  const ids = range.ids === undefined ? '' : ` AND t.id >= ${range.ids[0]} AND t.id < ${range.ids[1]}`;
  return (
    "SELECT t.id, t.externalid, TO_CHAR(t.trandate, 'YYYY-MM-DD') AS trandate, t.currency, tl.id AS line, tl.account, tl.debitforeignamount, tl.creditforeignamount " +
    'FROM transaction t INNER JOIN transactionline tl ON tl.transaction = t.id ' +
    `WHERE t.type = 'Journal' AND t.posting = 'T' AND tl.subsidiary = ${subsidiaryId} AND t.externalid LIKE 'fs_%' ` +
    `AND t.trandate >= TO_DATE('${range.from}', 'YYYY-MM-DD') AND t.trandate <= TO_DATE('${range.to}', 'YYYY-MM-DD')${ids} ` +
    'ORDER BY t.id, tl.id'
  );
}

async function* readBatches(client: SuiteQlClient, options: NetSuiteReadbackOptions, range: ReadbackRange, name: string): AsyncGenerator<readonly ReconLine[]> {
  const resolvers: Resolvers = { ...options, currencyOf: options.currencyOf ?? (await readCurrencies(client, options.pageSize)) };
  let row = 0;
  for await (const page of readRange(client, options, range)) {
    const lines: ReconLine[] = [];
    for (const item of page.items) {
      row++;
      const line = toLine(item, resolvers, name, row);
      if (line) lines.push(line);
    }
    if (lines.length > 0) yield lines;
  }
}

/**
 * The pages of one range; a range whose result reaches NetSuite's cap is read in parts (a day by
 * dayParts, anything else by splitRange). The cap shows on the first page, before anything was
 * handed on; should it show later (rows added while paging), the error stands, as re-reading would
 * repeat lines.
 */
async function* readRange(client: SuiteQlClient, options: NetSuiteReadbackOptions, range: ReadbackRange): AsyncGenerator<SuiteQlPage> {
  let started = false;
  try {
    for await (const page of client.query(journalLinesQuery(options.subsidiaryId, range), options.pageSize ?? SUITEQL_PAGE_SIZE_MAX)) {
      started = true;
      yield page;
    }
    return;
  } catch (error) {
    if (started || !isResultLimit(error)) throw error;
  }
  const parts = range.from === range.to && range.ids === undefined ? await dayParts(client, range.from) : splitRange(range);
  for (const part of parts) yield* readRange(client, options, part);
}

function isResultLimit(error: unknown): boolean {
  return error instanceof SuiteQlError && error.vendorCode === 'RESULT_LIMIT';
}

/**
 * One day cut by the lowest and highest id of its journals of ours (any subsidiary): the ids below
 * and above stay in the parts too, so a journal that changes meanwhile is not lost. When NetSuite
 * cannot say (more journals that day than it returns per query), the day is halved over all ids.
 */
async function dayParts(client: SuiteQlClient, day: string): Promise<ReadbackRange[]> {
  const idsOf = (order: 'ASC' | 'DESC') =>
    `SELECT t.id FROM transaction t WHERE t.type = 'Journal' AND t.externalid LIKE 'fs_%' AND t.trandate = TO_DATE('${day}', 'YYYY-MM-DD') ORDER BY t.id ${order}`;
  const firstId = async (q: string): Promise<number | undefined> => {
    for await (const page of client.query(q, 1)) return page.items[0] !== undefined && /^\d+$/.test(page.items[0].id ?? '') ? Number(page.items[0].id) : undefined;
    return undefined;
  };
  let bounds: [number | undefined, number | undefined];
  try {
    bounds = [await firstId(idsOf('ASC')), await firstId(idsOf('DESC'))];
  } catch (error) {
    if (!isResultLimit(error)) throw error;
    bounds = [undefined, undefined];
  }
  const [lowest, highest] = bounds;
  if (lowest === undefined || highest === undefined || highest < lowest) return splitRange({ from: day, to: day });
  const cuts = [0, lowest, highest + 1, ID_LIMIT];
  return cuts.slice(0, -1).map((lo, i) => ({ from: day, to: day, ids: [lo, cuts[i + 1]] as const })).filter((part) => part.ids[0] < part.ids[1]);
}

export function splitRange(range: ReadbackRange): [ReadbackRange, ReadbackRange] {
  const from = Date.parse(`${range.from}T00:00:00Z`);
  const to = Date.parse(`${range.to}T00:00:00Z`);
  if (from < to) {
    const middle = from + Math.floor((to - from) / DAY_MS / 2) * DAY_MS;
    return [{ from: range.from, to: isoDay(middle) }, { from: isoDay(middle + DAY_MS), to: range.to }];
  }
  const [lo, hi] = range.ids ?? [0, ID_LIMIT];
  if (hi - lo <= 1) {
    throw new SuiteQlError({ kind: 'invalid', vendorCode: 'RESULT_LIMIT', message: `NetSuite transaction ${lo} alone has more journal lines than NetSuite returns per query, so the read-back cannot split it further: reconcile it by hand.` });
  }
  const middle = lo + Math.floor((hi - lo) / 2);
  return [{ ...range, ids: [lo, middle] }, { ...range, ids: [middle, hi] }];
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** NetSuite's currency table as internal id → ISO code (`symbol`). */
async function readCurrencies(client: SuiteQlClient, pageSize: number | undefined): Promise<(internalId: string) => string | undefined> {
  const symbols = new Map<string, string>();
  for await (const page of client.query('SELECT id, symbol FROM currency ORDER BY id', pageSize ?? SUITEQL_PAGE_SIZE_MAX)) {
    for (const item of page.items) if (item.id !== undefined && item.symbol !== undefined) symbols.set(item.id, item.symbol);
  }
  return (internalId) => symbols.get(internalId);
}

type Resolvers = NetSuiteReadbackOptions & { readonly currencyOf: (internalId: string) => string | undefined };

/** One row as a ReconLine; undefined for a row that is not ours; a ReconciliationInputError for one that cannot be read. */
function toLine(item: Readonly<Record<string, string>>, options: Resolvers, name: string, row: number): ReconLine | undefined {
  const externalId = item.externalid;
  if (externalId === undefined || !externalId.startsWith('fs_')) return undefined;
  const where = `transaction ${item.id ?? '?'} (${externalId}), line ${item.line ?? '?'}`;
  const refuse = (column: string, detail: string): never => {
    throw new ReconciliationInputError(name, row, column, `${where}: ${detail}; check the journal in NetSuite`);
  };
  if (item.id === undefined || !/^\d+$/.test(item.id)) refuse('id', `the transaction id ${JSON.stringify(item.id)} is not an internal id`);
  if (item.trandate === undefined || item.trandate.slice(0, 7) !== options.period || !/^\d{4}-\d{2}-\d{2}$/.test(item.trandate)) {
    refuse('trandate', `the date ${JSON.stringify(item.trandate)} is not a day of ${options.period}`);
  }
  if (item.currency === undefined) refuse('currency', 'NetSuite sent no currency for the transaction');
  const currency = options.currencyOf(item.currency as string);
  if (currency === undefined) refuse('currency', `the currency id ${JSON.stringify(item.currency)} is not in NetSuite's currency table`);
  if (!isKnownCurrency(currency as string)) refuse('currency', `the currency ${JSON.stringify(currency)} (id ${item.currency}) is not an ISO 4217 code finsync knows`);
  if (item.account === undefined || item.account === '') refuse('account', 'the line has no account');
  const debitMinor = readAmount(item.debitforeignamount, currency as string, (detail) => refuse('debitforeignamount', detail));
  const creditMinor = readAmount(item.creditforeignamount, currency as string, (detail) => refuse('creditforeignamount', detail));
  const amountMinor = debitMinor - creditMinor;
  if (!Number.isSafeInteger(amountMinor)) refuse('debitforeignamount', 'debit minus credit is beyond the safe integers');
  const account = options.accountCodeOf(item.account) ?? `netsuite:${item.account}`;
  return { key: externalId, entity: options.entity, currency: currency as string, period: options.period, account, amountMinor, status: '', document: item.id };
}

/**
 * Minor units of one of NetSuite's amounts: a decimal string, absent (NULL) on the other side of
 * the line. Oracle prints numbers below 1 without the leading zero (".5"), which money.ts does not
 * read, so the zero is put back first.
 */
function readAmount(value: string | undefined, currency: string, refuse: (detail: string) => never): number {
  if (value === undefined) return 0;
  const decimal = value.replace(/^(-?)\./, '$10.');
  try {
    return parseAmount(decimal, currency).amountMinor;
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return refuse(error.code === 'AMOUNT_PRECISION' ? `${JSON.stringify(value)} has more decimals than ${currency} allows` : `${JSON.stringify(value)} is not a decimal amount in ${currency}`);
  }
}
