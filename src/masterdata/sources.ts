/**
 * Master-data sources: where records come from and when. A sources file lists each source (the
 * NetSuite account through SuiteQL, or a feed file from HR or the expense platform) with the
 * system whose view it delivers and an optional cron schedule. `runSync` runs one source once:
 * it takes the source's lease (one run at a time across processes), pulls (incrementally where the
 * source allows), checks the whole batch, applies it atomically, and moves the cursor only when
 * everything was applied. `startSchedules` runs the cron schedules.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Cron } from 'croner';
import type { Logger } from 'pino';
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { AppError } from '../errors.ts';
import type { Clock } from '../pipeline/clock.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Store } from '../store/db.ts';
import { checkBatch, readFeedFile, summarizeProblems, type FeedResult } from './feed.ts';
import type { MasterDataHub } from './hub.ts';
import type { ApplyResult } from './md-store.ts';
import { KINDS, SYSTEMS, type Kind, type System } from './records.ts';
import { createSuiteQlClient } from '../connectors/netsuite/suiteql.ts';
import { pullNetSuite } from './sources/netsuite-source.ts';

const Name = Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,39}$', description: 'lower-case name used by `finsync masterdata sync --source`' });
const Schedule = Type.String({ minLength: 9, maxLength: 100, description: 'cron expression (5 or 6 fields), e.g. "*/15 * * * *"' });
const SystemSchema = Type.Union(SYSTEMS.map((s) => Type.Literal(s)));

const NetSuiteSourceSchema = Type.Object(
  {
    name: Name,
    type: Type.Literal('netsuite'),
    system: Type.Optional(Type.Literal('erp')),
    schedule: Type.Optional(Schedule),
    url: Type.Optional(Type.String({ pattern: '^https?://', description: 'defaults to FINSYNC_NETSUITE_URL' })),
    subsidiaries: Type.Record(Type.String({ pattern: '^[0-9]+$' }), Type.String({ minLength: 1, maxLength: 40 }), { description: 'NetSuite subsidiary internal id → finsync legal entity' }),
    pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);

const FileSourceSchema = Type.Object(
  {
    name: Name,
    type: Type.Literal('file'),
    system: SystemSchema,
    path: Type.String({ minLength: 1 }),
    format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('json')])),
    kind: Type.Optional(Type.Union(KINDS.map((k) => Type.Literal(k)))),
    schedule: Type.Optional(Schedule),
  },
  { additionalProperties: false },
);

export const SourcesFileSchema = Type.Object({ sources: Type.Array(Type.Union([NetSuiteSourceSchema, FileSourceSchema]), { maxItems: 100 }) }, { additionalProperties: false });
export type SourcesFile = Static<typeof SourcesFileSchema>;
export type SourceDefinition = SourcesFile['sources'][number];

const checkSources = Compile(SourcesFileSchema);
const checkBySourceType = { netsuite: Compile(NetSuiteSourceSchema), file: Compile(FileSourceSchema) } as const;

/** Reads and checks a sources file; every problem is MD_SOURCES_INVALID naming the file and field. */
export function loadSourcesFile(path: string, entities: readonly string[]): SourceDefinition[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new AppError('MD_SOURCES_INVALID', { file: path, detail: (error as Error).message });
  }
  return checkSourcesDocument(parsed, path, entities);
}

export function checkSourcesDocument(parsed: unknown, file: string, entities: readonly string[]): SourceDefinition[] {
  const invalid = (detail: string) => new AppError('MD_SOURCES_INVALID', { file, detail });
  if (!checkSources.Check(parsed)) {
    // Name the mistake in the branch the entry meant (its type), not in the first union branch.
    const entries = (parsed as { sources?: unknown }).sources;
    if (Array.isArray(entries)) {
      for (const [i, entry] of entries.entries()) {
        const type = (entry as { type?: unknown } | null)?.type;
        if (type !== 'netsuite' && type !== 'file') throw invalid(`/sources/${i}/type must be "netsuite" or "file"`);
        const check = checkBySourceType[type];
        if (!check.Check(entry)) {
          const first = [...check.Errors(entry)][0];
          throw invalid(`/sources/${i}${first?.instancePath ?? ''} ${first?.message ?? 'is invalid'}`);
        }
      }
    }
    const first = [...checkSources.Errors(parsed)][0];
    throw invalid(`${first?.instancePath || '/'} ${first?.message ?? 'is invalid'}`);
  }
  const sources = (parsed as SourcesFile).sources;
  const names = new Set<string>();
  for (const [i, source] of sources.entries()) {
    if (names.has(source.name)) throw invalid(`/sources/${i}/name: "${source.name}" is used twice; names must be unique`);
    names.add(source.name);
    if (source.schedule !== undefined) {
      try {
        new Cron(source.schedule, { paused: true }).stop();
      } catch (error) {
        throw invalid(`/sources/${i}/schedule: "${source.schedule}" is not a cron expression: ${(error as Error).message}`);
      }
    }
    if (source.type === 'netsuite') {
      for (const [id, entity] of Object.entries(source.subsidiaries)) {
        if (!entities.includes(entity)) throw invalid(`/sources/${i}/subsidiaries/${id}: entity ${entity} is not configured (configured: ${entities.join(', ')})`);
      }
    }
  }
  return sources;
}

export interface SyncContext {
  readonly store: Store;
  readonly hub: MasterDataHub;
  readonly clock: Clock;
  readonly sources: readonly SourceDefinition[];
  /** NetSuite connection defaults (FINSYNC_NETSUITE_URL and _TOKEN). */
  readonly netsuite?: { readonly url?: string; readonly token?: string; readonly requestTimeoutMs: number };
  readonly logger?: Logger;
  readonly metrics?: Pick<Metrics, 'masterDataSyncs' | 'masterDataRecordsChanged'>;
  /** How long a run owns its source before another process may take over. */
  readonly leaseMs?: number;
}

/** The NetSuite connection a NetSuite source uses unless its entry names a URL. */
export function netsuiteDefaults(config: { readonly requestTimeoutMs: number; readonly netsuiteUrl?: string; readonly netsuiteToken?: string }): NonNullable<SyncContext['netsuite']> {
  return { requestTimeoutMs: config.requestTimeoutMs, ...(config.netsuiteUrl && { url: config.netsuiteUrl }), ...(config.netsuiteToken && { token: config.netsuiteToken }) };
}

export interface SyncResult extends ApplyResult {
  readonly source: string;
  readonly system: System;
  /** The source said nothing changed since the last run (same file, no modified ERP rows). */
  readonly skipped: boolean;
  readonly cursor: string | null;
  readonly elapsedMs: number;
}

export interface SyncProgress {
  (phase: 'pull' | 'apply', done: number, total: number): void;
}

export function findSource(ctx: SyncContext, name: string): SourceDefinition {
  const source = ctx.sources.find((s) => s.name === name);
  if (!source) throw new AppError('MD_SOURCE_UNKNOWN', { source: name, configured: ctx.sources.map((s) => s.name).join(', ') || 'none (set FINSYNC_MASTER_DATA_SOURCES)' });
  return source;
}

export async function runSync(ctx: SyncContext, name: string, onProgress?: SyncProgress): Promise<SyncResult> {
  const source = findSource(ctx, name);
  const started = ctx.clock.now();
  const cursor = await takeLease(ctx, name, started);
  try {
    const pulled = await pull(ctx, source, cursor, onProgress);
    const system: System = source.type === 'netsuite' ? 'erp' : source.system;
    if (pulled.skipped) {
      await finishRun(ctx, name, 'unchanged', null, cursor, 0, 0);
      return { source: name, system, skipped: true, cursor, received: 0, changed: 0, unchanged: 0, resumed: 0, seq: ctx.hub.index.seq, elapsedMs: ctx.clock.now() - started };
    }
    if (!pulled.feed.ok) throw summarizeProblems(pulled.label, pulled.feed.problems);
    const result = await ctx.hub.apply(system, name, pulled.feed.records, onProgress && ((done, total) => onProgress('apply', done, total)));
    await finishRun(ctx, name, 'ok', null, pulled.cursor, result.received, result.changed);
    ctx.logger?.info({ source: name, ...result }, 'master-data sync finished');
    return { source: name, system, skipped: false, cursor: pulled.cursor, ...result, elapsedMs: ctx.clock.now() - started };
  } catch (error) {
    const detail = error instanceof AppError ? `${error.code}: ${error.message}` : (error as Error).message;
    await finishRun(ctx, name, 'failed', detail.slice(0, 2000), cursor, 0, 0);
    ctx.logger?.warn({ source: name, err: error }, 'master-data sync failed');
    if (error instanceof AppError) throw error;
    throw new AppError('MD_SOURCE_FAILED', { source: name, detail: (error as Error).message });
  }
}

type Pulled = { skipped: true } | { skipped: false; feed: FeedResult; cursor: string | null; label: string };

async function pull(ctx: SyncContext, source: SourceDefinition, cursor: string | null, onProgress?: SyncProgress): Promise<Pulled> {
  const entities = new Set(ctx.hub.entities.map((e) => e.code));
  if (source.type === 'file') {
    // A feed file is a full snapshot; re-reading the same bytes can change nothing, so it is skipped.
    const bytes = await readFile(source.path).catch(() => undefined);
    const hash = bytes ? createHash('sha256').update(bytes).digest('hex') : null;
    if (hash !== null && hash === cursor) return { skipped: true };
    const kind = (source as { kind?: string }).kind as Kind | undefined;
    const feed = await readFeedFile(source.path, { system: source.system, entities, ...(kind !== undefined && { kind }), ...(source.format && { format: source.format }) });
    return { skipped: false, feed, cursor: hash, label: source.path };
  }
  const url = source.url ?? ctx.netsuite?.url;
  const token = ctx.netsuite?.token;
  if (!url || !token) throw new AppError('MD_SOURCE_FAILED', { source: source.name, detail: 'no NetSuite URL or token: set FINSYNC_NETSUITE_URL and FINSYNC_NETSUITE_TOKEN (or "url" in the sources file)' });
  const client = createSuiteQlClient({ baseUrl: url, token, requestTimeoutMs: ctx.netsuite?.requestTimeoutMs ?? 30_000 });
  const subsidiaries = new Map(Object.entries(source.subsidiaries));
  const pulled = await pullNetSuite({ client, subsidiaries, ...(source.pageSize && { pageSize: source.pageSize }) }, cursor ?? undefined, onProgress && ((done, total) => onProgress('pull', done, total)));
  if (pulled.errors.length > 0) {
    throw new AppError('MD_SOURCE_FAILED', { source: source.name, detail: `${pulled.errors.length} NetSuite row(s) could not be read, the first: ${pulled.errors[0].path}: ${pulled.errors[0].detail}` });
  }
  if (pulled.records.length === 0) return { skipped: true };
  const feed = checkBatch(pulled.records.map((input, i) => ({ input, path: `netsuite[${i}]` })), 'erp', entities);
  return { skipped: false, feed, cursor: pulled.cursor, label: `NetSuite source ${source.name}` };
}

async function takeLease(ctx: SyncContext, name: string, now: number): Promise<string | null> {
  const leaseMs = ctx.leaseMs ?? 15 * 60_000;
  return ctx.store.db.transaction().execute(async (tx) => {
    await tx.insertInto('md_sources').values({ name, cursor: null, lease_until: null, last_started_at: null, last_finished_at: null, last_status: null, last_error: null, records_seen: 0, records_changed: 0 }).onConflict((oc) => oc.column('name').doNothing()).execute();
    const taken = await tx
      .updateTable('md_sources')
      .set({ lease_until: now + leaseMs, last_started_at: now })
      .where('name', '=', name)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
      .executeTakeFirst();
    const row = await tx.selectFrom('md_sources').select(['cursor', 'last_started_at']).where('name', '=', name).executeTakeFirstOrThrow();
    if (Number(taken.numUpdatedRows) !== 1) throw new AppError('MD_SYNC_RUNNING', { source: name, since: new Date(Number(row.last_started_at)).toISOString() });
    return row.cursor;
  });
}

async function finishRun(ctx: SyncContext, name: string, status: 'ok' | 'unchanged' | 'failed', error: string | null, cursor: string | null, seen: number, changed: number): Promise<void> {
  ctx.metrics?.masterDataSyncs.inc({ source: name, status });
  if (changed > 0) ctx.metrics?.masterDataRecordsChanged.inc({ source: name }, changed);
  await ctx.store.db
    .updateTable('md_sources')
    .set({ lease_until: null, last_finished_at: ctx.clock.now(), last_status: status, last_error: error, cursor, records_seen: seen, records_changed: changed })
    .where('name', '=', name)
    .execute();
}

export interface SourceStatus {
  readonly name: string;
  readonly type: SourceDefinition['type'];
  readonly system: System;
  readonly schedule: string | null;
  readonly nextRunAt: string | null;
  readonly cursor: string | null;
  readonly running: boolean;
  readonly lastStartedAt: string | null;
  readonly lastFinishedAt: string | null;
  readonly lastStatus: string | null;
  readonly lastError: string | null;
  readonly recordsSeen: number;
  readonly recordsChanged: number;
}

export async function readSourceStatus(ctx: SyncContext): Promise<SourceStatus[]> {
  const rows = await ctx.store.db.selectFrom('md_sources').selectAll().execute();
  const now = ctx.clock.now();
  const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());
  return ctx.sources.map((source) => {
    const row = rows.find((r) => r.name === source.name);
    const next = source.schedule ? new Cron(source.schedule, { paused: true }).nextRun() : null;
    return {
      name: source.name,
      type: source.type,
      system: source.type === 'netsuite' ? 'erp' : source.system,
      schedule: source.schedule ?? null,
      nextRunAt: next ? next.toISOString() : null,
      cursor: row?.cursor ?? null,
      running: row?.lease_until !== null && row?.lease_until !== undefined && Number(row.lease_until) > now,
      lastStartedAt: iso(row?.last_started_at ?? null),
      lastFinishedAt: iso(row?.last_finished_at ?? null),
      lastStatus: row?.last_status ?? null,
      lastError: row?.last_error ?? null,
      recordsSeen: Number(row?.records_seen ?? 0),
      recordsChanged: Number(row?.records_changed ?? 0),
    };
  });
}

/** Starts every scheduled source; a run that finds the lease taken (another process) is skipped. */
export function startSchedules(ctx: SyncContext): { stop(): void } {
  const jobs = ctx.sources
    .filter((s) => s.schedule !== undefined)
    .map(
      (source) =>
        new Cron(source.schedule!, { protect: true, catch: false }, async () => {
          try {
            await runSync(ctx, source.name);
          } catch (error) {
            if (error instanceof AppError && error.code === 'MD_SYNC_RUNNING') return;
            ctx.logger?.error({ source: source.name, err: error }, 'scheduled master-data sync failed');
          }
        }),
    );
  return {
    stop() {
      for (const job of jobs) job.stop();
    },
  };
}
