/**
 * `npm run bench`: the performance figures of architecture.md ("Performance targets"), one JSON
 * line per figure on stdout. See docs/benchmarks.md for what each figure measures.
 *
 *   npm run bench                      2000 reports (and 2000 pg-boss jobs)
 *   npm run bench -- --reports 5000    or BENCH_REPORTS=5000
 *   npm run bench -- --no-half-load    skip the lag run at half of peak load
 *   npm run bench -- --only validate   only the benches whose name starts with it (pipeline, validate, mapping, reconcile)
 *   BENCH_VALIDATE_SECONDS=10          measured seconds per server of validate.api (after a 3 s warm-up)
 *   BENCH_MAPPING_SECONDS=3            measured seconds of mapping.per_report (after a 1 s warm-up)
 *
 * PostgreSQL: DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test. When it cannot be
 * reached the PostgreSQL figures are printed with "value": null and a "skipped" reason.
 */
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { PgBossResult, PipelineResult, PipelineTask } from './child.ts';
import { mappingFigures, measureMappingInChild } from './mapping.ts';
import { emit, note, round, runScript, withBaseline, type Figure } from './output.ts';
import { benchReconcile } from './reconcile.ts';
import type { StoreKind } from './pipeline.ts';
import { benchValidateApi, validateApiOptions } from './validate-api.ts';

const DEFAULT_REPORTS = 2000;
const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
const HALF_LOAD_SECONDS = 5;
const PGBOSS_RUNS = 3;
const MAPPING_SECONDS = 3;
const MAPPING_WARMUP_SECONDS = 1;

interface Options {
  readonly reports: number;
  readonly halfLoadSeconds: number;
  readonly databaseUrl: string;
  /** Run only the benches whose name starts with this (`pipeline`, `validate`, `mapping`, `reconcile`); all when empty. */
  readonly only: string;
  readonly mappingSeconds: number;
}

function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): Options {
  const flag = argv.indexOf('--reports');
  const raw = flag >= 0 ? argv[flag + 1] : env.BENCH_REPORTS;
  const reports = raw === undefined || raw === '' ? DEFAULT_REPORTS : Number(raw);
  if (!Number.isInteger(reports) || reports < 1) throw new Error(`--reports / BENCH_REPORTS must be a positive integer, got ${raw}`);
  return {
    reports,
    halfLoadSeconds: argv.includes('--no-half-load') ? 0 : HALF_LOAD_SECONDS,
    databaseUrl: env.DATABASE_URL || DEFAULT_DATABASE_URL,
    only: argv.includes('--only') ? (argv[argv.indexOf('--only') + 1] ?? '') : '',
    mappingSeconds: positiveNumber(env.BENCH_MAPPING_SECONDS, MAPPING_SECONDS, 'BENCH_MAPPING_SECONDS'),
  };
}

function positiveNumber(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!(value > 0)) throw new Error(`${name} must be a positive number of seconds, got ${raw}`);
  return value;
}

/** Why PostgreSQL cannot be used, or null when it answers. */
async function postgresUnavailable(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return `PostgreSQL unreachable at ${url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')}: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Beyond the pipeline's own wait limits (10 reports/s), so a run that stalls fails by itself first. */
function childTimeoutMs(options: Options): number {
  return 2 * Math.max(180_000, options.reports * 100) + 120_000;
}

/** Runs bench/child.ts with this process's loader flags and returns its JSON result. */
function runChild<T>(task: string, args: object, timeoutMs: number): Promise<T> {
  return runScript<T>(fileURLToPath(new URL('./child.ts', import.meta.url)), [task, JSON.stringify(args)], timeoutMs);
}

function skippedPipelineFigures(kind: StoreKind, reason: string, halfLoad: boolean): Figure[] {
  const bench = `pipeline.${kind}`;
  const metrics: [string, string][] = [['reports_per_s', 'reports/s'], ['lag_p50_ms', 'ms'], ['lag_p99_ms', 'ms'], ['peak_rss_mb', 'MB']];
  if (halfLoad) metrics.push(['lag_p50_ms_half_load', 'ms'], ['lag_p99_ms_half_load', 'ms']);
  return metrics.map(([metric, unit]) => ({ bench, metric, value: null, unit, skipped: reason }));
}

function pipelineFigures(kind: StoreKind, result: PipelineResult, baseline: Figure | undefined): Figure[] {
  const bench = `pipeline.${kind}`;
  const { peak, halfLoad } = result;
  const figures: Figure[] = [
    withBaseline({ bench, metric: 'reports_per_s', value: round(peak.reportsPerS), unit: 'reports/s' }, baseline && { bench: baseline.bench, value: baseline.value }),
    { bench, metric: 'lag_p50_ms', value: peak.lagP50Ms, unit: 'ms' },
    { bench, metric: 'lag_p99_ms', value: peak.lagP99Ms, unit: 'ms' },
    { bench, metric: 'peak_rss_mb', value: round(peak.peakRssMb), unit: 'MB' },
  ];
  if (halfLoad) {
    figures.push({ bench, metric: 'lag_p50_ms_half_load', value: halfLoad.lagP50Ms, unit: 'ms' });
    figures.push({ bench, metric: 'lag_p99_ms_half_load', value: halfLoad.lagP99Ms, unit: 'ms' });
  }
  return figures;
}

async function benchPgBoss(options: Options, pgDown: string | null): Promise<Figure> {
  const figure = (value: number | null, skipped?: string): Figure => ({ bench: 'pgboss.noop', metric: 'jobs_per_s', value, unit: 'jobs/s', ...(skipped && { skipped }) });
  if (pgDown) return figure(null, pgDown);
  try {
    const result = await runChild<PgBossResult>('pgboss', { databaseUrl: options.databaseUrl, jobs: options.reports, runs: PGBOSS_RUNS }, childTimeoutMs(options));
    return figure(round(result.jobsPerS));
  } catch (error) {
    process.exitCode = 1;
    return figure(null, `failed: ${(error as Error).message}`);
  }
}

async function benchPipeline(kind: StoreKind, options: Options, pgDown: string | null, baseline: Figure): Promise<Figure[]> {
  const halfLoad = options.halfLoadSeconds > 0;
  if (kind === 'postgres' && pgDown) return skippedPipelineFigures(kind, pgDown, halfLoad);
  const task: PipelineTask = { kind, databaseUrl: options.databaseUrl, reports: options.reports, halfLoadSeconds: options.halfLoadSeconds };
  try {
    return pipelineFigures(kind, await runChild<PipelineResult>('pipeline', task, childTimeoutMs(options)), baseline.value === null ? undefined : baseline);
  } catch (error) {
    process.exitCode = 1;
    return skippedPipelineFigures(kind, `failed: ${(error as Error).message}`, halfLoad);
  }
}

/**
 * mapping.per_report, with its share of the pipeline's time per report. Without a pipeline.sqlite
 * figure from this run (`--only mapping`), a peak-load pipeline.sqlite run without the half-load
 * run is made for it: a ratio is only taken against a figure measured in the same run.
 */
async function benchMapping(options: Options, sqliteReportsPerS: number | null | undefined): Promise<Figure[]> {
  if (sqliteReportsPerS === undefined) {
    note('mapping.per_report: measuring pipeline.sqlite (peak load only) for the share of pipeline time');
    const task: PipelineTask = { kind: 'sqlite', databaseUrl: options.databaseUrl, reports: options.reports, halfLoadSeconds: 0 };
    try {
      sqliteReportsPerS = (await runChild<PipelineResult>('pipeline', task, childTimeoutMs(options))).peak.reportsPerS;
      note(`mapping.per_report: pipeline.sqlite ${sqliteReportsPerS.toFixed(1)} reports/s`);
    } catch (error) {
      process.exitCode = 1;
      note(`mapping.per_report: the pipeline.sqlite run failed (${(error as Error).message}); no share of pipeline time`);
      sqliteReportsPerS = null;
    }
  }
  try {
    const task = { seconds: options.mappingSeconds, warmupSeconds: MAPPING_WARMUP_SECONDS };
    const result = await measureMappingInChild(task, 120_000 + 2 * 1000 * (task.seconds + task.warmupSeconds));
    return mappingFigures(result, sqliteReportsPerS === null ? undefined : { bench: 'pipeline.sqlite', reportsPerS: sqliteReportsPerS });
  } catch (error) {
    process.exitCode = 1;
    const skipped = `failed: ${(error as Error).message}`;
    return [['us_per_report', 'µs'], ['p99_us', 'µs'], ['share_of_pipeline', 'share']].map(([metric, unit]) => ({ bench: 'mapping.per_report', metric, value: null, unit, skipped }));
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), process.env);
  const startedAt = Date.now();
  note(`${options.reports} reports / jobs per run${options.halfLoadSeconds > 0 ? `, ${options.halfLoadSeconds} s at half of peak load` : ', no half-load run'}`);
  // Figures from a busy machine are not comparable; the load says how busy it was.
  note(`${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  // The pipeline's reports/s of this run (null: that run failed): mapping.per_report's share of pipeline time is taken against it.
  let sqliteReportsPerS: number | null | undefined;
  if ('pipeline'.startsWith(options.only)) {
    const pgDown = await postgresUnavailable(options.databaseUrl);
    if (pgDown) note(`${pgDown}; the PostgreSQL figures are skipped`);
    const baseline = await benchPgBoss(options, pgDown);
    emit(baseline);
    for (const kind of ['sqlite', 'postgres'] as const) {
      for (const figure of await benchPipeline(kind, options, pgDown, baseline)) {
        if (kind === 'sqlite' && figure.metric === 'reports_per_s') sqliteReportsPerS = figure.value;
        emit(figure);
      }
    }
  }
  if ('validate.api'.startsWith(options.only)) {
    try {
      for (const figure of await benchValidateApi(validateApiOptions(process.argv.slice(2), process.env))) emit(figure);
    } catch (error) {
      process.exitCode = 1;
      note(`validate.api failed: ${error instanceof Error ? error.message : String(error)}`);
      const units: [string, string][] = [['requests_per_s', 'requests/s'], ['p50_ms', 'ms'], ['p99_ms', 'ms'], ['rss_mb', 'MB'], ['load_s', 's']];
      for (const [metric, unit] of units) emit({ bench: 'validate.api', metric, value: null, unit, skipped: `failed: ${(error as Error).message}` });
    }
  }
  if ('mapping.per_report'.startsWith(options.only)) {
    for (const figure of await benchMapping(options, sqliteReportsPerS)) emit(figure);
  }
  if ('reconcile.1m'.startsWith(options.only)) {
    for (const figure of await benchReconcile()) emit(figure);
  }
  note(`done in ${((Date.now() - startedAt) / 1000).toFixed(0)} s; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

main().catch((error: unknown) => {
  note(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
