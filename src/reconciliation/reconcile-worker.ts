/**
 * An engine worker thread (started by worker-pool.ts through worker-boot.mjs): says `ready` once
 * loaded, then runs phase-1 and phase-2 tasks (phase-tasks.ts), one at a time, and answers each
 * with a WorkerReply. Errors go back as messages; the thread itself never exits on its own.
 */
import { parentPort } from 'node:worker_threads';
import { CompareTasks, runPartitionTask } from './phase-tasks.ts';
import type { WorkerReply, WorkerTask } from './worker-pool.ts';

const port = parentPort;
if (port === null) throw new Error('Assertion failed: reconcile-worker.ts runs in a worker thread');

const compareTasks = new CompareTasks();

async function runTask(task: WorkerTask): Promise<WorkerReply> {
  if (task.kind === 'compare') {
    const { tally, breaks } = await compareTasks.run(task.paths, task.groups);
    return { kind: 'compared', tally, breaks };
  }
  return runPartitionTask(task, (side, lines) => port!.postMessage({ kind: 'progress', side, lines } satisfies WorkerReply));
}

port.on('message', (task: WorkerTask) => {
  runTask(task).then(
    (reply) => port.postMessage(reply),
    (error: unknown) => port.postMessage({ kind: 'failed', message: error instanceof Error ? error.message : String(error), stack: error instanceof Error ? (error.stack ?? '') : '' } satisfies WorkerReply),
  );
});
port.postMessage({ kind: 'ready' } satisfies WorkerReply);
