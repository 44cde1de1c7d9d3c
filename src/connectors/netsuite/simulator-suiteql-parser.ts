/**
 * The small piece of SuiteQL the simulator understands, parsed honestly: anything outside it is a
 * syntax error, never a guess. The grammar (keywords and identifiers are case-insensitive):
 *
 *   query     := SELECT ( '*' | item { ',' item } ) FROM source [ [ INNER ] JOIN source ON column '=' column ]
 *                [ WHERE condition { AND condition } ] [ ORDER BY order { ',' order } ]
 *   source    := table [ [ AS ] alias ]
 *   column    := [ ( table | alias ) '.' ] name
 *   item      := column [ AS alias ] | TO_CHAR '(' column ',' mask ')' AS alias
 *   condition := column ( '=' | '<>' | '!=' | '<' | '<=' | '>' | '>=' ) literal | column LIKE 'text'
 *   literal   := 'text' | number
 *              | TO_TIMESTAMP '(' 'YYYY-MM-DD HH:MM:SS' ',' 'YYYY-MM-DD HH24:MI:SS' ')'
 *              | TO_DATE '(' 'YYYY-MM-DD' ',' 'YYYY-MM-DD' ')'
 *   order     := column [ ASC | DESC ]
 *   mask      := 'YYYY-MM-DD' | 'YYYY-MM-DD HH24:MI:SS'
 *
 * Timestamps are read as UTC. LIKE takes `%` (any run of characters) and `_` (one character),
 * without ESCAPE. Which columns a table has, and which table a column belongs to, is checked later,
 * by the executor, so that an unknown table and an unknown column get NetSuite's two messages.
 */

export const DATE_MASK = 'YYYY-MM-DD';
export const TIMESTAMP_MASK = 'YYYY-MM-DD HH24:MI:SS';

export type Comparison = '=' | '<>' | '!=' | '<' | '<=' | '>' | '>=' | 'like';

export type Literal =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'number'; readonly value: number }
  /** TO_TIMESTAMP or TO_DATE, as epoch milliseconds (UTC). */
  | { readonly type: 'time'; readonly ms: number };

/** A column, with the table or table alias written before its dot, if any (`tl.account`). */
export interface ColumnRef {
  readonly column: string;
  readonly qualifier?: string;
}

export interface SelectItem extends ColumnRef {
  /** The key the value gets in each item: the alias, else the column name. */
  readonly key: string;
  /** Set by TO_CHAR: the date or timestamp mask. */
  readonly mask?: typeof DATE_MASK | typeof TIMESTAMP_MASK;
}

export interface Condition extends ColumnRef {
  readonly comparison: Comparison;
  readonly literal: Literal;
}

export interface OrderItem extends ColumnRef {
  readonly descending: boolean;
}

/** `JOIN table [alias] ON left = right`, an inner join on one equality. */
export interface JoinClause {
  readonly table: string;
  readonly alias?: string;
  readonly left: ColumnRef;
  readonly right: ColumnRef;
}

export interface ParsedQuery {
  readonly table: string;
  readonly alias?: string;
  readonly join?: JoinClause;
  /** Undefined for SELECT *. */
  readonly items: readonly SelectItem[] | undefined;
  readonly where: readonly Condition[];
  readonly orderBy: readonly OrderItem[];
}

/** The query is outside the grammar above; the message says where. */
export class SuiteQlSyntaxError extends Error {}

type Token = { readonly kind: 'word' | 'text' | 'number' | 'symbol'; readonly value: string; readonly at: number };

const TOKEN = /\s*(?:([A-Za-z_][A-Za-z0-9_]*)|'((?:[^']|'')*)'|(\d+(?:\.\d+)?)|(<=|>=|<>|!=|[(),.*=<>]))/y;

function tokenize(q: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < q.length) {
    if (/^\s*$/.test(q.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(q);
    if (!match) throw new SuiteQlSyntaxError(`unexpected character at position ${at}: ${JSON.stringify(q.slice(at).trimStart().slice(0, 20))}`);
    const [, word, text, number, symbol] = match;
    if (word !== undefined) tokens.push({ kind: 'word', value: word.toLowerCase(), at });
    else if (text !== undefined) tokens.push({ kind: 'text', value: text.replaceAll("''", "'"), at });
    else if (number !== undefined) tokens.push({ kind: 'number', value: number, at });
    else tokens.push({ kind: 'symbol', value: symbol, at });
  }
  return tokens;
}

const RESERVED = new Set(['select', 'from', 'where', 'and', 'order', 'by', 'as', 'asc', 'desc', 'to_char', 'to_timestamp', 'to_date', 'join', 'inner', 'left', 'right', 'full', 'outer', 'on', 'like']);

class Cursor {
  private index = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  peek(): Token | undefined {
    return this.tokens[this.index];
  }

  /** Consumes the next token when it is this keyword or symbol. */
  accept(value: string): boolean {
    const token = this.peek();
    if (token && (token.kind === 'word' || token.kind === 'symbol') && token.value === value) {
      this.index += 1;
      return true;
    }
    return false;
  }

  /** Consumes the next token, whatever it is (the caller has looked at it). */
  skip(): void {
    this.index += 1;
  }

  expect(value: string): void {
    if (!this.accept(value)) this.fail(`expected ${value.toUpperCase()}`);
  }

  identifier(what: string): string {
    const token = this.peek();
    if (token?.kind !== 'word' || RESERVED.has(token.value)) this.fail(`expected ${what}`);
    this.index += 1;
    return (token as Token).value;
  }

  text(what: string): string {
    const token = this.peek();
    if (token?.kind !== 'text') this.fail(`expected ${what} as a quoted string`);
    this.index += 1;
    return (token as Token).value;
  }

  fail(message: string): never {
    const token = this.peek();
    throw new SuiteQlSyntaxError(token ? `${message} at position ${token.at}, found ${JSON.stringify(token.value)}` : `${message} at the end of the query`);
  }
}

export function parseSuiteQl(q: string): ParsedQuery {
  const cursor = new Cursor(tokenize(q));
  cursor.expect('select');
  const items = cursor.accept('*') ? undefined : list(cursor, () => parseItem(cursor));
  cursor.expect('from');
  const table = cursor.identifier('a table name');
  const alias = parseTableAlias(cursor);
  const inner = cursor.accept('inner');
  const join = inner || cursor.accept('join') ? parseJoin(cursor, inner) : undefined;
  const where: Condition[] = [];
  if (cursor.accept('where')) {
    do where.push(parseCondition(cursor));
    while (cursor.accept('and'));
  }
  let orderBy: OrderItem[] = [];
  if (cursor.accept('order')) {
    cursor.expect('by');
    orderBy = list(cursor, () => {
      const ref = parseColumn(cursor, 'a column to order by');
      const descending = cursor.accept('desc');
      if (!descending) cursor.accept('asc');
      return { ...ref, descending };
    });
  }
  if (cursor.peek() !== undefined) cursor.fail('expected the end of the query');
  return { table, ...(alias !== undefined && { alias }), ...(join && { join }), items, where, orderBy };
}

function parseTableAlias(cursor: Cursor): string | undefined {
  if (cursor.accept('as')) return cursor.identifier('a table alias');
  const token = cursor.peek();
  return token?.kind === 'word' && !RESERVED.has(token.value) ? cursor.identifier('a table alias') : undefined;
}

/** After JOIN (or INNER, which must be followed by JOIN): the second table and its ON equality. */
function parseJoin(cursor: Cursor, inner: boolean): JoinClause {
  if (inner) cursor.expect('join');
  const table = cursor.identifier('a table name after JOIN');
  const alias = parseTableAlias(cursor);
  cursor.expect('on');
  const left = parseColumn(cursor, 'a column after ON');
  cursor.expect('=');
  const right = parseColumn(cursor, 'a column after =');
  return { table, ...(alias !== undefined && { alias }), left, right };
}

/** `name` or `qualifier.name`. */
function parseColumn(cursor: Cursor, what: string): ColumnRef {
  const first = cursor.identifier(what);
  if (!cursor.accept('.')) return { column: first };
  return { qualifier: first, column: cursor.identifier(`a column name after ${first}.`) };
}

function list<T>(cursor: Cursor, parse: () => T): T[] {
  const out = [parse()];
  while (cursor.accept(',')) out.push(parse());
  return out;
}

function parseItem(cursor: Cursor): SelectItem {
  if (cursor.accept('to_char')) {
    cursor.expect('(');
    const ref = parseColumn(cursor, 'a column inside TO_CHAR');
    cursor.expect(',');
    const mask = cursor.text('a TO_CHAR format');
    if (mask !== DATE_MASK && mask !== TIMESTAMP_MASK) cursor.fail(`TO_CHAR supports only '${DATE_MASK}' and '${TIMESTAMP_MASK}'`);
    cursor.expect(')');
    // Without an alias NetSuite names the column after the expression; the simulator refuses to guess that name.
    if (!cursor.accept('as')) cursor.fail('expected AS alias after TO_CHAR(...)');
    return { ...ref, key: cursor.identifier('an alias'), mask: mask as SelectItem['mask'] };
  }
  const ref = parseColumn(cursor, 'a column name');
  return { ...ref, key: cursor.accept('as') ? cursor.identifier('an alias') : ref.column };
}

const COMPARISONS: readonly Comparison[] = ['=', '<>', '!=', '<=', '>=', '<', '>'];

function parseCondition(cursor: Cursor): Condition {
  const ref = parseColumn(cursor, 'a column in WHERE');
  if (cursor.accept('like')) return { ...ref, comparison: 'like', literal: { type: 'text', text: cursor.text('a LIKE pattern') } };
  const comparison = COMPARISONS.find((c) => cursor.accept(c));
  if (comparison === undefined) cursor.fail('expected a comparison (=, <>, <, <=, >, >=, LIKE)');
  return { ...ref, comparison: comparison as Comparison, literal: parseLiteral(cursor) };
}

function parseLiteral(cursor: Cursor): Literal {
  const token = cursor.peek();
  if (token?.kind === 'text') return { type: 'text', text: cursor.text('a value') };
  if (token?.kind === 'number') {
    cursor.skip();
    return { type: 'number', value: Number(token.value) };
  }
  for (const [fn, mask, pattern] of [
    ['to_timestamp', TIMESTAMP_MASK, /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/],
    ['to_date', DATE_MASK, /^(\d{4})-(\d{2})-(\d{2})$/],
  ] as const) {
    if (!cursor.accept(fn)) continue;
    cursor.expect('(');
    const value = cursor.text(`a ${fn.toUpperCase()} value`);
    cursor.expect(',');
    if (cursor.text(`a ${fn.toUpperCase()} format`) !== mask) cursor.fail(`${fn.toUpperCase()} supports only the format '${mask}'`);
    cursor.expect(')');
    const ms = parseUtc(value, pattern);
    if (ms === undefined) throw new SuiteQlSyntaxError(`${value} does not match ${mask} or is not a real date`);
    return { type: 'time', ms };
  }
  return cursor.fail('expected a value: a quoted string, a number, TO_TIMESTAMP(...) or TO_DATE(...)');
}

function parseUtc(value: string, pattern: RegExp): number | undefined {
  const match = pattern.exec(value);
  if (!match) return undefined;
  const [year, month, day, hour = 0, minute = 0, second = 0] = match.slice(1).map(Number);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const d = new Date(ms);
  const exact = d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day && d.getUTCHours() === hour && d.getUTCMinutes() === minute && d.getUTCSeconds() === second;
  return exact ? ms : undefined;
}
