/**
 * One measurement in a process of its own, started by bench/run.ts: peak RSS then belongs to that
 * measurement alone, and no pool, timer or socket of one run can slow the next. Prints its result
 * as one JSON line on stdout; progress goes to stderr.
 *
 *   node --import tsx bench/child.ts pgboss   '{"databaseUrl":…,"jobs":2000,"runs":3}'
 *   node --import tsx bench/child.ts pipeline '{"kind":"sqlite","databaseUrl":…,"reports":2000,"halfLoadSeconds":5}'
 */
import { note, round } from './output.ts';
import { measurePgBossNoop } from './pgboss-noop.ts';
import { runAtPeak, runPaced, type RunResult, type StoreKind } from './pipeline.ts';

export interface PgBossTask {
  readonly databaseUrl: string;
  readonly jobs: number;
  readonly runs: number;
}

export interface PipelineTask {
  readonly kind: StoreKind;
  readonly databaseUrl: string;
  readonly reports: number;
  /** 0 skips the run at half of peak load. */
  readonly halfLoadSeconds: number;
}

export interface PgBossResult {
  readonly jobsPerS: number;
  readonly runs: readonly number[];
}

export interface PipelineResult {
  readonly peak: RunResult;
  readonly halfLoad: (RunResult & { readonly ratePerS: number }) | null;
}

const SEED = 7;

async function pgbossTask(task: PgBossTask): Promise<PgBossResult> {
  const runs = await measurePgBossNoop(task.databaseUrl, task.jobs, task.runs);
  for (const r of runs) note(`pgboss.noop: ${r.jobs} jobs in ${r.seconds.toFixed(3)} s = ${Math.round(r.jobsPerS)} jobs/s`);
  const sorted = runs.map((r) => r.jobsPerS).sort((a, b) => a - b);
  return { jobsPerS: sorted[Math.floor(sorted.length / 2)], runs: sorted.map((v) => round(v)) };
}

async function pipelineTask(task: PipelineTask): Promise<PipelineResult> {
  const peak = await runAtPeak(task.kind, task.databaseUrl, task.reports, SEED);
  note(`pipeline.${task.kind}: ${peak.reports} reports in ${peak.seconds.toFixed(1)} s = ${peak.reportsPerS.toFixed(1)} reports/s, lag p50 ${peak.lagP50Ms} ms p99 ${peak.lagP99Ms} ms`);
  if (task.halfLoadSeconds <= 0) return { peak, halfLoad: null };
  const ratePerS = peak.reportsPerS / 2;
  note(`pipeline.${task.kind}: ${ratePerS.toFixed(1)} reports/s (half of peak) for ${task.halfLoadSeconds} s`);
  // Another seed: other report ids, on a fresh store, so the two runs share nothing.
  const half = await runPaced(task.kind, task.databaseUrl, ratePerS, task.halfLoadSeconds, SEED + 1);
  note(`pipeline.${task.kind} at half load: lag p50 ${half.lagP50Ms} ms p99 ${half.lagP99Ms} ms over ${half.reports} reports`);
  return { peak, halfLoad: { ...half, ratePerS } };
}

async function main(): Promise<void> {
  const [task, json] = process.argv.slice(2);
  const args = JSON.parse(json ?? '{}') as unknown;
  const result = task === 'pgboss' ? await pgbossTask(args as PgBossTask) : task === 'pipeline' ? await pipelineTask(args as PipelineTask) : null;
  if (result === null) throw new Error(`unknown task ${task}`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  note(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
