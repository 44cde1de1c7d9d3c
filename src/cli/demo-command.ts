/** `finsync demo`: runs the reference scenario with a progress bar and prints the figures. */
import { SingleBar, Presets } from 'cli-progress';
import { mkdirSync } from 'node:fs';
import pino from 'pino';
import { loadConfig } from '../config.ts';
import { runDemo } from '../demo/run-demo.ts';
import { formatSummary } from '../demo/demo-summary.ts';

export interface DemoCommandOptions {
  reports: number;
  seed: number;
  faults: boolean;
  json: boolean;
  keep: boolean;
}

export async function runDemoCommand(opts: DemoCommandOptions): Promise<number> {
  // The demo runs its simulators fast: short polls and retries, and a request timeout that the
  // simulated "timeout after commit" fault can trip.
  const config = loadConfig(process.env, {
    pollIntervalMs: 25,
    retryDelayMs: 50,
    retryDelayMsMax: 1_000,
    requestTimeoutMs: 2_000,
    leaseMs: 30_000,
    breakerHalfOpenAfterMs: 500,
    netsuiteConcurrency: 10,
  });
  mkdirSync('.finsync', { recursive: true });
  const logger = pino({ level: config.logLevel === 'info' ? 'warn' : config.logLevel }, pino.destination({ dest: '.finsync/demo.log', sync: false }));
  const bar = new SingleBar({ format: 'finsync demo |{bar}| {value}/{total} reports in an end state', stream: process.stderr, hideCursor: true }, Presets.shades_classic);
  let started = false;
  const summary = await runDemo({
    reports: opts.reports,
    seed: opts.seed,
    faults: opts.faults,
    keep: opts.keep,
    config,
    logger,
    onProgress: (done, total) => {
      if (!started) {
        bar.start(total, done);
        started = true;
      } else bar.update(done);
    },
  }).finally(() => started && bar.stop());
  if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else process.stdout.write(`${formatSummary(summary)}\nLogs: .finsync/demo.log\n`);
  const consistent = summary.posted + summary.quarantined + summary.waiting === summary.reports && summary.erpDuplicates === 0 && summary.unbalanced === 0;
  return consistent ? 0 : 1;
}
