/**
 * The reconciliation engine: three sides of unsorted lines in, breaks out through a callback, and
 * the counts, completeness and balances as the result. Streaming and bounded in memory by hash
 * partitioning (a Grace hash join):
 *
 * 1. Partition: every line of every side is read once, checked, added to its balance total, and
 *    appended to one of P temp files chosen by a hash of its key, with a one-letter side tag.
 *    All lines of a key, from all three sides, land in the same file.
 * 2. Compare: each file in turn is read whole, its lines gathered per key (compare-key.ts), every
 *    key classified and its breaks handed to `onBreak`; then the file is deleted.
 *
 * Threads: with `threads` > 1 (reconcileFiles's default for a large input), worker threads do
 * both phases (worker-pool.ts): in phase 1 each reads a byte range of the side files (cut at line
 * starts) into partition files of its own; in phase 2 each compares whole partitions, handed out in
 * order. The calling thread merges the balances and calls onBreak in partition order; a
 * partition's breaks are sorted by key, so the output is the same whatever the number of threads.
 * Lines from a LineSource other than a file are partitioned on the calling thread.
 *
 * Memory: phase 1 holds per thread one read chunk (64 KB) with its lines, P write buffers of 64 KB,
 * and one total per entity × currency × period × account; phase 2 holds per thread one partition:
 * its text (about input bytes ÷ P), an Int32 pair per line, one entry per key and its breaks; the
 * calling thread holds the breaks of at most 2 × threads partitions waiting for their turn.
 * reconcileFiles sets P from the input size (PARTITION_INPUT_BYTES of CSV per partition), so peak
 * memory is about base + T × (thread base + 64 KB × P + c × PARTITION_INPUT_BYTES) for T threads,
 * whatever the input size (the bench measured a peak RSS of about 330 MB for 3 × 1M lines in 26
 * partitions on one thread, V8 letting the heap grow before it collects). Not bounded: a single key
 * with millions of lines (hashing cannot split one key), and the balance totals, which grow with
 * the number of groups, not of lines. Disk: about the input's size again, freed partition by partition.
 *
 * Why not an external sort and merge: hashing needs one write and one read of the data and no
 * comparisons of keys; a sort needs log-many merge passes, and the join needs no order.
 */
import { mkdtemp, rm, stat, unlink } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { addTally, comparePartition, newTally, type ComparedPartition } from './compare-partition.ts';
import { readHeader, readLineFile } from './line-file.ts';
import { BalanceTotals, PartitionFiles, partitionPath, partitionSource } from './partition-files.ts';
import { splitRanges, WorkerPool } from './worker-pool.ts';
import { SIDES, type Break, type LineSource, type ReconcileProgress, type ReconcileResult, type Side } from './types.ts';

/**
 * Input CSV bytes per partition that reconcileFiles aims at. On the bench's data (210 MB), fewer
 * and larger partitions were no faster (4 to 32 partitions within 0.3 s of each other).
 */
export const PARTITION_INPUT_BYTES = 8 * 1024 * 1024;
export const PARTITIONS_MAX = 4096;
/** Below this much input (CSV, or partition files written), starting worker threads (about 0.1 s each, tsx compiling the sources again) is not worth it. */
export const THREADS_INPUT_BYTES_MIN = 16 * 1024 * 1024;
export const THREADS_MAX = 16;

export interface ReconcileOptions {
  /** Number of partition files (at least 1). reconcileFiles derives it from the input size. */
  readonly partitions: number;
  /** Where the partition files go (a fresh folder inside it, removed at the end); default os.tmpdir(). */
  readonly tempDir?: string;
  /** Called once per break; breaks are never collected beyond a few partitions'. */
  readonly onBreak: (found: Break) => void;
  /** Called after every batch read and every partition compared. */
  readonly onProgress?: (progress: ReconcileProgress) => void;
  /**
   * Threads doing the work, 1 to THREADS_MAX: 1 runs everything on the calling thread; more start
   * that many worker threads, the calling thread only coordinating. Default: os.availableParallelism()
   * (at most 4) when the input is at least THREADS_INPUT_BYTES_MIN, else 1. The result and the
   * order of the breaks are the same for any number.
   */
  readonly threads?: number;
}

/** matched ÷ approved in percent with `decimals` decimals, rounded half up, from integers only. */
export function formatPercent(matched: number, approved: number, decimals = 2): string | null {
  if (approved === 0) return null;
  const scale = 10n ** BigInt(decimals);
  const scaled = (BigInt(matched) * 100n * scale * 2n + BigInt(approved)) / (BigInt(approved) * 2n);
  const whole = scaled / scale;
  return decimals === 0 ? `${whole}` : `${whole}.${(scaled % scale).toString().padStart(decimals, '0')}`;
}

function defaultThreads(inputBytes: number): number {
  return inputBytes >= THREADS_INPUT_BYTES_MIN ? Math.min(4, availableParallelism()) : 1;
}

function checkOptions(options: Omit<ReconcileOptions, 'partitions'>, partitions: number): void {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > PARTITIONS_MAX) throw new Error(`Assertion failed: partitions must be an integer from 1 to ${PARTITIONS_MAX}, got ${partitions}`);
  const { threads } = options;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1 || threads > THREADS_MAX)) throw new Error(`Assertion failed: threads must be an integer from 1 to ${THREADS_MAX}, got ${threads}`);
}

/** What phase 1 leaves for phase 2. */
interface Partitioned {
  readonly balances: BalanceTotals;
  /** Phase-1 writers: partition i is the file of each writer (partitionPath). */
  readonly writers: number;
}

/** The run around both phases: the temp folder, the progress, phase 2 (on this thread or in the pool) and the result. */
async function runPhases(options: ReconcileOptions, getPool: (bytesWritten: number) => WorkerPool | undefined, partition: (dir: string, linesRead: Record<Side, number>, report: () => void) => Promise<Partitioned & { bytesWritten: number }>): Promise<ReconcileResult> {
  const { partitions } = options;
  const dir = await mkdtemp(join(options.tempDir ?? tmpdir(), 'finsync-reconcile-'));
  const linesRead: Record<Side, number> = { platform: 0, finsync: 0, erp: 0 };
  let partitionsDone = 0;
  const report = (phase: ReconcileProgress['phase']) => options.onProgress?.({ phase, linesRead: { ...linesRead }, partitionsDone, partitions });
  let pool: WorkerPool | undefined;
  try {
    const { balances, writers, bytesWritten } = await partition(dir, linesRead, () => report('partition'));
    pool = getPool(bytesWritten);
    const pathsOf = (i: number) => Array.from({ length: writers }, (_, w) => partitionPath(dir, w, i));
    const tally = newTally();
    const handOn = (compared: ComparedPartition) => {
      addTally(tally, compared.tally);
      for (const found of compared.breaks) options.onBreak(found);
      partitionsDone++;
      report('compare');
    };
    if (pool) await pool.compare(partitions, pathsOf, (_, compared) => handOn(compared));
    else {
      for (let i = 0; i < partitions; i++) {
        handOn(await comparePartition(pathsOf(i)));
        for (const path of pathsOf(i)) await unlink(path);
      }
    }
    return {
      breaks: tally.breaks,
      completeness: { matchedKeys: tally.matchedKeys, approvedKeys: tally.approvedKeys, percent: formatPercent(tally.matchedKeys, tally.approvedKeys) },
      balances: balances.rows(),
      linesRead,
      keys: tally.keys,
      partitions,
    };
  } finally {
    await pool?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Reconciles three sides; the breaks go to `options.onBreak` in partition order, sorted by key within a partition. */
export async function reconcile(sources: Readonly<Record<Side, LineSource>>, options: ReconcileOptions): Promise<ReconcileResult> {
  checkOptions(options, options.partitions);
  for (const side of SIDES) if (sources[side].side !== side) throw new Error(`Assertion failed: the ${side} source is for side ${sources[side].side}`);
  const getPool = (bytesWritten: number) => {
    const threads = options.threads ?? defaultThreads(bytesWritten);
    return threads > 1 ? new WorkerPool(threads) : undefined;
  };
  return runPhases(options, getPool, async (dir, linesRead, report) => {
    const files = new PartitionFiles(dir, options.partitions, 0);
    const balances = new BalanceTotals();
    try {
      for (const side of SIDES) await partitionSource(sources[side], files, balances, (lines) => ((linesRead[side] += lines), report()));
    } finally {
      files.close();
    }
    return { balances, writers: 1, bytesWritten: files.bytesWritten };
  });
}

/** The number of partitions for this many bytes of input CSV. */
export function partitionsFor(inputBytes: number): number {
  return Math.min(PARTITIONS_MAX, Math.max(1, Math.ceil(inputBytes / PARTITION_INPUT_BYTES)));
}

/** Reconciles three CSV files (format: line-file.ts), with the number of partitions set from their size unless given. */
export async function reconcileFiles(paths: Readonly<Record<Side, string>>, options: Omit<ReconcileOptions, 'partitions'> & { readonly partitions?: number }): Promise<ReconcileResult> {
  const sizes: number[] = [];
  for (const side of SIDES) sizes.push((await stat(paths[side])).size);
  const bytes = sizes.reduce((a, b) => a + b, 0);
  const partitions = options.partitions ?? partitionsFor(bytes);
  checkOptions(options, partitions);
  const threads = options.threads ?? defaultThreads(bytes);
  if (threads === 1) {
    const sources = { platform: readLineFile(paths.platform, 'platform'), finsync: readLineFile(paths.finsync, 'finsync'), erp: readLineFile(paths.erp, 'erp') };
    return reconcile(sources, { ...options, partitions, threads });
  }
  const headers: Awaited<ReturnType<typeof readHeader>>[] = [];
  for (const side of SIDES) headers.push(await readHeader(paths[side], side));
  const pool = new WorkerPool(threads);
  try {
    return await runPhases({ ...options, partitions }, () => pool, async (dir, linesRead, report) => {
      const files = SIDES.map((side, i) => ({ path: paths[side], side, size: sizes[i], header: headers[i].header, headerEnd: headers[i].end }));
      const ranges = await splitRanges(files, threads);
      const entries = await pool.partition(dir, partitions, ranges, (side, lines) => ((linesRead[side] += lines), report()));
      const balances = new BalanceTotals();
      for (const mine of entries) balances.merge(mine);
      return { balances, writers: threads, bytesWritten: bytes };
    });
  } finally {
    await pool.stop();
  }
}
