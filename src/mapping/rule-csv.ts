/**
 * Reads a CSV rule file (decision table only) into raw rows: the CSV scanner, the header's
 * columns, and one raw row per record.
 */
import { MATCH_COLUMNS, type MatchColumn, type OutputField, type RuleProblem } from './rule-set.ts';
import { isMatchColumn } from './expressions.ts';
import { makeCell, type Cell, type RawRow, type RawRuleSet, type SourceMap } from './rule-cells.ts';

/**
 * CSV columns other than the match columns: output `costCenter` and `project` are `out.` columns
 * here because the plain names are match columns.
 */
const CSV_OUTPUT_COLUMNS: ReadonlyMap<string, OutputField> = new Map([
  ['account', 'account'],
  ['out.costCenter', 'costCenter'],
  ['out.project', 'project'],
  ['employee', 'employee'],
  ['tax', 'tax'],
  ['taxAccount', 'taxAccount'],
  ['taxable', 'taxable'],
  ['taxableAccount', 'taxableAccount'],
  ['memo', 'memo'],
]);

type CsvColumn = { readonly kind: 'id' } | { readonly kind: 'when'; readonly column: MatchColumn } | { readonly kind: 'then'; readonly field: OutputField } | { readonly kind: 'ignored' };

export interface CsvCell {
  readonly value: string;
  /** Offset of the cell's first character (its opening quote if quoted). */
  readonly start: number;
  /** For a quoted cell: the offset of each value character, then of the closing quote. */
  readonly offsets?: readonly number[];
}

export interface CsvRecord {
  readonly start: number;
  readonly cells: readonly CsvCell[];
}

export function readCsv(text: string, source: SourceMap, problems: RuleProblem[]): RawRuleSet | undefined {
  const [header, ...data] = tokenizeCsv(text, detectDelimiter(text), source, problems);
  // Lengths are checked against the header only when the header itself was read: a broken quote
  // before it would make a data row pose as the header.
  const headerLine = header && source.pos(header.start).line;
  if (header && !problems.some((p) => p.line < headerLine!)) for (const record of data) checkRecordLength(record, header.cells.length, source, problems);
  if (problems.length > 0) return undefined;
  if (!header) {
    problems.push(source.problem(0, 'field', 'The file has no header row: the first line names the columns, e.g. id,category,account.'));
    return undefined;
  }
  const columns = readHeader(header, source, problems);
  if (!columns) return undefined;
  const rulesAt = source.pos(header.start);
  if (data.length === 0) {
    problems.push({ ...rulesAt, code: 'field', message: 'The file has a header but no rules: add at least one row.' });
    return undefined;
  }
  const rows = data.map((record) => csvRow(record, columns, source));
  return { settings: { credit: {}, at: {} }, rulesAt, rows };
}

function csvCell(cell: CsvCell, source: SourceMap): Cell {
  const offsets = cell.offsets;
  const offsetOf = offsets ? (i: number) => offsets[Math.min(i, offsets.length - 1)]! : (i: number) => cell.start + i;
  return makeCell(cell.value, offsetOf, offsets ? offsets[offsets.length - 1]! : cell.start, source);
}

function csvRow(record: CsvRecord, columns: readonly CsvColumn[], source: SourceMap): RawRow {
  let id: Cell | undefined;
  let thenAt = source.pos(record.start);
  const when: [MatchColumn, Cell][] = [];
  const then: [OutputField, Cell][] = [];
  record.cells.forEach((raw, i) => {
    const column = columns[i]!;
    if (column.kind === 'ignored') return;
    const cell = csvCell(raw, source);
    if (column.kind === 'id') id = cell;
    else if (column.kind === 'when') when.push([column.column, cell]);
    else {
      then.push([column.field, cell]);
      if (column.field === 'account') thenAt = cell.at;
    }
  });
  return { at: source.pos(record.start), ...(id && { id }), when, then, thenAt };
}

/** The header's columns; undefined when id or account is missing (every row would repeat it). */
function readHeader(header: CsvRecord, source: SourceMap, problems: RuleProblem[]): CsvColumn[] | undefined {
  const seen = new Set<string>();
  const known = ['id', ...MATCH_COLUMNS, 'cf.<name>', ...CSV_OUTPUT_COLUMNS.keys()];
  const columns = header.cells.map((raw): CsvColumn => {
    const cell = csvCell(raw, source);
    const name = cell.text;
    const fail = (message: string): CsvColumn => {
      problems.push({ ...cell.at, code: 'field', message });
      return { kind: 'ignored' };
    };
    if (name === '') return fail('This header cell is empty: name the column or remove it (and its cells).');
    if (seen.has(name)) return fail(`Column "${name}" appears twice in the header: keep one.`);
    seen.add(name);
    if (name === 'id') return { kind: 'id' };
    if (isMatchColumn(name)) return { kind: 'when', column: name };
    const output = CSV_OUTPUT_COLUMNS.get(name);
    if (output) return { kind: 'then', field: output };
    if (name.startsWith('cf.')) return fail(`"${name}" is not a valid custom field column: the name after cf. starts with a letter and has up to 40 letters, digits and _.`);
    const close = known.find((k) => k.toLowerCase() === name.toLowerCase());
    return fail(`Unknown column "${name}": ${close ? `did you mean "${close}"?` : `use ${known.join(', ')}.`}`);
  });
  let complete = true;
  for (const required of ['id', 'account']) {
    if (!seen.has(required)) {
      problems.push({ ...source.pos(header.start), code: 'field', message: `The header has no "${required}" column: add it.` });
      complete = false;
    }
  }
  return complete ? columns : undefined;
}

function checkRecordLength(record: CsvRecord, expected: number, source: SourceMap, problems: RuleProblem[]): void {
  const cells = record.cells;
  if (cells.length === expected) return;
  const message = `This row has ${cells.length} cells but the header has ${expected} columns: give every row one cell per column (an empty cell is fine: a,,b).`;
  if (cells.length > expected) {
    const extra = cells[expected]!;
    problems.push(source.problem(extra.offsets ? extra.offsets[0] ?? extra.start : extra.start, 'syntax', message));
  } else {
    const last = cells[cells.length - 1]!;
    const end = last.offsets ? last.offsets[last.offsets.length - 1]! + 1 : last.start + last.value.length;
    problems.push(source.problem(end, 'syntax', message));
  }
}

/** The header's delimiter: a comma, else a semicolon (spreadsheets in many European locales), else a tab. */
function detectDelimiter(text: string): string {
  for (const line of text.split('\n', 50)) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    if (trimmed.includes(',')) return ',';
    if (trimmed.includes(';')) return ';';
    if (trimmed.includes('\t')) return '\t';
    return ',';
  }
  return ',';
}

/**
 * Splits CSV text into records (RFC 4180: quoted cells, "" for a quote, line breaks in quoted
 * cells), skipping comment lines (first non-blank character #) and blank records (only empty or
 * blank cells), and keeps where every cell and character is. A quote that never closes ends the
 * file (reported where it opens); other quote errors skip the rest of their line.
 *
 * Our own scanner rather than csv-parse: csv-parse reports a record's raw text with the comment
 * and blank lines before it, and its byte counts are UTF-8 bytes, so the column of a cell cannot
 * be recovered reliably; and it names the last line of the file for a quote that never closes.
 * The test suite checks this scanner against csv-parse on generated files.
 */
export function tokenizeCsv(text: string, delimiter: string, source: SourceMap, problems: RuleProblem[]): CsvRecord[] {
  const records: CsvRecord[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const start = i;
    if (isCommentLine(text, i)) {
      i = lineEnd(text, i) + 1;
      continue;
    }
    const cells: CsvCell[] = [];
    let failed = false;
    for (;;) {
      const read = text[i] === '"' ? readQuoted(text, i, delimiter) : readPlain(text, i, delimiter);
      if ('error' in read) {
        problems.push(source.problem(read.at, 'syntax', read.error));
        if (read.fatal) return records;
        failed = true;
        i = lineEnd(text, read.at);
        break;
      }
      cells.push(read.cell);
      i = read.end;
      if (i < n && text[i] === delimiter) i++;
      else break;
    }
    if (text[i] === '\r' && text[i + 1] === '\n') i += 2;
    else if (i < n) i++;
    if (!failed && cells.some((cell) => cell.value.trim() !== '')) records.push({ start, cells });
  }
  return records;
}

type Read = { readonly cell: CsvCell; readonly end: number } | { readonly error: string; readonly at: number; readonly fatal?: boolean };

function readQuoted(text: string, start: number, delimiter: string): Read {
  let value = '';
  const offsets: number[] = [];
  let k = start + 1;
  for (;;) {
    if (k >= text.length) {
      return { error: 'This quote is never closed: add the closing " (a quote inside a quoted cell is written twice: "").', at: start, fatal: true };
    }
    if (text[k] === '"') {
      if (text[k + 1] !== '"') break;
      value += '"';
      offsets.push(k);
      k += 2;
      continue;
    }
    value += text[k];
    offsets.push(k);
    k++;
  }
  offsets.push(k);
  const after = k + 1;
  const next = text[after];
  if (after < text.length && next !== delimiter && next !== '\n' && !(next === '\r' && text[after + 1] === '\n')) {
    return { error: `After the closing quote comes ${JSON.stringify(next)}: end the cell after the quote, or write a quote inside the cell as "".`, at: after };
  }
  return { cell: { value, start, offsets }, end: after };
}

function readPlain(text: string, start: number, delimiter: string): Read {
  let k = start;
  while (k < text.length) {
    const c = text[k];
    if (c === delimiter || c === '\n') break;
    if (c === '"') return { error: 'A quote inside a cell that does not start with one: put the whole cell in quotes and write the quote as "" (no space before the opening quote).', at: k };
    k++;
  }
  const end = k > start && text[k - 1] === '\r' && text[k] === '\n' ? k - 1 : k;
  return { cell: { value: text.slice(start, end), start }, end: k };
}

function isCommentLine(text: string, i: number): boolean {
  while (text[i] === ' ' || text[i] === '\t') i++;
  return text[i] === '#';
}

function lineEnd(text: string, i: number): number {
  const end = text.indexOf('\n', i);
  return end < 0 ? text.length : end;
}
