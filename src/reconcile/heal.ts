/**
 * What a reconciliation run does about each break it found. Safe breaks heal themselves, once:
 *
 * | break | when it is safe | what finsync does (action) |
 * |---|---|---|
 * | `missing_in_erp` | finsync's posting is posted | re-queues it under its unchanged external key with an unknown outcome, so the lane looks the key up before it sends (`replayed`) |
 * | `missing_in_finsync` | finsync never received that revision | takes the report in again from the platform, as the same event (`reingested`) |
 * | `status_mismatch`, recalled | the entity's policy is `reverse` | applies the recall: a reversal is queued (`recall_applied`) |
 * | `status_mismatch`, unconfirmed | finsync's posting waits for a retry after an unknown outcome | makes it due now: the lane's lookup records the document the ERP holds (`lookup_requeued`) |
 *
 * A break that is not safe, or that was healed on the previous run and is found again, opens an
 * exception. A break whose item is simply still on its way (a posting in flight, a revision being
 * processed) is counted `inFlight` and recorded nowhere: the next run sees it settled. A
 * `missing_in_finsync` whose revision finsync holds quarantined or waiting is already in the
 * exception queue under its own code: counted `alreadyInQueue`, not opened twice.
 */
import { EVENT_TYPES } from '../domain/events.ts';
import type { ReportInput } from '../domain/report.ts';
import type { Tx } from '../store/db.ts';
import { appendLog } from '../store/event-log.ts';
import type { Break } from '../reconciliation/types.ts';
import { CLASS_CODES, currentBreak, recordBreak, type BreakAction, type BreakCode } from './breaks.ts';
import type { PlatformKey } from './platform-lines.ts';

export interface HealCounts {
  replayed: number;
  reingested: number;
  recallApplied: number;
  lookupRequeued: number;
  exceptionsOpened: number;
  inFlight: number;
  alreadyInQueue: number;
}

export function newHealCounts(): HealCounts {
  return { replayed: 0, reingested: 0, recallApplied: 0, lookupRequeued: 0, exceptionsOpened: 0, inFlight: 0, alreadyInQueue: 0 };
}

export interface HealContext {
  readonly runId: string;
  readonly now: number;
  readonly target: string;
  readonly recalledAfterPosting: 'reverse' | 'flag';
  readonly heal: boolean;
  readonly keys: ReadonlyMap<string, PlatformKey>;
  readonly platformSource: string | undefined;
  /** Told of every break recorded, with what was done (the metric finsync_reconciliation_breaks_total). */
  readonly onRecorded?: (found: Break, action: BreakAction) => void;
}

/** Events to take in after the transaction (re-ingested reports, recalls), and lanes to wake. */
export interface HealFollowUp {
  readonly reingest: PlatformKey[];
  readonly recalls: { reportId: string; revision: number }[];
  readonly lanes: Set<string>;
}

type Decision = { readonly action: BreakAction; readonly code: BreakCode; readonly reportId: string | null; readonly revision: number | null; readonly target?: string } | { readonly skip: 'inFlight' | 'alreadyInQueue' };

/** Decides and applies one break in the caller's transaction; counts it. */
export async function handleBreak(tx: Tx, found: Break, ctx: HealContext, counts: HealCounts, followUp: HealFollowUp): Promise<void> {
  const decision = await decide(tx, found, ctx, followUp);
  if ('skip' in decision) {
    counts[decision.skip]++;
    return;
  }
  await recordBreak(tx, ctx.runId, { found, code: decision.code, action: decision.action, reportId: decision.reportId, revision: decision.revision, target: decision.target ?? ctx.target }, ctx.now);
  ctx.onRecorded?.(found, decision.action);
  if (decision.action === 'exception') counts.exceptionsOpened++;
  else if (decision.action === 'replayed') counts.replayed++;
  else if (decision.action === 'reingested') counts.reingested++;
  else if (decision.action === 'recall_applied') counts.recallApplied++;
  else counts.lookupRequeued++;
}

async function decide(tx: Tx, found: Break, ctx: HealContext, followUp: HealFollowUp): Promise<Decision> {
  const posting = await tx.selectFrom('postings').selectAll().where('external_key', '=', found.key).executeTakeFirst();
  const platform = ctx.keys.get(found.key);
  const reportId = posting?.report_id ?? platform?.reportId ?? null;
  const revision = posting?.revision ?? platform?.revision ?? null;
  const exception: Decision = { action: 'exception', code: CLASS_CODES[found.class], reportId, revision, ...(posting && { target: posting.target }) };
  const previous = await currentBreak(tx, found.entity, found.key, found.class);
  // Healing is tried once: a break healed on the last run and found again is an exception now.
  if (!ctx.heal || previous?.state === 'healing' || previous?.action === 'exception') return previous?.code === 'RECON_RECALLED_AFTER_POSTING' ? { ...exception, code: 'RECON_RECALLED_AFTER_POSTING' } : exception;
  const log = posting && { correlationId: posting.correlation_id, reportId: posting.report_id, revision: posting.revision };
  switch (found.class) {
    case 'missing_in_erp': {
      if (!posting) return exception;
      if (posting.state === 'queued' || posting.state === 'posting') return { skip: 'inFlight' };
      if (posting.state !== 'posted') return exception;
      await tx.updateTable('postings').set({ state: 'queued', unknown_outcome: 1, attempts: 0, next_attempt_at: ctx.now, lease_until: null, updated_at: ctx.now }).where('id', '=', posting.id).where('state', '=', 'posted').execute();
      await appendLog(tx, ctx.now, [{ ...log!, kind: 'posting.replayed', payload: { externalKey: posting.external_key, by: 'reconciliation', run: ctx.runId, reason: 'missing in the ERP' } }]);
      followUp.lanes.add(posting.target);
      return { action: 'replayed', code: CLASS_CODES.missing_in_erp, reportId, revision, target: posting.target };
    }
    case 'missing_in_finsync': {
      if (!platform) return exception;
      const held = await tx.selectFrom('revisions').select('state').where('report_id', '=', platform.reportId).where('revision', '=', platform.revision).executeTakeFirst();
      if (held?.state === 'quarantined' || held?.state === 'waiting') return { skip: 'alreadyInQueue' };
      if (held && ['received', 'validated', 'mapped', 'queued'].includes(held.state)) return { skip: 'inFlight' };
      if (held || ctx.platformSource === undefined) return exception;
      followUp.reingest.push(platform);
      return { action: 'reingested', code: CLASS_CODES.missing_in_finsync, reportId, revision };
    }
    case 'status_mismatch': {
      if (found.platform?.status === 'recalled' && found.finsync !== null && found.finsync.status !== 'reversed') {
        if (ctx.recalledAfterPosting === 'flag' || !platform) return { ...exception, code: ctx.recalledAfterPosting === 'flag' ? 'RECON_RECALLED_AFTER_POSTING' : exception.code };
        const report = await tx.selectFrom('reports').select('recalled_at').where('report_id', '=', platform.reportId).executeTakeFirst();
        if (report?.recalled_at !== null && report?.recalled_at !== undefined) return { skip: 'inFlight' };
        followUp.recalls.push({ reportId: platform.reportId, revision: platform.revision });
        return { action: 'recall_applied', code: CLASS_CODES.status_mismatch, reportId, revision };
      }
      if (!posting) return exception;
      if (posting.state === 'posting') return { skip: 'inFlight' };
      if (posting.state !== 'queued' || posting.unknown_outcome !== 1) return exception;
      await tx.updateTable('postings').set({ next_attempt_at: ctx.now, updated_at: ctx.now }).where('id', '=', posting.id).where('state', '=', 'queued').execute();
      followUp.lanes.add(posting.target);
      return { action: 'lookup_requeued', code: CLASS_CODES.status_mismatch, reportId, revision, target: posting.target };
    }
    default:
      return exception;
  }
}

/**
 * The CloudEvent of a report read from a platform: the same for the connector that pulls it and for
 * a reconciliation that takes it in again (deterministic, so a second delivery is a duplicate).
 */
export function platformReportEvent(source: string, eventId: string, report: ReportInput): object {
  return { specversion: '1.0', id: eventId, source, type: report.revision > 1 ? EVENT_TYPES.updated : EVENT_TYPES.approved, subject: report.reportId, time: report.approvedAt, data: report };
}

export function recallEvent(source: string, runId: string, recall: { reportId: string; revision: number }): object {
  return {
    specversion: '1.0',
    id: `reconcile-${runId}-${recall.reportId}-r${recall.revision}-recalled`,
    source,
    type: EVENT_TYPES.recalled,
    subject: recall.reportId,
    time: new Date().toISOString(),
    data: { reportId: recall.reportId, revision: recall.revision, reason: `recalled in the expense platform after posting; found by reconciliation run ${runId}` },
  };
}
