/**
 * Scheduled reconciliation: each entity with a `reconcileSchedule` (cron) reconciles, on every
 * tick, the previous period and the current one (late postings and reversals land in both).
 *
 * Several processes may run the schedule (the distributed mode): a scheduled run's id is derived
 * from the entity, the period and the tick, and inserting it is the lease — the second process to
 * insert the same id skips the tick. A run still going when the next tick comes is not overlapped
 * (croner's `protect`).
 */
import { Cron } from 'croner';
import type { LegalEntity } from '../masterdata/company.ts';
import { runReconciliation, RunTakenError, type ReconcileDeps } from './run.ts';

export const SCHEDULE_ACTOR = 'finsync-schedule';

/** The periods a tick at `now` reconciles: the previous month and the current one. */
export function scheduledPeriods(now: number): [string, string] {
  const d = new Date(now);
  const current = d.toISOString().slice(0, 7);
  const previous = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
  return [previous, current];
}

export async function runScheduledTick(deps: ReconcileDeps, entity: LegalEntity, tickAt: number): Promise<void> {
  for (const period of scheduledPeriods(tickAt)) {
    const id = `schedule:${entity.code}:${period}:${new Date(tickAt).toISOString().slice(0, 16)}`;
    try {
      await runReconciliation(deps, { entity: entity.code, period, trigger: 'schedule', actor: SCHEDULE_ACTOR, id });
    } catch (error) {
      if (error instanceof RunTakenError) continue;
      deps.logger.error({ err: error, entity: entity.code, period }, 'scheduled reconciliation failed');
    }
  }
}

export function startReconcileSchedules(deps: ReconcileDeps): { stop(): void } {
  const jobs = deps
    .entities()
    .filter((e) => e.reconcileSchedule !== undefined)
    .map((entity) => new Cron(entity.reconcileSchedule!, { protect: true, timezone: 'UTC' }, async (job) => runScheduledTick(deps, entity, (job.currentRun() ?? new Date()).getTime())));
  return {
    stop() {
      for (const job of jobs) job.stop();
    },
  };
}
