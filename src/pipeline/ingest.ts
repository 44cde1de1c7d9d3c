/**
 * Ingest: stores checked events. In one transaction per request: the raw event in the inbox
 * (de-duplicated on source and id), its entries in the event log, the report revision, and the
 * outbox message that starts processing. The sender gets its answer only after the commit.
 *
 * Per event it takes two or three statements (claim the report row, insert the inbox row, insert
 * the revision); log entries and outbox messages of the whole request go in one statement each.
 */
import { randomUUID } from 'node:crypto';
import { hashJson } from '../domain/keys.ts';
import { AppError } from '../errors.ts';
import type { Store, Tx } from '../store/db.ts';
import { lockReportRow, type LockedReport } from '../store/reports.ts';
import { appendLog, type LogEntry } from '../store/event-log.ts';
import { enqueueMessages, type NewMessage } from '../store/outbox.ts';
import type { ParsedEvent } from './parse-events.ts';
import { TOPICS } from './topics.ts';

export interface IngestResult {
  readonly id: string;
  readonly source: string;
  readonly status: 'accepted' | 'duplicate';
  readonly correlationId: string;
  readonly reportId: string;
}

/** What one request writes besides its per-event rows, flushed once at the end. */
interface Pending {
  readonly log: LogEntry[];
  readonly messages: NewMessage[];
}

type ReportRow = Omit<LockedReport, 'latestRevision'> & { readonly latestRevision: number | undefined };

export async function ingestEvents(store: Store, events: readonly ParsedEvent[], now: number): Promise<IngestResult[]> {
  return store.db.transaction().execute(async (tx) => {
    const pending: Pending = { log: [], messages: [] };
    const results: IngestResult[] = [];
    for (const event of events) results.push(await ingestOne(tx, store, event, now, pending));
    await appendLog(tx, now, pending.log);
    await enqueueMessages(tx, now, pending.messages);
    return results;
  });
}

async function ingestOne(tx: Tx, store: Store, event: ParsedEvent, now: number, pending: Pending): Promise<IngestResult> {
  const reportId = event.kind === 'report' ? event.report.reportId : event.recall.reportId;
  const revision = event.kind === 'report' ? event.report.revision : (event.recall.revision ?? null);
  const report = event.kind === 'report' ? await claimReportRow(tx, store, event, now) : await lockReportRow(tx, store, reportId);
  const correlationId = report?.correlationId ?? event.correlationId ?? randomUUID();
  // Insert and let the primary key arbitrate: two deliveries of one event racing in two
  // transactions end as one insert and one repeat, never as an error.
  const inserted = await tx
    .insertInto('inbox')
    .values({ source: event.source, event_id: event.id, type: event.type, body_hash: event.bodyHash, correlation_id: correlationId, report_id: reportId, revision, received_at: now, body: JSON.stringify(event.body) })
    .onConflict((oc) => oc.columns(['source', 'event_id']).doNothing())
    .returning('event_id')
    .executeTakeFirst();
  if (!inserted) return repeatOf(tx, event, reportId, pending);
  // Checked after the inbox, so a repeat answers as a repeat whatever its source.
  if (report && report.source !== event.source) throw new AppError('REPORT_SOURCE_CONFLICT', { reportId, existingSource: report.source, source: event.source });
  pending.log.push({ correlationId, reportId, revision, kind: 'event.received', payload: { source: event.source, id: event.id, type: event.type } });
  if (event.kind === 'report') await applyRevision(tx, event, report?.latestRevision, correlationId, now, pending);
  else await applyRecall(tx, event, report !== undefined, correlationId, now, pending);
  return { id: event.id, source: event.source, status: 'accepted', correlationId, reportId };
}

async function repeatOf(tx: Tx, event: ParsedEvent, reportId: string, pending: Pending): Promise<IngestResult> {
  const existing = await tx.selectFrom('inbox').select(['body_hash', 'correlation_id']).where('source', '=', event.source).where('event_id', '=', event.id).executeTakeFirstOrThrow();
  if (existing.body_hash !== event.bodyHash) throw new AppError('EVENT_ID_CONFLICT', { eventId: event.id, source: event.source });
  pending.log.push({ correlationId: existing.correlation_id, reportId, kind: 'event.duplicate', payload: { source: event.source, id: event.id } });
  return { id: event.id, source: event.source, status: 'duplicate', correlationId: existing.correlation_id, reportId };
}

/**
 * Creates the report row with this event's revision if the report is new, else locks it, so
 * revisions of one report are applied one transaction at a time. For an existing report,
 * `latestRevision` is the latest revision known before this event.
 */
async function claimReportRow(tx: Tx, store: Store, event: ParsedEvent & { kind: 'report' }, now: number): Promise<ReportRow | undefined> {
  const { report } = event;
  const correlationId = event.correlationId ?? randomUUID();
  const created = await tx
    .insertInto('reports')
    .values({ report_id: report.reportId, source: event.source, entity: report.entity, latest_revision: report.revision, correlation_id: correlationId, recalled_at: null, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('report_id').doNothing())
    .returning('report_id')
    .executeTakeFirst();
  if (created) return { source: event.source, latestRevision: undefined, correlationId };
  return lockReportRow(tx, store, report.reportId);
}

async function applyRevision(tx: Tx, event: ParsedEvent & { kind: 'report' }, latest: number | undefined, correlationId: string, now: number, pending: Pending): Promise<void> {
  const { report } = event;
  const log = { correlationId, reportId: report.reportId, revision: report.revision };
  if (latest !== undefined && report.revision <= latest) {
    const same = await tx.selectFrom('revisions').select('report').where('report_id', '=', report.reportId).where('revision', '=', report.revision).executeTakeFirst();
    if (same) {
      if (hashJson(JSON.parse(same.report)) !== hashJson(report)) {
        throw new AppError('REVISION_CONFLICT', { reportId: report.reportId, revision: report.revision, nextRevision: latest + 1 });
      }
      pending.log.push({ ...log, kind: 'revision.duplicate', payload: { eventId: event.id } });
      return;
    }
  }
  const approvedAt = Date.parse(report.approvedAt);
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
    pending.log.push({ ...log, kind: 'revision.superseded', payload: { reason: 'STALE_REVISION', latest } });
    return;
  }
  if (latest !== undefined) {
    await tx.updateTable('reports').set({ latest_revision: report.revision, entity: report.entity, recalled_at: null, updated_at: now }).where('report_id', '=', report.reportId).execute();
  }
  pending.messages.push({ topic: TOPICS.processRevision, key: report.reportId, payload: { reportId: report.reportId, revision: report.revision } });
}

async function applyRecall(tx: Tx, event: ParsedEvent & { kind: 'recall' }, known: boolean, correlationId: string, now: number, pending: Pending): Promise<void> {
  const { recall } = event;
  if (!known) {
    pending.log.push({ correlationId, reportId: recall.reportId, kind: 'recall.unknown-report', payload: { reason: recall.reason ?? null } });
    return;
  }
  await tx.updateTable('reports').set({ recalled_at: now, updated_at: now }).where('report_id', '=', recall.reportId).execute();
  pending.messages.push({ topic: TOPICS.recallReport, key: recall.reportId, payload: { reportId: recall.reportId, reason: recall.reason ?? null } });
}
