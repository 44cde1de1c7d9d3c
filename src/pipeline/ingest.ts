/**
 * Ingest: stores checked events. In one transaction per request: the raw event in the inbox
 * (de-duplicated on source and id), its entry in the event log, the report revision, and the
 * outbox message that starts processing. The sender gets its answer only after the commit.
 */
import { randomUUID } from 'node:crypto';
import { hashJson } from '../domain/keys.ts';
import { AppError } from '../errors.ts';
import type { Store, Tx } from '../store/db.ts';
import { appendLog } from '../store/event-log.ts';
import { enqueueMessage } from '../store/outbox.ts';
import type { ParsedEvent } from './parse-events.ts';
import { TOPICS } from './topics.ts';
import { lockReport } from './process-revision.ts';

export interface IngestResult {
  readonly id: string;
  readonly source: string;
  readonly status: 'accepted' | 'duplicate';
  readonly correlationId: string;
  readonly reportId: string;
}

export async function ingestEvents(store: Store, events: readonly ParsedEvent[], now: number): Promise<IngestResult[]> {
  return store.db.transaction().execute(async (tx) => {
    const results: IngestResult[] = [];
    for (const event of events) results.push(await ingestOne(tx, store, event, now));
    return results;
  });
}

async function ingestOne(tx: Tx, store: Store, event: ParsedEvent, now: number): Promise<IngestResult> {
  const reportId = event.kind === 'report' ? event.report.reportId : event.recall.reportId;
  const revision = event.kind === 'report' ? event.report.revision : (event.recall.revision ?? null);
  // Insert first and let the primary key arbitrate: two deliveries of one event racing in two
  // transactions end as one insert and one repeat, never as an error.
  const inserted = await tx
    .insertInto('inbox')
    .values({ source: event.source, event_id: event.id, type: event.type, body_hash: event.bodyHash, correlation_id: 'pending', report_id: reportId, revision, received_at: now, body: JSON.stringify(event.body) })
    .onConflict((oc) => oc.columns(['source', 'event_id']).doNothing())
    .returning('event_id')
    .executeTakeFirst();
  if (!inserted) return repeatOf(tx, event, reportId, now);
  const latest = event.kind === 'report' ? await claimReportRow(tx, store, event, now) : await lockReport(tx, store, reportId);
  const correlationId = (await reportCorrelationId(tx, reportId)) ?? event.correlationId ?? randomUUID();
  await tx.updateTable('inbox').set({ correlation_id: correlationId }).where('source', '=', event.source).where('event_id', '=', event.id).execute();
  await appendLog(tx, now, [{ correlationId, reportId, revision, kind: 'event.received', payload: { source: event.source, id: event.id, type: event.type } }]);
  if (event.kind === 'report') await applyRevision(tx, event, latest, correlationId, now);
  else await applyRecall(tx, event, latest !== undefined, correlationId, now);
  return { id: event.id, source: event.source, status: 'accepted', correlationId, reportId };
}

async function repeatOf(tx: Tx, event: ParsedEvent, reportId: string, now: number): Promise<IngestResult> {
  const existing = await tx.selectFrom('inbox').select(['body_hash', 'correlation_id']).where('source', '=', event.source).where('event_id', '=', event.id).executeTakeFirstOrThrow();
  if (existing.body_hash !== event.bodyHash) throw new AppError('EVENT_ID_CONFLICT', { eventId: event.id, source: event.source });
  await appendLog(tx, now, [{ correlationId: existing.correlation_id, reportId, kind: 'event.duplicate', payload: { source: event.source, id: event.id } }]);
  return { id: event.id, source: event.source, status: 'duplicate', correlationId: existing.correlation_id, reportId };
}

/**
 * Creates the report row if this is its first revision, else locks it, so revisions of one report
 * are applied one transaction at a time. Returns the latest revision known before this event
 * (undefined for a new report).
 */
async function claimReportRow(tx: Tx, store: Store, event: ParsedEvent & { kind: 'report' }, now: number): Promise<number | undefined> {
  const { report } = event;
  const created = await tx
    .insertInto('reports')
    .values({ report_id: report.reportId, source: event.source, entity: report.entity, latest_revision: report.revision, recalled_at: null, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('report_id').doNothing())
    .returning('report_id')
    .executeTakeFirst();
  if (created) return undefined;
  await lockReport(tx, store, report.reportId);
  const row = await tx.selectFrom('reports').select(['source', 'latest_revision']).where('report_id', '=', report.reportId).executeTakeFirstOrThrow();
  if (row.source !== event.source) throw new AppError('REPORT_SOURCE_CONFLICT', { reportId: report.reportId, existingSource: row.source, source: event.source });
  return row.latest_revision;
}

async function reportCorrelationId(tx: Tx, reportId: string): Promise<string | undefined> {
  const row = await tx.selectFrom('revisions').select('correlation_id').where('report_id', '=', reportId).orderBy('revision').limit(1).executeTakeFirst();
  return row?.correlation_id;
}

async function applyRevision(tx: Tx, event: ParsedEvent & { kind: 'report' }, latest: number | undefined, correlationId: string, now: number): Promise<void> {
  const { report } = event;
  const log = { correlationId, reportId: report.reportId, revision: report.revision };
  const same = await tx.selectFrom('revisions').select('report').where('report_id', '=', report.reportId).where('revision', '=', report.revision).executeTakeFirst();
  if (same) {
    if (hashJson(JSON.parse(same.report)) !== hashJson(report)) {
      throw new AppError('REVISION_CONFLICT', { reportId: report.reportId, revision: report.revision, nextRevision: (latest ?? report.revision) + 1 });
    }
    await appendLog(tx, now, [{ ...log, kind: 'revision.duplicate', payload: { eventId: event.id } }]);
    return;
  }
  const approvedAt = Date.parse(event.report.approvedAt);
  const stale = latest !== undefined && report.revision < latest;
  await tx
    .insertInto('revisions')
    .values({
      report_id: report.reportId,
      revision: report.revision,
      state: stale ? 'superseded' : 'received',
      reason_code: stale ? 'STALE_REVISION' : null,
      reason_detail: stale ? `revision ${latest} was received first` : null,
      correlation_id: correlationId,
      approved_at: Number.isFinite(approvedAt) ? approvedAt : now,
      received_at: now,
      updated_at: now,
      posted_at: null,
      report: JSON.stringify(report),
      journal: null,
      mapping_version: null,
      target: null,
    })
    .execute();
  if (stale) {
    await appendLog(tx, now, [{ ...log, kind: 'revision.superseded', payload: { reason: 'STALE_REVISION', latest } }]);
    return;
  }
  if (latest !== undefined) {
    await tx.updateTable('reports').set({ latest_revision: report.revision, entity: report.entity, recalled_at: null, updated_at: now }).where('report_id', '=', report.reportId).execute();
  }
  await enqueueMessage(tx, now, TOPICS.processRevision, report.reportId, { reportId: report.reportId, revision: report.revision });
}

async function applyRecall(tx: Tx, event: ParsedEvent & { kind: 'recall' }, known: boolean, correlationId: string, now: number): Promise<void> {
  const { recall } = event;
  if (!known) {
    await appendLog(tx, now, [{ correlationId, reportId: recall.reportId, kind: 'recall.unknown-report', payload: { reason: recall.reason ?? null } }]);
    return;
  }
  // Like a revision, a recall may only come from the source that owns the report.
  const owner = await tx.selectFrom('reports').select('source').where('report_id', '=', recall.reportId).executeTakeFirstOrThrow();
  if (owner.source !== event.source) throw new AppError('REPORT_SOURCE_CONFLICT', { reportId: recall.reportId, existingSource: owner.source, source: event.source });
  await tx.updateTable('reports').set({ recalled_at: now, updated_at: now }).where('report_id', '=', recall.reportId).execute();
  await enqueueMessage(tx, now, TOPICS.recallReport, recall.reportId, { reportId: recall.reportId, reason: recall.reason ?? null });
}
