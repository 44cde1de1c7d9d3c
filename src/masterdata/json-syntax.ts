/**
 * Where a JSON text first breaks the grammar, as a line and column a person can go to.
 *
 * Node 20's `JSON.parse` names a position for some syntax errors and not for others
 * (`Unexpected token '}', "..." is not valid JSON`), so a feed file cannot rely on its message.
 * This scanner walks the text with an explicit stack (no recursion, so deep nesting cannot
 * overflow) and stops at the first offending character. It is only called after `JSON.parse`
 * failed, so it decides nothing about what is valid; it only explains.
 */

export interface JsonSyntaxError {
  /** 1-based line; only `\n` ends a line (a CRLF file counts the same). */
  readonly line: number;
  /** 1-based column in UTF-16 code units, as editors show it for most text. */
  readonly column: number;
  readonly detail: string;
}

type Expect = 'value' | 'value-or-end' | 'key' | 'key-or-end' | 'after-value';

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

/** The first syntax error in `text`, or undefined when it is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  const found = scan(text);
  return found && { ...lineAndColumn(text, found.offset), detail: found.detail };
}

export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line += 1;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

function scan(text: string): { offset: number; detail: string } | undefined {
  const stack: ('{' | '[')[] = [];
  let expect: Expect = 'value';
  let i = 0;
  const at = (detail: string, offset = i) => ({ offset, detail });
  for (;;) {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
    const c = text[i];
    if (expect === 'after-value') {
      const top = stack.at(-1);
      if (top === undefined) return i < text.length ? at(`unexpected ${describe(c)} after the end of the JSON value`) : undefined;
      if (c === ',') {
        i++;
        expect = top === '{' ? 'key' : 'value';
      } else if (c === (top === '{' ? '}' : ']')) {
        i++;
        stack.pop();
      } else {
        return at(`expected "," or "${top === '{' ? '}' : ']'}" but found ${describe(c)}`);
      }
      continue;
    }
    if (c === undefined) return at('the text ends before the JSON value is complete');
    if (expect === 'key' || expect === 'key-or-end') {
      if (expect === 'key-or-end' && c === '}') {
        i++;
        stack.pop();
        expect = 'after-value';
        continue;
      }
      if (c !== '"') return at(`expected a property name in double quotes but found ${describe(c)}`);
      const end = scanString(text, i);
      if (typeof end !== 'number') return end;
      i = end;
      while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
      if (text[i] !== ':') return at(`expected ":" after the property name but found ${describe(text[i])}`);
      i++;
      expect = 'value';
      continue;
    }
    if (expect === 'value-or-end' && c === ']') {
      i++;
      stack.pop();
      expect = 'after-value';
      continue;
    }
    if (c === '{' || c === '[') {
      stack.push(c);
      i++;
      expect = c === '{' ? 'key-or-end' : 'value-or-end';
      continue;
    }
    const end = scanScalar(text, i);
    if (typeof end !== 'number') return end;
    i = end;
    expect = 'after-value';
  }
}

/** The offset just after the string starting at `start`, or the error in it. */
function scanString(text: string, start: number): number | { offset: number; detail: string } {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c < 0x20) return { offset: i, detail: 'a control character (such as a line break) inside a string; write it as an escape like \\n' };
    if (c === 0x5c) {
      const next = text[i + 1];
      if (next === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return { offset: i, detail: 'a \\u escape needs four hex digits' };
        i += 5;
      } else if (next !== undefined && ESCAPES.has(next)) {
        i += 1;
      } else {
        return { offset: i, detail: `invalid escape ${describe(next === undefined ? undefined : `\\${next}`)} in a string` };
      }
    }
  }
  return { offset: start, detail: 'a string that starts here is never closed' };
}

function scanScalar(text: string, start: number): number | { offset: number; detail: string } {
  const c = text[start];
  if (c === '"') return scanString(text, start);
  for (const word of ['true', 'false', 'null']) if (text.startsWith(word, start)) return start + word.length;
  NUMBER.lastIndex = start;
  if (NUMBER.test(text)) return NUMBER.lastIndex;
  return { offset: start, detail: `unexpected ${describe(c)}; expected a value (object, array, string, number, true, false or null)` };
}

function describe(c: string | undefined): string {
  return c === undefined ? 'the end of the text' : JSON.stringify(c);
}
