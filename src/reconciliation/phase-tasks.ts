/**
 * The two kinds of task the engine hands out when it runs on several threads (worker-pool.ts):
 * partitioning byte ranges of the side files (phase 1) and comparing one partition (phase 2). The
 * calling thread runs them directly, a worker thread (reconcile-worker.ts) on a message.
 */
import { unlinkSync } from 'node:fs';
import { BalanceTotals, type BalanceEntry } from './balance-totals.ts';
import { comparePartition, readPartitionSync, RunGroups, type ComparedPartition } from './compare-partition.ts';
import { ReconciliationInputError, type Header, type LineRange } from './line-file.ts';
import { partitionCsvRange } from './partition-csv.ts';
import { PartitionFiles } from './partition-files.ts';
import type { Side } from './types.ts';

/** Part of one side file. */
export interface FileRange {
  readonly path: string;
  readonly side: Side;
  readonly range: LineRange & { readonly header: Header };
}

/** Phase 1 for some ranges, in order, into the partition files of writer `writer`. */
export interface PartitionTask {
  readonly dir: string;
  readonly partitions: number;
  readonly writer: number;
  readonly ranges: readonly FileRange[];
}

export type PartitionOutcome =
  | { readonly kind: 'partitioned'; readonly balances: BalanceEntry[] }
  /** The first bad line of the task's ranges; `line` counts from 1 at the start of ranges[range]. */
  | { readonly kind: 'inputError'; readonly range: number; readonly line: number; readonly column: string; readonly detail: string };

export async function runPartitionTask(task: PartitionTask, onLines: (side: Side, lines: number) => void): Promise<PartitionOutcome> {
  const files = new PartitionFiles(task.dir, task.partitions, task.writer);
  const balances = new BalanceTotals();
  try {
    for (let i = 0; i < task.ranges.length; i++) {
      const { path, side, range } = task.ranges[i];
      try {
        await partitionCsvRange(path, side, range, files, balances, (lines) => onLines(side, lines));
      } catch (error) {
        if (!(error instanceof ReconciliationInputError)) throw error;
        return { kind: 'inputError', range: i, line: error.line, column: error.column, detail: error.detail };
      }
    }
  } finally {
    files.close();
  }
  return { kind: 'partitioned', balances: balances.entries() };
}

/** Phase 2 on one thread: the run's groups kept from the first task that brings them. */
export class CompareTasks {
  private groups: RunGroups | undefined;
  private tables: readonly (readonly BalanceEntry[])[] | undefined;

  /** Compares one partition and deletes its files (synchronously, as readPartitionSync reads). `tables`: every writer's balance groups, given with the first task of a run. */
  async run(paths: readonly string[], tables?: readonly (readonly BalanceEntry[])[]): Promise<ComparedPartition> {
    if (tables !== undefined && tables !== this.tables) (this.tables = tables), (this.groups = new RunGroups(tables));
    if (this.groups === undefined) throw new Error('Assertion failed: a compare task came before the balance groups');
    const compared = comparePartition(readPartitionSync(paths), this.groups);
    for (const path of paths) unlinkSync(path);
    // Other work on this thread gets its turn per partition: on the calling thread, a server's
    // requests, and the worker threads' answers waiting to be taken.
    await new Promise<void>((resolve) => setImmediate(resolve));
    return compared;
  }
}
