/**
 * The engine on several threads (engine.ts decides when): the calling thread and `threads − 1`
 * worker threads take work as they come free. Phase 1: units of byte ranges of the side files,
 * handed out in file order, each unit written by its own writer into partition files of its own.
 * Phase 2: partitions handed out in order. The calling thread merges the balances and calls
 * onBreak in partition order, so the output is the same as with one thread.
 *
 * The calling thread works too because a worker thread takes about 0.3 s to start (tsx registers
 * itself in the thread and compiles the sources again): with the work handed out as threads come
 * free, the calling thread has done a share of phase 1 by then rather than waiting.
 */
import { open } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import type { BalanceEntry } from './balance-totals.ts';
import type { ComparedPartition, Tally } from './compare-partition.ts';
import { ReconciliationInputError, type Header } from './line-file.ts';
import { CompareTasks, runPartitionTask, type FileRange, type PartitionOutcome, type PartitionTask } from './phase-tasks.ts';
import type { Break, Side } from './types.ts';

export type { FileRange } from './phase-tasks.ts';

type GroupTables = readonly (readonly BalanceEntry[])[];

export type WorkerTask =
  | ({ readonly kind: 'partition' } & PartitionTask)
  /** `groups`: every writer's balance groups (RunGroups), sent with a thread's first compare task of a run. */
  | { readonly kind: 'compare'; readonly paths: readonly string[]; readonly groups?: GroupTables };

export type WorkerReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'progress'; readonly side: Side; readonly lines: number }
  | PartitionOutcome
  | { readonly kind: 'compared'; readonly tally: Tally; readonly breaks: Break[] }
  | { readonly kind: 'failed'; readonly message: string; readonly stack: string };

/**
 * A worker's young generation, as large as the main thread's default: with the smaller default of
 * a worker thread, comparing a partition took 1.6 times as long (more scavenges, more promoted).
 */
const YOUNG_GENERATION_MB = 48;
const BOOT = new URL('./worker-boot.mjs', import.meta.url);
const ENTRY = new URL('./reconcile-worker.ts', import.meta.url).href;

/** A thread that runs tasks one at a time: the calling thread, or a worker thread. */
interface TaskThread {
  /** Settles when the thread can take a task. */
  readonly ready: Promise<void>;
  /**
   * Phase-2 tasks to give it at a time: a worker thread gets its next partition queued, so that
   * it does not wait for the calling thread (busy comparing a partition of its own) to take its
   * answer and hand it another.
   */
  readonly depth: number;
  partition(task: PartitionTask, onLines: (side: Side, lines: number) => void): Promise<PartitionOutcome>;
  compare(paths: readonly string[], groups: GroupTables | undefined): Promise<ComparedPartition>;
  stop(): Promise<void>;
}

/** The calling thread's share: the tasks run right here. */
class CallingThread implements TaskThread {
  readonly ready = Promise.resolve();
  readonly depth = 1;
  private readonly compareTasks = new CompareTasks();

  partition(task: PartitionTask, onLines: (side: Side, lines: number) => void): Promise<PartitionOutcome> {
    return runPartitionTask(task, onLines);
  }

  compare(paths: readonly string[], groups: GroupTables | undefined): Promise<ComparedPartition> {
    return this.compareTasks.run(paths, groups);
  }

  async stop(): Promise<void> {}
}

interface Pending {
  readonly resolve: (reply: WorkerReply) => void;
  readonly reject: (error: Error) => void;
  readonly onProgress?: (reply: WorkerReply & { kind: 'progress' }) => void;
}

/** One worker thread running its tasks one at a time, in the order given. */
class WorkerThread implements TaskThread {
  readonly ready: Promise<void>;
  readonly depth = 2;
  private readonly worker = new Worker(BOOT, { workerData: { entry: ENTRY }, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
  /** The tasks given and not answered yet, the running one first. */
  private pending: Pending[] = [];
  private onReady: ((error?: Error) => void) | undefined;

  constructor() {
    this.ready = new Promise((resolve, reject) => (this.onReady = (error) => (error ? reject(error) : resolve())));
    // Whoever waits for the thread sees a failed start; a pool stopped before anyone waited does not crash on it.
    this.ready.catch(() => undefined);
    this.worker.on('message', (reply: WorkerReply) => this.receive(reply));
    this.worker.on('error', (error) => this.settle(undefined, error));
    this.worker.on('exit', (code) => this.settle(undefined, new Error(`A reconciliation worker thread stopped (exit code ${code}) before it finished its task`)));
  }

  async partition(task: PartitionTask, onLines: (side: Side, lines: number) => void): Promise<PartitionOutcome> {
    const reply = await this.run({ kind: 'partition', ...task }, (p) => onLines(p.side, p.lines));
    if (reply.kind !== 'partitioned' && reply.kind !== 'inputError') throw new Error(`Assertion failed: a partition task answered ${reply.kind}`);
    return reply;
  }

  async compare(paths: readonly string[], groups: GroupTables | undefined): Promise<ComparedPartition> {
    const reply = await this.run({ kind: 'compare', paths, ...(groups && { groups }) });
    if (reply.kind !== 'compared') throw new Error(`Assertion failed: a compare task answered ${reply.kind}`);
    return { tally: reply.tally, breaks: reply.breaks };
  }

  /** Resolves with the task's last reply (never `progress`); rejects on `failed`. The thread answers its tasks in order. */
  private run(task: WorkerTask, onProgress?: Pending['onProgress']): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject, onProgress });
      this.worker.postMessage(task);
    });
  }

  private receive(reply: WorkerReply): void {
    if (reply.kind === 'ready') this.onReady?.();
    else if (reply.kind === 'progress') this.pending[0]?.onProgress?.(reply);
    else if (reply.kind === 'failed') this.settle(undefined, Object.assign(new Error(reply.message), { stack: reply.stack }));
    else this.settle(reply, undefined);
  }

  /** A reply answers the running task; an error of the thread fails every task given. */
  private settle(reply: WorkerReply | undefined, error: Error | undefined): void {
    if (error) {
      this.onReady?.(error);
      const pending = this.pending;
      this.pending = [];
      for (const task of pending) task.reject(error);
    } else if (reply) this.pending.shift()?.resolve(reply);
  }

  async stop(): Promise<void> {
    this.pending = [];
    await this.worker.terminate();
  }
}

export class WorkerPool {
  private readonly threads: TaskThread[];
  /** Tasks (phase-1 units and partitions) each thread has done, the calling thread first. */
  readonly tasksDone: number[];

  /** `threads` threads doing the work: the calling thread and `threads − 1` worker threads, started now. */
  constructor(threads: number) {
    this.threads = [new CallingThread(), ...Array.from({ length: threads - 1 }, () => new WorkerThread())];
    this.tasksDone = this.threads.map(() => 0);
  }

  /** Settles when every worker thread can take tasks. */
  async started(): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.ready));
  }

  get size(): number {
    return this.threads.length;
  }

  /** Stops every worker thread; safe to call at any time, also while tasks run. */
  async stop(): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.stop()));
  }

  /**
   * Phase 1: unit u (`units[u]`, its ranges in file order) is partitioned into the files of writer
   * u by the next thread to come free. Returns every writer's balance entries; throws the input
   * error that comes first in side and file order (once a unit finds one, later units are not
   * started: the first bad line is in that unit or an earlier one).
   */
  async partition(dir: string, partitions: number, units: readonly (readonly FileRange[])[], onLines: (side: Side, lines: number) => void): Promise<BalanceEntry[][]> {
    const outcomes: PartitionOutcome[] = [];
    let next = 0;
    let firstBad = units.length;
    let stopped = false;
    const allTaken = new Taken();
    const take = () => {
      if (stopped || next >= Math.min(units.length, firstBad)) return -1;
      if (next + 1 === units.length) allTaken.done();
      return next++;
    };
    await settleAll(
      this.threads,
      async (thread) => {
        await Promise.race([thread.ready, allTaken.promise]);
        for (let writer = take(); writer >= 0; writer = take()) {
          const outcome = await thread.partition({ dir, partitions, writer, ranges: units[writer] }, onLines);
          this.tasksDone[this.threads.indexOf(thread)]++;
          outcomes[writer] = outcome;
          if (outcome.kind === 'inputError') (firstBad = Math.min(firstBad, writer)), allTaken.done();
        }
      },
      () => ((stopped = true), allTaken.done()),
    );
    const bad = outcomes[firstBad];
    if (bad?.kind === 'inputError') {
      const { path, range } = units[firstBad][bad.range];
      throw new ReconciliationInputError(path, (await newlinesBefore(path, range.start)) + bad.line, bad.column, bad.detail);
    }
    return outcomes.map((outcome) => (outcome.kind === 'partitioned' ? outcome.balances : []));
  }

  /**
   * Phase 2: partitions handed to free threads in order (a worker thread gets `depth` at a time);
   * `onCompared` is called in partition order. A result waits for the ones before it, and threads
   * run at most 2 × (the tasks given at a time) partitions ahead of the last one handed on, so at
   * most that many results are held. `groups`: each phase-1
   * writer's balance groups, which the partition records refer to.
   */
  async compare(partitions: number, pathsOf: (partition: number) => string[], groups: GroupTables, onCompared: (partition: number, compared: ComparedPartition) => void): Promise<void> {
    const done = new Map<number, ComparedPartition>();
    const lanes = this.threads.flatMap((thread) => Array.from({ length: thread.depth }, () => thread));
    const window = 2 * lanes.length;
    let nextTask = 0;
    let nextHandedOn = 0;
    let failed = false;
    let wake: (() => void)[] = [];
    const allTaken = new Taken();
    const stopAll = () => {
      failed = true;
      allTaken.done();
      (wake.forEach((resolve) => resolve()), (wake = []));
    };
    await settleAll(lanes, async (thread) => {
      await Promise.race([thread.ready, allTaken.promise]);
      for (let first = true; !failed && nextTask < partitions; ) {
        if (nextTask >= nextHandedOn + window) {
          await new Promise<void>((resolve) => wake.push(resolve));
          continue;
        }
        const partition = nextTask++;
        if (nextTask === partitions) allTaken.done();
        done.set(partition, await thread.compare(pathsOf(partition), first ? groups : undefined));
        this.tasksDone[this.threads.indexOf(thread)]++;
        first = false;
        for (let next = done.get(nextHandedOn); next !== undefined; next = done.get(nextHandedOn)) {
          done.delete(nextHandedOn);
          onCompared(nextHandedOn++, next);
        }
        (wake.forEach((resolve) => resolve()), (wake = []));
      }
    }, stopAll);
  }
}

/** Settles once every task is taken: a thread still starting then has nothing to wait for. */
class Taken {
  done: () => void = () => undefined;
  readonly promise = new Promise<void>((resolve) => (this.done = resolve));
}

/**
 * Runs `loop` on every thread and waits for all of them; when one fails, `onFailure` makes the
 * others stop taking tasks, and the first error is thrown once none runs any more (so nothing
 * still writes into the temp folder the caller is about to remove).
 */
async function settleAll(threads: readonly TaskThread[], loop: (thread: TaskThread) => Promise<void>, onFailure: () => void): Promise<void> {
  const settled = await Promise.allSettled(
    threads.map((thread) =>
      loop(thread).catch((error: unknown) => {
        onFailure();
        throw error;
      }),
    ),
  );
  const failed = settled.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
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
