// Starts an engine worker thread (worker-pool.ts): registers tsx in this thread, as bin/finsync.js
// does in the main one, then loads the TypeScript entry named in workerData. Node 20 does not pass
// the main thread's `--import tsx` (nor tsx's register()) on to worker threads.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
