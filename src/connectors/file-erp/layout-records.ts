/**
 * The record-typed CSV every file of the file ERP uses (batch files, answers, exports): reading
 * CSV into records with their line numbers, checking a file's record structure (header first,
 * trailer last, known types, exact field counts), and reading fields with errors that name the
 * line and column. Pure.
 */
import { CsvError, parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { DomainError } from '../../domain/domain-error.ts';
import { isKnownCurrency, parseAmount } from '../../domain/money.ts';

/** Batch, request and file ids: letters, digits and `-` (no `_` or `.`, which structure the names). */
export const ID_PATTERN = /^[A-Za-z0-9-]{1,64}$/;

export type LayoutErrorCode = 'FILE_UNREADABLE' | 'BAD_HEADER';

/** A file that cannot be read as its layout says: where, and what is wrong. */
export class LayoutError extends Error {
  constructor(
    readonly code: LayoutErrorCode,
    /** 1-based; the header record is line 1. */
    readonly line: number,
    readonly column: string,
    readonly value: string,
    readonly detail: string,
  ) {
    super(`line ${line}, column ${column}: ${detail}`);
    this.name = 'LayoutError';
  }
}

export interface CsvRecord {
  /** The file line the record starts on, 1-based. */
  readonly line: number;
  readonly fields: readonly string[];
}

/** Reads CSV text into records (a BOM and `\r\n` line ends are accepted); malformed CSV is a LayoutError. */
export function readCsvRecords(text: string): CsvRecord[] {
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parse(text, { bom: true, relax_column_count: true, info: true, skip_empty_lines: false, record_delimiter: ['\r\n', '\n'] }) as unknown as typeof rows;
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    // The record that failed starts after the last one read whole (bytes_records counts UTF-8 bytes).
    const bytesRead = (error as unknown as { bytes_records?: unknown }).bytes_records;
    const before = typeof bytesRead === 'number' ? Buffer.from(text, 'utf8').subarray(0, bytesRead).toString('utf8') : '';
    throw new LayoutError('FILE_UNREADABLE', countNewlines(before) + 1, '-', '', `the file is not well-formed CSV (${error.message})`);
  }
  // info.lines is the line a record ends on; a quoted field may span lines.
  return rows.map(({ record, info }) => ({ line: info.lines - record.reduce((n, field) => n + countNewlines(field), 0), fields: record }));
}

function countNewlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

export function writeCsvRecords(rows: readonly (readonly string[])[]): string {
  return stringify(rows as string[][], { record_delimiter: 'unix', eof: true });
}

/** The record types of a file: the header's columns and format, the body records' columns by type, the trailer's columns. */
export interface RecordShape {
  readonly format: string;
  readonly header: readonly string[];
  readonly body: Readonly<Record<string, readonly string[]>>;
  readonly trailer: readonly string[];
}

/** Checks a file's record structure (H first, T last, known types, exact field counts, the format) and wraps each record. */
export function splitRecords(records: readonly CsvRecord[], shape: RecordShape): { header: Fields; body: Fields[]; trailer: Fields } {
  if (records.length === 0) throw new LayoutError('FILE_UNREADABLE', 1, 'RECORD_TYPE', '', 'the file is empty');
  const wrap = (record: CsvRecord, columns: readonly string[]) => {
    const fields = new Fields(record, columns);
    if (record.fields.length !== columns.length) {
      const column = columns[Math.min(record.fields.length, columns.length - 1)];
      fields.refuse(column, `a ${record.fields[0]} record has ${columns.length} fields (${columns.join(',')}), this one has ${record.fields.length}`);
    }
    return fields;
  };
  const first = records[0];
  if (first.fields[0] !== 'H') throw new LayoutError('FILE_UNREADABLE', first.line, 'RECORD_TYPE', first.fields[0], 'the first record must be the header (H)');
  const header = wrap(first, shape.header);
  if (header.text('FORMAT') !== shape.format) header.refuse('FORMAT', `the format must be ${shape.format}`, 'BAD_HEADER');
  const last = records[records.length - 1];
  if (records.length < 2 || last.fields[0] !== 'T') {
    throw new LayoutError('FILE_UNREADABLE', last.line, 'RECORD_TYPE', last.fields[0], 'the last record must be the trailer (T): the file is incomplete');
  }
  const body = records.slice(1, -1).map((record) => {
    // hasOwn: a record type such as `constructor` must not find Object's prototype.
    const columns = Object.hasOwn(shape.body, record.fields[0]) ? shape.body[record.fields[0]] : undefined;
    if (columns === undefined) {
      const known = ['H', ...Object.keys(shape.body), 'T'].join(', ');
      throw new LayoutError('FILE_UNREADABLE', record.line, 'RECORD_TYPE', record.fields[0], `unknown record type here; the types are ${known} in that order`);
    }
    return wrap(record, columns);
  });
  return { header, body, trailer: wrap(last, shape.trailer) };
}

const COUNT = /^\d{1,9}$/;
const FILE_DATE = /^(\d{4})\/(\d{2})\/(\d{2})$/;

/** One record's fields by column name, with readers that refuse a bad value naming the line and column. */
export class Fields {
  constructor(
    readonly record: CsvRecord,
    readonly columns: readonly string[],
  ) {}

  get line(): number {
    return this.record.line;
  }

  get type(): string {
    return this.record.fields[0];
  }

  text(column: string): string {
    const index = this.columns.indexOf(column);
    if (index < 0) throw new Error(`Assertion failed: no column ${column} in ${this.columns.join(',')}`);
    return this.record.fields[index] ?? '';
  }

  required(column: string): string {
    const value = this.text(column);
    if (value === '') this.refuse(column, 'the field is empty');
    return value;
  }

  id(column: string): string {
    const value = this.text(column);
    if (!ID_PATTERN.test(value)) this.refuse(column, `"${value}" is not an id (1 to 64 letters, digits or -)`);
    return value;
  }

  count(column: string): number {
    const value = this.text(column);
    if (!COUNT.test(value)) this.refuse(column, `"${value}" is not a count (digits only)`);
    return Number(value);
  }

  /** YYYY/MM/DD in the file, returned as YYYY-MM-DD. */
  date(column: string): string {
    const value = this.text(column);
    const iso = fromFileDate(value);
    if (iso === undefined) this.refuse(column, `"${value}" is not a date written YYYY/MM/DD`);
    return iso as string;
  }

  currency(column: string): string {
    const value = this.text(column);
    if (!isKnownCurrency(value)) this.refuse(column, `"${value}" is not an ISO 4217 currency code finsync knows`);
    return value;
  }

  /** A non-negative decimal in the currency's precision, as minor units; empty is 0 when `optional`. */
  amount(column: string, currency: string, optional = false): number {
    const value = this.text(column);
    if (value === '' && optional) return 0;
    if (value.startsWith('-')) this.refuse(column, `"${value}" is negative; amounts are written positive, in ENTERED_DR or ENTERED_CR`);
    try {
      return parseAmount(value, currency).amountMinor;
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return this.refuse(column, error.code === 'AMOUNT_PRECISION' ? `"${value}" has more decimals than ${currency} allows` : `"${value}" is not a decimal amount such as 12.30`);
    }
  }

  refuse(column: string, detail: string, code: LayoutErrorCode = 'FILE_UNREADABLE'): never {
    throw new LayoutError(code, this.line, column, this.text(column), detail);
  }
}

/** YYYY-MM-DD → YYYY/MM/DD (Oracle's FBDI journal template writes dates with slashes). */
export function toFileDate(isoDate: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(isoDate)) throw new Error(`Assertion failed: ${isoDate} is not YYYY-MM-DD`);
  return isoDate.replaceAll('-', '/');
}

/** YYYY/MM/DD → YYYY-MM-DD, or undefined when it is not a calendar date. */
export function fromFileDate(text: string): string | undefined {
  const match = FILE_DATE.exec(text);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  return `${match[1]}-${match[2]}-${match[3]}`;
}
