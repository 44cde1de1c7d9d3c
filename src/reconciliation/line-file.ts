/**
 * Reading reconciliation lines: the CSV file format of one side, and the check every line passes.
 *
 * The format: UTF-8, `\n` or `\r\n` line ends, a header line naming the columns in any order,
 * then one journal line per line. Columns:
 *
 * | column | required | content |
 * |---|---|---|
 * | `key` | yes | our external key |
 * | `entity` | yes | legal entity code |
 * | `currency` | yes | ISO 4217 code |
 * | `period` | yes | `YYYY-MM` |
 * | `account` | yes | GL account |
 * | `amount` or `amount_minor` | one of the two | decimal string in the currency (`-12.30`; no more decimals than the currency has), or signed integer minor units (`-1230`) |
 * | `status` | platform and finsync | platform `approved` / `recalled`; finsync `posted` / `confirmed` / `reversed`; empty or absent for the ERP |
 * | `document` | no | the ERP's document number (empty elsewhere) |
 *
 * No quoting: fields are codes and never hold a comma, a double quote or a control character;
 * a line with a double quote is refused rather than misread. A bad line is refused, never skipped:
 * the whole reconciliation stops with a ReconciliationInputError naming the file, the line number
 * (the header is line 1) and the column, because a result that silently left out lines would
 * report a completeness it does not have.
 */
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { DomainError } from '../domain/domain-error.ts';
import { currencyExponent, isKnownCurrency, parseAmount, parseMinorSafe } from '../domain/money.ts';
import { STATUSES_BY_SIDE, type LineSource, type LineStatus, type ReconLine, type Side } from './types.ts';

/** A line of an input that cannot be read: where, and what is wrong. */
export class ReconciliationInputError extends Error {
  constructor(
    readonly source: string,
    /** 1-based; in a file the header is line 1. */
    readonly line: number,
    readonly column: string,
    readonly detail: string,
  ) {
    super(`${source}, line ${line}, column ${column}: ${detail}. Fix the line and run the reconciliation again.`);
    this.name = 'ReconciliationInputError';
  }
}

const REQUIRED_COLUMNS = ['key', 'entity', 'currency', 'period', 'account'] as const;
const KNOWN_COLUMNS = new Set<string>([...REQUIRED_COLUMNS, 'amount', 'amount_minor', 'status', 'document']);
/** 64 KB: a batch of about 1,000 lines. Larger batches outlive more scavenges (1 MB was 15% slower on the bench). */
const CHUNK_BYTES = 1 << 16;
const MINOR_INTEGER = /^-?\d{1,15}$/;
/** A comma, a double quote or a control character. */
const NOT_A_CODE = /[,"\x00-\x1f\x7f]/;
/**
 * A double quote or a control character (a tab too: the partition files are tab-separated) other
 * than the `\r` of a `\r\n` line end (checked per raw line).
 */
const BAD_RAW = /["\x00-\x0c\x0e-\x1f\x7f]/;
/** BAD_RAW less the `\n`: tried on a whole chunk of lines first, one test instead of a thousand. */
const BAD_RAW_IN_CHUNK = /["\x00-\x09\x0b\x0c\x0e-\x1f\x7f]/;

interface Problem {
  readonly column: string;
  readonly detail: string;
}

/** Whether `period` is `YYYY-MM` with a month 01 to 12, without a regular expression (hot path). */
function isPeriod(period: string): boolean {
  if (period.length !== 7 || period.charCodeAt(4) !== 45) return false;
  for (let i = 0; i < 7; i++) {
    if (i === 4) continue;
    const digit = period.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return false;
  }
  const month = (period.charCodeAt(5) - 48) * 10 + (period.charCodeAt(6) - 48);
  return month >= 1 && month <= 12;
}

function statusProblem(status: string, side: Side): Problem | null {
  if ((STATUSES_BY_SIDE[side] as readonly string[]).includes(status)) return null;
  const allowed = side === 'erp' ? 'empty on the ERP side' : `one of ${STATUSES_BY_SIDE[side].join(', ')} on the ${side} side`;
  return { column: 'status', detail: `"${status}" is not a status here: it must be ${allowed}` };
}

/** The fields a reader has already split; codes are known to hold no comma, quote or control character. */
function fieldsProblem(key: string, entity: string, currency: string, period: string, account: string): Problem | null {
  if (key === '') return { column: 'key', detail: 'the key is empty' };
  if (entity === '') return { column: 'entity', detail: 'the entity is empty' };
  if (!isKnownCurrency(currency)) return { column: 'currency', detail: `"${currency}" is not an ISO 4217 currency code such as EUR` };
  if (!isPeriod(period)) return { column: 'period', detail: `"${period}" is not a period such as 2026-11 (YYYY-MM)` };
  if (account === '') return { column: 'account', detail: 'the account is empty' };
  return null;
}

/**
 * What is wrong with a line from a source other than a file (a connector's read-back, a test), or
 * null. The engine refuses such a line as it refuses a bad line of a file.
 */
export function checkLine(line: ReconLine, side: Side): Problem | null {
  for (const column of [...REQUIRED_COLUMNS, 'document'] as const) {
    const value: unknown = line[column];
    if (typeof value !== 'string' || NOT_A_CODE.test(value)) return { column, detail: `${JSON.stringify(value)} is not a code without commas, quotes or control characters` };
  }
  const problem = fieldsProblem(line.key, line.entity, line.currency, line.period, line.account);
  if (problem) return problem;
  if (!Number.isSafeInteger(line.amountMinor)) return { column: 'amount_minor', detail: `${String(line.amountMinor)} is not an integer count of minor units` };
  return statusProblem(line.status, side);
}

/** Minor units of an `amount` (decimal) or `amount_minor` (integer) field, or the reason it is refused. */
function parseAmountField(value: string, currency: string, decimal: boolean): number | string {
  if (!decimal) return MINOR_INTEGER.test(value) ? Number(value) : `"${value}" is not a signed integer of minor units such as -1230`;
  const fast = parseMinorSafe(value, currencyExponent(currency));
  if (fast !== undefined) return fast;
  try {
    return parseAmount(value, currency).amountMinor;
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return error.code === 'AMOUNT_PRECISION' ? `"${value}" has more decimals than ${currency} allows` : `"${value}" is not a decimal amount such as -12.30`;
  }
}

export interface Header {
  readonly count: number;
  readonly index: Readonly<Record<string, number>>;
  readonly names: readonly string[];
  readonly decimal: boolean;
}

function parseHeader(raw: string, path: string, side: Side): Header {
  const names = raw.replace(/^\uFEFF/, '').replace(/\r$/, '').split(',');
  const index: Record<string, number> = {};
  names.forEach((name, i) => {
    if (!KNOWN_COLUMNS.has(name)) throw new ReconciliationInputError(path, 1, name, `unknown column; the columns are ${[...KNOWN_COLUMNS].join(', ')}`);
    if (name in index) throw new ReconciliationInputError(path, 1, name, 'the column appears twice');
    index[name] = i;
  });
  for (const name of REQUIRED_COLUMNS) if (!(name in index)) throw new ReconciliationInputError(path, 1, name, 'the header has no such column');
  if (('amount' in index) === ('amount_minor' in index)) throw new ReconciliationInputError(path, 1, 'amount', 'the header needs exactly one of amount (decimal) and amount_minor (integer)');
  if (side !== 'erp' && !('status' in index)) throw new ReconciliationInputError(path, 1, 'status', `the ${side} side needs a status column`);
  return { count: names.length, index, names, decimal: 'amount' in index };
}

/**
 * One data line of a file into a ReconLine, or a ReconciliationInputError. `clean`: its chunk passed
 * BAD_RAW_IN_CHUNK. No closures here: tsx keeps names, which costs a call per closure made.
 * partition-csv.ts hands it every line its fast path does not take, so the two refuse alike.
 */
export function parseRow(raw: string, lineNo: number, header: Header, path: string, side: Side, clean: boolean): ReconLine {
  const text = raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
  if (text === '') throw new ReconciliationInputError(path, lineNo, '-', 'the line is empty');
  if (!clean && BAD_RAW.test(text)) throw new ReconciliationInputError(path, lineNo, '-', 'the line holds a double quote or a control character; fields are codes and are never quoted');
  const fields = text.split(',');
  if (fields.length !== header.count) {
    // Too few: the first column missing; too many: no column to name.
    throw new ReconciliationInputError(path, lineNo, fields.length < header.count ? header.names[fields.length] : '-', `expected ${header.count} fields (${header.names.join(',')}), found ${fields.length}`);
  }
  const { index } = header;
  const key = fields[index.key];
  const entity = fields[index.entity];
  const currency = fields[index.currency];
  const period = fields[index.period];
  const account = fields[index.account];
  const problem = fieldsProblem(key, entity, currency, period, account);
  if (problem) throw new ReconciliationInputError(path, lineNo, problem.column, problem.detail);
  const amountMinor = parseAmountField(fields[header.decimal ? index.amount : index.amount_minor], currency, header.decimal);
  if (typeof amountMinor === 'string') throw new ReconciliationInputError(path, lineNo, header.decimal ? 'amount' : 'amount_minor', amountMinor);
  const status = (index.status === undefined ? '' : fields[index.status]) as LineStatus;
  const statusBad = statusProblem(status, side);
  if (statusBad) throw new ReconciliationInputError(path, lineNo, statusBad.column, statusBad.detail);
  const document = index.document === undefined ? '' : fields[index.document];
  return { key, entity, currency, period, account, amountMinor, status, document };
}

/**
 * Bytes `start` to `end` of a file (`start` 0 or just after a `\n`, `end` the file's size or just
 * after a `\n`). A range from 0 reads the header; a later one is given it, and numbers its lines
 * from 1 at `start` (the caller adds the lines before `start` to an error's line number).
 */
export interface LineRange {
  readonly start: number;
  readonly end: number;
  readonly header?: Header;
}

async function* readBatches(path: string, side: Side, range: LineRange): AsyncGenerator<readonly ReconLine[]> {
  const file = await open(path, 'r');
  try {
    const decoder = new StringDecoder('utf8');
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let rest = '';
    let header = range.start === 0 ? undefined : range.header;
    let lineNo = 0;
    for (let position = range.start; ; ) {
      const { bytesRead } = await file.read(buffer, 0, Math.min(CHUNK_BYTES, Math.max(0, range.end - position)), position);
      position += bytesRead;
      const text = bytesRead === 0 ? rest + decoder.end() : rest + decoder.write(buffer.subarray(0, bytesRead));
      const rows = text.split('\n');
      // Without more bytes the last piece is a whole line (or the empty rest after the final \n).
      rest = bytesRead === 0 ? '' : (rows.pop() ?? '');
      if (bytesRead === 0 && rows[rows.length - 1] === '') rows.pop();
      const clean = !BAD_RAW_IN_CHUNK.test(text);
      const batch: ReconLine[] = [];
      for (const row of rows) {
        lineNo++;
        if (header === undefined) header = parseHeader(row, path, side);
        else batch.push(parseRow(row, lineNo, header, path, side, clean));
      }
      if (batch.length > 0) yield batch;
      if (bytesRead === 0) break;
    }
    if (header === undefined) throw new ReconciliationInputError(path, 1, '-', 'the file is empty; it needs at least the header line');
  } finally {
    await file.close();
  }
}

/** The file of every LineSource readLineFile made. */
const FILE_SOURCES = new WeakMap<LineSource, string>();

/**
 * A side's CSV file as a LineSource; lines are read and checked as they are pulled. The engine
 * does not pull them: it reads the file itself, as bytes (fileOfSource, partition-csv.ts), with
 * the same checks and errors.
 */
export function readLineFile(path: string, side: Side): LineSource {
  const source = { name: path, side, batches: readBatches(path, side, { start: 0, end: Infinity }), checked: true };
  FILE_SOURCES.set(source, path);
  return source;
}

/** The file a source made by readLineFile reads; undefined for any other source. */
export function fileOfSource(source: LineSource): string | undefined {
  return FILE_SOURCES.get(source);
}

/** The header of a side's CSV file, and the offset of its second line; refused like readLineFile refuses it. */
export async function readHeader(path: string, side: Side): Promise<{ readonly header: Header; readonly end: number }> {
  const file = await open(path, 'r');
  try {
    let raw = Buffer.alloc(0);
    for (;;) {
      const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
      const { bytesRead } = await file.read(buffer, 0, CHUNK_BYTES, raw.length);
      raw = Buffer.concat([raw, buffer.subarray(0, bytesRead)]);
      const newline = raw.indexOf(10);
      if (newline >= 0 || bytesRead === 0) {
        if (raw.length === 0) throw new ReconciliationInputError(path, 1, '-', 'the file is empty; it needs at least the header line');
        const end = newline >= 0 ? newline + 1 : raw.length;
        return { header: parseHeader(raw.subarray(0, newline >= 0 ? newline : raw.length).toString('utf8'), path, side), end };
      }
    }
  } finally {
    await file.close();
  }
}

/** Lines held in memory (tests, small read-backs) as a LineSource; the engine checks each line. */
export function linesSource(name: string, side: Side, lines: readonly ReconLine[], batchSize = 1000): LineSource {
  async function* batches(): AsyncGenerator<readonly ReconLine[]> {
    for (let i = 0; i < lines.length; i += batchSize) yield lines.slice(i, i + batchSize);
  }
  return { name, side, batches: batches(), checked: false };
}
