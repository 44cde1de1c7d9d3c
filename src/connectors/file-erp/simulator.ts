/**
 * An offline file-import ERP: it polls an outbox folder (no native watchers), takes complete files
 * only (temp names are ignored; a file is claimed by renaming it out of the outbox), checks each
 * batch file's header, trailer and control totals, checks each journal against its master data,
 * imports the journals that pass with sequential ids, writes `.ack`/`.rej` answers atomically into
 * the inbox (never over an earlier answer), and moves every processed file to its archive. It also
 * answers GL export requests. Seeded faults: slow pickup, a crash between import and answer, a
 * maintenance stop. Same seed and same file order, same faults.
 */
import { mkdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createRandom } from '../../simulation/seeded-random.ts';
import { isCode, listNames, writeFileExclusive } from './files.ts';
import { readExportRequest, writeAckFile, writeExportFile, writeRejFile, type AnswerHeader, type FileRejection } from './layout-answers.ts';
import { answerFileName, checkControls, exportFileName, LayoutError, parseFileName, PREFIX_PATTERN, readBatchFile, type BatchFileRead } from './layout.ts';
import { SimLedger, type DuplicateJournalPolicy, type ImportResult, type MasterData, type SimJournal } from './simulator-ledger.ts';

export type { MasterData, SimJournal, SimJournalLine } from './simulator-ledger.ts';

export interface FileErpFaults {
  /** Share of batch files the ERP is slow to take: such a file stays in the outbox until pickupDelayMs after it was first seen. */
  readonly slowPickupRate?: number;
  /** Default 60,000. */
  readonly pickupDelayMs?: number;
  /**
   * Share of batch files after whose import the import program crashes: the journals are in the
   * ledger, no answer is written, and the simulator picks nothing up until start(), which first
   * writes the missing answers.
   */
  readonly crashAfterImportRate?: number;
  /** A maintenance stop: nothing is picked up (batch files and export requests wait in the outbox). */
  readonly maintenance?: boolean;
}

export interface FileErpSimulatorOptions {
  /** The folder the ERP takes files from (the connector's outbox). */
  readonly outboxDir: string;
  /** The folder the ERP answers into (the connector's inbox). */
  readonly inboxDir: string;
  /** The ERP's own archive of processed files; `work/` in it holds a file while it is processed. */
  readonly archiveDir: string;
  readonly filePrefix: string;
  readonly seed: number;
  readonly masterData: MasterData;
  /** Default 100. */
  readonly pollIntervalMs?: number;
  /** false: no timer; the caller drives every round with runOnce(). Default true. */
  readonly autoPoll?: boolean;
  /** A repeat of a batch id of which journals were imported: `refuse` (default, DUPLICATE_BATCH) or `import` again. [U] */
  readonly duplicateBatches?: 'refuse' | 'import';
  /** A journal whose REFERENCE4 is already in the ledger: `import` (default: GL_INTERFACE has no such check [M]) or `refuse` (DUPLICATE_JOURNAL). */
  readonly duplicateJournals?: DuplicateJournalPolicy;
  /** The first JE_HEADER_ID; default 100001. */
  readonly firstJournalId?: number;
  readonly faults?: FileErpFaults;
  /** The clock for pickup delays and answer stamps; default Date.now. */
  readonly now?: () => number;
}

export type SimRunOutcome = 'imported' | 'partly_rejected' | 'rejected' | 'file_rejected' | 'duplicate_batch' | 'crashed' | 'export' | 'export_refused';

export interface SimRun {
  readonly runId: string;
  readonly fileName: string;
  readonly outcome: SimRunOutcome;
  readonly accepted: number;
  readonly rejected: number;
}

export interface RoundReport {
  /** Files processed this round, in order. */
  readonly processed: readonly string[];
  /** Batch files seen but left in the outbox (slow pickup). */
  readonly deferred: readonly string[];
}

export type SimStatus = 'running' | 'stopped' | 'crashed';

export interface FileErpSimulator {
  /** Every journal in the ledger, in id order. */
  documents(): SimJournal[];
  /** Adds a journal as another interface or a user would (no checks); returns its id. */
  insertJournal(journal: Omit<SimJournal, 'id' | 'runId' | 'batchId'> & { readonly batchId?: string }): string;
  updateMasterData(change: Partial<MasterData>): void;
  setFaults(faults: FileErpFaults): void;
  /** One pickup round now (after any round in progress); does nothing unless running. */
  runOnce(): Promise<RoundReport>;
  /** Stops picking up, as an operator stopping the import service; waits for a round in progress. */
  stop(): Promise<void>;
  /** Starts again after stop() or a crash; after a crash it first writes the answers the crash left unwritten. */
  start(): Promise<void>;
  status(): SimStatus;
  runs(): SimRun[];
  close(): Promise<void>;
}

/** A crash's unfinished business: the answers to write and the claimed file to archive on restart. */
interface PendingAnswers {
  readonly claimedPath: string;
  readonly archiveName: string;
  readonly answers: readonly { readonly name: string; readonly text: string }[];
}

const DEFAULT_PICKUP_DELAY_MS = 60_000;

export async function startFileErpSimulator(options: FileErpSimulatorOptions): Promise<FileErpSimulator> {
  if (!PREFIX_PATTERN.test(options.filePrefix)) throw new Error(`Assertion failed: file prefix "${options.filePrefix}" must be a letter then letters or digits`);
  await mkdir(join(options.archiveDir, 'work'), { recursive: true });
  const sim = new ImportService(options);
  sim.schedule();
  return {
    documents: () => sim.ledger.list(),
    insertJournal: (journal) => sim.ledger.insert({ batchId: '', runId: '', ...journal }).id,
    updateMasterData: (change) => sim.ledger.updateMasterData(change),
    setFaults: (faults) => void (sim.faults = faults),
    runOnce: () => sim.runOnce(),
    stop: () => sim.stop(),
    start: () => sim.start(),
    status: () => sim.state,
    runs: () => [...sim.runLog],
    close: () => sim.close(),
  };
}

class ImportService {
  readonly ledger: SimLedger;
  faults: FileErpFaults;
  state: SimStatus = 'running';
  readonly runLog: SimRun[] = [];
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly firstSeen = new Map<string, { readonly atMs: number; readonly slow: boolean }>();
  private pending: PendingAnswers | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private runCount = 0;

  constructor(private readonly options: FileErpSimulatorOptions) {
    this.ledger = new SimLedger(options.masterData, options.firstJournalId ?? 100_001);
    this.faults = options.faults ?? {};
    this.random = createRandom(options.seed);
    this.now = options.now ?? Date.now;
  }

  schedule(): void {
    if (this.closed || this.options.autoPoll === false || this.state !== 'running' || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // A failing round (a folder gone) is tried again next time, as a real import job would.
      this.runOnce().catch(() => undefined).finally(() => this.schedule());
    }, this.options.pollIntervalMs ?? 100);
  }

  runOnce(): Promise<RoundReport> {
    const round = this.chain.then(() => this.round());
    this.chain = round.catch(() => undefined);
    return round;
  }

  async stop(): Promise<void> {
    if (this.state === 'running') this.state = 'stopped';
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.chain;
  }

  async start(): Promise<void> {
    await this.chain;
    if (this.closed) return;
    const pending = this.pending;
    if (pending) {
      for (const answer of pending.answers) await writeFileExclusive(this.options.inboxDir, answer.name, answer.text);
      await rename(pending.claimedPath, join(this.options.archiveDir, pending.archiveName));
      this.pending = undefined;
    }
    this.state = 'running';
    this.schedule();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
  }

  private async round(): Promise<RoundReport> {
    const processed: string[] = [];
    const deferred: string[] = [];
    if (this.state !== 'running' || this.faults.maintenance) return { processed, deferred };
    for (const { name, kind, id } of await this.candidates()) {
      if (this.state !== 'running') break;
      if (kind === 'batch' && this.deferred(name)) {
        deferred.push(name);
        continue;
      }
      this.firstSeen.delete(name);
      const claimed = await this.claim(name);
      if (claimed === undefined) continue;
      if (kind === 'batch') await this.processBatch(claimed, id);
      else await this.processExportRequest(claimed, id);
      processed.push(name);
    }
    return { processed, deferred };
  }

  /** Complete files of ours in the outbox, oldest first. */
  private async candidates(): Promise<{ name: string; kind: 'batch' | 'export-request'; id: string; mtimeMs: number }[]> {
    const found = [];
    for (const name of await listNames(this.options.outboxDir)) {
      const parsed = parseFileName(this.options.filePrefix, name);
      if (parsed?.kind !== 'batch' && parsed?.kind !== 'export-request') continue;
      const info = await stat(join(this.options.outboxDir, name)).catch(() => undefined);
      if (info) found.push({ name, kind: parsed.kind, id: parsed.id, mtimeMs: info.mtimeMs });
    }
    return found.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.name < b.name ? -1 : 1));
  }

  /** The slow-pickup fault: one draw per file when first seen; a slow file waits out pickupDelayMs. */
  private deferred(name: string): boolean {
    let seen = this.firstSeen.get(name);
    if (seen === undefined) {
      seen = { atMs: this.now(), slow: this.random() < (this.faults.slowPickupRate ?? 0) };
      this.firstSeen.set(name, seen);
    }
    return seen.slow && this.now() - seen.atMs < (this.faults.pickupDelayMs ?? DEFAULT_PICKUP_DELAY_MS);
  }

  /** Takes a file out of the outbox by renaming it into work/; undefined when someone else took it first. */
  private async claim(name: string): Promise<{ path: string; name: string; runId: string } | undefined> {
    const runId = `R${String(++this.runCount).padStart(6, '0')}`;
    const path = join(this.options.archiveDir, 'work', `${runId}_${name}`);
    try {
      await rename(join(this.options.outboxDir, name), path);
    } catch (error) {
      if (isCode(error, 'ENOENT')) return undefined;
      throw error;
    }
    return { path, name, runId };
  }

  private async processBatch(claimed: { path: string; name: string; runId: string }, batchIdFromName: string): Promise<void> {
    const text = await readFile(claimed.path, 'utf8');
    const header = (counts: Pick<AnswerHeader, 'journalCount' | 'acceptedCount' | 'rejectedCount'>, fileId: string): AnswerHeader => ({
      batchId: batchIdFromName, fileId, runId: claimed.runId, processedAt: new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'), ...counts,
    });
    const checked = this.checkFile(text, batchIdFromName);
    const crashDraw = this.random();
    if ('rejection' in checked) {
      const { rejection, fileId, journalCount } = checked;
      const rej = writeRejFile({ header: header({ journalCount, acceptedCount: 0, rejectedCount: journalCount }, fileId), rejected: [], fileRejections: [rejection] });
      await this.finish(claimed, [{ name: answerFileName(this.options.filePrefix, batchIdFromName, 'rej'), text: rej }]);
      return this.log(claimed, rejection.reasonCode === 'DUPLICATE_BATCH' ? 'duplicate_batch' : 'file_rejected', 0, journalCount);
    }
    const result = this.ledger.importBatch(checked.batch, claimed.runId, this.options.duplicateJournals ?? 'import');
    const answers = this.answersOf(result, header({ journalCount: result.journalCount, acceptedCount: result.accepted.length, rejectedCount: result.rejectedCount }, checked.batch.header.fileId), batchIdFromName);
    if (crashDraw < (this.faults.crashAfterImportRate ?? 0)) {
      this.pending = { claimedPath: claimed.path, archiveName: `${claimed.runId}_${claimed.name}`, answers };
      this.state = 'crashed';
      clearTimeout(this.timer);
      this.timer = undefined;
      return this.log(claimed, 'crashed', result.accepted.length, result.rejectedCount);
    }
    await this.finish(claimed, answers);
    const outcome = result.rejectedCount === 0 ? 'imported' : result.accepted.length === 0 ? 'rejected' : 'partly_rejected';
    this.log(claimed, outcome, result.accepted.length, result.rejectedCount);
  }

  /** The whole-file checks, in the order Journal Import would meet them; a batch that passes, or the file's rejection. */
  private checkFile(text: string, batchIdFromName: string): { batch: BatchFileRead } | { rejection: FileRejection; fileId: string; journalCount: number } {
    // The FILE_ID is echoed even from a file that does not read, when its header does.
    const fileId = /^(?:\uFEFF)?H,[^,\n]*,[^,\n]*,([A-Za-z0-9-]{1,64}),/.exec(text)?.[1] ?? 'unknown';
    const refuse = (reasonCode: string, lineNumber: number, column: string, value: string, message: string, journalCount = 0) => ({ rejection: { lineNumber, column, value, reasonCode, message }, fileId, journalCount });
    let batch: BatchFileRead;
    try {
      batch = readBatchFile(text);
    } catch (error) {
      if (!(error instanceof LayoutError)) throw error;
      return refuse(error.code, error.line, error.column, error.value, error.detail);
    }
    const journalCount = new Set(batch.lines.map((line) => line.journalName)).size;
    if (batch.header.batchId !== batchIdFromName) return refuse('BAD_HEADER', 1, 'BATCH_ID', batch.header.batchId, `the header names batch ${batch.header.batchId}, the file name ${batchIdFromName}`, journalCount);
    if (batch.lines.length === 0) return refuse('FILE_EMPTY', batch.lineNumbers.trailer, 'LINE_COUNT', '0', 'the file holds no journal lines');
    const problem = checkControls(batch.lines.map((line) => ({ ...line, journal: line.journalName })), batch);
    if (problem) return refuse(problem.code, problem.line, problem.column, problem.value, problem.detail, journalCount);
    const earlierRun = this.ledger.importRunOf(batch.header.batchId);
    if (earlierRun !== undefined && (this.options.duplicateBatches ?? 'refuse') === 'refuse') {
      return refuse('DUPLICATE_BATCH', 1, 'BATCH_ID', batch.header.batchId, `batch ${batch.header.batchId} was imported by run ${earlierRun}; the repeat is refused`, journalCount);
    }
    return { batch };
  }

  private answersOf(result: ImportResult, header: AnswerHeader, batchId: string): { name: string; text: string }[] {
    const answers = [];
    if (result.rejectedCount > 0) answers.push({ name: answerFileName(this.options.filePrefix, batchId, 'rej'), text: writeRejFile({ header, rejected: result.rejected, fileRejections: [] }) });
    if (result.accepted.length > 0) answers.push({ name: answerFileName(this.options.filePrefix, batchId, 'ack'), text: writeAckFile({ header, accepted: result.accepted }) });
    return answers;
  }

  private async processExportRequest(claimed: { path: string; name: string; runId: string }, requestId: string): Promise<void> {
    const processedAt = new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const refusal = (rejection: FileRejection) => ({
      name: exportFileName(this.options.filePrefix, requestId, 'rej'),
      text: writeRejFile({ header: { batchId: requestId, fileId: requestId, runId: claimed.runId, processedAt, journalCount: 0, acceptedCount: 0, rejectedCount: 0 }, rejected: [], fileRejections: [rejection] }),
    });
    let answer: { name: string; text: string };
    try {
      const request = readExportRequest(await readFile(claimed.path, 'utf8'));
      if (request.requestId !== requestId) throw new LayoutError('BAD_HEADER', 1, 'REQUEST_ID', request.requestId, `the request names ${request.requestId}, the file name ${requestId}`);
      answer = !this.ledger.hasLedger(request.ledgerId)
        ? refusal({ lineNumber: 1, column: 'LEDGER_ID', value: request.ledgerId, reasonCode: 'LEDGER_UNKNOWN', message: `Ledger ${request.ledgerId} does not exist` })
        : { name: exportFileName(this.options.filePrefix, requestId, 'csv'), text: writeExportFile({ request, exportedAt: processedAt, lines: this.ledger.exportLines(request.ledgerId, request.period) }) };
    } catch (error) {
      if (!(error instanceof LayoutError)) throw error;
      answer = refusal({ lineNumber: error.line, column: error.column, value: error.value, reasonCode: error.code, message: error.detail });
    }
    await this.finish(claimed, [answer]);
    this.log(claimed, answer.name.endsWith('.rej') ? 'export_refused' : 'export', 0, 0);
  }

  /** Writes the answers (each atomically, never over an earlier one), then archives the processed file. */
  private async finish(claimed: { path: string; name: string; runId: string }, answers: readonly { name: string; text: string }[]): Promise<void> {
    for (const answer of answers) await writeFileExclusive(this.options.inboxDir, answer.name, answer.text);
    await rename(claimed.path, join(this.options.archiveDir, `${claimed.runId}_${claimed.name}`));
  }

  private log(claimed: { name: string; runId: string }, outcome: SimRunOutcome, accepted: number, rejected: number): void {
    this.runLog.push({ runId: claimed.runId, fileName: claimed.name, outcome, accepted, rejected });
  }
}
