/**
 * Breaks kept between reconciliation runs (table `recon_breaks`, migration 006). A break is one row
 * per entity × external key × class while it lasts:
 *
 * - a run that finds it again updates the row (last seen, last run, what was done) instead of
 *   opening a second one;
 * - a break finsync healed waits as `healing`; found again by the next run, it becomes an `open`
 *   exception (healing is tried once per break, never in a loop);
 * - a run that no longer finds an `open` or `healing` break of its entity and period marks it
 *   `cleared`; a person closes one with `resolveBreak` (who, when, why).
 *
 * Open breaks are listed by the exception queue (kind `reconciliation`).
 */
import type { Db, Tx } from '../store/db.ts';
import type { ReconBreakState } from '../store/schema.ts';
import type { Break, BreakClass } from '../reconciliation/types.ts';
import { AppError, type ErrorCode } from '../errors.ts';

export type BreakCode = Extract<ErrorCode, `RECON_${string}`>;

export const CLASS_CODES: Readonly<Record<BreakClass, BreakCode>> = {
  missing_in_erp: 'RECON_MISSING_IN_ERP',
  extra_in_erp: 'RECON_EXTRA_IN_ERP',
  amount_mismatch: 'RECON_AMOUNT_MISMATCH',
  account_mismatch: 'RECON_ACCOUNT_MISMATCH',
  status_mismatch: 'RECON_STATUS_MISMATCH',
  missing_in_finsync: 'RECON_MISSING_IN_FINSYNC',
};

/** What finsync did about a break. */
export type BreakAction = 'replayed' | 'reingested' | 'recall_applied' | 'lookup_requeued' | 'exception';

export interface BreakRecord {
  readonly found: Break;
  readonly code: BreakCode;
  readonly action: BreakAction;
  readonly reportId: string | null;
  readonly revision: number | null;
  readonly target: string | null;
}

export interface OpenBreak {
  readonly id: number;
  readonly entity: string;
  readonly period: string;
  readonly currency: string;
  readonly class: BreakClass;
  readonly code: BreakCode;
  readonly externalKey: string;
  readonly reportId: string | null;
  readonly revision: number | null;
  readonly target: string | null;
  readonly state: ReconBreakState;
  readonly action: BreakAction;
  readonly detail: Break;
  readonly firstRunId: string | null;
  readonly lastRunId: string | null;
  readonly firstSeenAt: number;
  readonly lastSeenAt: number;
}

/** The break as it stands before this run: undefined when it is new (or was closed). */
export async function currentBreak(tx: Tx | Db, entity: string, externalKey: string, cls: BreakClass): Promise<{ id: number; state: ReconBreakState; action: string; code: string } | undefined> {
  const row = await tx
    .selectFrom('recon_breaks')
    .select(['id', 'state', 'action', 'code'])
    .where('entity', '=', entity)
    .where('external_key', '=', externalKey)
    .where('class', '=', cls)
    .where('state', 'in', ['open', 'healing'])
    .orderBy('id', 'desc')
    .executeTakeFirst();
  return row && { id: Number(row.id), state: row.state, action: row.action, code: row.code };
}

/** Records one break of a run (or of an approval-state check, `runId` null): updates the open row, or opens one. */
export async function recordBreak(tx: Tx, runId: string | null, record: BreakRecord, now: number): Promise<number> {
  const { found } = record;
  const state: ReconBreakState = record.action === 'exception' ? 'open' : 'healing';
  const detail = JSON.stringify(found);
  const existing = await currentBreak(tx, found.entity, found.key, found.class);
  if (existing) {
    await tx
      .updateTable('recon_breaks')
      .set({ state, action: record.action, code: record.code, detail, last_run_id: runId, last_seen_at: now, report_id: record.reportId, revision: record.revision, target: record.target })
      .where('id', '=', existing.id)
      .execute();
    return existing.id;
  }
  const inserted = await tx
    .insertInto('recon_breaks')
    .values({
      entity: found.entity,
      period: found.period,
      currency: found.currency,
      class: found.class,
      code: record.code,
      external_key: found.key,
      report_id: record.reportId,
      revision: record.revision,
      target: record.target,
      state,
      action: record.action,
      detail,
      first_run_id: runId,
      last_run_id: runId,
      first_seen_at: now,
      last_seen_at: now,
      closed_at: null,
      closed_by: null,
      resolution: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(inserted.id);
}

/** Marks cleared every open or healing break of the entity and period that the run did not find again. */
export async function clearUnseen(tx: Tx, runId: string, entity: string, period: string, now: number): Promise<number> {
  const result = await tx
    .updateTable('recon_breaks')
    .set({ state: 'cleared', closed_at: now, closed_by: 'finsync-reconciliation', resolution: `not found again by run ${runId}` })
    .where('entity', '=', entity)
    .where('period', '=', period)
    .where('state', 'in', ['open', 'healing'])
    .where((eb) => eb.or([eb('last_run_id', 'is', null), eb('last_run_id', '!=', runId)]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function resolveBreak(db: Db, id: number, actor: string, resolution: string, now: number): Promise<OpenBreak> {
  return db.transaction().execute(async (tx) => {
    const row = await tx.selectFrom('recon_breaks').selectAll().where('id', '=', id).where('state', 'in', ['open', 'healing']).executeTakeFirst();
    if (!row) throw new AppError('RECON_BREAK_NOT_FOUND', { id: `break:${id}` });
    await tx.updateTable('recon_breaks').set({ state: 'resolved', closed_at: now, closed_by: actor, resolution }).where('id', '=', id).execute();
    return toOpenBreak({ ...row, state: 'resolved' });
  });
}

export interface BreakFilter {
  readonly entity?: string;
  readonly code?: string;
  readonly ids?: readonly number[];
  readonly states?: readonly ReconBreakState[];
  readonly limit: number;
}

export async function listBreaks(db: Db, filter: BreakFilter): Promise<OpenBreak[]> {
  let select = db
    .selectFrom('recon_breaks')
    .selectAll()
    .where('state', 'in', [...(filter.states ?? ['open'])]);
  if (filter.entity !== undefined) select = select.where('entity', '=', filter.entity);
  if (filter.code !== undefined) select = select.where('code', '=', filter.code);
  if (filter.ids !== undefined) select = select.where('id', 'in', filter.ids.length > 0 ? [...filter.ids] : [-1]);
  const rows = await select.orderBy('first_seen_at').orderBy('id').limit(filter.limit).execute();
  return rows.map(toOpenBreak);
}

type BreakRow = Awaited<ReturnType<typeof readRow>>;
async function readRow(db: Db, id: number) {
  return db.selectFrom('recon_breaks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

function toOpenBreak(row: BreakRow): OpenBreak {
  return {
    id: Number(row.id),
    entity: row.entity,
    period: row.period,
    currency: row.currency,
    class: row.class as BreakClass,
    code: row.code as BreakCode,
    externalKey: row.external_key,
    reportId: row.report_id,
    revision: row.revision,
    target: row.target,
    state: row.state,
    action: row.action as BreakAction,
    detail: JSON.parse(row.detail) as Break,
    firstRunId: row.first_run_id,
    lastRunId: row.last_run_id,
    firstSeenAt: Number(row.first_seen_at),
    lastSeenAt: Number(row.last_seen_at),
  };
}
