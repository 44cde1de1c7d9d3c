/**
 * `finsync masterdata …` and `finsync drift`: run a source, import a feed file, show a record,
 * list the sources, and print the drift report, against the configured store.
 */
import { SingleBar, Presets } from 'cli-progress';
import { createLogger, openConfiguredStore } from '../compose.ts';
import { loadConfig, type Config } from '../config.ts';
import { AppError } from '../errors.ts';
import { SAMPLE_COMPANY } from '../demo/sample-company.ts';
import type { LegalEntity } from '../masterdata/company.ts';
import { computeDrift, DRIFT_CLASSES, type DriftReport } from '../masterdata/drift.ts';
import { loadEntitiesFile } from '../masterdata/entities-file.ts';
import { readFeedFile, type FeedProblem } from '../masterdata/feed.ts';
import { createMasterDataHub, type MasterDataHub } from '../masterdata/hub.ts';
import { readRecordHistory } from '../masterdata/md-store.ts';
import { isCalendarDate, isKind, isSystem, type Kind } from '../masterdata/records.ts';
import { loadSourcesFile, netsuiteDefaults, readSourceStatus, runSync, type SyncContext } from '../masterdata/sources.ts';
import { systemClock } from '../pipeline/clock.ts';
import type { Store } from '../store/db.ts';
import { migrate } from '../store/migrate.ts';

/** The legal entities this installation serves. */
export function configuredEntities(config: Config): readonly LegalEntity[] {
  return config.entitiesFile ? loadEntitiesFile(config.entitiesFile) : SAMPLE_COMPANY.entities;
}

interface Context {
  readonly store: Store;
  readonly hub: MasterDataHub;
  readonly sync: SyncContext;
}

async function withContext<T>(fn: (ctx: Context) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env);
  const entities = configuredEntities(config);
  const sources = config.masterDataSourcesFile ? loadSourcesFile(config.masterDataSourcesFile, entities.map((e) => e.code)) : [];
  const store = await openConfiguredStore(config);
  try {
    await migrate(store);
    const logger = createLogger({ logLevel: config.logLevel === 'info' ? 'warn' : config.logLevel });
    const hub = await createMasterDataHub({ store, clock: systemClock, entities, pollIntervalMs: config.masterDataPollMs, logger });
    const sync: SyncContext = {
      store,
      hub,
      clock: systemClock,
      sources,
      logger,
      netsuite: netsuiteDefaults(config),
    };
    return await fn({ store, hub, sync });
  } finally {
    await store.close();
  }
}

/** A progress bar on standard error for runs long enough to need one. */
function progressBar(label: string) {
  const bar = new SingleBar({ format: `${label} |{bar}| {value}/{total} {phase}`, stream: process.stderr, hideCursor: true }, Presets.shades_classic);
  let started = false;
  return {
    update(phase: string, done: number, total: number) {
      if (total < 1_000 || !process.stderr.isTTY) return;
      if (!started) {
        bar.start(total, done, { phase });
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done, { phase });
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

export async function runMasterDataSyncCommand(opts: { source: string; json: boolean }): Promise<number> {
  return withContext(async ({ sync }) => {
    const bar = progressBar(`sync ${opts.source}`);
    const result = await runSync(sync, opts.source, (phase, done, total) => bar.update(phase === 'pull' ? 'rows read' : 'records applied', done, total)).finally(() => bar.stop());
    if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else if (result.skipped) process.stdout.write(`${opts.source}: nothing changed since the last run (${result.elapsedMs} ms)\n`);
    else process.stdout.write(`${opts.source}: ${result.received} records read, ${result.changed} changed, ${result.unchanged} unchanged, ${result.resumed} waiting report(s) resumed (${result.elapsedMs} ms)\n`);
    return 0;
  });
}

export async function runMasterDataImportCommand(opts: { system: string; file: string; kind?: string; format?: string; json: boolean }): Promise<number> {
  if (!isSystem(opts.system)) throw new AppError('CLI_ARGUMENT_INVALID', { detail: `--system must be one of erp, hr, expense, finsync; got "${opts.system}"` });
  if (opts.kind !== undefined && !isKind(opts.kind)) throw new AppError('CLI_ARGUMENT_INVALID', { detail: `--kind "${opts.kind}" is not a record kind` });
  if (opts.format !== undefined && opts.format !== 'csv' && opts.format !== 'json') throw new AppError('CLI_ARGUMENT_INVALID', { detail: `--format must be csv or json; got "${opts.format}"` });
  const system = opts.system;
  return withContext(async ({ hub }) => {
    const entities = new Set(hub.entities.map((e) => e.code));
    const feed = await readFeedFile(opts.file, { system, entities, ...(opts.kind && { kind: opts.kind as Kind }), ...(opts.format && { format: opts.format as 'csv' | 'json' }) });
    if (!feed.ok) {
      if (opts.json) process.stdout.write(`${JSON.stringify({ code: 'MD_IMPORT_INVALID', file: opts.file, problems: feed.problems })}\n`);
      else {
        process.stderr.write(`finsync: MD_IMPORT_INVALID: ${opts.file}: ${feed.problems.length} problem(s); nothing was applied.\n`);
        for (const p of feed.problems) process.stderr.write(`  ${describeProblem(opts.file, p)}\n`);
      }
      return 2;
    }
    const bar = progressBar(`import ${opts.file}`);
    const result = await hub.apply(system, `import:${opts.file}`, feed.records, (done, total) => bar.update('records', done, total)).finally(() => bar.stop());
    if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else process.stdout.write(`${opts.file}: ${result.received} records, ${result.changed} changed, ${result.unchanged} unchanged, ${result.resumed} waiting report(s) resumed\n`);
    return 0;
  });
}

function describeProblem(file: string, p: FeedProblem): string {
  const where = [p.line !== undefined ? `line ${p.line}` : p.row !== undefined ? `record ${p.row}` : undefined, p.column !== undefined ? `column ${p.column}` : undefined, p.field].filter(Boolean).join(', ');
  return `${file}${where ? ` (${where})` : ''}: ${p.code}: ${p.message}`;
}

export async function runMasterDataShowCommand(opts: { kind: string; entity: string; key: string; json: boolean }): Promise<number> {
  if (!isKind(opts.kind)) throw new AppError('CLI_ARGUMENT_INVALID', { detail: `--kind "${opts.kind}" is not a record kind` });
  const kind = opts.kind;
  return withContext(async ({ store }) => {
    const history = await readRecordHistory(store.db, kind, opts.entity, opts.key);
    if (history.length === 0) throw new AppError('MD_RECORD_NOT_FOUND', { kind, entity: opts.entity, key: opts.key });
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(history)}\n`);
      return 0;
    }
    process.stdout.write(`${kind} ${opts.key} of ${opts.entity}\n`);
    for (const v of history) {
      const state = v.replacedAt === null ? 'current ' : `replaced ${new Date(v.replacedAt).toISOString()}`;
      process.stdout.write(`  ${v.system.padEnd(7)} ${v.validFrom}..${v.validTo} ${v.active ? 'active  ' : 'inactive'} ${state} from ${v.source} at ${new Date(v.recordedAt).toISOString()} ${JSON.stringify(v.attributes)}\n`);
    }
    return 0;
  });
}

export async function runMasterDataSourcesCommand(opts: { json: boolean }): Promise<number> {
  return withContext(async ({ sync }) => {
    const sources = await readSourceStatus(sync);
    if (opts.json) process.stdout.write(`${JSON.stringify({ sources })}\n`);
    else if (sources.length === 0) process.stdout.write('no master-data sources configured (FINSYNC_MASTER_DATA_SOURCES)\n');
    else {
      for (const s of sources) {
        process.stdout.write(`${s.name} (${s.type}, ${s.system}) schedule ${s.schedule ?? 'on demand'}${s.nextRunAt ? `, next ${s.nextRunAt}` : ''}; last run ${s.lastStatus ?? 'never'}${s.lastFinishedAt ? ` at ${s.lastFinishedAt}` : ''}${s.lastError ? `: ${s.lastError}` : ''}\n`);
      }
    }
    return 0;
  });
}

export async function runDriftCommand(opts: { entity?: string; kind?: string; asOf?: string; json: boolean }): Promise<number> {
  if (opts.kind !== undefined && !isKind(opts.kind)) throw new AppError('CLI_ARGUMENT_INVALID', { detail: `--kind "${opts.kind}" is not a record kind` });
  if (opts.asOf !== undefined && !isCalendarDate(opts.asOf)) throw new AppError('CLI_ARGUMENT_INVALID', { detail: `--as-of must be a date YYYY-MM-DD; got "${opts.asOf}"` });
  return withContext(async ({ store, hub }) => {
    const entities = hub.entities.map((e) => e.code);
    if (opts.entity !== undefined && !entities.includes(opts.entity)) throw new AppError('CLI_ARGUMENT_INVALID', { detail: `--entity ${opts.entity} is not configured (configured: ${entities.join(', ')})` });
    const report = await computeDrift(store.db, { asOf: opts.asOf ?? new Date().toISOString().slice(0, 10), entities, ...(opts.entity && { entity: opts.entity }), ...(opts.kind && { kind: opts.kind as Kind }) });
    process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : formatDrift(report));
    return 0;
  });
}

export function formatDrift(report: DriftReport): string {
  const lines = [`master-data drift as of ${report.asOf}`];
  for (const e of report.entities) {
    const counts = DRIFT_CLASSES.filter((c) => e.counts[c] > 0).map((c) => `${c} ${e.counts[c]}`);
    lines.push(`  ${e.entity}: ${counts.length ? counts.join(', ') : 'no drift'}; ${e.blockedReports} report(s) blocked`);
  }
  for (const item of report.items) {
    const blocked = item.blockedReports.length ? ` - blocks ${item.blockedReports.length} report(s): ${item.blockedReports.slice(0, 5).join(', ')}${item.blockedReports.length > 5 ? ', …' : ''}` : '';
    lines.push(`  ${item.entity} ${item.kind} ${item.key}: ${item.class} (${item.detail})${blocked}`);
  }
  if (report.truncated) lines.push('  … more items; use --json or the API with a higher limit');
  return `${lines.join('\n')}\n`;
}
