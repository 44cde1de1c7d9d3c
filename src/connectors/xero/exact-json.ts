/**
 * JSON with exact decimal numbers. Xero's `LineAmount` is a JSON number (the official description
 * types it `number`, format `double`), but JSON itself puts no limit on a number's digits: the
 * limit is in the parser that turns them into a double. So finsync never lets a double near an
 * amount: `stringifyJson` writes a `JsonDecimal` as the exact digits it holds, and
 * `parseJsonExact` keeps every number of an answer as its digits. Amounts then go through
 * money.ts (`formatAmount`, `parseAmount`), digit by digit.
 *
 * Both sides stay plain JSON: the wire carries `"LineAmount": 84.50`, which any JSON reader,
 * Xero's included, reads as the number 84.5.
 */

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** A JSON number kept as the digits that were written (or are to be written). */
export class JsonDecimal {
  constructor(readonly text: string) {
    if (!NUMBER.test(text)) throw new Error(`Assertion failed: "${text}" is not a JSON number`);
  }

  /** The value as a plain decimal without exponent ("1.5e2" -> "150", "-2E-3" -> "-0.002"), exactly. */
  plain(): string {
    const match = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(this.text);
    if (!match) throw new Error(`Assertion failed: "${this.text}" is not a JSON number`);
    const [, sign, whole, fraction = '', exponentText] = match;
    if (exponentText === undefined) return this.text;
    const exponent = Number(exponentText);
    if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 400) throw new Error(`Assertion failed: exponent of "${this.text}" is out of range`);
    const digits = whole + fraction;
    const point = whole.length + exponent;
    const padded = point <= 0 ? '0'.repeat(1 - point) + digits : point > digits.length ? digits + '0'.repeat(point - digits.length) : digits;
    const at = point <= 0 ? 1 : point;
    const intPart = padded.slice(0, at).replace(/^0+(?=\d)/, '');
    const fracPart = padded.slice(at);
    return `${sign}${intPart}${fracPart === '' ? '' : `.${fracPart}`}`;
  }

  /** The value as a JavaScript number: only for counts and codes (ErrorNumber, page), never for money. */
  toNumber(): number {
    return Number(this.text);
  }

  /** JSON.stringify (a log line) shows the digits as text: exact, and never mistaken for the wire form, which is stringifyJson's. */
  toJSON(): string {
    return this.text;
  }
}

/** JSON text for a value whose numbers are safe integers or JsonDecimals; `undefined` members are left out. */
export function stringifyJson(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof JsonDecimal) return value.text;
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      // A float here would be rounded by the double it is; amounts must arrive as JsonDecimal.
      if (!Number.isSafeInteger(value)) throw new Error(`Assertion failed: ${value} is not a safe integer; write decimals as JsonDecimal`);
      return String(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : stringifyJson(item))).join(',')}]`;
      const members = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
      return `{${members.map(([k, v]) => `${JSON.stringify(k)}:${stringifyJson(v)}`).join(',')}}`;
    }
    default:
      throw new Error(`Assertion failed: cannot write a ${typeof value} as JSON`);
  }
}

/** Thrown by parseJsonExact on text that is not JSON; `offset` is where reading stopped. */
export class JsonSyntaxError extends Error {
  constructor(
    readonly offset: number,
    detail: string,
  ) {
    super(`${detail} at offset ${offset}`);
    this.name = 'JsonSyntaxError';
  }
}

/**
 * Parses JSON text (RFC 8259) into plain objects, arrays, strings, booleans and null, with every
 * number a JsonDecimal holding its digits. Strings are decoded by JSON.parse itself, so escapes
 * follow the standard exactly.
 */
export function parseJsonExact(text: string): unknown {
  const reader = new Reader(text);
  reader.skipSpace();
  const value = reader.value(0);
  reader.skipSpace();
  if (reader.at < text.length) throw new JsonSyntaxError(reader.at, 'Unexpected text after the JSON value');
  return value;
}

const DEPTH_MAX = 256;

class Reader {
  at = 0;
  constructor(private readonly text: string) {}

  skipSpace(): void {
    while (this.at < this.text.length) {
      const c = this.text.charCodeAt(this.at);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.at++;
    }
  }

  value(depth: number): unknown {
    if (depth > DEPTH_MAX) throw new JsonSyntaxError(this.at, 'JSON nested too deeply');
    const c = this.text[this.at];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const [word, result] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length;
        return result;
      }
    }
    throw new JsonSyntaxError(this.at, c === undefined ? 'Unexpected end of JSON' : `Unexpected character ${JSON.stringify(c)}`);
  }

  private object(depth: number): Record<string, unknown> {
    const result: Record<string, unknown> = {};
    this.at++;
    this.skipSpace();
    if (this.text[this.at] === '}') {
      this.at++;
      return result;
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.at] !== '"') throw new JsonSyntaxError(this.at, 'Expected a member name');
      const key = this.string();
      this.skipSpace();
      this.expect(':');
      this.skipSpace();
      // defineProperty: a member named "__proto__" is data, never the prototype.
      Object.defineProperty(result, key, { value: this.value(depth + 1), enumerable: true, writable: true, configurable: true });
      this.skipSpace();
      if (this.text[this.at] === ',') {
        this.at++;
        continue;
      }
      this.expect('}');
      return result;
    }
  }

  private array(depth: number): unknown[] {
    const result: unknown[] = [];
    this.at++;
    this.skipSpace();
    if (this.text[this.at] === ']') {
      this.at++;
      return result;
    }
    for (;;) {
      this.skipSpace();
      result.push(this.value(depth + 1));
      this.skipSpace();
      if (this.text[this.at] === ',') {
        this.at++;
        continue;
      }
      this.expect(']');
      return result;
    }
  }

  private string(): string {
    const start = this.at;
    this.at++;
    while (this.at < this.text.length) {
      const c = this.text.charCodeAt(this.at);
      if (c === 0x22) {
        this.at++;
        try {
          return JSON.parse(this.text.slice(start, this.at)) as string;
        } catch {
          throw new JsonSyntaxError(start, 'Invalid string');
        }
      }
      if (c < 0x20) throw new JsonSyntaxError(this.at, 'Control character in string');
      this.at += c === 0x5c ? 2 : 1;
    }
    throw new JsonSyntaxError(start, 'Unterminated string');
  }

  private number(): JsonDecimal {
    const match = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    match.lastIndex = this.at;
    const found = match.exec(this.text);
    if (!found) throw new JsonSyntaxError(this.at, 'Invalid number');
    this.at += found[0].length;
    return new JsonDecimal(found[0]);
  }

  private expect(char: string): void {
    if (this.text[this.at] !== char) throw new JsonSyntaxError(this.at, `Expected ${JSON.stringify(char)}`);
    this.at++;
  }
}
