/**
 * The loop every worker runs: do a step; when the step reports it is idle, sleep until notified
 * or until the poll interval passes (scheduled retries and expired leases come due without a
 * notification). Used by the outbox broker and by each posting lane.
 */
export interface WorkerLoop {
  /** New work may be there: run the next step now instead of at the next poll. */
  notify(): void;
  start(): void;
  /** Stops after the current step, then runs `drain` (e.g. waiting for postings in flight). */
  stop(): Promise<void>;
}

export function createWorkerLoop(step: () => Promise<'busy' | 'idle'>, pollIntervalMs: number, drain?: () => Promise<void>): WorkerLoop {
  let running = false;
  let pending = false;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;

  async function run(): Promise<void> {
    while (running) {
      pending = false;
      const state = await step();
      if (state === 'busy' || pending || !running) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollIntervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
    await drain?.();
  }

  return {
    notify() {
      pending = true;
      wake?.();
    },
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      wake?.();
      await loop;
    },
  };
}
