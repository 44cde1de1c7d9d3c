/**
 * The file ERP's side of a reconciliation: the journal lines its ledger holds under our external
 * keys for one ledger and period, read from a GL export the ERP writes on request.
 *
 * On demand, not periodic: finsync drops `<prefix>_EXPORT_<requestId>.req` (ledger and period)
 * into the outbox, and the ERP answers `<prefix>_EXPORT_<requestId>.csv` in the inbox (or `.rej`
 * when it refuses the request). A periodic export would be as old as its schedule, and a
 * reconciliation right after posting would report breaks that are only the export's lag.
 *
 * Each E record whose REFERENCE4 starts with `fs_` becomes one ReconLine: key = REFERENCE4,
 * document = JE_HEADER_ID, account = `accountCodeOf(SEGMENT2)` or `<target>:<SEGMENT2>` for an
 * account finsync does not know (a break, not a stop), amountMinor = ENTERED_DR − ENTERED_CR in
 * minor units (money.ts, never floats). A record that cannot be read, or disagrees with the request
 * (another ledger, a date outside the period), and a trailer or control total that does not match
 * the lines, stop the reconciliation with a ReconciliationInputError naming file, line and column:
 * a line left out would make a break disappear.
 */
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConnectorError, ReadBackScope } from '../contract.ts';
import { ReconciliationInputError } from '../../reconciliation/line-file.ts';
import type { LineSource, ReconLine } from '../../reconciliation/types.ts';
import { classifyRejection, outboxUnwritable } from './errors.ts';
import { moveWithoutOverwrite, readIfPresent, uniqueFileId, writeFileAtomic } from './files.ts';
import { readExportFile, readRejFile, writeExportRequest } from './layout-answers.ts';
import { exportFileName, exportRequestFileName, LayoutError } from './layout.ts';

export interface FileErpReadbackOptions {
  readonly outboxDir: string;
  readonly inboxDir: string;
  readonly archiveDir: string;
  readonly prefix: string;
  /** The connection name; the account code of an ERP account finsync does not know is `<target>:<segment>`. */
  readonly target: string;
  readonly exportWaitMs: number;
  readonly pollIntervalMs: number;
  readonly now: () => number;
}

/** The ERP did not deliver the export (not in time, or refused the request). `side` names the side for the reconciliation run. */
export class FileErpReadbackError extends Error {
  readonly side = 'erp';

  constructor(readonly error: ConnectorError) {
    super(error.message);
    this.name = 'FileErpReadbackError';
  }
}

const BATCH_LINES = 1000;
/** Reconciliation lines hold codes: no comma, double quote or control character. */
const NOT_A_CODE = /[,"\x00-\x1f\x7f]/;

export function fileErpJournalLines(options: FileErpReadbackOptions, scope: ReadBackScope): LineSource {
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(scope.period)) throw new Error(`Assertion failed: period ${scope.period} is not YYYY-MM`);
  const name = `${options.target} GL export of ledger ${scope.subsidiaryId} (${scope.entity}) for ${scope.period}`;
  return { name, side: 'erp', checked: false, batches: readBatches(options, scope) };
}

async function* readBatches(options: FileErpReadbackOptions, scope: ReadBackScope): AsyncGenerator<readonly ReconLine[]> {
  const requestId = uniqueFileId(options.now());
  const requestName = exportRequestFileName(options.prefix, requestId);
  try {
    await writeFileAtomic(options.outboxDir, requestName, writeExportRequest({ requestId, ledgerId: scope.subsidiaryId, period: scope.period }));
  } catch (error) {
    throw new FileErpReadbackError(outboxUnwritable(error, options.outboxDir));
  }
  const answer = await awaitExport(options, requestId, requestName);
  const path = join(options.inboxDir, answer.name);
  if (answer.kind === 'rej') throw new FileErpReadbackError(exportRefusal(answer.text, answer.name, requestId));
  const lines = exportLines(answer.text, path, scope, options.target);
  await moveWithoutOverwrite(path, options.archiveDir, answer.name).catch(() => undefined);
  for (let i = 0; i < lines.length; i += BATCH_LINES) yield lines.slice(i, i + BATCH_LINES);
}

async function awaitExport(options: FileErpReadbackOptions, requestId: string, requestName: string): Promise<{ kind: 'csv' | 'rej'; name: string; text: string }> {
  const deadline = performance.now() + options.exportWaitMs;
  for (;;) {
    for (const kind of ['csv', 'rej'] as const) {
      const name = exportFileName(options.prefix, requestId, kind);
      const text = await readIfPresent(join(options.inboxDir, name));
      if (text !== undefined) return { kind, name, text };
    }
    if (performance.now() >= deadline) break;
    await sleep(Math.min(options.pollIntervalMs, Math.max(1, deadline - performance.now())));
  }
  // Withdraw the request if the ERP has not taken it, so it does not answer a question nobody asks any more.
  const withdrawn = await unlink(join(options.outboxDir, requestName)).then(() => true, () => false);
  throw new FileErpReadbackError({
    kind: 'unavailable',
    vendorCode: withdrawn ? 'NOT_PICKED_UP' : 'NO_ANSWER',
    message: `The ERP did not answer export request ${requestName} within ${options.exportWaitMs} ms${withdrawn ? ' (it never picked it up; the request was withdrawn)' : ''}: run the reconciliation again when the ERP is back.`,
  });
}

function exportRefusal(text: string, name: string, requestId: string): ConnectorError {
  try {
    const rej = readRejFile(text);
    const first = rej.fileRejections[0];
    if (first !== undefined) return classifyRejection(first, rej.raw.fileRejections[0], { batchId: requestId, answerName: name });
  } catch (error) {
    if (!(error instanceof LayoutError)) throw error;
  }
  return { kind: 'invalid', vendorCode: 'UNCLASSIFIED', message: `The ERP refused export request ${requestId} without a reason finsync can read (${name}): inspect the file.`, raw: text.slice(0, 4000) };
}

/**
 * The ReconLines of a GL export (pure): our journals' lines of the scope's ledger and period.
 * `source` names the file in errors.
 */
export function exportLines(text: string, source: string, scope: ReadBackScope, target: string): ReconLine[] {
  let file;
  try {
    file = readExportFile(text);
  } catch (error) {
    if (error instanceof LayoutError) throw new ReconciliationInputError(source, error.line, error.column, error.detail);
    throw error;
  }
  if (file.request.ledgerId !== scope.subsidiaryId) throw new ReconciliationInputError(source, 1, 'LEDGER_ID', `the export is of ledger ${file.request.ledgerId}, not ${scope.subsidiaryId}`);
  if (file.request.period !== scope.period) throw new ReconciliationInputError(source, 1, 'PERIOD', `the export is of period ${file.request.period}, not ${scope.period}`);
  const lines: ReconLine[] = [];
  file.lines.forEach((line, index) => {
    if (!line.journalName.startsWith('fs_')) return;
    const refuse = (column: string, detail: string): never => {
      throw new ReconciliationInputError(source, file.lineNumbers[index], column, `journal ${line.journalId} (${line.journalName}), line ${line.lineNumber}: ${detail}; check the journal in the ERP`);
    };
    if (line.ledgerId !== scope.subsidiaryId) refuse('LEDGER_ID', `the line is in ledger ${line.ledgerId}, not ${scope.subsidiaryId}`);
    if (line.accountingDate.slice(0, 7) !== scope.period) refuse('ACCOUNTING_DATE', `the date ${line.accountingDate} is not in ${scope.period}`);
    if (NOT_A_CODE.test(line.journalName)) refuse('REFERENCE4', 'the key holds a comma, a double quote or a control character');
    if (NOT_A_CODE.test(line.journalId)) refuse('JE_HEADER_ID', 'the journal id holds a comma, a double quote or a control character');
    const account = scope.accountCodeOf(line.account) ?? `${target}:${line.account}`;
    if (NOT_A_CODE.test(account)) refuse('SEGMENT2', 'the account holds a comma, a double quote or a control character');
    lines.push({ key: line.journalName, entity: scope.entity, currency: line.currency, period: scope.period, account, amountMinor: line.debitMinor - line.creditMinor, status: '', document: line.journalId });
  });
  return lines;
}
