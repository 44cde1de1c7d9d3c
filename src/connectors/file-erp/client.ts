/**
 * The file ERP target connector: posts journals to a legacy ERP that imports journal files (a
 * GL_INTERFACE-like CSV, layout.ts), one file per batch, and reads its acknowledgement and rejection
 * files back. Files only: the batch comes from mapping.ts, answers are classified by errors.ts, and
 * every state the connector relies on lives in the folders (folder-state.ts), never in memory.
 *
 * One post, step by step:
 * 1. The folders are read: a journal already acknowledged is `already_exists`; one in a file that
 *    still awaits the ERP's answer is `unknown` (never sent twice); the rest form the batch.
 * 2. The file is written under a temp name in the outbox and fsynced; its copy is recorded in
 *    `<archive>/sent/`; then it is renamed to `<prefix>_<batchId>.csv`. The ERP ignores temp
 *    names, so it never sees half a file.
 * 3. The connector waits (bounded by ackWaitMs) for the `.ack` and/or `.rej` naming this file's
 *    FILE_ID, moves them into the archive, and answers one outcome per journal.
 */
import { mkdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConnectorError, LookupOutcome, PostOutcome, PostingRequest, ReadBackScope, TargetConnector } from '../contract.ts';
import { answerPending, classifyRejection, noAnswer, notInAnswer, outboxUnwritable } from './errors.ts';
import { moveWithoutOverwrite, readIfPresent, syncFolder, tempNameFor, uniqueFileId, writeFileAtomic, writeSynced } from './files.ts';
import { answersComplete, FolderReader, FolderReadError, SENT_FOLDER, sentRecordName, type Answer, type KeyState } from './folder-state.ts';
import { batchFileName, PREFIX_PATTERN, writeBatchFile } from './layout.ts';
import { buildBatchFile, type BatchTexts } from './mapping.ts';
import { fileErpJournalLines } from './readback.ts';

export interface FileErpConnectorOptions {
  /** The connection name, e.g. "ledger-file". */
  readonly target: string;
  /** Where finsync drops batch files and export requests; the ERP picks them up from here. */
  readonly outboxDir: string;
  /** Where the ERP writes acknowledgements, rejections and exports. */
  readonly inboxDir: string;
  /** finsync's own: consumed answers and exports, and `sent/` with a copy of every file handed over. */
  readonly archiveDir: string;
  /** The first part of every file name, e.g. "FSGL": a letter, then letters and digits (at most 20). */
  readonly filePrefix: string;
  /** How long a post waits for the ERP's answer before reporting `unknown`. */
  readonly ackWaitMs: number;
  /** How often the inbox is looked at while waiting. */
  readonly pollIntervalMs: number;
  /** Journals per file, 1 to 10,000; default 200. */
  readonly maxBatch?: number;
  /** How long a read-back waits for the export; default ackWaitMs. */
  readonly exportWaitMs?: number;
  /** USER_JE_CATEGORY_NAME; default "Expense Report". */
  readonly category?: string;
  /** USER_JE_SOURCE_NAME; default "finsync". */
  readonly source?: string;
  /** CREATED_BY; default "FINSYNC". */
  readonly createdBy?: string;
  /** The clock for DATE_CREATED and file ids; default Date.now. */
  readonly now?: () => number;
}

export const DEFAULT_MAX_BATCH = 200;
const MAX_BATCH_LIMIT = 10_000;

export function createFileErpConnector(options: FileErpConnectorOptions): TargetConnector {
  checkOptions(options);
  const { outboxDir, inboxDir, archiveDir, filePrefix: prefix } = options;
  const now = options.now ?? Date.now;
  const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
  const texts: BatchTexts = { category: options.category ?? 'Expense Report', source: options.source ?? 'finsync', createdBy: options.createdBy ?? 'FINSYNC' };
  const folders = new FolderReader({ outboxDir, inboxDir, archiveDir, prefix });

  async function postBatch(requests: readonly PostingRequest[]): Promise<PostOutcome[]> {
    if (requests.length === 0 || requests.length > maxBatch) throw new Error(`Assertion failed: a batch holds 1 to ${maxBatch} journals, not ${requests.length}`);
    if (new Set(requests.map((r) => r.externalKey)).size !== requests.length) throw new Error('Assertion failed: a batch holds each external key once');
    let states: KeyState[];
    try {
      const snapshot = await folders.snapshot();
      states = requests.map((request) => snapshot.stateOf(request.externalKey));
    } catch (error) {
      if (error instanceof FolderReadError) return requests.map(() => ({ status: 'failed', error: error.error }));
      throw error;
    }
    const outcomes = states.map(settledBeforeSending);
    const toSend = requests.filter((_, index) => outcomes[index] === undefined);
    if (toSend.length === 0) return outcomes as PostOutcome[];
    const sent = await sendBatch(toSend);
    let next = 0;
    return outcomes.map((outcome) => outcome ?? sent[next++]);
  }

  async function sendBatch(requests: readonly PostingRequest[]): Promise<PostOutcome[]> {
    const nowMs = now();
    const fileId = uniqueFileId(nowMs);
    const file = buildBatchFile(requests, { fileId, dateCreated: new Date(nowMs).toISOString().slice(0, 10) }, texts);
    const { batchId } = file.header;
    const name = batchFileName(prefix, batchId);
    try {
      await handOver(name, fileId, writeBatchFile(file));
    } catch (error) {
      const failure = outboxUnwritable(error, outboxDir);
      return requests.map(() => ({ status: 'failed', error: failure }));
    }
    const { answers, readError } = await awaitAnswers(batchId, fileId);
    await archiveAnswers(answers);
    if (answers.length === 0) {
      const where = (await stillInOutbox(name, fileId)) ? 'outbox' : 'erp';
      const error = readError ?? noAnswer(batchId, name, where, options.ackWaitMs);
      return requests.map(() => ({ status: 'unknown', error }));
    }
    const complete = answersComplete(answers);
    return outcomesFromAnswers(requests, answers, batchId, (key) => (complete ? notInAnswer(batchId, key) : noAnswer(batchId, name, 'erp', options.ackWaitMs)));
  }

  /** Temp file (fsynced), then the record in archive/sent, then the rename: see folder-state.ts for why in this order. */
  async function handOver(name: string, fileId: string, text: string): Promise<void> {
    const temp = join(outboxDir, tempNameFor(name, fileId));
    const sentDir = join(archiveDir, SENT_FOLDER);
    const record = sentRecordName(name, fileId);
    try {
      await writeSynced(temp, text);
      await mkdir(sentDir, { recursive: true });
      await writeFileAtomic(sentDir, record, text);
      await rename(temp, join(outboxDir, name));
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      // Without the file the record would read as "handed over, unanswered" forever.
      await unlink(join(sentDir, record)).catch(() => undefined);
      throw error;
    }
    await syncFolder(outboxDir);
  }

  /**
   * The answers to one file, once they cover all its journals or the wait is over; with the last
   * read error when the folder or an answer could not be read.
   */
  async function awaitAnswers(batchId: string, fileId: string): Promise<{ answers: Answer[]; readError?: ConnectorError }> {
    const deadline = performance.now() + options.ackWaitMs;
    let answers: Answer[] = [];
    let readError: ConnectorError | undefined;
    const read = async (dirs: readonly string[]) => {
      try {
        answers = await folders.answersFor(batchId, fileId, dirs);
        readError = undefined;
      } catch (error) {
        if (!(error instanceof FolderReadError)) throw error;
        readError = error.error;
      }
    };
    for (;;) {
      await read([inboxDir]);
      if (answersComplete(answers)) return { answers };
      if (performance.now() >= deadline) break;
      await sleep(Math.min(options.pollIntervalMs, Math.max(1, deadline - performance.now())));
    }
    // Another process may have moved them already; the archive is read once, at the end.
    await read([inboxDir, archiveDir]);
    return { answers, ...(readError && { readError }) };
  }

  async function archiveAnswers(answers: readonly Answer[]): Promise<void> {
    for (const answer of answers) {
      if (answer.dir !== inboxDir) continue;
      // A failed move leaves the answer in the inbox, where lookup reads it too.
      await moveWithoutOverwrite(join(inboxDir, answer.name), archiveDir, answer.name).catch(() => undefined);
    }
  }

  async function stillInOutbox(name: string, fileId: string): Promise<boolean> {
    const text = await readIfPresent(join(outboxDir, name)).catch(() => undefined);
    return text !== undefined && text.includes(`,${fileId},`);
  }

  async function lookup(externalKey: string): Promise<LookupOutcome> {
    let state: KeyState;
    try {
      state = (await folders.snapshot()).stateOf(externalKey);
    } catch (error) {
      if (error instanceof FolderReadError) return { status: 'failed', error: error.error };
      throw error;
    }
    switch (state.status) {
      case 'found':
        return { status: 'found', documentId: state.documentId };
      case 'absent':
        return { status: 'absent' };
      default:
        return { status: 'failed', error: stateError(state) };
    }
  }

  const readBack = (scope: ReadBackScope) =>
    fileErpJournalLines({ outboxDir, inboxDir, archiveDir, prefix, target: options.target, exportWaitMs: options.exportWaitMs ?? options.ackWaitMs, pollIntervalMs: options.pollIntervalMs, now }, scope);

  return { target: options.target, maxConcurrency: 1, maxBatch, post: async (request) => (await postBatch([request]))[0], postBatch, lookup, readBack };
}

/** What the folders already settle before anything is written; undefined: send it. */
function settledBeforeSending(state: KeyState): PostOutcome | undefined {
  switch (state.status) {
    case 'found':
      return { status: 'already_exists', documentId: state.documentId };
    case 'pending':
      return { status: 'unknown', error: stateError(state) };
    case 'conflict':
      return { status: 'failed', error: stateError(state) };
    default:
      return undefined;
  }
}

function stateError(state: Extract<KeyState, { status: 'pending' | 'conflict' }>): ConnectorError {
  if (state.status === 'pending') return answerPending(state.batchId, state.fileName, state.where);
  return classifyRejection(state.rejection, state.raw, { batchId: state.batchId, answerName: state.answerName });
}

/**
 * One outcome per request from the answers to its file: acknowledged → created; rejected →
 * failed (or already_exists when the ERP names the journal it already holds under the key); a
 * journal the answers do not cover yet → `missing(key)`, an unknown outcome.
 */
function outcomesFromAnswers(requests: readonly PostingRequest[], answers: readonly Answer[], batchId: string, missing: (key: string) => ConnectorError): PostOutcome[] {
  const accepted = new Map<string, string>();
  const rejected = new Map<string, PostOutcome>();
  for (const answer of answers) {
    if (answer.kind === 'ack') {
      for (const journal of answer.file.accepted) accepted.set(journal.journalName, journal.journalId);
      continue;
    }
    const context = { batchId, answerName: answer.name };
    const whole = answer.file.fileRejections[0];
    if (whole !== undefined) {
      const error = classifyRejection(whole, answer.file.raw.fileRejections.join('\n'), context);
      return requests.map(() => ({ status: 'failed', error }));
    }
    // A journal's first rejection (lowest line) speaks for it; its raw keeps all of them.
    const lines = answer.file.rejected.map((line, index) => ({ line, raw: answer.file.raw.rejected[index] })).sort((a, b) => a.line.lineNumber - b.line.lineNumber);
    for (const { line } of lines) {
      if (rejected.has(line.journalName)) continue;
      if (line.reasonCode === 'DUPLICATE_JOURNAL' && line.journalId !== '') {
        rejected.set(line.journalName, { status: 'already_exists', documentId: line.journalId });
        continue;
      }
      const raw = lines.filter((other) => other.line.journalName === line.journalName).map((other) => other.raw).join('\n');
      rejected.set(line.journalName, { status: 'failed', error: classifyRejection(line, raw, context) });
    }
  }
  return requests.map((request): PostOutcome => {
    const documentId = accepted.get(request.externalKey);
    if (documentId !== undefined) return { status: 'created', documentId };
    return rejected.get(request.externalKey) ?? { status: 'unknown', error: missing(request.externalKey) };
  });
}

function checkOptions(options: FileErpConnectorOptions): void {
  const fail = (detail: string): never => {
    throw new Error(`Assertion failed: file ERP connector ${options.target}: ${detail}`);
  };
  if (!PREFIX_PATTERN.test(options.filePrefix)) fail(`file prefix "${options.filePrefix}" must be a letter then letters or digits (at most 20)`);
  const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
  if (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > MAX_BATCH_LIMIT) fail(`maxBatch ${maxBatch} is not 1 to ${MAX_BATCH_LIMIT}`);
  if (!(options.ackWaitMs >= 0) || !(options.pollIntervalMs > 0)) fail('ackWaitMs must be at least 0 and pollIntervalMs above 0');
  const dirs = [options.outboxDir, options.inboxDir, options.archiveDir];
  if (new Set(dirs).size !== dirs.length) fail('the outbox, inbox and archive must be three different folders');
}
