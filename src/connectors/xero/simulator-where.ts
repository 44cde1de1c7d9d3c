/**
 * The subset of Xero's `where` and `order` query syntax the simulator reads. Xero documents
 * `where` as a filter on any element, in a C#-like syntax (`Status=="DRAFT"`,
 * `Date >= DateTime(2026, 04, 01)`, `Name.StartsWith("B")`, `AND`/`OR`) [M]; the exact grammar is
 * not published [U]. The simulator reads:
 *
 *   expr    := and (("OR" | "||") and)*
 *   and     := term (("AND" | "&&") term)*
 *   term    := "(" expr ")" | Field op literal | Field "." (StartsWith|EndsWith|Contains) "(" string ")"
 *   op      := == | != | >= | <= | > | <
 *   literal := "string" | DateTime(y, m, d[, h, min, s]) | number | true | false | null
 *
 * Anything else is refused with Xero's QueryParseException, as Xero refuses what it cannot parse,
 * rather than guessed. String comparisons are ordinal and case-sensitive [U].
 */

export type WhereValue = string | number | boolean | null;
/** A journal as the filter sees it: dates as epoch milliseconds. */
export type WhereRow = Readonly<Record<string, WhereValue>>;
export type Predicate = (row: WhereRow) => boolean;

export const WHERE_FIELDS: Readonly<Record<string, 'string' | 'date' | 'boolean'>> = {
  ManualJournalID: 'string',
  Narration: 'string',
  Status: 'string',
  LineAmountTypes: 'string',
  Date: 'date',
  UpdatedDateUTC: 'date',
  ShowOnCashBasisReports: 'boolean',
  HasAttachments: 'boolean',
};

export class QueryParseError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'QueryParseError';
  }
}

type Token = { readonly kind: 'word' | 'string' | 'number' | 'op' | 'punct'; readonly text: string; readonly at: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:("(?:[^"\\]|\\.)*")|(-?\d+(?:\.\d+)?)|(==|!=|>=|<=|&&|\|\||>|<)|([A-Za-z_][A-Za-z0-9_]*)|([().,]))/y;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    pattern.lastIndex = at;
    const match = pattern.exec(text);
    if (!match) throw new QueryParseError(`Unexpected character at position ${at}: ${JSON.stringify(text.slice(at).trimStart().slice(0, 10))}`);
    const [whole, str, num, op, word, punct] = match;
    const start = at + whole.length - (str ?? num ?? op ?? word ?? punct ?? '').length;
    if (str !== undefined) tokens.push({ kind: 'string', text: str, at: start });
    else if (num !== undefined) tokens.push({ kind: 'number', text: num, at: start });
    else if (op !== undefined) tokens.push({ kind: 'op', text: op, at: start });
    else if (word !== undefined) tokens.push({ kind: 'word', text: word, at: start });
    else tokens.push({ kind: 'punct', text: punct as string, at: start });
    at += whole.length;
  }
  return tokens;
}

/** Parses a where filter into a predicate; throws QueryParseError. */
export function parseWhere(text: string): Predicate {
  const parser = new WhereParser(tokenize(text));
  const predicate = parser.expression();
  parser.end();
  return predicate;
}

class WhereParser {
  private index = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  end(): void {
    const token = this.tokens[this.index];
    if (token !== undefined) throw new QueryParseError(`Unexpected ${JSON.stringify(token.text)} at position ${token.at}`);
  }

  expression(): Predicate {
    const parts = [this.conjunction()];
    while (this.accept('OR') || this.accept('||')) parts.push(this.conjunction());
    return parts.length === 1 ? parts[0] : (row) => parts.some((part) => part(row));
  }

  private conjunction(): Predicate {
    const parts = [this.term()];
    while (this.accept('AND') || this.accept('&&')) parts.push(this.term());
    return parts.length === 1 ? parts[0] : (row) => parts.every((part) => part(row));
  }

  private term(): Predicate {
    if (this.accept('(')) {
      const inner = this.expression();
      this.expect(')');
      return inner;
    }
    const field = this.field();
    if (this.accept('.')) return this.method(field);
    const op = this.next();
    if (op.kind !== 'op' || op.text === '&&' || op.text === '||') throw new QueryParseError(`Expected a comparison after ${field} at position ${op.at}`);
    const literal = this.literal(field);
    return compare(field, op.text, literal);
  }

  private method(field: string): Predicate {
    const name = this.next();
    if (WHERE_FIELDS[field] !== 'string') throw new QueryParseError(`${field} is not text; ${name.text} needs a text field`);
    this.expect('(');
    const argument = this.next();
    if (argument.kind !== 'string') throw new QueryParseError(`${name.text} needs a quoted string at position ${argument.at}`);
    this.expect(')');
    const needle = JSON.parse(argument.text) as string;
    const test: Record<string, (value: string) => boolean> = {
      StartsWith: (value) => value.startsWith(needle),
      EndsWith: (value) => value.endsWith(needle),
      Contains: (value) => value.includes(needle),
    };
    const check = test[name.text];
    if (check === undefined) throw new QueryParseError(`Unknown method ${name.text}; the simulator reads StartsWith, EndsWith and Contains`);
    return (row) => typeof row[field] === 'string' && check(row[field] as string);
  }

  private field(): string {
    const token = this.next();
    if (token.kind !== 'word' || !Object.hasOwn(WHERE_FIELDS, token.text)) {
      throw new QueryParseError(`No property or field '${token.text}' exists in type 'ManualJournal'`);
    }
    return token.text;
  }

  private literal(field: string): WhereValue {
    const token = this.next();
    const type = WHERE_FIELDS[field];
    if (token.kind === 'string' && type === 'string') return JSON.parse(token.text) as string;
    if (token.kind === 'word' && token.text === 'null') return null;
    if (token.kind === 'word' && (token.text === 'true' || token.text === 'false') && type === 'boolean') return token.text === 'true';
    if (token.kind === 'word' && token.text === 'DateTime' && type === 'date') return this.dateTime();
    throw new QueryParseError(`Operator cannot be applied to ${field} and ${JSON.stringify(token.text)} at position ${token.at}`);
  }

  private dateTime(): number {
    this.expect('(');
    const parts: number[] = [];
    for (;;) {
      const token = this.next();
      if (token.kind !== 'number' || !/^\d+$/.test(token.text)) throw new QueryParseError(`DateTime needs whole numbers at position ${token.at}`);
      parts.push(Number(token.text));
      if (this.accept(')')) break;
      this.expect(',');
    }
    if (parts.length !== 3 && parts.length !== 6) throw new QueryParseError('DateTime takes (year, month, day) or (year, month, day, hour, minute, second)');
    const [year, month, day, hour = 0, minute = 0, second = 0] = parts;
    const ms = Date.UTC(year, month - 1, day, hour, minute, second);
    const check = new Date(ms);
    if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) throw new QueryParseError(`DateTime(${parts.join(', ')}) is not a date`);
    return ms;
  }

  private accept(text: string): boolean {
    const token = this.tokens[this.index];
    if (token !== undefined && token.text === text && token.kind !== 'string') {
      this.index++;
      return true;
    }
    return false;
  }

  private expect(text: string): void {
    const token = this.next();
    if (token.text !== text || token.kind === 'string') throw new QueryParseError(`Expected ${JSON.stringify(text)} at position ${token.at}`);
  }

  private next(): Token {
    const token = this.tokens[this.index];
    if (token === undefined) throw new QueryParseError('Unexpected end of the filter');
    this.index++;
    return token;
  }
}

function compare(field: string, op: string, literal: WhereValue): Predicate {
  return (row) => {
    const value = row[field] ?? null;
    if (op === '==') return value === literal;
    if (op === '!=') return value !== literal;
    if (value === null || literal === null || typeof value !== typeof literal) return false;
    const a = value as string | number;
    const b = literal as string | number;
    return op === '>' ? a > b : op === '>=' ? a >= b : op === '<' ? a < b : a <= b;
  };
}

/** Parses `order` ("Date DESC, Narration"): a comparator over rows. Throws QueryParseError. */
export function parseOrder(text: string): (a: WhereRow, b: WhereRow) => number {
  const keys = text.split(',').map((part) => {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)(?:\s+(ASC|DESC))?\s*$/i.exec(part);
    if (!match || !Object.hasOwn(WHERE_FIELDS, match[1])) throw new QueryParseError(`Cannot order by ${JSON.stringify(part.trim())}`);
    return { field: match[1], sign: match[2]?.toUpperCase() === 'DESC' ? -1 : 1 };
  });
  return (a, b) => {
    for (const { field, sign } of keys) {
      const x = a[field] ?? null;
      const y = b[field] ?? null;
      if (x === y) continue;
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : 1) * sign;
    }
    return 0;
  };
}
