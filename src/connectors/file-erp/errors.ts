/**
 * The ERP's answers and our own file trouble -> our error kinds. A rejection file names, per
 * rejected line or for the whole file, a reason code; `REASON_CODES` classifies it (README.md shows
 * the table). A code the table does not list is `invalid` with vendorCode UNCLASSIFIED, so the
 * pipeline quarantines it, and the raw rejection record is kept for the exception queue.
 *
 * Field names follow the connector contract's reference names that the exception queue traces back
 * through the posting's references: `account`, `department` (our cost center), `subsidiary` (the
 * ledger); `company` and `period` are shown as the ERP's own.
 */
import type { ConnectorError, ErrorKind } from '../contract.ts';
import type { FileRejection, RejectedLine } from './layout-answers.ts';
import { isCode } from './files.ts';

/** How much of a raw answer is kept on an error. */
export const RAW_ANSWER_MAX_CHARS = 4000;

/** The reason names the reference in the rejection's COLUMN_NAME (Oracle's EF codes do not say which segment). */
const FROM_COLUMN = 'from-column';

export interface ReasonCode {
  readonly code: string;
  readonly kind: ErrorKind;
  /** `file`: nothing of the file was imported; `journal`: only the journal the line belongs to was rejected. */
  readonly scope: 'file' | 'journal';
  readonly meaning: string;
  /** The reference the reason names; the rejection's VALUE is then the offending value. */
  readonly field?: string;
  /** What to do next, said in the error message. */
  readonly next: string;
}

const RESEND = 'finsync writes the journals again in a new file (the lane retries); if it keeps happening, compare the archived file with the layout';

/**
 * Whole-file rejections of a damaged file (cut off, changed on its way) are transient: nothing was
 * imported, so writing the batch again cannot duplicate anything, and a fresh copy usually passes.
 * A file that keeps failing runs out of retries and is quarantined.
 */
export const REASON_CODES: readonly ReasonCode[] = [
  { code: 'FILE_UNREADABLE', kind: 'transient', scope: 'file', meaning: 'the file could not be read as the layout says', next: RESEND },
  { code: 'LINE_COUNT_MISMATCH', kind: 'transient', scope: 'file', meaning: 'the trailer\'s line count does not match the lines in the file', next: RESEND },
  { code: 'JOURNAL_COUNT_MISMATCH', kind: 'transient', scope: 'file', meaning: 'the trailer\'s journal count does not match the journals in the file', next: RESEND },
  { code: 'CONTROL_TOTAL_MISMATCH', kind: 'transient', scope: 'file', meaning: 'a control total does not match the sum of the lines', next: RESEND },
  { code: 'FILE_EMPTY', kind: 'invalid', scope: 'file', meaning: 'the file holds no journal lines', next: 'inspect the archived file; finsync never writes an empty batch' },
  { code: 'BAD_HEADER', kind: 'invalid', scope: 'file', meaning: 'the header names another format, or a batch id other than the file name\'s', next: 'check that the ERP reads format FSGL1 and the connection\'s file prefix, then replay' },
  { code: 'DUPLICATE_BATCH', kind: 'conflict', scope: 'file', meaning: 'the ERP imported a batch with this id before and refused the repeat', next: 'find the journal in the ERP\'s import of that batch and record its journal id; do not resend' },
  { code: 'ACCOUNT_UNKNOWN', kind: 'invalid', scope: 'journal', field: 'account', meaning: 'the account (SEGMENT2) does not exist in the ledger', next: 'create the account in the ERP or fix the account mapping, then replay' },
  { code: 'ACCOUNT_CLOSED', kind: 'invalid', scope: 'journal', field: 'account', meaning: 'the account (SEGMENT2) is closed for posting', next: 'reopen the account in the ERP or change the mapping, then replay' },
  { code: 'COST_CENTER_UNKNOWN', kind: 'invalid', scope: 'journal', field: 'department', meaning: 'the cost center (SEGMENT3) does not exist in the ledger', next: 'create the cost center in the ERP or fix the allocation, then replay' },
  { code: 'COST_CENTER_CLOSED', kind: 'invalid', scope: 'journal', field: 'department', meaning: 'the cost center (SEGMENT3) is closed for posting', next: 'reopen the cost center or change the allocation, then replay' },
  { code: 'COMPANY_UNKNOWN', kind: 'invalid', scope: 'journal', field: 'company', meaning: 'the company (SEGMENT1) is not a company of the ledger', next: 'check the entity\'s company code in the ERP, then replay' },
  { code: 'LEDGER_UNKNOWN', kind: 'invalid', scope: 'journal', field: 'subsidiary', meaning: 'the ledger (LEDGER_ID) does not exist', next: 'check the entity\'s ERP ledger id in finsync\'s configuration, then replay' },
  { code: 'PERIOD_CLOSED', kind: 'invalid', scope: 'journal', field: 'period', meaning: 'the accounting date is not in an open period of the ledger', next: 'ask the ledger\'s accountants to open the period, or re-date the journal, then replay' },
  { code: 'UNBALANCED', kind: 'invalid', scope: 'journal', meaning: 'the journal\'s debits and credits differ', next: 'inspect the journal in finsync; a balanced journal never leaves the hub unbalanced' },
  { code: 'JOURNAL_INCONSISTENT', kind: 'invalid', scope: 'journal', meaning: 'the lines of the journal disagree on a journal-level column', next: 'inspect the archived file' },
  { code: 'STATUS_INVALID', kind: 'invalid', scope: 'journal', meaning: 'STATUS is not NEW', next: 'inspect the archived file' },
  { code: 'ACTUAL_FLAG_INVALID', kind: 'invalid', scope: 'journal', meaning: 'ACTUAL_FLAG is not A (actual)', next: 'inspect the archived file' },
  { code: 'JOURNAL_NAME_MISSING', kind: 'invalid', scope: 'journal', meaning: 'REFERENCE4 (the journal name) is empty', next: 'inspect the archived file' },
  { code: 'DUPLICATE_JOURNAL', kind: 'conflict', scope: 'journal', meaning: 'a journal with this REFERENCE4 is already in the ledger', next: 'record the ERP journal named in the rejection; do not resend' },
  // Oracle Journal Import's own codes [M], for an ERP that passes them through unchanged.
  { code: 'EP01', kind: 'invalid', scope: 'journal', field: 'period', meaning: 'the accounting date is not in an open or future-enterable period', next: 'ask the ledger\'s accountants to open the period, or re-date the journal, then replay' },
  { code: 'EU02', kind: 'invalid', scope: 'journal', meaning: 'the journal is unbalanced', next: 'inspect the journal in finsync' },
  { code: 'EF01', kind: 'invalid', scope: 'journal', field: FROM_COLUMN, meaning: 'the account combination is inactive for the accounting date', next: 'enable the combination in the ERP or fix the mapping, then replay' },
  { code: 'EF02', kind: 'invalid', scope: 'journal', field: FROM_COLUMN, meaning: 'detail posting is not allowed for the account combination', next: 'use a posting account or fix the mapping, then replay' },
  { code: 'EF03', kind: 'invalid', scope: 'journal', field: FROM_COLUMN, meaning: 'the account combination is disabled', next: 'enable the combination in the ERP or fix the mapping, then replay' },
  { code: 'EF04', kind: 'invalid', scope: 'journal', field: FROM_COLUMN, meaning: 'the account combination is invalid (a segment value or a cross-validation rule)', next: 'check the segment values against the ERP\'s rules or fix the mapping, then replay' },
];

const BY_CODE = new Map(REASON_CODES.map((reason) => [reason.code, reason]));
const FIELD_OF_COLUMN: Readonly<Record<string, string>> = { SEGMENT1: 'company', SEGMENT2: 'account', SEGMENT3: 'department', LEDGER_ID: 'subsidiary', ACCOUNTING_DATE: 'period' };

export function reasonOf(code: string): ReasonCode | undefined {
  return BY_CODE.get(code);
}

/** Where a rejection came from, for the message. */
export interface RejectionContext {
  readonly batchId: string;
  /** The name of the rejection file. */
  readonly answerName: string;
}

/** A rejected line (journal) or a whole-file rejection as our error; `raw` is the rejection record as written. */
export function classifyRejection(rejection: RejectedLine | FileRejection, raw: string, context: RejectionContext): ConnectorError {
  const reason = BY_CODE.get(rejection.reasonCode);
  const field = reason?.field === FROM_COLUMN ? FIELD_OF_COLUMN[rejection.column] : reason?.field;
  const value = field !== undefined && rejection.value !== '' ? rejection.value : undefined;
  const what = 'journalName' in rejection ? `journal ${rejection.journalName || '(no REFERENCE4)'} of batch ${context.batchId}` : `the whole file of batch ${context.batchId}`;
  const at = `${context.answerName}, line ${rejection.lineNumber}${rejection.column === '' ? '' : `, ${rejection.column}`}${rejection.value === '' ? '' : ` "${rejection.value}"`}`;
  const said = `${rejection.reasonCode}: ${rejection.message || 'no message'}`;
  const message = reason
    ? `The ERP rejected ${what} (${at}): ${reason.meaning} (${said}); ${reason.next}.`
    : `The ERP rejected ${what} (${at}) with a reason finsync does not know (${said}): inspect the raw rejection.`;
  return {
    kind: reason?.kind ?? 'invalid',
    vendorCode: reason ? rejection.reasonCode : 'UNCLASSIFIED',
    message,
    ...(field !== undefined && { field }),
    ...(value !== undefined && { value }),
    raw: raw.slice(0, RAW_ANSWER_MAX_CHARS),
  };
}

/** The outbox could not take the file: nothing reached the ERP. */
export function outboxUnwritable(error: unknown, outboxDir: string): ConnectorError {
  return {
    kind: 'unavailable',
    vendorCode: 'OUTBOX_UNWRITABLE',
    message: `finsync could not write the batch file into the outbox folder ${outboxDir} (${describeFsError(error)}): check that the folder exists and is writable; nothing reached the ERP and the lane retries.`,
  };
}

/** A folder finsync reads answers from (or keeps its records in) could not be read. */
export function folderUnreadable(error: unknown, dir: string): ConnectorError {
  return {
    kind: 'unavailable',
    vendorCode: 'FOLDER_UNREADABLE',
    message: `finsync could not read the folder ${dir} (${describeFsError(error)}): check that it exists and is readable; the lane retries.`,
  };
}

/** An answer file that does not read as its layout says. */
export function answerUnreadable(fileName: string, detail: string): ConnectorError {
  return {
    kind: 'transient',
    vendorCode: 'ANSWER_UNREADABLE',
    message: `The ERP's answer file ${fileName} cannot be read (${detail}): check the file; until it reads, finsync cannot tell which journals it imported.`,
  };
}

/**
 * No (complete) answer within the wait. `outbox`: the ERP has not even picked the file up;
 * `erp`: it took the file and has not answered. Either way the journals may yet be imported.
 */
export function noAnswer(batchId: string, fileName: string, where: 'outbox' | 'erp', waitedMs: number): ConnectorError {
  const state = where === 'outbox' ? `still lies in the outbox: the ERP has not picked it up within ${waitedMs} ms` : `was taken by the ERP, which has not answered within ${waitedMs} ms`;
  return {
    kind: 'unavailable',
    vendorCode: where === 'outbox' ? 'NOT_PICKED_UP' : 'NO_ANSWER',
    message: `Batch file ${fileName} (batch ${batchId}) ${state}: look the journal up before any resend.`,
  };
}

/** The answer covers the batch but does not name this journal: an ERP fault. */
export function notInAnswer(batchId: string, externalKey: string): ConnectorError {
  return {
    kind: 'transient',
    vendorCode: 'NOT_IN_ANSWER',
    message: `The ERP answered batch ${batchId} without naming journal ${externalKey} in its acknowledgement or rejection: look the journal up before any resend.`,
  };
}

/** Lookup and pre-send check: a file holding the journal awaits the ERP's answer. */
export function answerPending(batchId: string, fileName: string, where: 'outbox' | 'erp'): ConnectorError {
  return {
    kind: where === 'outbox' ? 'unavailable' : 'transient',
    vendorCode: 'ANSWER_PENDING',
    message:
      where === 'outbox'
        ? `Batch file ${fileName} (batch ${batchId}) holding the journal still waits in the outbox for the ERP to pick it up: look it up again later; do not resend.`
        : `The ERP took batch file ${fileName} (batch ${batchId}) holding the journal and has not answered yet: look it up again later; do not resend.`,
  };
}

function describeFsError(error: unknown): string {
  if (isCode(error, 'ENOENT')) return 'it does not exist';
  if (isCode(error, 'EACCES', 'EPERM')) return 'permission denied';
  if (isCode(error, 'ENOSPC')) return 'the disk is full';
  if (isCode(error, 'EROFS')) return 'the filesystem is read-only';
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
}
