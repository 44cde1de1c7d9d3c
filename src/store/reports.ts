/** Read models of reports: one report in full, and counts by state for status and the demo. */
import { sql, type Db, type Store, type Tx } from './db.ts';
import { readReportLog } from './event-log.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export async function readReportView(db: Db, reportId: string) {
  const report = await db.selectFrom('reports').selectAll().where('report_id', '=', reportId).executeTakeFirst();
  if (!report) return undefined;
  const revisions = await db.selectFrom('revisions').selectAll().where('report_id', '=', reportId).orderBy('revision').execute();
  const postings = await db.selectFrom('postings').selectAll().where('report_id', '=', reportId).orderBy('id').execute();
  const attempts = postings.length
    ? await db.selectFrom('posting_attempts').selectAll().where('posting_id', 'in', postings.map((p) => p.id)).orderBy('posting_id').orderBy('attempt').execute()
    : [];
  const latest = revisions.find((r) => r.revision === report.latest_revision);
  const blockers = latest && (latest.state === 'waiting' || latest.state === 'quarantined')
    ? await db.selectFrom('md_blockers').select(['kind', 'entity', 'key', 'reason']).where('report_id', '=', reportId).where('revision', '=', latest.revision).orderBy('kind').orderBy('key').execute()
    : [];
  return {
    reportId,
    source: report.source,
    entity: report.entity,
    latestRevision: report.latest_revision,
    state: latest?.state ?? 'received',
    reasonCode: latest?.reason_code ?? null,
    reason: latest?.reason_detail ?? null,
    recalledAt: iso(report.recalled_at),
    /** Master-data records the latest revision waits for (missing) or is quarantined on (inactive). */
    blockedBy: blockers.map((b) => ({ kind: b.kind, entity: b.entity, key: b.key, state: b.reason })),
    journal: latest?.journal ? (JSON.parse(latest.journal) as unknown) : null,
    revisions: revisions.map((r) => ({
      revision: r.revision,
      state: r.state,
      reasonCode: r.reason_code,
      reason: r.reason_detail,
      correlationId: r.correlation_id,
      approvedAt: iso(r.approved_at),
      receivedAt: iso(r.received_at),
      postedAt: iso(r.posted_at),
      mappingVersion: r.mapping_version,
      target: r.target,
      journal: r.journal ? (JSON.parse(r.journal) as unknown) : null,
    })),
    postings: postings.map((p) => ({
      externalKey: p.external_key,
      kind: p.kind,
      revision: p.revision,
      target: p.target,
      state: p.state,
      documentId: p.document_id,
      reasonCode: p.reason_code,
      reason: p.reason_detail,
      postedAt: iso(p.posted_at),
      attempts: attempts
        .filter((a) => Number(a.posting_id) === Number(p.id))
        .map((a) => ({ attempt: a.attempt, startedAt: iso(a.started_at), finishedAt: iso(a.finished_at), outcome: a.outcome, errorKind: a.error_kind, vendorCode: a.vendor_code, httpStatus: a.http_status, detail: a.detail, raw: a.raw })),
    })),
    timeline: await readReportLog(db, reportId),
  };
}

export interface StateCounts {
  readonly reports: number;
  readonly byState: Record<string, number>;
  readonly quarantineReasons: Record<string, number>;
  /** Reports waiting for master data, by the code of what they miss first. */
  readonly waitingReasons: Record<string, number>;
}

/** Counts reports by the state of their latest revision. */
export async function countReportStates(db: Db): Promise<StateCounts> {
  const rows = await db
    .selectFrom('reports')
    .innerJoin('revisions', (join) => join.onRef('revisions.report_id', '=', 'reports.report_id').onRef('revisions.revision', '=', 'reports.latest_revision'))
    .select(['revisions.state', 'revisions.reason_code', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy(['revisions.state', 'revisions.reason_code'])
    .execute();
  const byState: Record<string, number> = {};
  const quarantineReasons: Record<string, number> = {};
  const waitingReasons: Record<string, number> = {};
  let reports = 0;
  for (const row of rows) {
    const n = Number(row.n);
    reports += n;
    byState[row.state] = (byState[row.state] ?? 0) + n;
    if (row.state === 'quarantined' && row.reason_code) quarantineReasons[row.reason_code] = (quarantineReasons[row.reason_code] ?? 0) + n;
    if (row.state === 'waiting' && row.reason_code) waitingReasons[row.reason_code] = (waitingReasons[row.reason_code] ?? 0) + n;
  }
  return { reports, byState, quarantineReasons, waitingReasons };
}

export interface LockedReport {
  readonly source: string;
  readonly latestRevision: number;
  readonly correlationId: string;
}

/** Reads a report's row and locks it for the transaction, so its revisions apply one at a time. */
export async function lockReportRow(tx: Tx, store: Store, reportId: string): Promise<LockedReport | undefined> {
  const result = await sql<{ source: string; latest_revision: number; correlation_id: string }>`
    SELECT source, latest_revision, correlation_id FROM reports WHERE report_id = ${reportId} ${sql.raw(store.caps.rowLockSuffix)}`.execute(tx);
  const row = result.rows[0];
  return row && { source: row.source, latestRevision: Number(row.latest_revision), correlationId: row.correlation_id };
}
