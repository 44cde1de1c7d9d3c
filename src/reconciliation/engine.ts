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
 * Memory: phase 1 holds one read chunk (64 KB) with its lines, P write buffers of 64 KB, and one
 * total per entity × currency × period × account; phase 2 holds one partition: its text (about
 * input bytes ÷ P), an Int32 pair per line and one entry per key. reconcileFiles sets P from the
 * input size (PARTITION_INPUT_BYTES of CSV per partition), so peak memory is about
 * base + 64 KB × P + c × PARTITION_INPUT_BYTES whatever the input size (the bench measured a peak
 * RSS of about 330 MB for 3 × 1M lines in 26 partitions, V8 letting the heap grow before it collects). Not bounded: a single key with millions of lines (hashing cannot
 * split one key), and the balance totals, which grow with the number of groups, not of lines.
 * Disk: about the input's size again, freed partition by partition.
 *
 * Why not an external sort and merge: hashing needs one write and one read of the data and no
 * comparisons of keys; a sort needs log-many merge passes, and the join needs no order.
 */
import { mkdtemp, readFile, rm, stat, unlink } from 'node:fs/promises';
import { closeSync, openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addLine, addMinor, classifyKey, isApproved, newKeyState, type SideCode } from './compare-key.ts';
import { checkLine, readLineFile, ReconciliationInputError } from './line-file.ts';
import { BREAK_CLASSES, SIDES, type BalanceRow, type Break, type BreakClass, type LineSource, type LineStatus, type ReconcileProgress, type ReconcileResult, type Side } from './types.ts';

/**
 * Input CSV bytes per partition that reconcileFiles aims at. On the bench's data (210 MB), fewer
 * and larger partitions were no faster (4 to 32 partitions within 0.3 s of each other).
 */
export const PARTITION_INPUT_BYTES = 8 * 1024 * 1024;
export const PARTITIONS_MAX = 4096;
const WRITE_BUFFER_BYTES = 64 * 1024;
const SIDE_CODES: Readonly<Record<Side, SideCode>> = { platform: 'p', finsync: 'f', erp: 'e' };

export interface ReconcileOptions {
  /** Number of partition files (at least 1). reconcileFiles derives it from the input size. */
  readonly partitions: number;
  /** Where the partition files go (a fresh folder inside it, removed at the end); default os.tmpdir(). */
  readonly tempDir?: string;
  /** Called once per break, as soon as it is found; breaks are never collected in memory. */
  readonly onBreak: (found: Break) => void;
  /** Called after every batch read and every partition compared. */
  readonly onProgress?: (progress: ReconcileProgress) => void;
}

/** FNV-1a over the key's UTF-16 code units: cheap, and spreads our hex-digest keys evenly. */
function partitionOf(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % partitions;
}

/**
 * The P temp files of phase 1, each with a 64 KB write buffer. Rows are encoded into the buffer
 * at once rather than concatenated into a string: a string buffer is a rope of every row, which
 * the garbage collector copies over and over until it is written.
 */
class PartitionFiles {
  readonly paths: string[];
  private readonly fds: number[];
  private readonly buffers: Buffer[];
  private readonly used: number[];

  constructor(dir: string, partitions: number) {
    this.paths = Array.from({ length: partitions }, (_, i) => join(dir, `partition-${i}.tsv`));
    this.fds = this.paths.map((path) => openSync(path, 'w'));
    this.buffers = this.paths.map(() => Buffer.allocUnsafe(WRITE_BUFFER_BYTES));
    this.used = this.paths.map(() => 0);
  }

  append(partition: number, text: string): void {
    const buffer = this.buffers[partition];
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    if (this.used[partition] + text.length * 3 > buffer.length) this.flush(partition);
    if (text.length * 3 > buffer.length) writeSync(this.fds[partition], text);
    else this.used[partition] += buffer.write(text, this.used[partition]);
  }

  private flush(partition: number): void {
    writeSync(this.fds[partition], this.buffers[partition], 0, this.used[partition]);
    this.used[partition] = 0;
  }

  close(): void {
    for (let i = 0; i < this.fds.length; i++) {
      this.flush(i);
      closeSync(this.fds[i]);
    }
  }
}

/** Balance totals per entity × currency × period × account: [platform, finsync, erp]. */
type Balances = Map<string, number[]>;

function addBalance(balances: Balances, group: string, sideIndex: number, amountMinor: number): void {
  let totals = balances.get(group);
  if (totals === undefined) balances.set(group, (totals = [0, 0, 0]));
  totals[sideIndex] = addMinor(totals[sideIndex], amountMinor);
}

function balanceRows(balances: Balances): BalanceRow[] {
  return [...balances.keys()].sort().map((group) => {
    const [entity, currency, period, account] = group.split('\t');
    const [platformMinor, finsyncMinor, erpMinor] = balances.get(group)!;
    return { entity, currency, period, account, platformMinor, finsyncMinor, erpMinor, finsyncMinusPlatformMinor: finsyncMinor - platformMinor, erpMinusFinsyncMinor: erpMinor - finsyncMinor };
  });
}

/** Phase 1 for one side: read, check, total, and spread its lines over the partition files. */
async function partitionSide(source: LineSource, files: PartitionFiles, balances: Balances, linesRead: Record<Side, number>, report: () => void): Promise<void> {
  const code = SIDE_CODES[source.side];
  const sideIndex = SIDES.indexOf(source.side);
  const partitions = files.paths.length;
  for await (const batch of source.batches) {
    for (const line of batch) {
      linesRead[source.side]++;
      if (!source.checked) {
        const problem = checkLine(line, source.side);
        if (problem) throw new ReconciliationInputError(source.name, linesRead[source.side], problem.column, problem.detail);
      }
      const { key, entity, currency, period, account, amountMinor, status, document } = line;
      // A recalled line is not approved, but its group still appears (with what the other sides hold there).
      addBalance(balances, `${entity}\t${currency}\t${period}\t${account}`, sideIndex, status === 'recalled' ? 0 : amountMinor);
      files.append(partitionOf(key, partitions), `${code}\t${key}\t${entity}\t${currency}\t${period}\t${account}\t${amountMinor}\t${status}\t${document}\n`);
    }
    report();
  }
}

interface Tally {
  readonly breaks: Record<BreakClass, number>;
  matchedKeys: number;
  approvedKeys: number;
  keys: number;
}

/**
 * Phase 2 for one partition file: number its keys, order its lines by key (a counting sort), then
 * gather and classify one key at a time. Only the key numbers outlive a key's turn, so the garbage
 * collector is not made to carry a per-key object graph for the whole partition.
 */
async function comparePartition(path: string, tally: Tally, onBreak: (found: Break) => void): Promise<void> {
  const text = await readFile(path, 'utf8');
  const keyIds = new Map<string, number>();
  const keys: string[] = [];
  let starts: Int32Array = new Int32Array(1024);
  let ids: Int32Array = new Int32Array(1024);
  let lines = 0;
  for (let start = 0; start < text.length; lines++) {
    const keyEnd = text.indexOf('\t', start + 2);
    const key = text.slice(start + 2, keyEnd);
    let id = keyIds.get(key);
    if (id === undefined) (keyIds.set(key, (id = keys.length)), keys.push(key));
    if (lines === starts.length) (starts = grow(starts), (ids = grow(ids)));
    starts[lines] = start;
    ids[lines] = id;
    start = text.indexOf('\n', keyEnd) + 1;
  }
  keyIds.clear();
  // Counting sort of the lines by key id: `first[id]` … `first[id + 1]` index `order`.
  const first = new Int32Array(keys.length + 1);
  for (let i = 0; i < lines; i++) first[ids[i] + 1]++;
  for (let id = 0; id < keys.length; id++) first[id + 1] += first[id];
  const order = new Int32Array(lines);
  const next = first.slice(0, keys.length);
  for (let i = 0; i < lines; i++) order[next[ids[i]]++] = starts[i];
  for (let id = 0; id < keys.length; id++) {
    const state = newKeyState();
    for (let j = first[id]; j < first[id + 1]; j++) {
      const f = text.slice(order[j], text.indexOf('\n', order[j])).split('\t');
      addLine(state, f[0] as SideCode, f[2], f[3], f[4], f[5], Number(f[6]), f[7] as LineStatus, f[8]);
    }
    const breaks = classifyKey(keys[id], state);
    for (const found of breaks) (tally.breaks[found.class]++, onBreak(found));
    if (isApproved(state)) {
      tally.approvedKeys++;
      if (breaks.length === 0) tally.matchedKeys++;
    }
  }
  tally.keys += keys.length;
}

function grow(array: Int32Array): Int32Array {
  const bigger = new Int32Array(array.length * 2);
  bigger.set(array);
  return bigger;
}

/** matched ÷ approved in percent with `decimals` decimals, rounded half up, from integers only. */
export function formatPercent(matched: number, approved: number, decimals = 2): string | null {
  if (approved === 0) return null;
  const scale = 10n ** BigInt(decimals);
  const scaled = (BigInt(matched) * 100n * scale * 2n + BigInt(approved)) / (BigInt(approved) * 2n);
  const whole = scaled / scale;
  return decimals === 0 ? `${whole}` : `${whole}.${(scaled % scale).toString().padStart(decimals, '0')}`;
}

/** Reconciles three sides; the breaks go to `options.onBreak` as they are found. */
export async function reconcile(sources: Readonly<Record<Side, LineSource>>, options: ReconcileOptions): Promise<ReconcileResult> {
  const partitions = options.partitions;
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > PARTITIONS_MAX) throw new Error(`Assertion failed: partitions must be an integer from 1 to ${PARTITIONS_MAX}, got ${partitions}`);
  for (const side of SIDES) if (sources[side].side !== side) throw new Error(`Assertion failed: the ${side} source is for side ${sources[side].side}`);
  const dir = await mkdtemp(join(options.tempDir ?? tmpdir(), 'finsync-reconcile-'));
  const linesRead: Record<Side, number> = { platform: 0, finsync: 0, erp: 0 };
  let partitionsDone = 0;
  const report = (phase: ReconcileProgress['phase']) => options.onProgress?.({ phase, linesRead: { ...linesRead }, partitionsDone, partitions });
  try {
    const files = new PartitionFiles(dir, partitions);
    const balances: Balances = new Map();
    try {
      for (const side of SIDES) await partitionSide(sources[side], files, balances, linesRead, () => report('partition'));
    } finally {
      files.close();
    }
    const tally: Tally = { breaks: Object.fromEntries(BREAK_CLASSES.map((c) => [c, 0])) as Record<BreakClass, number>, matchedKeys: 0, approvedKeys: 0, keys: 0 };
    for (const path of files.paths) {
      await comparePartition(path, tally, options.onBreak);
      await unlink(path);
      partitionsDone++;
      report('compare');
    }
    return {
      breaks: tally.breaks,
      completeness: { matchedKeys: tally.matchedKeys, approvedKeys: tally.approvedKeys, percent: formatPercent(tally.matchedKeys, tally.approvedKeys) },
      balances: balanceRows(balances),
      linesRead,
      keys: tally.keys,
      partitions,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The number of partitions for this many bytes of input CSV. */
export function partitionsFor(inputBytes: number): number {
  return Math.min(PARTITIONS_MAX, Math.max(1, Math.ceil(inputBytes / PARTITION_INPUT_BYTES)));
}

/** Reconciles three CSV files (format: line-file.ts), with the number of partitions set from their size unless given. */
export async function reconcileFiles(paths: Readonly<Record<Side, string>>, options: Omit<ReconcileOptions, 'partitions'> & { readonly partitions?: number }): Promise<ReconcileResult> {
  let bytes = 0;
  for (const side of SIDES) bytes += (await stat(paths[side])).size;
  const sources = { platform: readLineFile(paths.platform, 'platform'), finsync: readLineFile(paths.finsync, 'finsync'), erp: readLineFile(paths.erp, 'erp') };
  return reconcile(sources, { ...options, partitions: options.partitions ?? partitionsFor(bytes) });
}
