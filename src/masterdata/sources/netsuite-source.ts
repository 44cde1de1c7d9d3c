/**
 * The NetSuite master-data source: one SuiteQL query per table, full or incremental (rows changed
 * after the cursor), turned into master-data records of the `erp` system. It reads and converts
 * only; the caller checks the batch and applies it atomically, then stores the returned cursor.
 *
 * Conversion rules (NetSuite table → kind, key):
 * - employee → employee, key externalid else entityid; hiredate → validFrom, releasedate → validTo.
 * - department → cost_center, job → project, expensecategory → category: key externalid else name
 *   (job: entityid); vendor → supplier, key entityid.
 * - account → gl_account, key acctnumber; isinactive 'T' means blocked: postable false (not inactive).
 * - salestaxitem → tax_code, key itemid, rate '19.00%' → '19', jurisdiction = country.
 * - currency → currency (key symbol) and currencyrate → fx_rate, for every mapped entity. A rate
 *   row says `exchangerate` units of the base currency per unit of the transaction currency, so its
 *   key is TRANSACTION/BASE ("units of the second currency per unit of the first").
 * - isinactive 'T' without a release date: valid through the day before lastmodifieddate (the
 *   change that made it inactive), so a cost center closed on 2026-04-01 stays valid through
 *   2026-03-31, also when the hub first sees it already closed.
 * Rows of subsidiaries missing from the map are skipped and counted; rows that cannot be converted
 * are listed in `errors` by table, internal id and column.
 */
import { DomainError } from '../../domain/domain-error.ts';
import { addDays, isCalendarDate, normalizeRecord, type Kind, type RecordInput } from '../records.ts';

/** What the source needs from a SuiteQL client; `createSuiteQlClient` (connectors/netsuite/suiteql.ts) conforms. */
export interface SuiteQlReader {
  query(q: string, pageSize?: number): AsyncIterable<{ readonly items: readonly Readonly<Record<string, string>>[]; readonly totalResults: number; readonly offset: number }>;
}

export interface NetSuiteSourceOptions {
  readonly client: SuiteQlReader;
  /** NetSuite subsidiary internal id → finsync legal entity code. */
  readonly subsidiaries: ReadonlyMap<string, string>;
  /** Rows per SuiteQL page, 1 to 1000; default 1000. */
  readonly pageSize?: number;
}

export interface PullError {
  /** e.g. `employee[id=123].hiredate`, or `employee[id=123].attributes.email` for a schema problem. */
  readonly path: string;
  readonly detail: string;
}

export interface NetSuitePull {
  readonly records: RecordInput[];
  readonly errors: PullError[];
  /** The newest lastmodifieddate seen ('YYYY-MM-DD HH:MM:SS'), or the cursor given when nothing newer came ('' if none). */
  readonly cursor: string;
  /** Rows skipped because their subsidiary is not in the map, by NetSuite subsidiary id. */
  readonly skipped: Readonly<Record<string, number>>;
}

type Row = Readonly<Record<string, string>>;
type Draft = Omit<RecordInput, 'entity'>;

/** A column that cannot be converted; the path names the table, row and column. */
class RowError extends Error {
  constructor(
    readonly column: string,
    readonly detail: string,
  ) {
    super(detail);
  }
}

const CURSOR_PATTERN = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const day = (column: string) => `TO_CHAR(${column}, 'YYYY-MM-DD') AS ${column}`;
const CHANGED = "isinactive, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmodifieddate";

interface Lookups {
  /** department internal id → cost-center code */
  readonly costCenters: Map<string, string>;
  /** currency internal id → ISO code */
  readonly currencies: Map<string, string>;
}

interface TableSpec {
  readonly table: string;
  readonly columns: string;
  /** Read whole even in an incremental pull, because other tables refer to it; only changed rows become records. */
  readonly lookup?: (row: Row, lookups: Lookups) => void;
  /** 'subsidiary': one record per mapped subsidiary in the row's subsidiary column; 'all': one per mapped entity. */
  readonly scope: 'subsidiary' | 'all';
  readonly convert: (row: Row, lookups: Lookups) => Draft;
}

const TABLES: readonly TableSpec[] = [
  {
    table: 'department',
    columns: `id, name, externalid, subsidiary, ${CHANGED}`,
    scope: 'subsidiary',
    lookup: (row, l) => row.id !== undefined && l.costCenters.set(row.id, row.externalid ?? row.name ?? ''),
    convert: (row) => ({ kind: 'cost_center', key: row.externalid ?? required(row, 'name'), ...inactiveFrom(row), attributes: { name: required(row, 'name'), erpId: row.id } }),
  },
  {
    table: 'currency',
    columns: `id, symbol, name, ${CHANGED}`,
    scope: 'all',
    lookup: (row, l) => row.id !== undefined && l.currencies.set(row.id, row.symbol ?? ''),
    convert: (row) => ({ kind: 'currency', key: required(row, 'symbol'), ...inactiveFrom(row), attributes: { ...(row.name && { name: row.name }), erpId: row.id } }),
  },
  {
    table: 'employee',
    columns: `id, entityid, externalid, firstname, lastname, email, subsidiary, department, ${day('hiredate')}, ${day('releasedate')}, ${CHANGED}`,
    scope: 'subsidiary',
    convert: convertEmployee,
  },
  {
    table: 'job',
    columns: `id, entityid, companyname, externalid, subsidiary, ${CHANGED}`,
    scope: 'subsidiary',
    convert: (row) => ({ kind: 'project', key: row.externalid ?? required(row, 'entityid'), ...inactiveFrom(row), attributes: { name: row.companyname ?? required(row, 'entityid'), erpId: row.id } }),
  },
  {
    table: 'account',
    columns: `id, acctnumber, fullname, subsidiary, ${CHANGED}`,
    scope: 'subsidiary',
    // Blocked, not closed: the account exists and is not postable. No start date, so the hub applies
    // it from today on a change and over the whole history on first sight.
    convert: (row) => ({
      kind: 'gl_account',
      key: required(row, 'acctnumber'),
      attributes: { name: row.fullname ?? required(row, 'acctnumber'), postable: flag(row) !== 'T', erpId: row.id },
    }),
  },
  {
    table: 'salestaxitem',
    columns: `id, itemid, rate, country, subsidiary, ${CHANGED}`,
    scope: 'subsidiary',
    convert: (row) => ({ kind: 'tax_code', key: required(row, 'itemid'), ...inactiveFrom(row), attributes: { jurisdiction: required(row, 'country'), rate: readPercent(required(row, 'rate')), erpId: row.id } }),
  },
  {
    table: 'vendor',
    columns: `id, entityid, companyname, subsidiary, ${CHANGED}`,
    scope: 'subsidiary',
    convert: (row) => ({ kind: 'supplier', key: required(row, 'entityid'), ...inactiveFrom(row), attributes: { name: row.companyname ?? required(row, 'entityid'), erpId: row.id } }),
  },
  {
    table: 'expensecategory',
    columns: `id, name, externalid, subsidiary, ${CHANGED}`,
    scope: 'subsidiary',
    convert: (row) => ({ kind: 'category', key: row.externalid ?? required(row, 'name'), ...inactiveFrom(row), attributes: { name: required(row, 'name'), erpId: row.id } }),
  },
  {
    table: 'currencyrate',
    columns: `id, basecurrency, transactioncurrency, exchangerate, ${day('effectivedate')}, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmodifieddate`,
    scope: 'all',
    convert: (row, lookups) => {
      const symbol = (column: string) => lookups.currencies.get(required(row, column)) || fail(column, `currency ${row[column]} is not in NetSuite's currency table`);
      const validFrom = readDate(row, 'effectivedate') ?? fail('effectivedate', 'is missing');
      return { kind: 'fx_rate', key: `${symbol('transactioncurrency')}/${symbol('basecurrency')}`, validFrom, attributes: { rate: readRate(required(row, 'exchangerate')), source: 'netsuite' } };
    },
  },
];

/**
 * Pulls master data from NetSuite. With a cursor ('YYYY-MM-DD HH:MM:SS', as returned by an earlier
 * pull) only rows changed after it come back. `onProgress(done, total)` counts rows; the total
 * grows as each table's first page tells its size.
 */
export async function pullNetSuite(options: NetSuiteSourceOptions, cursor: string | undefined, onProgress?: (done: number, total: number) => void): Promise<NetSuitePull> {
  const since = cursor === '' ? undefined : cursor;
  if (since !== undefined && !CURSOR_PATTERN.test(since)) throw new Error(`Assertion failed: NetSuite cursor ${JSON.stringify(since)} is not 'YYYY-MM-DD HH:MM:SS'`);
  const lookups: Lookups = { costCenters: new Map(), currencies: new Map() };
  const entities = [...new Set(options.subsidiaries.values())];
  const out = new Collector();
  const skipped: Record<string, number> = {};
  let newest = since ?? '';
  const progress = { done: 0, total: 0 };
  for (const spec of TABLES) {
    const rows = await readTable(options, spec, spec.lookup ? undefined : since, progress, onProgress);
    for (const row of rows) spec.lookup?.(row, lookups);
    for (const [index, row] of rows.entries()) {
      const changed = row.lastmodifieddate;
      if (changed !== undefined && changed > newest && CURSOR_PATTERN.test(changed)) newest = changed;
      if (since !== undefined && changed !== undefined && changed < since) continue;
      const path = row.id === undefined ? `${spec.table}[row=${index}]` : `${spec.table}[id=${row.id}]`;
      try {
        required(row, 'id');
        const draft = spec.convert(row, lookups);
        const targets = spec.scope === 'all' ? entities : entitiesOf(row, options.subsidiaries, skipped);
        for (const entity of targets) out.add({ ...draft, entity }, path, row);
      } catch (error) {
        if (!(error instanceof RowError)) throw error;
        out.error(`${path}.${error.column}`, error.detail);
      }
    }
  }
  return { records: out.finish(), errors: out.errors, cursor: newest, skipped };
}

async function readTable(options: NetSuiteSourceOptions, spec: TableSpec, since: string | undefined, progress: { done: number; total: number }, onProgress?: (done: number, total: number) => void): Promise<Row[]> {
  // >= and not >: lastmodifieddate has whole seconds, so a row changed in the same second as the
  // newest row of the last pull, but after NetSuite read it, is read again rather than missed.
  // Reading a row twice changes nothing in the hub.
  const where = since === undefined ? '' : ` WHERE lastmodifieddate >= TO_TIMESTAMP('${since}', 'YYYY-MM-DD HH24:MI:SS')`;
  const rows = new Map<string, Row>();
  let first = true;
  for await (const page of options.client.query(`SELECT ${spec.columns} FROM ${spec.table}${where} ORDER BY id`, options.pageSize)) {
    if (first) progress.total += page.totalResults;
    first = false;
    // Offset paging over rows that change meanwhile can repeat a row; the later copy wins.
    for (const [index, row] of page.items.entries()) rows.set(row.id ?? `#${page.offset + index}`, row);
    progress.done += page.items.length;
    onProgress?.(progress.done, progress.total);
  }
  return [...rows.values()];
}

function entitiesOf(row: Row, subsidiaries: ReadonlyMap<string, string>, skipped: Record<string, number>): string[] {
  // A multi-select subsidiary (department, account, …) comes as "1, 2".
  const ids = required(row, 'subsidiary').split(',').map((id) => id.trim()).filter(Boolean);
  const entities: string[] = [];
  for (const id of ids) {
    const entity = subsidiaries.get(id);
    if (entity === undefined) skipped[id] = (skipped[id] ?? 0) + 1;
    else if (!entities.includes(entity)) entities.push(entity);
  }
  return entities;
}

function convertEmployee(row: Row, lookups: Lookups): Draft {
  const key = row.externalid ?? required(row, 'entityid');
  const name = [row.firstname, row.lastname].filter(Boolean).join(' ') || row.entityid || key;
  const department = row.department;
  const costCenter = department === undefined ? undefined : lookups.costCenters.get(department) || fail('department', `department ${department} is not in NetSuite's department table`);
  const hired = readDate(row, 'hiredate');
  const released = readDate(row, 'releasedate');
  // Made inactive without a release date: valid through the day before that change, unless it
  // changed before the hire date (then it was never active). A release before the hire date is an error.
  const inactiveSince = flag(row) === 'T' && released === undefined ? inactiveFrom(row).validTo : undefined;
  const dates =
    inactiveSince !== undefined && hired !== undefined && inactiveSince < hired
      ? { validFrom: hired, active: false }
      : { ...(hired && { validFrom: hired }), ...((released ?? inactiveSince) && { validTo: released ?? inactiveSince }) };
  return {
    kind: 'employee',
    key,
    ...dates,
    attributes: { name, ...(row.email && { email: row.email }), erpId: row.id, ...(costCenter && { costCenter }) },
  };
}

function fail(column: string, detail: string): never {
  throw new RowError(column, detail);
}

function required(row: Row, column: string): string {
  const value = row[column];
  return value === undefined || value === '' ? fail(column, 'is missing') : value;
}

function flag(row: Row): 'T' | 'F' {
  const value = row.isinactive ?? 'F';
  return value === 'T' || value === 'F' ? value : fail('isinactive', `${value} is not T or F`);
}

/** The day the row last changed, from 'YYYY-MM-DD HH:MM:SS'. */
function changedOn(row: Row): string {
  const value = required(row, 'lastmodifieddate');
  if (!CURSOR_PATTERN.test(value) || !isCalendarDate(value.slice(0, 10))) fail('lastmodifieddate', `${value} is not 'YYYY-MM-DD HH:MM:SS'`);
  return value.slice(0, 10);
}

/**
 * isinactive 'T': valid through the day before it was changed (NetSuite keeps no closing date; the
 * last change of an inactive record is taken to be its closing).
 */
function inactiveFrom(row: Row): Pick<Draft, 'validTo'> {
  return flag(row) === 'T' ? { validTo: addDays(changedOn(row), -1) } : {};
}

function readDate(row: Row, column: string): string | undefined {
  const value = row[column];
  if (value === undefined || value === '') return undefined;
  return isCalendarDate(value) ? value : fail(column, `${value} is not a date (YYYY-MM-DD); select it with TO_CHAR(${column}, 'YYYY-MM-DD')`);
}

/** NetSuite's '19.00%' (or '19') → '19'; '7.70%' → '7.7'. More than two decimals cannot be held. */
function readPercent(raw: string): string {
  const match = /^(\d{0,3})(?:\.(\d+))?\s*%?$/.exec(raw.trim());
  if (!match || (match[1] === '' && match[2] === undefined)) return fail('rate', `${raw} is not a percentage such as 19.00%`);
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length > 2) fail('rate', `${raw} has more than two decimals; finsync holds tax rates to 0.01%`);
  return `${Number(match[1] || '0')}${fraction ? `.${fraction}` : ''}`;
}

/** An exchange rate as a plain decimal with at most 12 decimals, rounded half up ('.92' → '0.92'). */
function readRate(raw: string): string {
  const match = /^(\d*)(?:\.(\d*))?$/.exec(raw.trim());
  if (!match || (match[1] === '' && !match[2])) return fail('exchangerate', `${raw} is not a decimal number`);
  let whole = BigInt(match[1] || '0');
  let fraction = match[2] ?? '';
  if (fraction.length > 12) {
    const scaled = BigInt(`${whole}${fraction.slice(0, 12)}`) + (Number(fraction[12]) >= 5 ? 1n : 0n);
    const digits = scaled.toString().padStart(13, '0');
    whole = BigInt(digits.slice(0, -12));
    fraction = digits.slice(-12);
  }
  fraction = fraction.replace(/0+$/, '');
  return `${whole}${fraction ? `.${fraction}` : ''}`;
}

/** Collects checked records, refuses duplicates, and chains the validity of successive fx rates. */
class Collector {
  readonly errors: PullError[] = [];
  private readonly seenErrors = new Set<string>();
  private readonly records: { input: RecordInput; path: string; id: number }[] = [];

  add(input: RecordInput, path: string, row: Row): void {
    try {
      normalizeRecord('erp', input, path);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return this.error(String(error.params.path), String(error.params.detail));
    }
    this.records.push({ input, path, id: Number(row.id ?? 0) });
  }

  error(path: string, detail: string): void {
    const id = `${path}\u0000${detail}`;
    if (this.seenErrors.has(id)) return;
    this.seenErrors.add(id);
    this.errors.push({ path, detail });
  }

  finish(): RecordInput[] {
    const groups = new Map<string, { input: RecordInput; path: string; id: number }[]>();
    for (const record of this.records) {
      const id = `${record.input.kind}\u0000${record.input.entity}\u0000${record.input.key}`;
      groups.set(id, [...(groups.get(id) ?? []), record]);
    }
    const out: RecordInput[] = [];
    for (const group of groups.values()) {
      if ((group[0].input.kind as Kind) === 'fx_rate') out.push(...chainRates(group));
      else {
        out.push(group[0].input);
        for (const other of group.slice(1)) {
          const { kind, key, entity } = other.input;
          this.error(`${other.path}.key`, `${kind} ${key} of entity ${entity} also comes from ${group[0].path}; NetSuite holds two records with this key, keep one`);
        }
      }
    }
    return out;
  }
}

/** Rates of one pair: each holds until the day before the next one's effective date; on the same day the later entry wins. */
function chainRates(group: readonly { input: RecordInput; id: number }[]): RecordInput[] {
  const byDay = new Map<string, { input: RecordInput; id: number }>();
  for (const rate of group) {
    const held = byDay.get(rate.input.validFrom as string);
    if (held === undefined || rate.id > held.id) byDay.set(rate.input.validFrom as string, rate);
  }
  const sorted = [...byDay.values()].sort((a, b) => ((a.input.validFrom as string) < (b.input.validFrom as string) ? -1 : 1));
  return sorted.map((rate, i) => (i + 1 < sorted.length ? { ...rate.input, validTo: addDays(sorted[i + 1].input.validFrom as string, -1) } : rate.input));
}
