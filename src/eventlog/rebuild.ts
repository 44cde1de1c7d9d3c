/**
 * Rebuild of one report from the event log: its entries, folded in `seq` order (fold.ts) with the
 * raw events the inbox kept, give the state the revisions and postings tables should hold; every
 * field where the tables hold something else is a difference. A consistent report has none.
 *
 * Compared: the report's entity, latest revision and recall time; per revision its state, reason
 * code, mapping version, target, journal (by hash), received, approved and posted times; per posting
 * (by external key) its kind, revision, target, state, reason code, ERP document and posted time.
 * A posting a lane holds in flight (`posting`) matches `queued`: claims are not logged.
 *
 * Reads: the log through event_log_report, the inbox by primary key, the tables by report.
 */
import { hashJson } from '../domain/keys.ts';
import { AppError } from '../errors.ts';
import type { Db } from '../store/db.ts';
import { foldReportLog, receivedKey, type IgnoredEntry, type LogRecord, type PostingView, type ReceivedEvent, type ReportStateView, type RevisionView } from './fold.ts';

export type { IgnoredEntry, PostingView, ReportStateView, RevisionView } from './fold.ts';

/** A value as the log gives it and as the tables hold it (null where one side has nothing). */
export type FieldValue = string | number | null;

export interface Difference {
  /** `report.<field>`, `revision:<n>.<field>`, `posting:<externalKey>.<field>`, or `revision:<n>` / `posting:<key>` when one side lacks it whole (the value is then its state). */
  readonly field: string;
  readonly fromLog: FieldValue;
  readonly stored: FieldValue;
}

export interface ReportRebuild {
  readonly reportId: string;
  /** Event-log entries read, and the last one's seq. */
  readonly entries: number;
  readonly lastSeq: number | null;
  readonly consistent: boolean;
  readonly differences: readonly Difference[];
  /** The state rebuilt from the log. */
  readonly state: ReportStateView;
  /** Entries the fold could not apply (unknown kinds; revisions or postings the log never created). */
  readonly ignored: readonly IgnoredEntry[];
}

/** Inbox look-ups per query: two parameters each, well under either store's limit. */
const INBOX_KEYS_PER_QUERY = 200;

export async function rebuildReport(db: Db, reportId: string): Promise<ReportRebuild> {
  const entries = await readLogRecords(db, reportId);
  const report = await db.selectFrom('reports').selectAll().where('report_id', '=', reportId).executeTakeFirst();
  if (!report && entries.length === 0) throw new AppError('REPORT_NOT_FOUND', { reportId });
  const folded = foldReportLog(entries, await readReceivedEvents(db, entries));
  const { ignored, ...fromLog } = folded;
  const stored = await readStoredState(db, reportId, report);
  const differences = compareStates(fromLog, stored);
  return { reportId, entries: entries.length, lastSeq: entries.length > 0 ? entries[entries.length - 1].seq : null, consistent: differences.length === 0, differences, state: fromLog, ignored };
}

async function readLogRecords(db: Db, reportId: string): Promise<LogRecord[]> {
  const rows = await db.selectFrom('event_log').select(['seq', 'occurred_at', 'kind', 'revision', 'payload']).where('report_id', '=', reportId).orderBy('seq').execute();
  return rows.map((r) => ({ seq: Number(r.seq), at: Number(r.occurred_at), kind: r.kind, revision: r.revision === null ? null : Number(r.revision), payload: parsePayload(r.payload) }));
}

function parsePayload(text: string): Record<string, unknown> {
  const value = JSON.parse(text) as unknown;
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** The raw events the `event.received` entries name, by source and id. */
async function readReceivedEvents(db: Db, entries: readonly LogRecord[]): Promise<Map<string, ReceivedEvent>> {
  const keys = new Map<string, { source: string; id: string }>();
  for (const e of entries) {
    const { source, id } = e.payload;
    if (e.kind === 'event.received' && typeof source === 'string' && typeof id === 'string') keys.set(receivedKey(source, id), { source, id });
  }
  const all = [...keys.values()];
  const found = new Map<string, ReceivedEvent>();
  for (let i = 0; i < all.length; i += INBOX_KEYS_PER_QUERY) {
    const chunk = all.slice(i, i + INBOX_KEYS_PER_QUERY);
    const rows = await db
      .selectFrom('inbox')
      .select(['source', 'event_id', 'type', 'body'])
      .where((eb) => eb.or(chunk.map((k) => eb.and([eb('source', '=', k.source), eb('event_id', '=', k.id)]))))
      .execute();
    for (const row of rows) found.set(receivedKey(row.source, row.event_id), { type: row.type, data: (JSON.parse(row.body) as { data?: unknown }).data });
  }
  return found;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

/** What the tables hold for the report, in the fold's shape. */
async function readStoredState(db: Db, reportId: string, report: { entity: string; latest_revision: number; recalled_at: number | null } | undefined): Promise<ReportStateView> {
  const revisions = await db.selectFrom('revisions').selectAll().where('report_id', '=', reportId).orderBy('revision').execute();
  const postings = await db.selectFrom('postings').selectAll().where('report_id', '=', reportId).orderBy('id').execute();
  return {
    entity: report?.entity ?? null,
    latestRevision: report ? Number(report.latest_revision) : null,
    recalledAt: iso(report?.recalled_at ?? null),
    revisions: revisions.map((r) => {
      const own = postings.filter((p) => p.revision === r.revision);
      return {
        revision: r.revision,
        state: r.state,
        reasonCode: r.reason_code,
        mappingVersion: r.mapping_version,
        target: r.target,
        journalHash: r.journal === null ? null : hashJson(JSON.parse(r.journal)),
        receivedAt: iso(r.received_at),
        approvedAt: iso(r.approved_at),
        postedAt: iso(r.posted_at),
        externalKeys: own.map((p) => p.external_key),
        documentIds: own.flatMap((p) => (p.document_id === null ? [] : [p.document_id])),
      };
    }),
    postings: postings.map((p) => ({
      externalKey: p.external_key,
      kind: p.kind,
      revision: p.revision,
      target: p.target,
      // Claims are not logged: in flight is queued as far as the log knows.
      state: p.state === 'posting' ? 'queued' : p.state,
      reasonCode: p.reason_code,
      documentId: p.document_id,
      postedAt: iso(p.posted_at),
    })),
  };
}

const REVISION_FIELDS = ['state', 'reasonCode', 'mappingVersion', 'target', 'journalHash', 'receivedAt', 'approvedAt', 'postedAt'] as const satisfies readonly (keyof RevisionView)[];
const POSTING_FIELDS = ['kind', 'revision', 'target', 'state', 'reasonCode', 'documentId', 'postedAt'] as const satisfies readonly (keyof PostingView)[];

/** Every field where the state rebuilt from the log and the tables disagree, in a stable order. */
export function compareStates(fromLog: ReportStateView, stored: ReportStateView): Difference[] {
  const differences: Difference[] = [];
  const field = (name: string, a: FieldValue, b: FieldValue) => {
    if (a !== b) differences.push({ field: name, fromLog: a, stored: b });
  };
  field('report.entity', fromLog.entity, stored.entity);
  field('report.latestRevision', fromLog.latestRevision, stored.latestRevision);
  field('report.recalledAt', fromLog.recalledAt, stored.recalledAt);
  compareById(fromLog.revisions, stored.revisions, (r) => `revision:${r.revision}`, REVISION_FIELDS, field);
  compareById(fromLog.postings, stored.postings, (p) => `posting:${p.externalKey}`, POSTING_FIELDS, field);
  return differences;
}

function compareById<T extends { readonly state: string }>(fromLog: readonly T[], stored: readonly T[], idOf: (item: T) => string, fields: readonly (keyof T & string)[], field: (name: string, a: FieldValue, b: FieldValue) => void): void {
  const mine = new Map(stored.map((s) => [idOf(s), s]));
  const ids = [...new Set([...fromLog.map(idOf), ...stored.map(idOf)])];
  const logged = new Map(fromLog.map((l) => [idOf(l), l]));
  for (const id of ids) {
    const a = logged.get(id);
    const b = mine.get(id);
    if (!a || !b) {
      field(id, a?.state ?? null, b?.state ?? null);
      continue;
    }
    for (const name of fields) field(`${id}.${name}`, a[name] as FieldValue, b[name] as FieldValue);
  }
}
