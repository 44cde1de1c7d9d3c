/**
 * The simulator's SuiteQL queries checked before they run: the tables exist, every column belongs to
 * one of them (by its qualifier, or as the only table that has it), and every comparison, LIKE,
 * TO_CHAR, join and ORDER BY fits its column's type. What fails is refused with the texts NetSuite
 * answers (api-contracts.md), the simulator's own reason in parentheses where NetSuite's is generic.
 */
import type { ColumnRef, Condition, OrderItem, ParsedQuery, SelectItem } from './simulator-suiteql-parser.ts';
import type { Rejection } from './simulator-ledger.ts';
import type { ColumnType } from './simulator-suiteql.ts';

/** A table's columns and their types, by SuiteQL name. */
export type QueryColumns = Readonly<Record<string, ColumnType>>;

/** A table of the query under the name its columns are qualified with (its alias, else its own name). */
interface Source {
  readonly table: string;
  readonly name: string;
  readonly columns: QueryColumns;
}

/** A column of a query resolved: its table (0: FROM, 1: JOIN), its name there, its key in the rows the query runs over, its type. */
export interface Resolved {
  readonly source: number;
  readonly name: string;
  readonly rowKey: string;
  readonly type: ColumnType;
}

/** A query checked against the tables, every column resolved. */
export interface Plan {
  /** The FROM table, then the JOIN table if any. */
  readonly tables: readonly string[];
  readonly items: readonly (SelectItem & Resolved)[];
  readonly where: readonly (Condition & Resolved)[];
  readonly orderBy: readonly (OrderItem & Resolved)[];
  readonly join?: { readonly left: Resolved; readonly right: Resolved };
}

export function invalidParameter(detail: string, queryParam = 'q'): Rejection {
  return { status: 400, code: 'INVALID_PARAMETER', detail, queryParam };
}

/** The text NetSuite answers to a query it cannot run; the simulator adds its own reason after it. */
export function unsupported(reason: string): Rejection {
  return invalidParameter(`Invalid search query. Detailed unprocessed description follows. Search error occurred: Invalid or unsupported search. (${reason})`);
}

/**
 * Tables and columns exist, every column names one table, and every comparison, TO_CHAR, join and
 * ORDER BY fits its column's type: the query as a Plan, or NetSuite's refusal.
 */
export function planQuery(query: ParsedQuery, columnsOf: (table: string) => QueryColumns | undefined): Plan | Rejection {
  const named = [{ table: query.table, alias: query.alias }, ...(query.join ? [{ table: query.join.table, alias: query.join.alias }] : [])];
  const unknownTable = named.find((n) => columnsOf(n.table) === undefined);
  if (unknownTable) return invalidParameter(`Invalid search query. Detailed unprocessed description follows. Invalid search type: ${unknownTable.table}.`);
  const sources = named.map((n) => ({ table: n.table, name: n.alias ?? n.table, columns: columnsOf(n.table) as QueryColumns }));
  if (sources.length > 1 && sources[0].name === sources[1].name) return unsupported(`two tables are both named ${sources[0].name}: give one an alias`);
  const resolve = (ref: ColumnRef): Resolved | Rejection => resolveColumn(ref, sources);
  if (query.items === undefined && sources.length > 1) return unsupported('SELECT * over a join: name the columns');
  const items = (query.items ?? Object.keys(sources[0].columns).map((column) => ({ column, key: column }))).map((i) => withResolved(i, resolve(i)));
  const where = query.where.map((c) => withResolved(c, resolve(c)));
  const orderBy = query.orderBy.map((o) => withResolved(o, resolve(o)));
  const join = query.join && { left: resolve(query.join.left), right: resolve(query.join.right) };
  const refused = [...items, ...where, ...orderBy, ...(join ? [join.left, join.right] : [])].find((r): r is Rejection => 'code' in r);
  if (refused) return refused;
  const plan = { tables: sources.map((s) => s.table), items, where, orderBy, ...(join && { join }) } as Plan;
  for (const item of plan.items) {
    if (item.mask !== undefined && item.type !== 'date' && item.type !== 'datetime') return unsupported(`TO_CHAR of ${item.column}, which is not a date`);
  }
  for (const condition of plan.where) {
    const reason = conditionProblem(condition.type, condition);
    if (reason) return unsupported(reason);
  }
  const multi = plan.orderBy.find((o) => o.type === 'ids');
  if (multi) return unsupported(`ORDER BY the multi-select ${multi.column}`);
  if (plan.join) {
    const { left, right } = plan.join;
    if (left.source === right.source) return unsupported('the ON condition must compare a column of each table');
    if (left.type === 'ids' || right.type === 'ids') return unsupported('a join on a multi-select column');
  }
  return plan;
}

function withResolved<T extends ColumnRef>(ref: T, resolved: Resolved | Rejection): (T & Resolved) | Rejection {
  return 'code' in resolved ? resolved : { ...ref, ...resolved };
}

/** The table a column belongs to: the one its qualifier names, else the only one that has it. */
function resolveColumn(ref: ColumnRef, sources: readonly Source[]): Resolved | Rejection {
  const available = `Available identifiers are: {${sources.map((s) => `${s.name}=${s.table}`).join(', ')}}.`;
  const unknown = (identifier: string) => invalidParameter(`Invalid search query. Detailed unprocessed description follows. Search error occurred: Unknown identifier '${identifier}'. ${available}`);
  const candidates = sources.flatMap((s, i) => (ref.qualifier === undefined || s.name === ref.qualifier ? [i] : []));
  if (candidates.length === 0) return unknown(`${ref.qualifier}.${ref.column}`);
  const holding = candidates.filter((i) => Object.hasOwn(sources[i].columns, ref.column));
  if (holding.length === 0) return unknown(ref.column);
  if (holding.length > 1) return unsupported(`the column ${ref.column} is in both tables: qualify it`);
  const source = holding[0];
  return { source, name: ref.column, rowKey: sources.length === 1 ? ref.column : `${source}.${ref.column}`, type: sources[source].columns[ref.column] };
}

function conditionProblem(type: ColumnType, { column, comparison, literal }: Condition): string | undefined {
  // NetSuite refuses a direct comparison on a multi-select column; queries join its map table instead.
  if (type === 'ids') return `${column} is a multi-select column`;
  if (comparison === 'like') return type === 'text' ? undefined : `LIKE on ${column} (${type}), which is not text`;
  const fits =
    type === 'date' || type === 'datetime' ? literal.type === 'time'
    : type === 'id' || type === 'number' ? literal.type === 'number' || (literal.type === 'text' && /^-?\d+(\.\d+)?$/.test(literal.text))
    : type === 'bool' ? literal.type === 'text' && (literal.text === 'T' || literal.text === 'F')
    : literal.type === 'text';
  return fits ? undefined : `${column} (${type}) cannot be compared with this value`;
}
