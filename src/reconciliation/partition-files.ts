/**
 * Phase 1 of the engine (engine.ts): lines in, each checked, added to its balance total, and
 * appended to one of P partition files chosen by a hash of its key, with a one-letter side tag.
 * Runs on the calling thread or in a worker (reconcile-worker.ts); every writer has its own set of
 * P files, and phase 2 reads partition i as the files of every writer, in writer order.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { addMinor, type SideCode } from './compare-key.ts';
import { checkLine, ReconciliationInputError } from './line-file.ts';
import { SIDES, type BalanceRow, type LineSource, type Side } from './types.ts';

const WRITE_BUFFER_BYTES = 64 * 1024;
const SIDE_CODES: Readonly<Record<Side, SideCode>> = { platform: 'p', finsync: 'f', erp: 'e' };

/** FNV-1a over the key's UTF-16 code units: cheap, and spreads our hex-digest keys evenly. */
export function partitionOf(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % partitions;
}

/** The file of partition `partition` written by writer `writer`. */
export function partitionPath(dir: string, writer: number, partition: number): string {
  return join(dir, `w${writer}-partition-${partition}.tsv`);
}

/**
 * The P temp files of one writer, each with a 64 KB write buffer. Rows are encoded into the buffer
 * at once rather than concatenated into a string: a string buffer is a rope of every row, which
 * the garbage collector copies over and over until it is written.
 */
export class PartitionFiles {
  readonly partitions: number;
  bytesWritten = 0;
  private readonly fds: number[];
  private readonly buffers: Buffer[];
  private readonly used: number[];

  constructor(dir: string, partitions: number, writer: number) {
    this.partitions = partitions;
    this.fds = Array.from({ length: partitions }, (_, i) => openSync(partitionPath(dir, writer, i), 'w'));
    this.buffers = this.fds.map(() => Buffer.allocUnsafe(WRITE_BUFFER_BYTES));
    this.used = this.fds.map(() => 0);
  }

  append(partition: number, text: string): void {
    const buffer = this.buffers[partition];
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    if (this.used[partition] + text.length * 3 > buffer.length) this.flush(partition);
    if (text.length * 3 > buffer.length) this.bytesWritten += writeSync(this.fds[partition], text);
    else this.used[partition] += buffer.write(text, this.used[partition]);
  }

  private flush(partition: number): void {
    this.bytesWritten += writeSync(this.fds[partition], this.buffers[partition], 0, this.used[partition]);
    this.used[partition] = 0;
  }

  close(): void {
    for (let i = 0; i < this.fds.length; i++) {
      this.flush(i);
      closeSync(this.fds[i]);
    }
  }
}

/** One balance group's totals as a plain row: entity, currency, period, account, then [platform, finsync, erp]. */
export type BalanceEntry = [entity: string, currency: string, period: string, account: string, totals: number[]];

/**
 * Balance totals per entity × currency × period × account: [platform, finsync, erp]. Nested maps
 * rather than one map keyed by the four fields joined: joining made a string per line that the map
 * had to flatten and hash (7% of phase 1 on the bench).
 */
export class BalanceTotals {
  private readonly groups = new Map<string, Map<string, Map<string, Map<string, number[]>>>>();

  add(entity: string, currency: string, period: string, account: string, sideIndex: number, amountMinor: number): void {
    let byCurrency = this.groups.get(entity);
    if (byCurrency === undefined) this.groups.set(entity, (byCurrency = new Map()));
    let byPeriod = byCurrency.get(currency);
    if (byPeriod === undefined) byCurrency.set(currency, (byPeriod = new Map()));
    let byAccount = byPeriod.get(period);
    if (byAccount === undefined) byPeriod.set(period, (byAccount = new Map()));
    let totals = byAccount.get(account);
    if (totals === undefined) byAccount.set(account, (totals = [0, 0, 0]));
    totals[sideIndex] = addMinor(totals[sideIndex], amountMinor);
  }

  /** Adds another writer's totals (entries()). */
  merge(entries: readonly BalanceEntry[]): void {
    for (const [entity, currency, period, account, totals] of entries) {
      for (let side = 0; side < 3; side++) this.add(entity, currency, period, account, side, totals[side]);
    }
  }

  entries(): BalanceEntry[] {
    const out: BalanceEntry[] = [];
    for (const [entity, byCurrency] of this.groups) {
      for (const [currency, byPeriod] of byCurrency) {
        for (const [period, byAccount] of byPeriod) for (const [account, totals] of byAccount) out.push([entity, currency, period, account, totals]);
      }
    }
    return out;
  }

  /** One row per group, sorted by entity, currency, period, account (as strings joined by a tab compare). */
  rows(): BalanceRow[] {
    const sortKey = (e: BalanceEntry) => `${e[0]}\t${e[1]}\t${e[2]}\t${e[3]}`;
    const keyed = this.entries().map((entry) => [sortKey(entry), entry] as const);
    keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return keyed.map(([, [entity, currency, period, account, [platformMinor, finsyncMinor, erpMinor]]]) => ({
      entity,
      currency,
      period,
      account,
      platformMinor,
      finsyncMinor,
      erpMinor,
      finsyncMinusPlatformMinor: finsyncMinor - platformMinor,
      erpMinusFinsyncMinor: erpMinor - finsyncMinor,
    }));
  }
}

/**
 * Phase 1 for one source: read, check, total, and spread its lines over the partition files.
 * `onBatch` gets the number of lines of each batch done.
 */
export async function partitionSource(source: LineSource, files: PartitionFiles, balances: BalanceTotals, onBatch: (lines: number) => void): Promise<void> {
  const code = SIDE_CODES[source.side];
  const sideIndex = SIDES.indexOf(source.side);
  const partitions = files.partitions;
  let linesRead = 0;
  for await (const batch of source.batches) {
    for (const line of batch) {
      linesRead++;
      if (!source.checked) {
        const problem = checkLine(line, source.side);
        if (problem) throw new ReconciliationInputError(source.name, linesRead, problem.column, problem.detail);
      }
      const { key, entity, currency, period, account, amountMinor, status, document } = line;
      // A recalled line is not approved, but its group still appears (with what the other sides hold there).
      balances.add(entity, currency, period, account, sideIndex, status === 'recalled' ? 0 : amountMinor);
      files.append(partitionOf(key, partitions), `${code}\t${key}\t${entity}\t${currency}\t${period}\t${account}\t${amountMinor}\t${status}\t${document}\n`);
    }
    onBatch(batch.length);
  }
}
