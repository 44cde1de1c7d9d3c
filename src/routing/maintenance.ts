/**
 * Maintenance calendars: a window during which a target connection takes no postings (the ERP's
 * planned downtime). Its lane claims nothing inside a window; the postings wait, durably and in
 * order, and drain when the window ends — while every other lane keeps flowing. Windows are added
 * with `finsync maintenance add --target X --from T --to T` or `POST /v1/maintenance`, and cancelled
 * the same ways; every change is in the event log (`maintenance.added`, `maintenance.cancelled`).
 */
import { AppError } from '../errors.ts';
import type { Db } from '../store/db.ts';
import { appendLog } from '../store/event-log.ts';

/** The longest window accepted: a planned downtime longer than this is a mistake more often than a plan. */
export const WINDOW_DAYS_MAX = 14;

export interface MaintenanceWindow {
  readonly id: number;
  readonly target: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly cancelledAt: string | null;
}

export interface NewWindow {
  readonly target: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

function instant(value: string, field: string): number {
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(value) || !Number.isFinite(ms)) {
    throw new AppError('MAINTENANCE_INVALID', { detail: `${field}: ${value} is not an ISO 8601 date-time with a zone (e.g. 2026-11-28T22:00:00Z)` });
  }
  return ms;
}

export async function addMaintenanceWindow(db: Db, input: NewWindow, actor: string, targets: readonly string[], now: number): Promise<MaintenanceWindow> {
  if (!targets.includes(input.target)) throw new AppError('MAINTENANCE_INVALID', { detail: `target ${input.target} is not a configured target (${targets.join(', ')})` });
  const from = instant(input.from, 'from');
  const to = instant(input.to, 'to');
  if (to <= from) throw new AppError('MAINTENANCE_INVALID', { detail: 'to must be after from' });
  if (to <= now) throw new AppError('MAINTENANCE_INVALID', { detail: 'the window has already ended' });
  if (to - from > WINDOW_DAYS_MAX * 86_400_000) throw new AppError('MAINTENANCE_INVALID', { detail: `a window may last at most ${WINDOW_DAYS_MAX} days; add consecutive windows if the downtime is longer` });
  const reason = input.reason.trim();
  if (reason.length === 0 || reason.length > 500) throw new AppError('MAINTENANCE_INVALID', { detail: 'reason must be 1 to 500 characters' });
  return db.transaction().execute(async (tx) => {
    const row = await tx.insertInto('maintenance_windows').values({ target: input.target, from_at: from, to_at: to, reason, created_by: actor, created_at: now, cancelled_at: null, cancelled_by: null }).returning('id').executeTakeFirstOrThrow();
    const window: MaintenanceWindow = { id: Number(row.id), target: input.target, from: new Date(from).toISOString(), to: new Date(to).toISOString(), reason, createdBy: actor, createdAt: new Date(now).toISOString(), cancelledAt: null };
    await appendLog(tx, now, [{ correlationId: `maintenance-${window.id}`, kind: 'maintenance.added', payload: window }]);
    return window;
  });
}

export async function cancelMaintenanceWindow(db: Db, id: number, actor: string, now: number): Promise<MaintenanceWindow> {
  return db.transaction().execute(async (tx) => {
    const updated = await tx.updateTable('maintenance_windows').set({ cancelled_at: now, cancelled_by: actor }).where('id', '=', id).where('cancelled_at', 'is', null).executeTakeFirst();
    if (Number(updated.numUpdatedRows) !== 1) throw new AppError('MAINTENANCE_NOT_FOUND', { id });
    await appendLog(tx, now, [{ correlationId: `maintenance-${id}`, kind: 'maintenance.cancelled', payload: { id, by: actor } }]);
    const row = await tx.selectFrom('maintenance_windows').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    return toWindow(row);
  });
}

/** Windows not yet over (and not cancelled), or every window with `all`; soonest first. */
export async function listMaintenanceWindows(db: Db, options: { target?: string; all?: boolean; now: number }): Promise<MaintenanceWindow[]> {
  let select = db.selectFrom('maintenance_windows').selectAll();
  if (options.target !== undefined) select = select.where('target', '=', options.target);
  if (!options.all) select = select.where('to_at', '>', options.now).where('cancelled_at', 'is', null);
  return (await select.orderBy('from_at').orderBy('id').limit(1_000).execute()).map(toWindow);
}

function toWindow(row: { id: number; target: string; from_at: number; to_at: number; reason: string; created_by: string; created_at: number; cancelled_at: number | null }): MaintenanceWindow {
  return {
    id: Number(row.id),
    target: row.target,
    from: new Date(Number(row.from_at)).toISOString(),
    to: new Date(Number(row.to_at)).toISOString(),
    reason: row.reason,
    createdBy: row.created_by,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    cancelledAt: row.cancelled_at === null ? null : new Date(Number(row.cancelled_at)).toISOString(),
  };
}

/**
 * What a lane asks before claiming: is my target in maintenance now, and until when. The windows
 * are read from the store at most once per `refreshMs`, so a window added by any process pauses
 * every process's lane within that time.
 */
export class MaintenanceCalendar {
  #windows: { target: string; from: number; to: number }[] = [];
  #readAt = -Infinity;
  #reading: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly refreshMs: number,
  ) {}

  /** The end of the window `target` is in at `now`, or undefined when it is not in one. */
  async pausedUntil(target: string, now: number): Promise<number | undefined> {
    if (now - this.#readAt >= this.refreshMs) await this.refresh(now);
    let until: number | undefined;
    for (const w of this.#windows) if (w.target === target && w.from <= now && now < w.to) until = Math.max(until ?? 0, w.to);
    return until;
  }

  /** Reads the windows again now (after a change made in this process). */
  async refresh(now: number): Promise<void> {
    this.#reading ??= (async () => {
      const rows = await this.db.selectFrom('maintenance_windows').select(['target', 'from_at', 'to_at']).where('to_at', '>', now).where('cancelled_at', 'is', null).execute();
      this.#windows = rows.map((r) => ({ target: r.target, from: Number(r.from_at), to: Number(r.to_at) }));
      this.#readAt = now;
    })().finally(() => (this.#reading = undefined));
    await this.#reading;
  }
}
