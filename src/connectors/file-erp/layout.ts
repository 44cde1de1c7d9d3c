/**
 * The batch file layout (format FSGL1), modelled on Oracle's GL_INTERFACE table: one CSV file per
 * batch, record-typed (the first field says what a record is), with a header record, one detail
 * record per journal line, one control record per currency and a trailer record. README.md shows
 * the columns and an example. Pure: text in, records out.
 *
 * The reader is strict. Anything it cannot read exactly (a record type it does not know, a missing
 * or extra field, an amount with more decimals than its currency has) is a LayoutError naming the
 * line (1-based, the header record is line 1) and the column, because a file that is only partly
 * understood must be refused as a whole.
 */
import { formatAmount } from '../../domain/money.ts';
import { Fields, readCsvRecords, splitRecords, toFileDate, writeCsvRecords, type RecordShape } from './layout-records.ts';

export { Fields, ID_PATTERN, LayoutError, fromFileDate, readCsvRecords, splitRecords, toFileDate, writeCsvRecords, type CsvRecord, type LayoutErrorCode, type RecordShape } from './layout-records.ts';

export const BATCH_FORMAT = 'FSGL1';

export const HEADER_COLUMNS = ['RECORD_TYPE', 'FORMAT', 'BATCH_ID', 'FILE_ID', 'GROUP_ID', 'DATE_CREATED', 'CREATED_BY'] as const;
export const DETAIL_COLUMNS = [
  'RECORD_TYPE', 'STATUS', 'LEDGER_ID', 'ACCOUNTING_DATE', 'CURRENCY_CODE', 'ACTUAL_FLAG', 'USER_JE_CATEGORY_NAME', 'USER_JE_SOURCE_NAME',
  'SEGMENT1', 'SEGMENT2', 'SEGMENT3', 'ENTERED_DR', 'ENTERED_CR', 'REFERENCE1', 'REFERENCE4', 'REFERENCE5', 'REFERENCE10', 'GROUP_ID',
] as const;
export const CONTROL_COLUMNS = ['RECORD_TYPE', 'CURRENCY_CODE', 'LINE_COUNT', 'TOTAL_DR', 'TOTAL_CR'] as const;
export const TRAILER_COLUMNS = ['RECORD_TYPE', 'LINE_COUNT', 'JOURNAL_COUNT', 'CONTROL_COUNT'] as const;

export type DetailColumn = (typeof DETAIL_COLUMNS)[number];

export interface BatchHeader {
  readonly batchId: string;
  /** Unique per written file: a resend of the same batch has a new FILE_ID, and the answers echo it. */
  readonly fileId: string;
  readonly groupId: string;
  /** YYYY-MM-DD (written YYYY/MM/DD). */
  readonly dateCreated: string;
  readonly createdBy: string;
}

/** One detail record: a journal line as GL_INTERFACE holds it. */
export interface InterfaceLine {
  /** `NEW` when written. */
  readonly status: string;
  readonly ledgerId: string;
  /** YYYY-MM-DD (written YYYY/MM/DD). */
  readonly accountingDate: string;
  readonly currency: string;
  /** `A` (actual) when written. */
  readonly actualFlag: string;
  readonly category: string;
  readonly source: string;
  /** SEGMENT1. */
  readonly company: string;
  /** SEGMENT2. */
  readonly account: string;
  /** SEGMENT3; empty when the line has no cost center. */
  readonly costCenter: string;
  readonly debitMinor: number;
  readonly creditMinor: number;
  /** REFERENCE1: the batch id. */
  readonly batchName: string;
  /** REFERENCE4: our external key; the lines of one journal share it. */
  readonly journalName: string;
  /** REFERENCE5. */
  readonly journalDescription: string;
  /** REFERENCE10. */
  readonly lineDescription: string;
  readonly groupId: string;
}

export interface ControlTotal {
  readonly currency: string;
  readonly lineCount: number;
  readonly debitMinor: number;
  readonly creditMinor: number;
}

export interface BatchTrailer {
  readonly lineCount: number;
  readonly journalCount: number;
  readonly controlCount: number;
}

export interface BatchFile {
  readonly header: BatchHeader;
  readonly lines: readonly InterfaceLine[];
  readonly controls: readonly ControlTotal[];
  readonly trailer: BatchTrailer;
}

/** A batch file as read, with the file line of each record (for rejections). */
export interface BatchFileRead extends BatchFile {
  readonly lineNumbers: { readonly lines: readonly number[]; readonly controls: readonly number[]; readonly trailer: number };
}

// ---------------------------------------------------------------------------------------------
// File names

/** A prefix is a letter then letters and digits: `_` separates it from the id, so it holds none. */
export const PREFIX_PATTERN = /^[A-Za-z][A-Za-z0-9]{0,19}$/;

export type FileKind = 'batch' | 'ack' | 'rej' | 'export-request' | 'export' | 'export-rej';

export function batchFileName(prefix: string, batchId: string): string {
  return `${prefix}_${batchId}.csv`;
}

export function answerFileName(prefix: string, batchId: string, kind: 'ack' | 'rej'): string {
  return `${prefix}_${batchId}.${kind}`;
}

export function exportRequestFileName(prefix: string, requestId: string): string {
  return `${prefix}_EXPORT_${requestId}.req`;
}

export function exportFileName(prefix: string, requestId: string, kind: 'csv' | 'rej'): string {
  return `${prefix}_EXPORT_${requestId}.${kind}`;
}

/**
 * What a file name stands for, or undefined for a name that is none of ours (temp names start with
 * a dot and end in `.tmp`, so they never match). Answers may carry a number before the extension
 * (`X.2.ack`) when an earlier answer holds the plain name.
 */
export function parseFileName(prefix: string, name: string): { readonly kind: FileKind; readonly id: string } | undefined {
  const match = /^([A-Za-z0-9]+)_(EXPORT_)?([A-Za-z0-9-]{1,64})(?:\.(\d{1,5}))?\.(csv|ack|rej|req)$/.exec(name);
  if (!match || match[1] !== prefix) return undefined;
  const [, , isExport, id, , extension] = match;
  if (isExport) {
    if (extension === 'req') return { kind: 'export-request', id };
    if (extension === 'csv') return { kind: 'export', id };
    return extension === 'rej' ? { kind: 'export-rej', id } : undefined;
  }
  if (extension === 'csv') return { kind: 'batch', id };
  return extension === 'ack' || extension === 'rej' ? { kind: extension, id } : undefined;
}

// ---------------------------------------------------------------------------------------------
// Batch files

/** Control totals of detail lines, one per currency in code order, summed exactly. */
export function controlTotalsOf(lines: readonly Pick<InterfaceLine, 'currency' | 'debitMinor' | 'creditMinor'>[]): ControlTotal[] {
  const sums = new Map<string, { lineCount: number; debit: bigint; credit: bigint }>();
  for (const line of lines) {
    const sum = sums.get(line.currency) ?? { lineCount: 0, debit: 0n, credit: 0n };
    sum.lineCount++;
    sum.debit += BigInt(line.debitMinor);
    sum.credit += BigInt(line.creditMinor);
    sums.set(line.currency, sum);
  }
  return [...sums.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([currency, sum]) => ({ currency, lineCount: sum.lineCount, debitMinor: safeTotal(sum.debit, currency), creditMinor: safeTotal(sum.credit, currency) }));
}

function safeTotal(total: bigint, currency: string): number {
  if (total > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`Assertion failed: the ${currency} control total is beyond the safe integers`);
  return Number(total);
}

export function trailerOf(lines: readonly Pick<InterfaceLine, 'journalName'>[], controls: readonly unknown[]): BatchTrailer {
  return { lineCount: lines.length, journalCount: new Set(lines.map((line) => line.journalName)).size, controlCount: controls.length };
}

export function writeBatchFile(file: BatchFile): string {
  const { header, trailer } = file;
  const rows: string[][] = [['H', BATCH_FORMAT, header.batchId, header.fileId, header.groupId, toFileDate(header.dateCreated), header.createdBy]];
  for (const line of file.lines) {
    const amount = (minor: number) => (minor === 0 ? '' : formatAmount(minor, line.currency));
    rows.push([
      'D', line.status, line.ledgerId, toFileDate(line.accountingDate), line.currency, line.actualFlag, line.category, line.source,
      line.company, line.account, line.costCenter, amount(line.debitMinor), amount(line.creditMinor),
      line.batchName, line.journalName, line.journalDescription, line.lineDescription, line.groupId,
    ]);
  }
  for (const control of file.controls) {
    rows.push(['C', control.currency, String(control.lineCount), formatAmount(control.debitMinor, control.currency), formatAmount(control.creditMinor, control.currency)]);
  }
  rows.push(['T', String(trailer.lineCount), String(trailer.journalCount), String(trailer.controlCount)]);
  return writeCsvRecords(rows);
}

const BATCH_SHAPE: RecordShape = { format: BATCH_FORMAT, header: HEADER_COLUMNS, body: { D: DETAIL_COLUMNS, C: CONTROL_COLUMNS }, trailer: TRAILER_COLUMNS };

/**
 * Reads a batch file. Only the structure and each field's form are checked here; whether the
 * counts and control totals agree with the lines is the importer's check (the simulator answers a
 * mismatch with its own reason code).
 */
export function readBatchFile(text: string): BatchFileRead {
  const { header, body, trailer } = splitRecords(readCsvRecords(text), BATCH_SHAPE);
  const lines: InterfaceLine[] = [];
  const controls: ControlTotal[] = [];
  const lineNumbers = { lines: [] as number[], controls: [] as number[] };
  for (const record of body) {
    if (record.type === 'D') {
      if (controls.length > 0) record.refuse('RECORD_TYPE', 'a detail record after the control records; the order is H, D..., C..., T');
      lines.push(readDetail(record));
      lineNumbers.lines.push(record.line);
    } else {
      const currency = record.currency('CURRENCY_CODE');
      controls.push({ currency, lineCount: record.count('LINE_COUNT'), debitMinor: record.amount('TOTAL_DR', currency), creditMinor: record.amount('TOTAL_CR', currency) });
      lineNumbers.controls.push(record.line);
    }
  }
  return {
    header: { batchId: header.id('BATCH_ID'), fileId: header.id('FILE_ID'), groupId: header.text('GROUP_ID'), dateCreated: header.date('DATE_CREATED'), createdBy: header.text('CREATED_BY') },
    lines,
    controls,
    trailer: { lineCount: trailer.count('LINE_COUNT'), journalCount: trailer.count('JOURNAL_COUNT'), controlCount: trailer.count('CONTROL_COUNT') },
    lineNumbers: { ...lineNumbers, trailer: trailer.line },
  };
}

function readDetail(record: Fields): InterfaceLine {
  const currency = record.currency('CURRENCY_CODE');
  const debitMinor = record.amount('ENTERED_DR', currency, true);
  const creditMinor = record.amount('ENTERED_CR', currency, true);
  if ((debitMinor > 0) === (creditMinor > 0)) {
    record.refuse(debitMinor > 0 ? 'ENTERED_CR' : 'ENTERED_DR', 'a line has an amount above zero in exactly one of ENTERED_DR and ENTERED_CR');
  }
  return {
    status: record.text('STATUS'),
    ledgerId: record.required('LEDGER_ID'),
    accountingDate: record.date('ACCOUNTING_DATE'),
    currency,
    actualFlag: record.text('ACTUAL_FLAG'),
    category: record.text('USER_JE_CATEGORY_NAME'),
    source: record.text('USER_JE_SOURCE_NAME'),
    company: record.text('SEGMENT1'),
    account: record.required('SEGMENT2'),
    costCenter: record.text('SEGMENT3'),
    debitMinor,
    creditMinor,
    batchName: record.text('REFERENCE1'),
    journalName: record.text('REFERENCE4'),
    journalDescription: record.text('REFERENCE5'),
    lineDescription: record.text('REFERENCE10'),
    groupId: record.text('GROUP_ID'),
  };
}

export type ControlProblemCode = 'LINE_COUNT_MISMATCH' | 'JOURNAL_COUNT_MISMATCH' | 'CONTROL_TOTAL_MISMATCH';

export interface ControlProblem {
  readonly code: ControlProblemCode;
  readonly line: number;
  readonly column: string;
  readonly value: string;
  readonly detail: string;
}

/** What the control records and trailer must agree with: each line's currency, amounts and journal. */
export interface ControlledLine {
  readonly currency: string;
  readonly debitMinor: number;
  readonly creditMinor: number;
  readonly journal: string;
}

/**
 * Checks the trailer's counts and each currency's control record against the lines; the first
 * disagreement, or undefined. Shared by the importer (batch files) and the read-back (exports).
 */
export function checkControls(lines: readonly ControlledLine[], read: Pick<BatchFileRead, 'controls' | 'trailer' | 'lineNumbers'>): ControlProblem | undefined {
  const { trailer, controls, lineNumbers } = read;
  const atTrailer = (code: ControlProblemCode, column: string, value: number, detail: string) => ({ code, line: lineNumbers.trailer, column, value: String(value), detail });
  if (trailer.lineCount !== lines.length) return atTrailer('LINE_COUNT_MISMATCH', 'LINE_COUNT', trailer.lineCount, `the trailer counts ${trailer.lineCount} lines, the file holds ${lines.length}`);
  const journals = new Set(lines.map((line) => line.journal)).size;
  if (trailer.journalCount !== journals) return atTrailer('JOURNAL_COUNT_MISMATCH', 'JOURNAL_COUNT', trailer.journalCount, `the trailer counts ${trailer.journalCount} journals, the file holds ${journals}`);
  if (trailer.controlCount !== controls.length) return atTrailer('CONTROL_TOTAL_MISMATCH', 'CONTROL_COUNT', trailer.controlCount, `the trailer counts ${trailer.controlCount} control records, the file holds ${controls.length}`);
  const expected = new Map(controlTotalsOf(lines).map((total) => [total.currency, total]));
  const seen = new Set<string>();
  for (const [index, control] of controls.entries()) {
    const line = lineNumbers.controls[index];
    const at = (column: string, value: string, detail: string): ControlProblem => ({ code: 'CONTROL_TOTAL_MISMATCH', line, column, value, detail });
    const sum = expected.get(control.currency);
    if (sum === undefined || seen.has(control.currency)) return at('CURRENCY_CODE', control.currency, sum === undefined ? `no line is in ${control.currency}` : `a second control record for ${control.currency}`);
    seen.add(control.currency);
    if (control.lineCount !== sum.lineCount) return at('LINE_COUNT', String(control.lineCount), `the ${control.currency} lines number ${sum.lineCount}`);
    if (control.debitMinor !== sum.debitMinor) return at('TOTAL_DR', formatAmount(control.debitMinor, control.currency), `the ${control.currency} debits add up to ${formatAmount(sum.debitMinor, control.currency)}`);
    if (control.creditMinor !== sum.creditMinor) return at('TOTAL_CR', formatAmount(control.creditMinor, control.currency), `the ${control.currency} credits add up to ${formatAmount(sum.creditMinor, control.currency)}`);
  }
  const missing = [...expected.keys()].find((currency) => !seen.has(currency));
  if (missing !== undefined) return atTrailer('CONTROL_TOTAL_MISMATCH', 'CONTROL_COUNT', trailer.controlCount, `no control record for the ${missing} lines`);
  return undefined;
}
