/**
 * The engine's worker threads (engine.ts decides when to use them): phase 1 over byte ranges of the
 * side files, each worker writing its own partition files, and phase 2 with partitions handed out
 * in order. Results come back to the calling thread, which merges the balances and calls onBreak
 * in partition order, so the output is the same as with one thread.
 */
import { open } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import type { ComparedPartition, Tally } from './compare-partition.ts';
import { ReconciliationInputError, type Header, type LineRange } from './line-file.ts';
import type { BalanceEntry } from './partition-files.ts';
import type { Break, Side } from './types.ts';

/** Part of one side file for a worker. */
export interface FileRange {
  readonly path: string;
  readonly side: Side;
  readonly range: LineRange;
}

export type WorkerTask =
  | { readonly kind: 'partition'; readonly dir: string; readonly partitions: number; readonly writer: number; readonly ranges: readonly FileRange[] }
  | { readonly kind: 'compare'; readonly paths: readonly string[] };

export type WorkerReply =
  | { readonly kind: 'progress'; readonly side: Side; readonly lines: number }
  | { readonly kind: 'partitioned'; readonly balances: BalanceEntry[] }
  /** `line` counts from 1 at the start of ranges[range]. */
  | { readonly kind: 'inputError'; readonly range: number; readonly line: number; readonly column: string; readonly detail: string }
  | { readonly kind: 'compared'; readonly tally: Tally; readonly breaks: Break[] }
  | { readonly kind: 'failed'; readonly message: string; readonly stack: string };

/**
 * A worker's young generation, as large as the main thread's default: with the smaller default of
 * a worker thread, comparing a partition took 1.6 times as long (more scavenges, more promoted).
 */
const YOUNG_GENERATION_MB = 48;
const BOOT = new URL('./worker-boot.mjs', import.meta.url);
const ENTRY = new URL('./reconcile-worker.ts', import.meta.url).href;

interface Pending {
  readonly resolve: (reply: WorkerReply) => void;
  readonly reject: (error: Error) => void;
  readonly onProgress?: (reply: WorkerReply & { kind: 'progress' }) => void;
}

/** One worker thread running one task at a time. */
class EngineWorker {
  private readonly worker = new Worker(BOOT, { workerData: { entry: ENTRY }, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
  private pending: Pending | undefined;

  constructor() {
    this.worker.on('message', (reply: WorkerReply) => this.receive(reply));
    this.worker.on('error', (error) => this.settle(undefined, error));
    this.worker.on('exit', (code) => this.settle(undefined, new Error(`A reconciliation worker thread stopped (exit code ${code}) before it finished its task`)));
  }

  /** Resolves with the task's last reply (never `progress`); rejects on `failed`. */
  run(task: WorkerTask, onProgress?: Pending['onProgress']): Promise<WorkerReply> {
    if (this.pending) throw new Error('Assertion failed: a reconciliation worker was given a second task');
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject, onProgress };
      this.worker.postMessage(task);
    });
  }

  private receive(reply: WorkerReply): void {
    if (reply.kind === 'progress') this.pending?.onProgress?.(reply);
    else if (reply.kind === 'failed') this.settle(undefined, Object.assign(new Error(reply.message), { stack: reply.stack }));
    else this.settle(reply, undefined);
  }

  private settle(reply: WorkerReply | undefined, error: Error | undefined): void {
    const pending = this.pending;
    this.pending = undefined;
    if (error) pending?.reject(error);
    else if (reply) pending?.resolve(reply);
  }

  async stop(): Promise<void> {
    this.pending = undefined;
    await this.worker.terminate();
  }
}

export class WorkerPool {
  private readonly workers: EngineWorker[];

  constructor(size: number) {
    this.workers = Array.from({ length: size }, () => new EngineWorker());
  }

  get size(): number {
    return this.workers.length;
  }

  /** Stops every thread; safe to call at any time, also while tasks run. */
  async stop(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.stop()));
  }

  /**
   * Phase 1: worker w partitions `ranges[w]` into its own files (writer w). Returns every worker's
   * balance entries; throws the input error that comes first in side and file order.
   */
  async partition(dir: string, partitions: number, ranges: readonly (readonly FileRange[])[], onLines: (side: Side, lines: number) => void): Promise<BalanceEntry[][]> {
    const replies = await Promise.all(ranges.map((mine, writer) => this.workers[writer].run({ kind: 'partition', dir, partitions, writer, ranges: mine }, (p) => onLines(p.side, p.lines))));
    for (let writer = 0; writer < replies.length; writer++) {
      const reply = replies[writer];
      if (reply.kind === 'inputError') {
        const { path, range } = ranges[writer][reply.range];
        throw new ReconciliationInputError(path, (await newlinesBefore(path, range.start)) + reply.line, reply.column, reply.detail);
      }
    }
    return replies.map((reply) => (reply.kind === 'partitioned' ? reply.balances : []));
  }

  /**
   * Phase 2: partitions handed to free workers in order; `onCompared` is called in partition order.
   * A result waits for the ones before it, and workers run at most 2 × size partitions ahead of
   * the last one handed on, so at most that many results are held.
   */
  async compare(partitions: number, pathsOf: (partition: number) => string[], onCompared: (partition: number, compared: ComparedPartition) => void): Promise<void> {
    const done = new Map<number, ComparedPartition>();
    const window = 2 * this.workers.length;
    let nextTask = 0;
    let nextHandedOn = 0;
    let failed = false;
    let wake: (() => void)[] = [];
    const loop = async (worker: EngineWorker) => {
      while (!failed && nextTask < partitions) {
        if (nextTask >= nextHandedOn + window) {
          await new Promise<void>((resolve) => wake.push(resolve));
          continue;
        }
        const partition = nextTask++;
        const reply = await worker.run({ kind: 'compare', paths: pathsOf(partition) });
        if (reply.kind !== 'compared') throw new Error(`Assertion failed: a compare task answered ${reply.kind}`);
        done.set(partition, { tally: reply.tally, breaks: reply.breaks });
        for (let next = done.get(nextHandedOn); next !== undefined; next = done.get(nextHandedOn)) {
          done.delete(nextHandedOn);
          onCompared(nextHandedOn++, next);
        }
        (wake.forEach((resolve) => resolve()), (wake = []));
      }
    };
    try {
      await Promise.all(this.workers.map(loop));
    } catch (error) {
      failed = true;
      wake.forEach((resolve) => resolve());
      throw error;
    }
  }
}

/** Line ends in a file before `offset`: the line number of a range's first line, less one. */
async function newlinesBefore(path: string, offset: number): Promise<number> {
  if (offset === 0) return 0;
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    let count = 0;
    for (let position = 0; position < offset; ) {
      const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, offset - position), position);
      if (bytesRead === 0) break;
      for (let i = 0; i < bytesRead; i++) if (buffer[i] === 10) count++;
      position += bytesRead;
    }
    return count;
  } finally {
    await file.close();
  }
}

/** Cuts the side files, taken as one sequence of bytes, into `workers` ranges of about equal size at line starts. */
export async function splitRanges(files: readonly { readonly path: string; readonly side: Side; readonly size: number; readonly header: Header; readonly headerEnd: number }[], workers: number): Promise<FileRange[][]> {
  const bases: number[] = [];
  let total = 0;
  for (const file of files) (bases.push(total), (total += file.size));
  const cuts = [0];
  for (let w = 1; w < workers; w++) {
    const target = Math.floor((total * w) / workers);
    let f = 0;
    while (f + 1 < files.length && bases[f + 1] <= target) f++;
    cuts.push(Math.max(cuts[cuts.length - 1], bases[f] + (await lineStartFrom(files[f].path, Math.max(target - bases[f], files[f].headerEnd), files[f].size))));
  }
  cuts.push(total);
  return cuts.slice(0, -1).map((from, w) => {
    const to = cuts[w + 1];
    const mine: FileRange[] = [];
    files.forEach((file, f) => {
      const start = Math.max(from, bases[f]) - bases[f];
      const end = Math.min(to, bases[f] + file.size) - bases[f];
      if (start < end) mine.push({ path: file.path, side: file.side, range: { start, end, header: file.header } });
    });
    return mine;
  });
}

/** The first line start at or after `offset` (the file's size when no line starts there). */
async function lineStartFrom(path: string, offset: number, size: number): Promise<number> {
  if (offset >= size) return size;
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1 << 16);
    for (let position = offset - 1; position < size; position += buffer.length) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
      const newline = buffer.subarray(0, bytesRead).indexOf(10);
      if (newline >= 0) return position + newline + 1;
      if (bytesRead === 0) break;
    }
    return size;
  } finally {
    await file.close();
  }
}
