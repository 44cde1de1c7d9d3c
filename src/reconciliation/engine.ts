/**
 * The reconciliation engine: three sides of unsorted lines in, breaks out through a callback, and
 * the counts, completeness and balances as the result. Streaming and bounded in memory by hash
 * partitioning (a Grace hash join):
 *
 * 1. Partition: every line of every side is read once, checked, added to its balance total, and
 *    appended as a binary record (partition-record.ts: side, status, balance group, amount, key,
 *    document) to one of P temp files chosen by a hash of its key. All lines of a key, from all
 *    three sides, land in the same file. A CSV file is read as bytes (partition-csv.ts), without a
 *    string or an object per line; lines from any other source are encoded from their objects
 *    (partition-files.ts) into the same records.
 * 2. Compare: each file in turn is read whole into a buffer, its records numbered by key (a hash
 *    table over the key's bytes) and ordered by key (a counting sort), every key classified and its
 *    breaks handed to `onBreak`; then the file is deleted. A key that makes no break (nearly all)
 *    is decided on numbers alone (compare-key.ts's KeyNets); any other goes through classifyKey
 *    with strings, so only breaks make objects.
 *
 * The profile of the bench before this design (text partition files): phase 1 spent its time
 * splitting CSV text, making a ReconLine per line, building the partition row as a string and
 * collecting the garbage; phase 2 parsing the same text again into strings and numbers per line.
 *
 * Threads: with `threads` > 1 (reconcileFiles's default for a large input), the calling thread and
 * threads − 1 worker threads take the work as they come free (worker-pool.ts): in phase 1 units of
 * byte ranges of the side files (cut at line starts, handed out in file order), each unit written
 * into partition files of its own; in phase 2 whole partitions, handed out in order. The calling
 * thread merges the balances and calls onBreak in partition order; a partition's breaks are sorted
 * by key, so the output is the same whatever the number of threads. Lines from a LineSource other
 * than a file are partitioned on the calling thread.
 *
 * Memory: phase 1 holds per thread one read chunk (256 KB), P write buffers of 64 KB, and one total
 * per entity × currency × period × account; phase 2 holds per thread one partition: its records
 * (about input bytes ÷ P: a record is about as long as its CSV line), Int32 arrays per line and
 * per key, and its breaks; the calling thread holds the breaks of at most 2 × (2 × threads − 1)
 * partitions waiting for their turn (a worker thread is given two at a time). reconcileFiles sets P from the input size
 * (PARTITION_INPUT_BYTES of CSV per partition), so peak memory is about base + T × (thread base +
 * 64 KB × P + c × PARTITION_INPUT_BYTES) for T threads, whatever the input size (the bench
 * measured a peak RSS of about 140 MB for 3 × 1M lines in 26 partitions on one thread). Not
 * bounded: a single key with millions of lines (hashing cannot split one key), and the balance
 * totals, which grow with the number of groups, not of lines. Disk: about the input's size again,
 * freed partition by partition.
 *
 * Why not an external sort and merge: hashing needs one write and one read of the data and no
 * comparisons of keys; a sort needs log-many merge passes, and the join needs no order.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BalanceTotals, type BalanceEntry } from './balance-totals.ts';
import { addTally, newTally, type ComparedPartition } from './compare-partition.ts';
import { fileOfSource, readHeader, readLineFile } from './line-file.ts';
import { partitionCsvRange } from './partition-csv.ts';
import { CompareTasks } from './phase-tasks.ts';
import { PartitionFiles, partitionPath, partitionSource } from './partition-files.ts';
import { splitRanges, WorkerPool } from './worker-pool.ts';
import { SIDES, type Break, type LineSource, type ReconcileProgress, type ReconcileResult, type Side } from './types.ts';

/**
 * Input CSV bytes per partition that reconcileFiles aims at. On the bench's data (210 MB), fewer
 * and larger partitions were no faster (4 to 32 partitions within 0.3 s of each other).
 */
export const PARTITION_INPUT_BYTES = 8 * 1024 * 1024;
export const PARTITIONS_MAX = 4096;
/**
 * Below this much input (CSV, or partition files written), worker threads are not worth starting:
 * one takes 0.2 to 0.3 s and most of a core to start (tsx registers itself in the thread and
 * compiles the sources again), and warms up its own JIT. On the bench's 2-core machine, two
 * threads against one: 0.46–0.49 s against 0.27–0.28 s at 26 MB, 0.66–0.69 s against 0.49–0.52 s
 * at 63 MB, 1.20–1.25 s against 1.26–1.35 s at 210 MB, 2.07–2.08 s against 2.39–2.59 s at 400 MB.
 */
export const THREADS_INPUT_BYTES_MIN = 256 * 1024 * 1024;
export const THREADS_MAX = 16;
/**
 * Phase-1 units per thread: threads take units as they come free, so one that starts late (a
 * worker thread starting) or runs slowly (a busy machine) does less, not the others wait.
 */
const UNITS_PER_THREAD = 4;

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
   * threads − 1 worker threads, the calling thread working with them. Default:
   * os.availableParallelism() (at most 4) when the input is at least THREADS_INPUT_BYTES_MIN, else
   * 1. The result and the order of the breaks are the same for any number.
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
  /** Each phase-1 writer's balance groups (BalanceTotals.entries()), in writer order: partition i is the file of each writer (partitionPath). */
  readonly groups: readonly (readonly BalanceEntry[])[];
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
    const { balances, groups, bytesWritten } = await partition(dir, linesRead, () => report('partition'));
    pool = getPool(bytesWritten);
    const pathsOf = (i: number) => groups.map((_, w) => partitionPath(dir, w, i));
    const tally = newTally();
    const handOn = (compared: ComparedPartition) => {
      addTally(tally, compared.tally);
      for (const found of compared.breaks) options.onBreak(found);
      partitionsDone++;
      report('compare');
    };
    if (pool) await pool.compare(partitions, pathsOf, groups, (_, compared) => handOn(compared));
    else {
      const tasks = new CompareTasks();
      for (let i = 0; i < partitions; i++) handOn(await tasks.run(pathsOf(i), i === 0 ? groups : undefined));
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
      for (const side of SIDES) {
        const onLines = (lines: number) => ((linesRead[side] += lines), report());
        const path = fileOfSource(sources[side]);
        if (path === undefined) await partitionSource(sources[side], files, balances, onLines);
        else await partitionCsvRange(path, side, { start: 0, end: Infinity, header: (await readHeader(path, side)).header }, files, balances, onLines);
      }
    } finally {
      files.close();
    }
    return { balances, groups: [balances.entries()], bytesWritten: files.bytesWritten };
  });
}

/** The number of partitions for this many bytes of input CSV. */
export function partitionsFor(inputBytes: number): number {
  return Math.min(PARTITIONS_MAX, Math.max(1, Math.ceil(inputBytes / PARTITION_INPUT_BYTES)));
}

/** Reconciles three CSV files (format: line-file.ts), with the number of partitions set from their size unless given. */
export async function reconcileFiles(paths: Readonly<Record<Side, string>>, options: Omit<ReconcileOptions, 'partitions'> & { readonly partitions?: number }): Promise<ReconcileResult> {
  const sizes = await fileSizes(paths);
  const bytes = sizes.reduce((a, b) => a + b, 0);
  const partitions = options.partitions ?? partitionsFor(bytes);
  checkOptions(options, partitions);
  const threads = options.threads ?? defaultThreads(bytes);
  if (threads === 1) return reconcile({ platform: readLineFile(paths.platform, 'platform'), finsync: readLineFile(paths.finsync, 'finsync'), erp: readLineFile(paths.erp, 'erp') }, { ...options, partitions, threads });
  const pool = new WorkerPool(threads);
  try {
    return await reconcileFilesInPool(pool, paths, { ...options, partitions });
  } finally {
    await pool.stop();
  }
}

async function fileSizes(paths: Readonly<Record<Side, string>>): Promise<number[]> {
  const sizes: number[] = [];
  for (const side of SIDES) sizes.push((await stat(paths[side])).size);
  return sizes;
}

/**
 * reconcileFiles on the threads of `pool` (stopped at the end). Internal: the tests give it a pool
 * whose worker threads have started, so that on a small input they take part.
 */
export async function reconcileFilesInPool(pool: WorkerPool, paths: Readonly<Record<Side, string>>, options: ReconcileOptions): Promise<ReconcileResult> {
  checkOptions(options, options.partitions);
  const sizes = await fileSizes(paths);
  const headers: Awaited<ReturnType<typeof readHeader>>[] = [];
  for (const side of SIDES) headers.push(await readHeader(paths[side], side));
  return runPhases(options, () => pool, async (dir, linesRead, report) => {
    const files = SIDES.map((side, i) => ({ path: paths[side], side, size: sizes[i], header: headers[i].header, headerEnd: headers[i].end }));
    const units = await splitRanges(files, UNITS_PER_THREAD * pool.size);
    const groups = await pool.partition(dir, options.partitions, units, (side, lines) => ((linesRead[side] += lines), report()));
    const balances = new BalanceTotals();
    for (const mine of groups) balances.merge(mine);
    return { balances, groups, bytesWritten: sizes.reduce((a, b) => a + b, 0) };
  });
}
