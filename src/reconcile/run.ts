/**
 * One reconciliation run: an entity and a period, three sides read back (the platform through its
 * connector, finsync from its postings, the ERP through its connector; either outer side may be
 * given as a file instead), compared by the engine (src/reconciliation), every break healed or
 * kept as an exception (heal.ts, breaks.ts), and the run recorded with its summary.
 *
 * Memory: the engine is bounded (hash partitions); the run holds the breaks it found (one object
 * per break) and, per platform key, four small fields (platform-lines.ts), never the reports.
 * A side that cannot be read stops the run before anything is healed or recorded except the
 * failed run itself.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AppError } from '../errors.ts';
import type { LegalEntity } from '../masterdata/company.ts';
import type { MappingService } from '../mapping/mapping-service.ts';
import type { Clock } from '../pipeline/clock.ts';
import type { Store } from '../store/db.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Route, RouteQuery } from '../routing/routing.ts';
import { reconcile } from '../reconciliation/engine.ts';
import { readLineFile, ReconciliationInputError } from '../reconciliation/line-file.ts';
import { BREAK_CLASSES, type BalanceRow, type Break, type BreakClass, type Completeness, type LineSource, type ReconcileProgress, type Side } from '../reconciliation/types.ts';
import { clearUnseen } from './breaks.ts';
import { openExport, type ExportFormat } from './export.ts';
import { handleBreak, newHealCounts, platformReportEvent, recallEvent, type HealCounts, type HealFollowUp } from './heal.ts';
import { platformLines, type PlatformKey, type PlatformReader } from './platform-lines.ts';
import type { ReportInput } from '../domain/report.ts';

/** Where each side of an entity is read from. */
export interface SideProviders {
  platform(entity: LegalEntity): PlatformReader | undefined;
  finsync(entity: LegalEntity, period: string): LineSource;
  erp(entity: LegalEntity, period: string): LineSource | undefined;
  /** The platform's report behind a key, read again for re-ingest (a Concur FIS document by id). */
  fetchPlatformReport?(entity: LegalEntity, key: PlatformKey): Promise<ReportInput | undefined>;
}

export interface ReconcileDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly entities: () => readonly LegalEntity[];
  readonly mapping: Pick<MappingService, 'mapReport'>;
  /** Where an entity's report of a date posts (the routing in force). */
  readonly route: (entity: LegalEntity, q: RouteQuery) => Route;
  readonly sides: SideProviders;
  /** Takes CloudEvents into the hub as the events API would; an event it refuses is reported, not thrown. */
  readonly ingest: (events: readonly object[]) => Promise<{ refused: { id: string; code: string; message: string }[] }>;
  readonly notifyLane: (target: string) => void;
  readonly metrics?: Pick<Metrics, 'reconciliationBreaks' | 'reconciliationCompleteness'>;
}

export type RunTrigger = 'schedule' | 'manual' | 'api';

export interface ReconcileRequest {
  readonly entity: string;
  readonly period: string;
  readonly trigger: RunTrigger;
  readonly actor: string;
  readonly platformFile?: string;
  readonly erpFile?: string;
  readonly exportTo?: { readonly path: string; readonly format: ExportFormat };
  /** Default true: heal the safe breaks. False only records (a dry look). */
  readonly heal?: boolean;
  readonly onProgress?: (progress: ReconcileProgress) => void;
  /** The run's id; a scheduled run derives it from its tick, so a second process running the same tick is refused (RunTakenError). Default: a UUID. */
  readonly id?: string;
}

/** Another process already started the run with this id (a scheduled tick): nothing to do. */
export class RunTakenError extends Error {
  constructor(readonly runId: string) {
    super(`reconciliation run ${runId} was already started by another process`);
    this.name = 'RunTakenError';
  }
}

export interface ReconRunSummary {
  readonly id: string;
  readonly entity: string;
  readonly period: string;
  readonly trigger: RunTrigger;
  readonly actor: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly sides: Readonly<Record<Side, string>>;
  readonly linesRead: Readonly<Record<Side, number>>;
  readonly keys: number;
  readonly completeness: Completeness;
  readonly breaks: Readonly<Record<BreakClass, number>>;
  readonly healed: Omit<HealCounts, 'exceptionsOpened' | 'inFlight' | 'alreadyInQueue'>;
  readonly exceptionsOpened: number;
  readonly inFlight: number;
  readonly alreadyInQueue: number;
  /** Breaks of this entity and period from earlier runs that this run did not find again. */
  readonly cleared: number;
  /** Re-ingested or recall events the hub refused (they stay open as exceptions). */
  readonly refused: readonly { id: string; code: string; message: string }[];
  readonly balances: readonly BalanceRow[];
  readonly export?: { readonly path: string; readonly format: ExportFormat };
}

const PERIOD = /^(\d{4})-(0[1-9]|1[0-2])$/;
/** Partitions of a run read from connectors: one entity-month is small; 8 keeps each partition's memory low anyway. */
const RUN_PARTITIONS = 8;

export function checkPeriod(period: string, now: number): void {
  if (!PERIOD.test(period) || period > new Date(now).toISOString().slice(0, 7)) throw new AppError('RECON_PERIOD_INVALID', { period });
}

export function entityOf(deps: Pick<ReconcileDeps, 'entities'>, code: string): LegalEntity {
  const entity = deps.entities().find((e) => e.code === code);
  if (!entity) throw new AppError('RECON_ENTITY_UNKNOWN', { entity: code, configured: deps.entities().map((e) => e.code).join(', ') });
  return entity;
}

export async function runReconciliation(deps: ReconcileDeps, request: ReconcileRequest): Promise<ReconRunSummary> {
  const entity = entityOf(deps, request.entity);
  checkPeriod(request.period, deps.clock.now());
  const keys = new Map<string, PlatformKey>();
  const reader = request.platformFile === undefined ? deps.sides.platform(entity) : undefined;
  const sources = buildSources(deps, entity, request, reader, keys);
  const exporter = request.exportTo && openExport(request.exportTo.path, request.exportTo.format);
  const id = request.id ?? randomUUID();
  const startedAt = deps.clock.now();
  const claimed = await deps.store.db
    .insertInto('recon_runs')
    .values({ id, entity: entity.code, period: request.period, trigger: request.trigger, actor: request.actor, started_at: startedAt, finished_at: null, status: 'running', summary: null, error: null })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!claimed) {
    exporter?.abort();
    throw new RunTakenError(id);
  }
  const found: Break[] = [];
  let result;
  try {
    result = await reconcile(sources, {
      partitions: RUN_PARTITIONS,
      threads: 1,
      onBreak: (b) => {
        found.push(b);
        exporter?.write(b);
      },
      ...(request.onProgress && { onProgress: request.onProgress }),
    });
  } catch (error) {
    exporter?.abort();
    const failure = sideFailure(error, entity.code);
    await deps.store.db.updateTable('recon_runs').set({ status: 'failed', finished_at: deps.clock.now(), error: failure.message }).where('id', '=', id).execute();
    throw failure;
  }
  const counts = newHealCounts();
  const followUp: HealFollowUp = { reingest: [], recalls: [], lanes: new Set() };
  const now = deps.clock.now();
  const ctx = {
    runId: id,
    now,
    target: entity.target,
    recalledAfterPosting: entity.recalledAfterPosting ?? 'reverse',
    heal: request.heal ?? true,
    keys,
    platformSource: reader?.source,
    onRecorded: (b: Break, action: string) => deps.metrics?.reconciliationBreaks.inc({ entity: b.entity, class: b.class, action }),
  } as const;
  const cleared = await deps.store.db.transaction().execute(async (tx) => {
    for (const b of found) await handleBreak(tx, b, ctx, counts, followUp);
    return clearUnseen(tx, id, entity.code, request.period, now);
  });
  const refused = await followThrough(deps, entity, followUp, reader, id);
  const summary: ReconRunSummary = {
    id,
    entity: entity.code,
    period: request.period,
    trigger: request.trigger,
    actor: request.actor,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(deps.clock.now()).toISOString(),
    sides: { platform: sources.platform.name, finsync: sources.finsync.name, erp: sources.erp.name },
    linesRead: result.linesRead,
    keys: result.keys,
    completeness: result.completeness,
    breaks: result.breaks,
    healed: { replayed: counts.replayed, reingested: counts.reingested, recallApplied: counts.recallApplied, lookupRequeued: counts.lookupRequeued },
    exceptionsOpened: counts.exceptionsOpened,
    inFlight: counts.inFlight,
    alreadyInQueue: counts.alreadyInQueue,
    cleared,
    refused,
    balances: result.balances,
    ...(request.exportTo && { export: request.exportTo }),
  };
  exporter?.close(summary);
  await deps.store.db.updateTable('recon_runs').set({ status: 'done', finished_at: deps.clock.now(), summary: JSON.stringify(summary) }).where('id', '=', id).execute();
  deps.logger.info({ run: id, entity: entity.code, period: request.period, completeness: summary.completeness.percent, breaks: summary.breaks, healed: summary.healed }, 'reconciliation run done');
  const { matchedKeys, approvedKeys } = summary.completeness;
  if (approvedKeys > 0) deps.metrics?.reconciliationCompleteness.set({ entity: entity.code, period: request.period }, matchedKeys / approvedKeys);
  return summary;
}

function buildSources(deps: ReconcileDeps, entity: LegalEntity, request: ReconcileRequest, reader: PlatformReader | undefined, keys: Map<string, PlatformKey>): Record<Side, LineSource> {
  const targetOf = (report: { customFields?: Readonly<Record<string, string>> }, date: string) =>
    deps.route(entity, { entity: entity.code, date, processType: 'expense', ...(report.customFields?.ledger !== undefined && { ledger: report.customFields.ledger }) }).target;
  const platform = request.platformFile !== undefined ? readLineFile(request.platformFile, 'platform') : reader && platformLines(reader, { entity: entity.code, period: request.period, targetOf, mapping: deps.mapping, keys });
  if (!platform) throw new AppError('RECON_SIDE_UNAVAILABLE', { side: 'platform', entity: entity.code, detail: 'no source with a read-back delivers its reports' });
  const erp = request.erpFile !== undefined ? readLineFile(request.erpFile, 'erp') : deps.sides.erp(entity, request.period);
  if (!erp) throw new AppError('RECON_SIDE_UNAVAILABLE', { side: 'erp', entity: entity.code, detail: `target ${entity.target} has no read-back` });
  return { platform, finsync: deps.sides.finsync(entity, request.period), erp };
}

/** Takes in what healing asked for: reports read again from the platform, and recalls. */
async function followThrough(deps: ReconcileDeps, entity: LegalEntity, followUp: HealFollowUp, reader: PlatformReader | undefined, runId: string): Promise<ReconRunSummary['refused']> {
  const events: object[] = [];
  if (reader) {
    for (const key of followUp.reingest) {
      const report = await deps.sides.fetchPlatformReport?.(entity, key);
      if (report) events.push(platformReportEvent(reader.source, key.eventId, report));
    }
    for (const recall of followUp.recalls) events.push(recallEvent(reader.source, runId, recall));
  }
  const refused = events.length > 0 ? (await deps.ingest(events)).refused : [];
  for (const target of followUp.lanes) deps.notifyLane(target);
  return refused;
}

function sideFailure(error: unknown, entity: string): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof ReconciliationInputError) return new AppError('RECON_INPUT_INVALID', { source: error.source, line: error.line, column: error.column, detail: error.detail });
  const side = (error as { side?: string }).side;
  return new AppError('RECON_SIDE_FAILED', { side: side ?? 'a', entity, detail: (error as Error).message, system: side === 'erp' ? 'the ERP' : side === 'platform' ? 'the expense platform' : 'it' });
}

export const EMPTY_BREAKS: Readonly<Record<BreakClass, number>> = Object.fromEntries(BREAK_CLASSES.map((c) => [c, 0])) as Record<BreakClass, number>;
