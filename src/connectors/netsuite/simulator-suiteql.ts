/**
 * The simulator's master-data tables and its SuiteQL endpoint: `POST /services/rest/query/v1/suiteql`
 * answered from in-memory rows that tests change at runtime. Every change stamps `lastmodifieddate`
 * with the simulator clock, truncated to whole seconds as NetSuite keeps it. The query subset is
 * the grammar in simulator-suiteql-parser.ts; what NetSuite does outside it is not modelled.
 */
import type { CompanyDefinition } from '../../masterdata/company.ts';
import type { Rejection } from './simulator-ledger.ts';
import { DATE_MASK, parseSuiteQl, SuiteQlSyntaxError, TIMESTAMP_MASK, type Condition, type ParsedQuery, type SelectItem } from './simulator-suiteql-parser.ts';
import { LEDGER_TABLES, type LedgerRows, type LedgerTable } from './simulator-suiteql-ledger.ts';
import { invalidParameter, planQuery, unsupported, type Plan, type QueryColumns } from './simulator-suiteql-plan.ts';
import { SUITEQL_PAGE_SIZE_MAX, SUITEQL_PATH, SUITEQL_RESULTS_MAX } from './suiteql.ts';

export { SUITEQL_PATH } from './suiteql.ts';

/** id: an internal id; ids: a multi-select of internal ids, answered as "1, 2"; bool: answered as T/F. */
export type ColumnType = 'id' | 'ids' | 'text' | 'number' | 'bool' | 'date' | 'datetime';

const TRACKED = { isinactive: 'bool', lastmodifieddate: 'datetime' } as const;

/** The tables and columns the simulator holds, by their SuiteQL names. */
export const SUITEQL_TABLES = {
  subsidiary: { id: 'id', name: 'text', currency: 'id', ...TRACKED },
  employee: {
    id: 'id', entityid: 'text', externalid: 'text', firstname: 'text', lastname: 'text', email: 'text',
    subsidiary: 'id', department: 'id', hiredate: 'date', releasedate: 'date', ...TRACKED,
  },
  department: { id: 'id', name: 'text', externalid: 'text', subsidiary: 'ids', ...TRACKED },
  job: { id: 'id', entityid: 'text', companyname: 'text', externalid: 'text', subsidiary: 'id', ...TRACKED },
  account: { id: 'id', acctnumber: 'text', fullname: 'text', subsidiary: 'ids', ...TRACKED },
  salestaxitem: { id: 'id', itemid: 'text', rate: 'text', country: 'text', subsidiary: 'ids', ...TRACKED },
  vendor: { id: 'id', entityid: 'text', companyname: 'text', subsidiary: 'id', ...TRACKED },
  expensecategory: { id: 'id', name: 'text', externalid: 'text', subsidiary: 'ids', ...TRACKED },
  currency: { id: 'id', symbol: 'text', name: 'text', ...TRACKED },
  currencyrate: { id: 'id', basecurrency: 'id', transactioncurrency: 'id', exchangerate: 'number', effectivedate: 'date', lastmodifieddate: 'datetime' },
} as const satisfies Record<string, Readonly<Record<string, ColumnType>>>;

export type SuiteQlTable = keyof typeof SUITEQL_TABLES;

/**
 * One row as a test or the demo gives it. Dates are 'YYYY-MM-DD'; `lastmodifieddate` is
 * 'YYYY-MM-DD HH:MM:SS' in UTC (default: the simulator clock); booleans are true/false or 'T'/'F';
 * a multi-select subsidiary is a list of ids. In an update, null clears a column.
 */
export type MasterRow = Readonly<Record<string, string | boolean | readonly string[] | null | undefined>>;
export type MasterData = { readonly [T in SuiteQlTable]?: readonly MasterRow[] };

type Cell = string | boolean | readonly string[] | number;
/** A row as held: dates 'YYYY-MM-DD', datetimes epoch ms, booleans, numbers as decimal strings; NULL left out. */
export type StoredRow = Record<string, Cell>;

export type SuiteQlAnswer = { readonly status: 200; readonly body: object } | Rejection;

export interface SuiteQlRequest {
  readonly body: string;
  readonly searchParams: URLSearchParams;
  readonly prefer: string | undefined;
  /** The simulator's base URL, for the paging links. */
  readonly baseUrl: string;
}

function fail(message: string): never {
  throw new Error(`Assertion failed: ${message}`);
}

function isTable(name: string): name is SuiteQlTable {
  return Object.hasOwn(SUITEQL_TABLES, name);
}

function columnsOf(table: SuiteQlTable): Readonly<Record<string, ColumnType>> {
  return SUITEQL_TABLES[table];
}

/** The tables a query can read: the master-data tables and the ledger's read-only ones. */
type QueryTable = SuiteQlTable | LedgerTable;

/** The columns of a table a query can read, or undefined for an unknown table. */
function queryColumnsOf(table: string): QueryColumns | undefined {
  if (isTable(table)) return SUITEQL_TABLES[table];
  return Object.hasOwn(LEDGER_TABLES, table) ? LEDGER_TABLES[table as LedgerTable] : undefined;
}

export class MasterDataTables {
  private readonly tables = new Map<SuiteQlTable, Map<string, StoredRow>>();

  constructor(
    masterData: MasterData | undefined,
    private readonly now: () => number,
    private readonly maxResults: number = SUITEQL_RESULTS_MAX,
    /** The ledger's tables (transaction, transactionline), read afresh for every query; empty without it. */
    private readonly ledgerRows?: () => LedgerRows,
  ) {
    for (const table of Object.keys(SUITEQL_TABLES) as SuiteQlTable[]) this.tables.set(table, new Map());
    for (const [table, rows] of Object.entries(masterData ?? {})) {
      if (!isTable(table)) fail(`masterData has an unknown table ${table}; known: ${Object.keys(SUITEQL_TABLES).join(', ')}`);
      for (const row of rows ?? []) this.upsert(table, row);
    }
  }

  /** Creates the row, or updates the columns given when a row with that id exists. Returns the id. */
  upsert(table: SuiteQlTable, row: MasterRow): string {
    const rows = this.rowsOf(table);
    const id = row.id === undefined || row.id === null ? this.nextId(rows) : String(row.id);
    const stored: StoredRow = { ...(rows.get(id) ?? {}), id };
    for (const [column, value] of Object.entries(row)) {
      if (column === 'id') continue;
      const type = columnsOf(table)[column] ?? fail(`${table} has no column ${column}; known: ${Object.keys(columnsOf(table)).join(', ')}`);
      const cell = toCell(`${table}.${column}`, type, value);
      if (cell === undefined) delete stored[column];
      else stored[column] = cell;
    }
    if (row.lastmodifieddate === undefined || row.lastmodifieddate === null) stored.lastmodifieddate = wholeSecond(this.now());
    if ('isinactive' in columnsOf(table) && stored.isinactive === undefined) stored.isinactive = false;
    if (!/^\d+$/.test(id)) fail(`${table} id ${id} is not a NetSuite internal id (digits only)`);
    rows.set(id, stored);
    return id;
  }

  /** Marks a row inactive (closed, terminated, blocked) or active again, stamping lastmodifieddate. */
  setInactive(table: SuiteQlTable, id: string, inactive = true): void {
    if (!('isinactive' in columnsOf(table))) fail(`${table} has no isinactive column`);
    if (!this.rowsOf(table).has(id)) fail(`${table} has no row with id ${id}`);
    this.upsert(table, { id, isinactive: inactive });
  }

  /** The internal id of the currency row with this code (`symbol`), if any. */
  currencyIdOf(code: string): string | undefined {
    for (const row of this.rowsOf('currency').values()) if (row.symbol === code) return row.id as string;
    return undefined;
  }

  /** For the journal checks: 'active' or 'inactive' when the table holds the id, else undefined. */
  referenceStatus(table: SuiteQlTable, id: string): 'active' | 'inactive' | undefined {
    const row = this.rowsOf(table).get(id);
    if (row === undefined) return undefined;
    return row.isinactive === true ? 'inactive' : 'active';
  }

  answer(request: SuiteQlRequest): SuiteQlAnswer {
    // Oracle's example sends Prefer: transient; what NetSuite does without it is not known, so the simulator insists.
    if (!/(^|[\s,;])transient($|[\s,;])/i.test(request.prefer ?? '')) {
      return { status: 400, code: 'INVALID_HEADER', detail: 'SuiteQL requests must send the header "Prefer: transient".' };
    }
    const limit = readPaging(request.searchParams, 'limit', SUITEQL_PAGE_SIZE_MAX, 1, SUITEQL_PAGE_SIZE_MAX);
    if (typeof limit !== 'number') return limit;
    const offset = readPaging(request.searchParams, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
    if (typeof offset !== 'number') return offset;
    const q = readQueryText(request.body);
    if (typeof q !== 'string') return q;
    let parsed: ParsedQuery;
    try {
      parsed = parseSuiteQl(q);
    } catch (error) {
      if (error instanceof SuiteQlSyntaxError) return unsupported(`the simulator could not read the query: ${error.message}`);
      throw error;
    }
    const plan = planQuery(parsed, queryColumnsOf);
    if ('code' in plan) return plan;
    const matched = this.select(plan).slice(0, this.maxResults);
    const items = matched.slice(offset, offset + limit).map((row) => renderItem(plan, row));
    const hasMore = offset + items.length < matched.length;
    const href = (at: number) => `${request.baseUrl}${SUITEQL_PATH}?limit=${limit}&offset=${at}`;
    const links = [
      ...(offset > 0 ? [{ rel: 'previous', href: href(Math.max(0, offset - limit)) }] : []),
      ...(hasMore ? [{ rel: 'next', href: href(offset + limit) }] : []),
      { rel: 'self', href: href(offset) },
    ];
    return { status: 200, body: { links, count: items.length, hasMore, items, offset, totalResults: matched.length } };
  }

  private select(plan: Plan): StoredRow[] {
    const rows = this.sourceRows(plan).filter((row) => plan.where.every((c) => matches(row[c.rowKey], c.type, c)));
    return rows.sort((a, b) => {
      for (const { rowKey, type, descending } of plan.orderBy) {
        const order = compareCells(a[rowKey], b[rowKey], type, descending);
        if (order !== 0) return descending ? -order : order;
      }
      return 0;
    });
  }

  /** One table's rows as held; for a join, the matching pairs as rows keyed `0.column` and `1.column` (Resolved.rowKey). */
  private sourceRows(plan: Plan): StoredRow[] {
    const [first, second] = plan.tables.map((table) => this.tableRows(table as QueryTable));
    if (plan.join === undefined) return [...first];
    const [outer, inner] = plan.join.left.source === 0 ? [plan.join.left, plan.join.right] : [plan.join.right, plan.join.left];
    const byValue = new Map<unknown, StoredRow[]>();
    for (const row of second) {
      const value = sortValue(row[inner.name], inner.type);
      if (value === undefined) continue;
      const rows = byValue.get(value);
      if (rows) rows.push(row);
      else byValue.set(value, [row]);
    }
    const joined: StoredRow[] = [];
    for (const left of first) {
      const value = sortValue(left[outer.name], outer.type);
      for (const right of (value === undefined ? undefined : byValue.get(value)) ?? []) {
        const row: StoredRow = {};
        for (const [column, cell] of Object.entries(left)) row[`0.${column}`] = cell;
        for (const [column, cell] of Object.entries(right)) row[`1.${column}`] = cell;
        joined.push(row);
      }
    }
    return joined;
  }

  private tableRows(table: QueryTable): Iterable<StoredRow> {
    return isTable(table) ? this.rowsOf(table).values() : (this.ledgerRows?.()[table] ?? []);
  }

  private rowsOf(table: SuiteQlTable): Map<string, StoredRow> {
    return this.tables.get(table) ?? fail(`unknown table ${table}`);
  }

  private nextId(rows: Map<string, StoredRow>): string {
    let max = 0;
    for (const id of rows.keys()) max = Math.max(max, Number(id));
    return String(max + 1);
  }
}

function wholeSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

function toCell(where: string, type: ColumnType, value: MasterRow[string]): Cell | undefined {
  if (value === undefined || value === null) return undefined;
  const bad = (): never => fail(`${where} = ${JSON.stringify(value)} is not a valid ${type}`);
  switch (type) {
    case 'ids': {
      const ids = typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : Array.isArray(value) ? value : bad();
      if (!ids.every((id) => /^\d+$/.test(id))) bad();
      return ids.length === 0 ? undefined : [...ids];
    }
    case 'bool':
      return value === true || value === 'T' ? true : value === false || value === 'F' ? false : bad();
    case 'datetime': {
      const match = typeof value === 'string' ? /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.\d+)?Z?$/.exec(value) : null;
      const ms = match ? Date.parse(`${match[1]}T${match[2]}Z`) : Number.NaN;
      return Number.isNaN(ms) ? bad() : wholeSecond(ms);
    }
    default: {
      if (typeof value !== 'string') return bad();
      if (type === 'id' && !/^\d+$/.test(value)) bad();
      if (type === 'number' && !/^-?(\d+(\.\d*)?|\.\d+)$/.test(value)) bad();
      if (type === 'date' && (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`)))) bad();
      return value === '' ? undefined : value;
    }
  }
}

function readPaging(params: URLSearchParams, name: string, fallback: number, min: number, max: number): number | Rejection {
  const raw = params.get(name);
  if (raw === null) return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(value >= min && value <= max)) return invalidParameter(`Invalid '${name}' parameter value ${raw}: use an integer from ${min} to ${max}.`, name);
  return value;
}

function readQueryText(body: string): string | Rejection {
  try {
    const parsed = JSON.parse(body) as { q?: unknown };
    if (typeof parsed === 'object' && parsed !== null && typeof parsed.q === 'string') return parsed.q;
  } catch {
    // answered below
  }
  return invalidParameter('The request body must be a JSON object with the SuiteQL query as a string in "q".');
}

/** A comparable value for a cell of this type; undefined for NULL. */
function sortValue(cell: Cell | undefined, type: ColumnType): number | string | undefined {
  if (cell === undefined) return undefined;
  if (type === 'date') return Date.parse(`${cell as string}T00:00:00Z`);
  if (type === 'id' || type === 'number' || type === 'datetime') return Number(cell);
  if (type === 'bool') return cell === true ? 'T' : 'F';
  return String(cell);
}

function matches(cell: Cell | undefined, type: ColumnType, { comparison, literal }: Condition): boolean {
  const left = sortValue(cell, type);
  if (left === undefined) return false; // SQL: a comparison with NULL is never true
  const right = literal.type === 'time' ? literal.ms : literal.type === 'number' ? literal.value : typeof left === 'number' ? Number(literal.text) : literal.text;
  switch (comparison) {
    case '=':
      return left === right;
    case '<>':
    case '!=':
      return left !== right;
    case '<':
      return left < right;
    case '<=':
      return left <= right;
    case '>':
      return left > right;
    case '>=':
      return left >= right;
    case 'like':
      return likePattern(literal.type === 'text' ? literal.text : '').test(String(left));
  }
}

const likePatterns = new Map<string, RegExp>();

/** A LIKE pattern as a regular expression: `%` any run of characters, `_` one; case-sensitive, as in Oracle. */
function likePattern(pattern: string): RegExp {
  let compiled = likePatterns.get(pattern);
  if (compiled === undefined) {
    const source = [...pattern].map((c) => (c === '%' ? '[\\s\\S]*' : c === '_' ? '[\\s\\S]' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
    compiled = new RegExp(`^${source}$`);
    // Patterns come from queries; a simulator serves a handful, so the cache stays small.
    if (likePatterns.size < 100) likePatterns.set(pattern, compiled);
  }
  return compiled;
}

/** Oracle's default: NULLs sort last ascending and first descending. */
function compareCells(a: Cell | undefined, b: Cell | undefined, type: ColumnType, descending: boolean): number {
  const [x, y] = [sortValue(a, type), sortValue(b, type)];
  if (x === undefined || y === undefined) {
    if (x === y) return 0;
    return (x === undefined ? 1 : -1) * (descending ? -1 : 1);
  }
  return x < y ? -1 : x > y ? 1 : 0;
}

function renderItem(plan: Plan, row: StoredRow): Record<string, unknown> {
  const item: Record<string, unknown> = { links: [] };
  for (const { rowKey, key, type, mask } of plan.items) {
    const cell = row[rowKey];
    if (cell !== undefined) item[key] = renderCell(cell, type, mask);
  }
  return item;
}

function renderCell(cell: Cell, type: ColumnType, mask: SelectItem['mask']): string {
  if (type === 'bool') return cell === true ? 'T' : 'F';
  if (type === 'ids') return (cell as readonly string[]).join(', ');
  if (type !== 'date' && type !== 'datetime') return String(cell);
  const iso = type === 'date' ? `${cell as string}T00:00:00.000Z` : new Date(cell as number).toISOString();
  if (mask === DATE_MASK) return iso.slice(0, 10);
  if (mask === TIMESTAMP_MASK) return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  // Without TO_CHAR NetSuite formats dates by the user's date preference; M/D/YYYY is the common default.
  const [year, month, day] = iso.slice(0, 10).split('-').map(Number);
  return `${month}/${day}/${year}`;
}

export interface CompanyMasterDataOptions {
  /** Records closed after this day (YYYY-MM-DD) stay active: NetSuite has no future-dated inactivation. Default: today (UTC). */
  readonly asOf?: string;
  /** Exchange rates: `rate` units of `base` per unit of `transaction`, as NetSuite's currencyrate holds them. */
  readonly fxRates?: readonly { readonly base: string; readonly transaction: string; readonly rate: string; readonly effectiveDate: string }[];
}

function nextDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

/**
 * The simulator's master data for a company definition: one subsidiary per legal entity, its
 * employees, departments (cost centers), accounts, tax items, currencies and expense categories
 * (the company's categories, one NetSuite record per code shared by the subsidiaries that use it).
 * A record closed on or before `asOf` (a validTo) becomes an inactive row changed on the day after
 * its last valid day, so the inactive-date rule of the NetSuite source gives the same range back.
 */
export function netsuiteMasterDataFromCompany(company: CompanyDefinition, options: CompanyMasterDataOptions = {}): MasterData {
  const asOf = options.asOf ?? new Date().toISOString().slice(0, 10);
  const closure = (validTo: string | undefined): MasterRow => {
    if (validTo === undefined || nextDay(validTo) > asOf) return {};
    return { isinactive: true, lastmodifieddate: `${nextDay(validTo)} 00:00:00` };
  };
  const subsidiaryOf = new Map(company.entities.map((e) => [e.code, e.erpSubsidiaryId]));
  const sub = (entity: string): string => subsidiaryOf.get(entity) ?? fail(`entity ${entity} is not in the company's entities`);
  const symbols = [...new Set([...company.entities.map((e) => e.currency), ...(options.fxRates ?? []).flatMap((r) => [r.base, r.transaction])])];
  const currencyId = (symbol: string) => String(symbols.indexOf(symbol) + 1);
  const currencyNames = new Intl.DisplayNames(['en'], { type: 'currency' });
  const openCostCenters = (entity: string) => company.costCenters.filter((c) => c.entity === entity && c.validTo === undefined);
  const categories = company.categories ?? [];
  const categoryCodes = [...new Set(categories.map((c) => c.code))];
  return {
    subsidiary: company.entities.map((e) => ({ id: e.erpSubsidiaryId, name: e.name, currency: currencyId(e.currency) })),
    currency: symbols.map((symbol) => ({ id: currencyId(symbol), symbol, name: currencyNames.of(symbol) ?? symbol })),
    department: company.costCenters.map((c) => ({ id: c.erpId, name: c.name, externalid: c.code, subsidiary: [sub(c.entity)], ...closure(c.validTo) })),
    employee: company.employees.map((e) => {
      const [firstname, ...rest] = e.name.split(' ');
      // Spread over the entity's open cost centers in turn, so every employee has a department.
      const departments = openCostCenters(e.entity);
      const index = company.employees.filter((other) => other.entity === e.entity).indexOf(e);
      return {
        id: e.erpId, entityid: e.employeeId, externalid: e.employeeId, firstname, lastname: rest.join(' ') || null,
        email: `${e.employeeId.toLowerCase()}@example.com`, subsidiary: sub(e.entity),
        department: departments.length === 0 ? null : departments[index % departments.length].erpId,
        hiredate: e.validFrom ?? null, releasedate: e.validTo ?? null,
      };
    }),
    account: company.glAccounts.map((a) => ({ id: a.erpId, acctnumber: a.number, fullname: a.name, subsidiary: [sub(a.entity)], isinactive: !a.postable })),
    salestaxitem: company.taxCodes.map((t) => ({
      id: t.erpId, itemid: t.code, rate: `${(t.rateBp / 100).toFixed(2)}%`,
      country: company.entities.find((e) => e.code === t.entity)?.country ?? null, subsidiary: [sub(t.entity)], ...closure(t.validTo),
    })),
    expensecategory: categoryCodes.map((code, index) => ({
      id: String(index + 1), name: code.charAt(0) + code.slice(1).toLowerCase(), externalid: code,
      subsidiary: categories.filter((c) => c.code === code).map((c) => sub(c.entity)),
    })),
    currencyrate: (options.fxRates ?? []).map((r, index) => ({
      id: String(index + 1), basecurrency: currencyId(r.base), transactioncurrency: currencyId(r.transaction), exchangerate: r.rate, effectivedate: r.effectiveDate,
    })),
  };
}
