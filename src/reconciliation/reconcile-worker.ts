/**
 * An engine worker thread (started by worker-pool.ts through worker-boot.mjs): does phase 1 for
 * byte ranges of the side files, or phase 2 for one partition, one task at a time, and answers
 * with a WorkerReply. Errors go back as messages; the thread itself never exits on its own.
 */
import { unlink } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import { comparePartition } from './compare-partition.ts';
import { readLineRange, ReconciliationInputError } from './line-file.ts';
import { BalanceTotals, PartitionFiles, partitionSource } from './partition-files.ts';
import type { WorkerReply, WorkerTask } from './worker-pool.ts';

const port = parentPort;
if (port === null) throw new Error('Assertion failed: reconcile-worker.ts runs in a worker thread');

async function runTask(task: WorkerTask): Promise<WorkerReply> {
  if (task.kind === 'compare') {
    const { tally, breaks } = await comparePartition(task.paths);
    for (const path of task.paths) await unlink(path);
    return { kind: 'compared', tally, breaks };
  }
  const files = new PartitionFiles(task.dir, task.partitions, task.writer);
  const balances = new BalanceTotals();
  try {
    for (let i = 0; i < task.ranges.length; i++) {
      const { path, side, range } = task.ranges[i];
      try {
        await partitionSource(readLineRange(path, side, range), files, balances, (lines) => port!.postMessage({ kind: 'progress', side, lines } satisfies WorkerReply));
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

port.on('message', (task: WorkerTask) => {
  runTask(task).then(
    (reply) => port.postMessage(reply),
    (error: unknown) => port.postMessage({ kind: 'failed', message: error instanceof Error ? error.message : String(error), stack: error instanceof Error ? (error.stack ?? '') : '' } satisfies WorkerReply),
  );
});
