/**
 * Records how a posting ended, in one transaction with its revision's state and the event log.
 * Every update is guarded on the posting still being in flight, so a stale worker whose lease
 * expired cannot overwrite the outcome a newer claim recorded.
 */
import type { Logger } from 'pino';
import { formatErrorMessage, type ErrorCode } from '../errors.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Store, Tx } from '../store/db.ts';
import { appendLog } from '../store/event-log.ts';
import { recordAttempts, type AttemptRecord, type PostingRow } from '../store/postings.ts';
import { markRecovered } from '../store/replays.ts';
import { queuePostingStatus } from '../sources/status-back.ts';
import type { Clock } from './clock.ts';

export type PostingEnd =
  | { readonly kind: 'posted'; readonly documentId: string; readonly foundOnLookup: boolean }
  /** `unknownOutcome`: an attempt of this claim may have committed (its answer never came): the posting keeps that known, so a replay looks it up and a newer revision reverses it. */
  | { readonly kind: 'quarantined'; readonly code: ErrorCode; readonly params: Record<string, string | number>; readonly unknownOutcome?: boolean }
  | { readonly kind: 'rescheduled'; readonly delayMs: number; readonly unknownOutcome: boolean; readonly reason: string }
  | { readonly kind: 'skipped' };

export interface FinishedPosting {
  readonly posting: PostingRow;
  readonly end: PostingEnd;
  readonly lagMs?: number;
}

interface FinishDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

export async function finishPosting(deps: FinishDeps, posting: PostingRow, end: PostingEnd, attempts: readonly AttemptRecord[] = []): Promise<FinishedPosting | undefined> {
  const now = deps.clock.now();
  const log = { correlationId: posting.correlation_id, reportId: posting.report_id, revision: posting.revision };
  /** Set when this posting ends a replay's wait: the revision was quarantined, replayed, and is posted now. */
  let recovered: { entity: string; quarantinedAt: number } | undefined;
  const applied = await deps.store.db.transaction().execute(async (tx) => {
    const recorded = await recordEnd(tx);
    if (recorded) await recordAttempts(tx, posting.id, attempts);
    return recorded;
  });
  async function recordEnd(tx: Tx): Promise<boolean> {
    const guard = tx.updateTable('postings').where('id', '=', posting.id).where('state', '=', 'posting').where('attempts', '=', posting.attempts);
    switch (end.kind) {
      case 'rescheduled': {
        const r = await guard.set({ state: 'queued', lease_until: null, next_attempt_at: now + end.delayMs, unknown_outcome: end.unknownOutcome ? 1 : 0, updated_at: now }).executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1) return false;
        await appendLog(tx, now, [{ ...log, kind: 'posting.retry-scheduled', payload: { externalKey: posting.external_key, delayMs: end.delayMs, reason: end.reason, unknownOutcome: end.unknownOutcome } }]);
        return true;
      }
      case 'skipped': {
        const r = await guard.set({ state: 'skipped', lease_until: null, updated_at: now }).executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1) return false;
        await appendLog(tx, now, [{ ...log, kind: 'reversal.skipped', payload: { externalKey: posting.external_key, reason: 'the original journal was never posted' } }]);
        return true;
      }
      case 'quarantined': {
        const message = formatErrorMessage(end.code, end.params);
        const r = await guard.set({ state: 'quarantined', lease_until: null, reason_code: end.code, reason_detail: message, updated_at: now, ...(end.unknownOutcome && { unknown_outcome: 1 }) }).executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1) return false;
        // A shadow posting (a migration wave's second target) is compared, never deciding the revision's state.
        if (posting.kind === 'journal' && posting.role === 'primary') {
          await tx.updateTable('revisions').set({ state: 'quarantined', reason_code: end.code, reason_detail: message, updated_at: now }).where('report_id', '=', posting.report_id).where('revision', '=', posting.revision).where('state', '=', 'queued').execute();
        }
        await appendLog(tx, now, [{ ...log, kind: `${posting.kind === 'journal' ? 'posting' : 'reversal'}.quarantined`, payload: { externalKey: posting.external_key, code: end.code, params: end.params, message } }]);
        return true;
      }
      case 'posted': {
        const r = await guard.set({ state: 'posted', lease_until: null, document_id: end.documentId, posted_at: now, updated_at: now }).executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1) return false;
        if (posting.kind === 'journal' && posting.role === 'primary') {
          await tx.updateTable('revisions').set({ state: 'posted', posted_at: now, updated_at: now }).where('report_id', '=', posting.report_id).where('revision', '=', posting.revision).where('state', '=', 'queued').execute();
          await tx.updateTable('revisions').set({ posted_at: now }).where('report_id', '=', posting.report_id).where('revision', '=', posting.revision).execute();
          // In this transaction: a crash after the posting cannot lose the confirmation to the platform.
          await queuePostingStatus(tx, posting.report_id, posting.revision, now);
        } else if (posting.role === 'primary') {
          await tx.updateTable('revisions').set({ state: 'reversed', updated_at: now }).where('report_id', '=', posting.report_id).where('revision', '=', posting.revision).where('state', 'in', ['posted', 'superseded']).execute();
        }
        const entries = [{ ...log, kind: `${posting.kind === 'journal' ? 'posting' : 'reversal'}.posted`, payload: { externalKey: posting.external_key, documentId: end.documentId, target: posting.target, lagMs: now - posting.approved_at } }];
        if (end.foundOnLookup) entries.push({ ...log, kind: 'posting.found-on-lookup', payload: { externalKey: posting.external_key, documentId: end.documentId, target: posting.target, lagMs: 0 } });
        await appendLog(tx, now, entries);
        if (posting.role === 'primary') recovered = await markRecovered(tx, posting.report_id, posting.revision, now);
        return true;
      }
    }
  }
  if (!applied) {
    deps.logger.warn({ externalKey: posting.external_key, correlationId: posting.correlation_id }, 'posting outcome not recorded: another claim owns it now');
    return undefined;
  }
  recordMetrics(deps.metrics, posting, end, now);
  if (recovered) deps.metrics.recoverySeconds.observe({ entity: recovered.entity }, Math.max(0, now - recovered.quarantinedAt) / 1000);
  deps.logger.info({ correlationId: posting.correlation_id, reportId: posting.report_id, revision: posting.revision, target: posting.target, externalKey: posting.external_key, end: end.kind, ...(end.kind === 'quarantined' && { code: end.code }) }, `posting ${end.kind}`);
  return { posting, end, ...(end.kind === 'posted' && { lagMs: now - posting.approved_at }) };
}

function recordMetrics(metrics: Metrics, posting: PostingRow, end: PostingEnd, now: number): void {
  if (end.kind === 'rescheduled') return;
  metrics.postings.inc({ target: posting.target, kind: posting.kind, outcome: end.kind });
  if (end.kind === 'quarantined') metrics.quarantines.inc({ code: end.code });
  if (end.kind === 'posted' && end.foundOnLookup) metrics.duplicatesPrevented.inc({ where: 'erp_lookup' });
  if (end.kind === 'posted' && posting.kind === 'journal') metrics.approvalToPostedSeconds.observe({ target: posting.target }, Math.max(0, now - posting.approved_at) / 1000);
}
