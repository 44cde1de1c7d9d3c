/**
 * Output of the benchmarks: one JSON line per figure on stdout, everything else on stderr, so
 * `npm run bench > figures.jsonl` keeps only the figures.
 */
import { spawn } from 'node:child_process';
import { basename } from 'node:path';

export interface Figure {
  readonly bench: string;
  readonly metric: string;
  readonly value: number | null;
  readonly unit: string;
  readonly baseline?: string;
  readonly baselineValue?: number;
  readonly ratio?: number;
  /** Why there is no value (PostgreSQL unreachable, a run failed). */
  readonly skipped?: string;
}

export function emit(figure: Figure): void {
  process.stdout.write(`${JSON.stringify(figure)}\n`);
}

export function note(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** A figure compared with its baseline; the ratio is rounded for reading, the value is not changed. */
export function withBaseline(figure: Figure, baseline: { bench: string; value: number | null } | undefined): Figure {
  if (!baseline || baseline.value === null || figure.value === null || baseline.value === 0) return figure;
  return { ...figure, baseline: baseline.bench, baselineValue: baseline.value, ratio: round(figure.value / baseline.value, 3) };
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Samples the resident set size of this process every `intervalMs`; stop() gives the peak in MB. */
export function sampleRss(intervalMs = 100): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage.rss());
      return peak / (1024 * 1024);
    },
  };
}

/**
 * Runs a bench script in a child process with this process's loader flags and returns the JSON of
 * its last stdout line. A hung run must not hang the bench: it is ended after `timeoutMs` and
 * reported as failed.
 */
export function runScript<T>(script: string, args: readonly string[], timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop();
      if (code === 0 && last) resolve(JSON.parse(last) as T);
      else reject(new Error(`${basename(script)} ${args[0] ?? ''} ended with ${signal ?? `exit code ${code}`}`));
    });
  });
}
