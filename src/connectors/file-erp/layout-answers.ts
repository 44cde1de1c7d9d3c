/**
 * The files the ERP writes back, and the export request finsync writes: the acknowledgement
 * (`.ack`: journals imported, with the ERP's JE_HEADER_ID), the rejection (`.rej`: per line or for
 * the whole file, with a reason code), the export request (`.req`) and the GL export (`.csv`).
 * Same record-typed CSV as the batch file (layout.ts); README.md shows each with an example. Pure.
 */
import { formatAmount } from '../../domain/money.ts';
import {
  checkControls, controlTotalsOf, CONTROL_COLUMNS, Fields, LayoutError, readCsvRecords, splitRecords, toFileDate, trailerOf, TRAILER_COLUMNS, writeCsvRecords,
  type BatchTrailer, type ControlTotal,
} from './layout.ts';

export const ACK_FORMAT = 'FSGLACK1';
export const REJ_FORMAT = 'FSGLREJ1';
export const EXPORT_REQUEST_FORMAT = 'FSGLEXPQ1';
export const EXPORT_FORMAT = 'FSGLEXP1';

const ANSWER_HEADER = ['RECORD_TYPE', 'FORMAT', 'BATCH_ID', 'FILE_ID', 'RUN_ID', 'PROCESSED_AT', 'JOURNAL_COUNT', 'ACCEPTED_COUNT', 'REJECTED_COUNT'] as const;
const ACCEPTED_COLUMNS = ['RECORD_TYPE', 'REFERENCE4', 'JE_HEADER_ID', 'LEDGER_ID', 'ACCOUNTING_DATE', 'LINE_COUNT'] as const;
const REJECTED_COLUMNS = ['RECORD_TYPE', 'LINE_NUMBER', 'REFERENCE4', 'COLUMN_NAME', 'VALUE', 'REASON_CODE', 'MESSAGE', 'JE_HEADER_ID'] as const;
const FILE_REJECTED_COLUMNS = ['RECORD_TYPE', 'LINE_NUMBER', 'COLUMN_NAME', 'VALUE', 'REASON_CODE', 'MESSAGE'] as const;
const COUNT_TRAILER = ['RECORD_TYPE', 'RECORD_COUNT'] as const;
const EXPORT_REQUEST_HEADER = ['RECORD_TYPE', 'FORMAT', 'REQUEST_ID', 'LEDGER_ID', 'PERIOD'] as const;
const EXPORT_HEADER = ['RECORD_TYPE', 'FORMAT', 'REQUEST_ID', 'LEDGER_ID', 'PERIOD', 'EXPORTED_AT'] as const;
export const EXPORT_LINE_COLUMNS = [
  'RECORD_TYPE', 'JE_HEADER_ID', 'JE_LINE_NUM', 'LEDGER_ID', 'ACCOUNTING_DATE', 'CURRENCY_CODE', 'SEGMENT1', 'SEGMENT2', 'SEGMENT3',
  'ENTERED_DR', 'ENTERED_CR', 'REFERENCE1', 'REFERENCE4', 'REFERENCE10',
] as const;

/** The header both answers carry: which file they answer, and how its journals were split. */
export interface AnswerHeader {
  readonly batchId: string;
  /** The FILE_ID of the batch file answered. */
  readonly fileId: string;
  /** The ERP's import run. */
  readonly runId: string;
  /** ISO 8601 UTC. */
  readonly processedAt: string;
  readonly journalCount: number;
  readonly acceptedCount: number;
  readonly rejectedCount: number;
}

export interface AcceptedJournal {
  /** REFERENCE4: our external key. */
  readonly journalName: string;
  readonly journalId: string;
  readonly ledgerId: string;
  readonly accountingDate: string;
  readonly lineCount: number;
}

export interface RejectedLine {
  /** The line of the batch file at fault (the journal's first line when the fault is the journal's). */
  readonly lineNumber: number;
  readonly journalName: string;
  readonly column: string;
  readonly value: string;
  readonly reasonCode: string;
  readonly message: string;
  /** Set with DUPLICATE_JOURNAL: the journal already imported under this REFERENCE4. */
  readonly journalId: string;
}

/** A rejection of the whole file: nothing of it was imported. */
export interface FileRejection {
  readonly lineNumber: number;
  readonly column: string;
  readonly value: string;
  readonly reasonCode: string;
  readonly message: string;
}

export interface AckFile {
  readonly header: AnswerHeader;
  readonly accepted: readonly AcceptedJournal[];
}

export interface RejFile {
  readonly header: AnswerHeader;
  readonly rejected: readonly RejectedLine[];
  readonly fileRejections: readonly FileRejection[];
  /** Each R and F record as its CSV line, in the same order as `rejected` and `fileRejections`. */
  readonly raw: { readonly rejected: readonly string[]; readonly fileRejections: readonly string[] };
}

function answerHeaderRow(format: string, header: AnswerHeader): string[] {
  return ['H', format, header.batchId, header.fileId, header.runId, header.processedAt, String(header.journalCount), String(header.acceptedCount), String(header.rejectedCount)];
}

function readAnswerHeader(header: Fields): AnswerHeader {
  return {
    batchId: header.id('BATCH_ID'),
    fileId: header.id('FILE_ID'),
    runId: header.text('RUN_ID'),
    processedAt: header.text('PROCESSED_AT'),
    journalCount: header.count('JOURNAL_COUNT'),
    acceptedCount: header.count('ACCEPTED_COUNT'),
    rejectedCount: header.count('REJECTED_COUNT'),
  };
}

function checkRecordCount(trailer: Fields, count: number): void {
  if (trailer.count('RECORD_COUNT') !== count) trailer.refuse('RECORD_COUNT', `the trailer counts ${trailer.text('RECORD_COUNT')} records, the file holds ${count}`);
}

export function writeAckFile(file: AckFile): string {
  const rows = [answerHeaderRow(ACK_FORMAT, file.header)];
  for (const a of file.accepted) rows.push(['A', a.journalName, a.journalId, a.ledgerId, toFileDate(a.accountingDate), String(a.lineCount)]);
  rows.push(['T', String(file.accepted.length)]);
  return writeCsvRecords(rows);
}

export function readAckFile(text: string): AckFile {
  const { header, body, trailer } = splitRecords(readCsvRecords(text), { format: ACK_FORMAT, header: ANSWER_HEADER, body: { A: ACCEPTED_COLUMNS }, trailer: COUNT_TRAILER });
  checkRecordCount(trailer, body.length);
  const accepted = body.map((record) => ({
    journalName: record.required('REFERENCE4'),
    journalId: record.required('JE_HEADER_ID'),
    ledgerId: record.text('LEDGER_ID'),
    accountingDate: record.date('ACCOUNTING_DATE'),
    lineCount: record.count('LINE_COUNT'),
  }));
  return { header: readAnswerHeader(header), accepted };
}

export function writeRejFile(file: Omit<RejFile, 'raw'>): string {
  const rows = [answerHeaderRow(REJ_FORMAT, file.header)];
  for (const r of file.rejected) rows.push(rejectedRow(r));
  for (const f of file.fileRejections) rows.push(fileRejectionRow(f));
  rows.push(['T', String(file.rejected.length + file.fileRejections.length)]);
  return writeCsvRecords(rows);
}

function rejectedRow(r: RejectedLine): string[] {
  return ['R', String(r.lineNumber), r.journalName, r.column, r.value, r.reasonCode, r.message, r.journalId];
}

function fileRejectionRow(f: FileRejection): string[] {
  return ['F', String(f.lineNumber), f.column, f.value, f.reasonCode, f.message];
}

export function readRejFile(text: string): RejFile {
  const shape = { format: REJ_FORMAT, header: ANSWER_HEADER, body: { R: REJECTED_COLUMNS, F: FILE_REJECTED_COLUMNS }, trailer: COUNT_TRAILER };
  const { header, body, trailer } = splitRecords(readCsvRecords(text), shape);
  checkRecordCount(trailer, body.length);
  const rejected: RejectedLine[] = [];
  const fileRejections: FileRejection[] = [];
  const raw = { rejected: [] as string[], fileRejections: [] as string[] };
  for (const record of body) {
    const common = { lineNumber: record.count('LINE_NUMBER'), column: record.text('COLUMN_NAME'), value: record.text('VALUE'), reasonCode: record.required('REASON_CODE'), message: record.text('MESSAGE') };
    const line = writeCsvRecords([record.record.fields]).trimEnd();
    if (record.type === 'R') {
      rejected.push({ ...common, journalName: record.text('REFERENCE4'), journalId: record.text('JE_HEADER_ID') });
      raw.rejected.push(line);
    } else {
      fileRejections.push(common);
      raw.fileRejections.push(line);
    }
  }
  return { header: readAnswerHeader(header), rejected, fileRejections, raw };
}

// ---------------------------------------------------------------------------------------------
// GL export

export interface ExportRequest {
  readonly requestId: string;
  readonly ledgerId: string;
  /** YYYY-MM. */
  readonly period: string;
}

export interface ExportLine {
  readonly journalId: string;
  readonly lineNumber: number;
  readonly ledgerId: string;
  readonly accountingDate: string;
  readonly currency: string;
  readonly company: string;
  readonly account: string;
  readonly costCenter: string;
  readonly debitMinor: number;
  readonly creditMinor: number;
  /** REFERENCE1: the batch the journal came in; empty for journals entered another way. */
  readonly batchName: string;
  /** REFERENCE4: our external key; empty or foreign for journals that are not ours. */
  readonly journalName: string;
  readonly lineDescription: string;
}

export interface ExportFile {
  readonly request: ExportRequest;
  /** ISO 8601 UTC. */
  readonly exportedAt: string;
  readonly lines: readonly ExportLine[];
}

/** An export as read, with the file line of each E record. */
export interface ExportFileRead extends ExportFile {
  readonly lineNumbers: readonly number[];
}

const PERIOD = /^\d{4}-(0[1-9]|1[0-2])$/;

export function writeExportRequest(request: ExportRequest): string {
  return writeCsvRecords([['H', EXPORT_REQUEST_FORMAT, request.requestId, request.ledgerId, request.period], ['T', '0']]);
}

export function readExportRequest(text: string): ExportRequest {
  const { header, trailer } = splitRecords(readCsvRecords(text), { format: EXPORT_REQUEST_FORMAT, header: EXPORT_REQUEST_HEADER, body: {}, trailer: COUNT_TRAILER });
  checkRecordCount(trailer, 0);
  const period = header.text('PERIOD');
  if (!PERIOD.test(period)) header.refuse('PERIOD', `"${period}" is not a period written YYYY-MM`);
  return { requestId: header.id('REQUEST_ID'), ledgerId: header.required('LEDGER_ID'), period };
}

export function writeExportFile(file: ExportFile): string {
  const rows: string[][] = [['H', EXPORT_FORMAT, file.request.requestId, file.request.ledgerId, file.request.period, file.exportedAt]];
  for (const line of file.lines) {
    const amount = (minor: number) => (minor === 0 ? '' : formatAmount(minor, line.currency));
    rows.push([
      'E', line.journalId, String(line.lineNumber), line.ledgerId, toFileDate(line.accountingDate), line.currency, line.company, line.account, line.costCenter,
      amount(line.debitMinor), amount(line.creditMinor), line.batchName, line.journalName, line.lineDescription,
    ]);
  }
  const controls = controlTotalsOf(file.lines);
  for (const control of controls) rows.push(controlRow(control));
  const trailer: BatchTrailer = trailerOf(file.lines.map((line) => ({ journalName: line.journalId })), controls);
  rows.push(['T', String(trailer.lineCount), String(trailer.journalCount), String(trailer.controlCount)]);
  return writeCsvRecords(rows);
}

function controlRow(control: ControlTotal): string[] {
  return ['C', control.currency, String(control.lineCount), formatAmount(control.debitMinor, control.currency), formatAmount(control.creditMinor, control.currency)];
}

/**
 * Reads a GL export, checking its trailer and control records against its lines (a cut-off or
 * altered export is refused, not half used). A bad record is a LayoutError naming line and column.
 */
export function readExportFile(text: string): ExportFileRead {
  const shape = { format: EXPORT_FORMAT, header: EXPORT_HEADER, body: { E: EXPORT_LINE_COLUMNS, C: CONTROL_COLUMNS }, trailer: TRAILER_COLUMNS };
  const { header, body, trailer } = splitRecords(readCsvRecords(text), shape);
  const period = header.text('PERIOD');
  if (!PERIOD.test(period)) header.refuse('PERIOD', `"${period}" is not a period written YYYY-MM`);
  const request = { requestId: header.id('REQUEST_ID'), ledgerId: header.required('LEDGER_ID'), period };
  const lines: ExportLine[] = [];
  const lineNumbers: number[] = [];
  const controls: ControlTotal[] = [];
  const controlLines: number[] = [];
  for (const record of body) {
    if (record.type === 'E') {
      if (controls.length > 0) record.refuse('RECORD_TYPE', 'a line record after the control records; the order is H, E..., C..., T');
      lines.push(readExportLine(record));
      lineNumbers.push(record.line);
    } else {
      const currency = record.currency('CURRENCY_CODE');
      controls.push({ currency, lineCount: record.count('LINE_COUNT'), debitMinor: record.amount('TOTAL_DR', currency), creditMinor: record.amount('TOTAL_CR', currency) });
      controlLines.push(record.line);
    }
  }
  const read = {
    controls,
    trailer: { lineCount: trailer.count('LINE_COUNT'), journalCount: trailer.count('JOURNAL_COUNT'), controlCount: trailer.count('CONTROL_COUNT') },
    lineNumbers: { lines: lineNumbers, controls: controlLines, trailer: trailer.line },
  };
  const problem = checkControls(lines.map((line) => ({ ...line, journal: line.journalId })), read);
  if (problem) throw new LayoutError('FILE_UNREADABLE', problem.line, problem.column, problem.value, problem.detail);
  return { request, exportedAt: header.text('EXPORTED_AT'), lines, lineNumbers };
}

function readExportLine(record: Fields): ExportLine {
  const currency = record.currency('CURRENCY_CODE');
  const debitMinor = record.amount('ENTERED_DR', currency, true);
  const creditMinor = record.amount('ENTERED_CR', currency, true);
  if (debitMinor > 0 && creditMinor > 0) record.refuse('ENTERED_CR', 'a line has an amount in at most one of ENTERED_DR and ENTERED_CR');
  return {
    journalId: record.required('JE_HEADER_ID'),
    lineNumber: record.count('JE_LINE_NUM'),
    ledgerId: record.required('LEDGER_ID'),
    accountingDate: record.date('ACCOUNTING_DATE'),
    currency,
    company: record.text('SEGMENT1'),
    account: record.required('SEGMENT2'),
    costCenter: record.text('SEGMENT3'),
    debitMinor,
    creditMinor,
    batchName: record.text('REFERENCE1'),
    journalName: record.text('REFERENCE4'),
    lineDescription: record.text('REFERENCE10'),
  };
}
