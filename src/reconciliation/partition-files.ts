/**
 * Phase 1 of the engine (engine.ts): lines in, each checked, added to its balance total, and
 * appended as a record (partition-record.ts) to one of P partition files chosen by a hash of its
 * key. Runs on the calling thread or in a worker (reconcile-worker.ts); every writer has its own set
 * of P files, and phase 2 reads partition i as the files of every writer, in writer order.
 *
 * This file has the writer and the path for lines that come as objects (a LineSource);
 * partition-csv.ts reads a CSV file into the same records without making objects.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { BalanceTotals } from './balance-totals.ts';
import { checkLine, ReconciliationInputError } from './line-file.ts';
import { fnvBytes, RECORD_HEADER_BYTES, STATUS_CODES, viewOf, writeHeader } from './partition-record.ts';
import { SIDES, type LineSource, type ReconLine } from './types.ts';

const WRITE_BUFFER_BYTES = 64 * 1024;

/** FNV-1a over the key's UTF-16 code units: cheap, and spreads our hex-digest keys evenly. */
export function partitionOf(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % partitions;
}

/** The file of partition `partition` written by writer `writer`. */
export function partitionPath(dir: string, writer: number, partition: number): string {
  return join(dir, `w${writer}-partition-${partition}.bin`);
}

/**
 * The P temp files of one writer, each with a 64 KB write buffer that records are encoded into in
 * place: reserve() room, write the bytes into `buffers[partition]` (or through `views[partition]`),
 * commit() the new end.
 */
export class PartitionFiles {
  readonly partitions: number;
  readonly buffers: Buffer[];
  readonly views: DataView[];
  bytesWritten = 0;
  private readonly fds: number[];
  private readonly used: number[];

  constructor(dir: string, partitions: number, writer: number) {
    this.partitions = partitions;
    this.fds = Array.from({ length: partitions }, (_, i) => openSync(partitionPath(dir, writer, i), 'w'));
    this.buffers = this.fds.map(() => Buffer.allocUnsafe(WRITE_BUFFER_BYTES));
    this.views = this.buffers.map(viewOf);
    this.used = this.fds.map(() => 0);
  }

  /** Where `bytes` bytes of a record can go in `buffers[partition]`. */
  reserve(partition: number, bytes: number): number {
    if (this.used[partition] + bytes > this.buffers[partition].length) {
      this.flush(partition);
      // A record longer than the buffer (a key of tens of KB): this partition's buffer grows.
      if (bytes > this.buffers[partition].length) this.views[partition] = viewOf((this.buffers[partition] = Buffer.allocUnsafe(bytes)));
    }
    return this.used[partition];
  }

  commit(partition: number, end: number): void {
    this.used[partition] = end;
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

/**
 * One checked line into its balance total and its partition. `sideIndex`: index in SIDES. The key's
 * hash in the record is over the UTF-8 bytes written (phase 2 compares those); the partition is
 * chosen over the string (partitionOf), as the CSV reader chooses it for an ASCII key.
 */
export function appendLine(files: PartitionFiles, balances: BalanceTotals, sideIndex: number, line: ReconLine): void {
  const { key, amountMinor, status, document } = line;
  const group = balances.groupOf(line.entity, line.currency, line.period, line.account);
  // A recalled line is not approved, but its group still appears (with what the other sides hold there).
  balances.add(group, sideIndex, status === 'recalled' ? 0 : amountMinor);
  const partition = partitionOf(key, files.partitions);
  // A UTF-16 code unit takes at most 3 bytes in UTF-8.
  const at = files.reserve(partition, RECORD_HEADER_BYTES + 3 * (key.length + document.length));
  const out = files.buffers[partition];
  const keyBytes = out.write(key, at + RECORD_HEADER_BYTES, 'utf8');
  const documentBytes = document === '' ? 0 : out.write(document, at + RECORD_HEADER_BYTES + keyBytes, 'utf8');
  const hash = fnvBytes(out, at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + keyBytes);
  writeHeader(files.views[partition], at, sideIndex + 4 * STATUS_CODES.indexOf(status), hash, group, amountMinor, keyBytes, documentBytes);
  files.commit(partition, at + RECORD_HEADER_BYTES + keyBytes + documentBytes);
}

/**
 * Phase 1 for a source of line objects: read, check (unless the source did), total, and spread its
 * lines over the partition files. `onBatch` gets the number of lines of each batch done.
 */
export async function partitionSource(source: LineSource, files: PartitionFiles, balances: BalanceTotals, onBatch: (lines: number) => void): Promise<void> {
  const sideIndex = SIDES.indexOf(source.side);
  let linesRead = 0;
  for await (const batch of source.batches) {
    for (const line of batch) {
      linesRead++;
      if (!source.checked) {
        const problem = checkLine(line, source.side);
        if (problem) throw new ReconciliationInputError(source.name, linesRead, problem.column, problem.detail);
      }
      appendLine(files, balances, sideIndex, line);
    }
    onBatch(batch.length);
  }
}
