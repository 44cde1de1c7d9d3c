/**
 * A report recalled in the expense platform: an unposted latest revision ends as recalled; a
 * posted one (or one in flight) gets a reversal queued, then ends as recalled.
 */
import { appendLog } from '../store/event-log.ts';
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
    await supersedeEarlier(tx, reportId, latest, now, row.correlation_id, 'RECALLED');
    await setRevisionState(tx, reportId, latest, now, 'recalled', 'RECALLED', reason ?? 'recalled in the expense platform');
    await appendLog(tx, now, [{ correlationId: row.correlation_id, reportId, revision: latest, kind: 'revision.recalled', payload: { reason } }]);
    const queued = await tx.selectFrom('postings').select('target').distinct().where('report_id', '=', reportId).where('state', '=', 'queued').execute();
    return queued.map((q) => q.target);
  });
  for (const target of targets) deps.notifyLane(target);
}
