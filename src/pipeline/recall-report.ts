/**
 * A report recalled (or rejected) in the expense platform: an unposted latest revision ends as
 * recalled; a posted one (or one in flight) gets a reversal queued, then ends as recalled — unless
 * its entity's policy is `flag` (LegalEntity.recalledAfterPosting): then a revision that may have
 * reached the ERP stays as posted and an exception (RECON_RECALLED_AFTER_POSTING) is opened for a
 * controller to decide.
 */
import type { JournalEntry } from '../domain/journal.ts';
import { recordBreak } from '../reconcile/breaks.ts';
import { journalAmounts } from '../reconcile/journal-amounts.ts';
import { appendLog } from '../store/event-log.ts';
import type { Tx } from '../store/db.ts';
import type { ProcessDeps } from './process-revision.ts';
import { lockReportRow } from '../store/reports.ts';
import { setRevisionState, supersedeEarlier } from './process-revision.ts';

export async function recallReport(deps: ProcessDeps, reportId: string, reason: string | null): Promise<void> {
  const targets = await deps.store.db.transaction().execute(async (tx) => {
    const latest = (await lockReportRow(tx, deps.store, reportId))?.latestRevision;
    if (latest === undefined) return [];
    const row = await tx.selectFrom('revisions').selectAll().where('report_id', '=', reportId).where('revision', '=', latest).executeTakeFirst();
    if (!row || row.state === 'recalled') return [];
    const now = deps.clock.now();
    const entity = (JSON.parse(row.report) as { entity: string }).entity;
    if (deps.reference.entity(entity)?.recalledAfterPosting === 'flag' && (await flagIfSent(tx, reportId, latest, entity, row.correlation_id, reason, now))) return [];
    await supersedeEarlier(tx, reportId, latest, now, row.correlation_id, 'RECALLED');
    await setRevisionState(tx, reportId, latest, now, 'recalled', 'RECALLED', reason ?? 'recalled in the expense platform');
    await appendLog(tx, now, [{ correlationId: row.correlation_id, reportId, revision: latest, kind: 'revision.recalled', payload: { reason } }]);
    const queued = await tx.selectFrom('postings').select('target').distinct().where('report_id', '=', reportId).where('state', '=', 'queued').execute();
    return queued.map((q) => q.target);
  });
  for (const target of targets) deps.notifyLane(target);
}

/**
 * Under the `flag` policy: when the revision's journal may be in the ERP (posted, being posted, or
 * sent with an unknown outcome), opens the exception and logs `revision.recall-flagged`; returns
 * false when nothing was sent, so the recall simply ends the revision.
 */
async function flagIfSent(tx: Tx, reportId: string, revision: number, entity: string, correlationId: string, reason: string | null, now: number): Promise<boolean> {
  const sent = await tx
    .selectFrom('postings')
    .select(['external_key', 'target', 'journal', 'state', 'document_id'])
    .where('report_id', '=', reportId)
    .where('revision', '=', revision)
    .where('kind', '=', 'journal')
    .where('role', '=', 'primary')
    .where((eb) => eb.or([eb('state', 'in', ['posted', 'posting']), eb('unknown_outcome', '=', 1)]))
    .executeTakeFirst();
  if (!sent) return false;
  const journal = JSON.parse(sent.journal) as JournalEntry;
  const found = {
    class: 'status_mismatch' as const,
    key: sent.external_key,
    entity,
    currency: journal.currency,
    period: journal.postingDate.slice(0, 7),
    platform: { status: 'recalled' as const, amounts: [], documents: [] },
    finsync: { status: sent.state === 'posted' && sent.document_id !== null ? ('confirmed' as const) : ('posted' as const), amounts: journalAmounts(journal), documents: [] },
    erp: null,
  };
  const breakId = await recordBreak(tx, null, { found, code: 'RECON_RECALLED_AFTER_POSTING', action: 'exception', reportId, revision, target: sent.target }, now);
  await appendLog(tx, now, [{ correlationId, reportId, revision, kind: 'revision.recall-flagged', payload: { reason, externalKey: sent.external_key, exception: `break:${breakId}`, policy: 'flag' } }]);
  return true;
}
