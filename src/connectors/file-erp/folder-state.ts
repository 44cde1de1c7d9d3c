/**
 * What the folders say about our journals. State comes from files, never from memory, so a hub
 * that restarted (or another process) knows exactly what the one before knew:
 *
 * - acknowledgements and rejections in the inbox and the archive (the ERP's word);
 * - the copies of the batch files finsync handed over, in `<archive>/sent/` (written before the
 *   file is renamed into the outbox, so no handed-over file is unrecorded);
 * - the outbox: a batch file still lying there has not been picked up; a temp file whose final
 *   name never appeared was never handed over.
 *
 * Parsed files are cached by name, size and modification time: answers and records never change
 * once written, so the cache only saves parsing.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConnectorError } from '../contract.ts';
import { folderUnreadable, answerUnreadable } from './errors.ts';
import { isCode, listNames, readIfPresent } from './files.ts';
import { readAckFile, readRejFile, type AckFile, type FileRejection, type RejFile } from './layout-answers.ts';
import { LayoutError, parseFileName, readBatchFile } from './layout.ts';

export interface FolderOptions {
  readonly outboxDir: string;
  readonly inboxDir: string;
  readonly archiveDir: string;
  readonly prefix: string;
}

export type Answer = { readonly kind: 'ack'; readonly dir: string; readonly name: string; readonly file: AckFile } | { readonly kind: 'rej'; readonly dir: string; readonly name: string; readonly file: RejFile };

/** The state of one external key, by what the files say. */
export type KeyState =
  | { readonly status: 'found'; readonly documentId: string; readonly batchId: string }
  | { readonly status: 'pending'; readonly batchId: string; readonly fileName: string; readonly where: 'outbox' | 'erp' }
  | { readonly status: 'conflict'; readonly batchId: string; readonly answerName: string; readonly rejection: FileRejection; readonly raw: string }
  | { readonly status: 'absent' };

/** A folder could not be read, or a file in it does not read as its layout says. */
export class FolderReadError extends Error {
  constructor(readonly error: ConnectorError) {
    super(error.message);
    this.name = 'FolderReadError';
  }
}

interface SentRecord {
  readonly name: string;
  readonly batchId: string;
  readonly fileId: string;
  readonly keys: ReadonlySet<string>;
}

export const SENT_FOLDER = 'sent';

/** The name of the copy kept in `<archive>/sent/` of a batch file handed over. */
export function sentRecordName(batchFileName: string, fileId: string): string {
  return batchFileName.replace(/\.csv$/, `.${fileId}.csv`);
}

export class FolderReader {
  private readonly cache = new Map<string, { readonly size: number; readonly mtimeMs: number; readonly value: unknown }>();

  constructor(private readonly options: FolderOptions) {}

  /**
   * The answers of one batch file (by its FILE_ID) in the given folders. Files that vanish between
   * listing and reading were moved to the archive meanwhile; list the archive after the inbox to see them.
   */
  async answersFor(batchId: string, fileId: string, dirs: readonly string[]): Promise<Answer[]> {
    const answers: Answer[] = [];
    for (const dir of dirs) {
      for (const answer of await this.answersIn(dir, batchId)) if (answer.file.header.fileId === fileId) answers.push(answer);
    }
    return answers;
  }

  /** Everything lookup needs, read now. Throws FolderReadError. */
  async snapshot(): Promise<FolderSnapshot> {
    const { inboxDir, archiveDir } = this.options;
    // The inbox before the archive: a file moved from one to the other meanwhile shows in the archive.
    const answers = [...(await this.answersIn(inboxDir)), ...(await this.answersIn(archiveDir))];
    const sent = await this.sentRecords();
    const outbox = await this.outboxState();
    return new FolderSnapshot(answers, sent, outbox);
  }

  private async answersIn(dir: string, batchId?: string): Promise<Answer[]> {
    const answers: Answer[] = [];
    for (const name of await this.list(dir)) {
      const parsed = parseFileName(this.options.prefix, name);
      if (!parsed || (parsed.kind !== 'ack' && parsed.kind !== 'rej') || (batchId !== undefined && parsed.id !== batchId)) continue;
      const kind = parsed.kind;
      const file = await this.parsed(join(dir, name), (text) => (kind === 'ack' ? readAckFile(text) : readRejFile(text)));
      if (file !== undefined) answers.push({ kind, dir, name, file } as Answer);
    }
    return answers;
  }

  private async sentRecords(): Promise<SentRecord[]> {
    const dir = join(this.options.archiveDir, SENT_FOLDER);
    let names: string[];
    try {
      names = await listNames(dir);
    } catch (error) {
      if (isCode(error, 'ENOENT')) return [];
      throw new FolderReadError(folderUnreadable(error, dir));
    }
    const pattern = new RegExp(`^${this.options.prefix}_([A-Za-z0-9-]{1,64})\\.([A-Za-z0-9-]{1,64})\\.csv$`);
    const records: SentRecord[] = [];
    for (const name of names) {
      const match = pattern.exec(name);
      if (!match) continue;
      const keys = await this.parsed(join(dir, name), (text) => new Set(readBatchFile(text).lines.map((line) => line.journalName)));
      if (keys !== undefined) records.push({ name, batchId: match[1], fileId: match[2], keys });
    }
    return records;
  }

  /** Batch id → FILE_ID of each batch file in the outbox, and the FILE_IDs of temp files there. */
  private async outboxState(): Promise<OutboxState> {
    const { outboxDir, prefix } = this.options;
    const finals = new Map<string, string>();
    const temps = new Set<string>();
    const tempPattern = new RegExp(`^\\.${prefix}_[A-Za-z0-9-]{1,64}\\.csv\\.([A-Za-z0-9-]{1,64})\\.tmp$`);
    for (const name of await this.list(outboxDir)) {
      const temp = tempPattern.exec(name);
      if (temp) {
        temps.add(temp[1]);
        continue;
      }
      const parsed = parseFileName(prefix, name);
      if (parsed?.kind !== 'batch') continue;
      // A file the ERP picks up meanwhile is simply no longer there; one that does not read is not ours.
      const text = await readIfPresent(join(outboxDir, name));
      const fileId = text === undefined ? undefined : /^(?:\uFEFF)?H,[^,\n]*,[^,\n]*,([A-Za-z0-9-]{1,64}),/.exec(text)?.[1];
      if (fileId !== undefined) finals.set(parsed.id, fileId);
    }
    return { finals, temps };
  }

  private async list(dir: string): Promise<string[]> {
    try {
      return await listNames(dir);
    } catch (error) {
      throw new FolderReadError(folderUnreadable(error, dir));
    }
  }

  /** A file parsed (from the cache when unchanged), or undefined when it vanished. Unreadable: FolderReadError. */
  private async parsed<T>(path: string, parse: (text: string) => T): Promise<T | undefined> {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      if (isCode(error, 'ENOENT')) return undefined;
      throw new FolderReadError(folderUnreadable(error, path));
    }
    const cached = this.cache.get(path);
    if (cached && cached.size === info.size && cached.mtimeMs === info.mtimeMs) return cached.value as T;
    const text = await readIfPresent(path).catch((error: unknown) => {
      throw new FolderReadError(folderUnreadable(error, path));
    });
    if (text === undefined) return undefined;
    let value: T;
    try {
      value = parse(text);
    } catch (error) {
      if (error instanceof LayoutError) throw new FolderReadError(answerUnreadable(path, error.message));
      throw error;
    }
    this.cache.set(path, { size: info.size, mtimeMs: info.mtimeMs, value });
    return value;
  }
}

interface OutboxState {
  readonly finals: ReadonlyMap<string, string>;
  readonly temps: ReadonlySet<string>;
}

/** Whether the answers of one file cover all its journals (one of the two files may come later). */
export function answersComplete(answers: readonly Answer[]): boolean {
  const rej = answers.find((answer) => answer.kind === 'rej');
  if (rej?.kind === 'rej' && rej.file.fileRejections.length > 0) return true;
  const header = answers[0]?.file.header;
  if (header === undefined) return false;
  const hasAck = answers.some((answer) => answer.kind === 'ack');
  return (header.acceptedCount === 0 || hasAck) && (header.rejectedCount === 0 || rej !== undefined);
}

export class FolderSnapshot {
  private readonly found = new Map<string, { documentId: string; batchId: string }>();
  private readonly answersByFile = new Map<string, Answer[]>();

  constructor(
    answers: readonly Answer[],
    private readonly sent: readonly SentRecord[],
    private readonly outbox: OutboxState,
  ) {
    // The earliest import wins when (by a fault elsewhere) a key was imported twice.
    const ordered = [...answers].sort((a, b) => (a.file.header.processedAt < b.file.header.processedAt ? -1 : a.file.header.processedAt > b.file.header.processedAt ? 1 : a.name < b.name ? -1 : 1));
    for (const answer of ordered) {
      const fileKey = `${answer.file.header.batchId}/${answer.file.header.fileId}`;
      this.answersByFile.set(fileKey, [...(this.answersByFile.get(fileKey) ?? []), answer]);
      const batchId = answer.file.header.batchId;
      if (answer.kind === 'ack') {
        for (const journal of answer.file.accepted) if (!this.found.has(journal.journalName)) this.found.set(journal.journalName, { documentId: journal.journalId, batchId });
      } else {
        for (const line of answer.file.rejected) {
          if (line.reasonCode === 'DUPLICATE_JOURNAL' && line.journalId !== '' && !this.found.has(line.journalName)) this.found.set(line.journalName, { documentId: line.journalId, batchId });
        }
      }
    }
  }

  /** found > pending > conflict > absent: an acknowledgement settles it; an unanswered file holding the key means "not yet". */
  stateOf(key: string): KeyState {
    const found = this.found.get(key);
    if (found) return { status: 'found', ...found };
    let conflict: KeyState | undefined;
    for (const record of this.sent) {
      if (!record.keys.has(key)) continue;
      const answers = this.answersByFile.get(`${record.batchId}/${record.fileId}`) ?? [];
      const batchFile = record.name.replace(`.${record.fileId}.csv`, '.csv');
      if (answers.length === 0 || (!answersComplete(answers) && !mentions(answers, key))) {
        if (this.outbox.finals.get(record.batchId) === record.fileId) return { status: 'pending', batchId: record.batchId, fileName: batchFile, where: 'outbox' };
        // A temp file left without its final name: finsync stopped before handing it over.
        if (answers.length === 0 && this.outbox.temps.has(record.fileId)) continue;
        return { status: 'pending', batchId: record.batchId, fileName: batchFile, where: 'erp' };
      }
      const duplicate = duplicateBatchOf(answers);
      if (duplicate) conflict = { status: 'conflict', batchId: record.batchId, ...duplicate };
    }
    return conflict ?? { status: 'absent' };
  }
}

function mentions(answers: readonly Answer[], key: string): boolean {
  return answers.some((answer) => (answer.kind === 'ack' ? answer.file.accepted.some((a) => a.journalName === key) : answer.file.rejected.some((r) => r.journalName === key)));
}

/** A DUPLICATE_BATCH refusal among the answers: the ERP says it holds the batch, though no acknowledgement names the key. */
function duplicateBatchOf(answers: readonly Answer[]): { answerName: string; rejection: FileRejection; raw: string } | undefined {
  for (const answer of answers) {
    if (answer.kind !== 'rej') continue;
    const index = answer.file.fileRejections.findIndex((f) => f.reasonCode === 'DUPLICATE_BATCH');
    if (index >= 0) return { answerName: answer.name, rejection: answer.file.fileRejections[index], raw: answer.file.raw.fileRejections[index] };
  }
  return undefined;
}
