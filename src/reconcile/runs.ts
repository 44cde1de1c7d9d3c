/** Reading the recorded reconciliation runs, and who may start one or resolve a break. */
import { AppError } from '../errors.ts';
import { isController, type Principal } from '../store/api-keys.ts';
import type { Db } from '../store/db.ts';
import type { ReconRunSummary } from './run.ts';

export const RUNS_LIST_MAX = 200;

export interface RunRecord {
  readonly id: string;
  readonly entity: string;
  readonly period: string;
  readonly trigger: string;
  readonly actor: string;
  readonly status: 'running' | 'done' | 'failed';
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly error: string | null;
  /** Null while running, and for a failed run. */
  readonly summary: ReconRunSummary | null;
}

type RunRow = Awaited<ReturnType<typeof readRows>>[number];

async function readRows(db: Db, filter: { id?: string; entity?: string; limit: number }) {
  let select = db.selectFrom('recon_runs').selectAll();
  if (filter.id !== undefined) select = select.where('id', '=', filter.id);
  if (filter.entity !== undefined) select = select.where('entity', '=', filter.entity);
  return select.orderBy('started_at', 'desc').orderBy('id').limit(filter.limit).execute();
}

function toRecord(row: RunRow): RunRecord {
  return {
    id: row.id,
    entity: row.entity,
    period: row.period,
    trigger: row.trigger,
    actor: row.actor,
    status: row.status,
    startedAt: new Date(Number(row.started_at)).toISOString(),
    finishedAt: row.finished_at === null ? null : new Date(Number(row.finished_at)).toISOString(),
    error: row.error,
    summary: row.summary === null ? null : (JSON.parse(row.summary) as ReconRunSummary),
  };
}

export async function listRuns(db: Db, filter: { entity?: string; limit: number }): Promise<RunRecord[]> {
  return (await readRows(db, { ...filter, limit: Math.min(filter.limit, RUNS_LIST_MAX) })).map(toRecord);
}

export async function getRun(db: Db, id: string): Promise<RunRecord> {
  const [row] = await readRows(db, { id, limit: 1 });
  if (!row) throw new AppError('RECON_RUN_NOT_FOUND', { id });
  return toRecord(row);
}

/** Operators and admins act on every entity; a controller on its own. */
export function requireReconcileRole(actor: Principal, entity: string, action: string): void {
  if (actor.roles.includes('operator') || actor.roles.includes('admin') || isController(actor, entity)) return;
  throw new AppError('RECON_ROLE_REQUIRED', { actor: actor.name, entity, action });
}
