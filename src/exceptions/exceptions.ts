/**
 * The exception queue, read side: every quarantined item with the context needed to fix it, and
 * the same items grouped by cause. An item is a revision quarantined before any posting existed
 * (validation or mapping), or a quarantined posting (the ERP refused it, or retries ran out).
 * Replay is in replay.ts.
 *
 * Reads are bounded: at most `limit` items (10,000 by default and at most), oldest first, with
 * `truncated` set when there were more. Every query goes through an index: revisions and postings
 * by (state, reason_code), the event log, blockers and attempts by report or posting.
 */
import { sql } from 'kysely';
import type { Db } from '../store/db.ts';
import { formatErrorMessage } from '../errors.ts';
import { breakParams } from '../reconcile/break-message.ts';
import { listBreaks, type OpenBreak } from '../reconcile/breaks.ts';
import type { BreakClass, SideValues } from '../reconciliation/types.ts';
import { causeKey, codesOfKind, kindOfCode, recordFromErpField, recordNamedByCode, type ExceptionKind, type OffendingRecord } from './exception-causes.ts';

export { EXCEPTION_KINDS, kindOfCode, type ExceptionKind, type OffendingRecord } from './exception-causes.ts';

export const EXCEPTIONS_MAX = 10_000;
/** Characters of the vendor's raw answer kept on an item. */
export const RAW_ANSWER_CHARS_MAX = 4_096;

/**
 * Where the item stopped: before any posting existed (validation, mapping), at the journal's
 * posting, or at a reversal's; or `reconciliation`: a break a reconciliation run (or an
 * approval-state check) found and could not heal (src/reconcile).
 */
export type ExceptionStage = 'revision' | 'posting' | 'reversal' | 'reconciliation';

/** What a reconciliation break holds: its class and what each side has for the key. */
export interface BreakContext {
  readonly class: BreakClass;
  readonly period: string;
  readonly currency: string;
  /** `open`, or `healing` (finsync re-drove it; the next run confirms). */
  readonly state: string;
  readonly action: string;
  readonly firstRunId: string | null;
  readonly lastRunId: string | null;
  readonly platform: SideValues | null;
  readonly finsync: SideValues | null;
  readonly erp: SideValues | null;
}

/** The last call to the ERP for a quarantined posting. */
export interface ErpAnswer {
  /** How finsync classified the failure: transient, rate_limited, unavailable, auth, invalid, conflict, not_found. */
  readonly errorKind: string | null;
  readonly vendorCode: string | null;
  readonly httpStatus: number | null;
  readonly detail: string | null;
  /** The vendor's raw answer, its first 4,096 characters. */
  readonly raw: string | null;
  readonly rawTruncated: boolean;
}

interface ItemBase {
  readonly entity: string;
  /** The ERP; for a revision quarantined before posting, the one its entity posts to (when known). */
  readonly target: string | null;
  readonly code: string;
  readonly kind: ExceptionKind;
  /** The filled-in message of the code: what is wrong and what to do. */
  readonly message: string;
  /** The record the code names, when known: a master-data blocker, or the reference the ERP refused. */
  readonly record: OffendingRecord | null;
  /** Every master-data record the revision is blocked on (md_blockers). */
  readonly blockers: readonly OffendingRecord[];
  /** For postings: the last call to the ERP. */
  readonly erp: ErpAnswer | null;
  readonly externalKey: string | null;
  /** For a posting, the calls made to the ERP; for a revision, how often processing quarantined it (more than 1 after replays). */
  readonly attempts: number;
  /** The first and the last quarantine of this revision or posting in the event log (ISO 8601). */
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly correlationId: string;
}

/** A quarantined revision or posting: replayable. */
export interface QueueItem extends ItemBase {
  /** `revision:<reportId>:<revision>` or `posting:<postingId>`. */
  readonly id: string;
  readonly stage: 'revision' | 'posting' | 'reversal';
  readonly reportId: string;
  readonly revision: number;
  readonly reconciliation: null;
}

/** An open reconciliation break: resolved by a person (or cleared by a later run), never replayed. */
export interface BreakItem extends ItemBase {
  /** `break:<id>`. */
  readonly id: string;
  readonly stage: 'reconciliation';
  /** Null for a key finsync never posted and the platform does not know (a foreign ERP document). */
  readonly reportId: string | null;
  readonly revision: number | null;
  readonly reconciliation: BreakContext;
}

export type ExceptionItem = QueueItem | BreakItem;

export interface ExceptionFilter {
  readonly entity?: string;
  readonly target?: string;
  readonly kind?: ExceptionKind;
  readonly code?: string;
  /** Only items first seen at least this long ago. */
  readonly olderThanMs?: number;
}

export interface ListOptions {
  readonly now?: number;
  readonly limit?: number;
  /** Each entity's target: gives a target to revisions quarantined before one was chosen. */
  readonly entityTargets?: Readonly<Record<string, string>>;
}

export interface ExceptionList {
  readonly items: readonly ExceptionItem[];
  readonly truncated: boolean;
}

type Only = { readonly reportId: string; readonly revision: number } | { readonly postingId: number } | { readonly breakId: number };

export async function listExceptions(db: Db, filter: ExceptionFilter = {}, options: ListOptions = {}): Promise<ExceptionList> {
  return collect(db, filter, options);
}

/** One item by id, or undefined when the id names nothing quarantined now. */
export async function getException(db: Db, id: string, options: Omit<ListOptions, 'limit'> = {}): Promise<ExceptionItem | undefined> {
  const only = parseExceptionId(id);
  if (!only) return undefined;
  return (await collect(db, {}, { ...options, limit: 1 }, only)).items[0];
}

export function parseExceptionId(id: string): Only | undefined {
  const found = /^break:(\d{1,15})$/.exec(id);
  if (found) return { breakId: Number(found[1]) };
  const posting = /^posting:(\d{1,15})$/.exec(id);
  if (posting) return { postingId: Number(posting[1]) };
  const revision = /^revision:(.+):(\d{1,9})$/.exec(id);
  return revision ? { reportId: revision[1], revision: Number(revision[2]) } : undefined;
}

async function collect(db: Db, filter: ExceptionFilter, options: ListOptions, only?: Only): Promise<ExceptionList> {
  const limit = Math.min(options.limit ?? EXCEPTIONS_MAX, EXCEPTIONS_MAX);
  const now = options.now ?? Date.now();
  const cutoff = filter.olderThanMs === undefined ? undefined : now - filter.olderThanMs;
  const query = { filter, limit, cutoff, entityTargets: options.entityTargets ?? {}, only };
  const [revisions, postings, breaks] = await Promise.all([
    only && !('reportId' in only) ? [] : readRevisions(db, query),
    only && !('postingId' in only) ? [] : readPostings(db, query),
    only && !('breakId' in only) ? [] : readBreakItems(db, query),
  ]);
  // Oldest first by when the item arrived; firstSeen, known only after the log is read, never precedes it.
  const rows = [...revisions, ...postings, ...breaks].sort((a, b) => a.since - b.since || a.id.localeCompare(b.id));
  const kept = rows.slice(0, limit);
  const queued = await enrich(db, kept.filter((r): r is Row => r.stage !== 'reconciliation'));
  const items: ExceptionItem[] = [...queued, ...kept.flatMap((r) => (r.stage === 'reconciliation' ? [r.item] : []))];
  const aged = cutoff === undefined ? items : items.filter((i) => Date.parse(i.firstSeen) <= cutoff);
  aged.sort((a, b) => a.firstSeen.localeCompare(b.firstSeen) || a.id.localeCompare(b.id));
  return { items: aged, truncated: rows.length > limit };
}

interface Query {
  readonly filter: ExceptionFilter;
  readonly limit: number;
  readonly cutoff: number | undefined;
  readonly entityTargets: Readonly<Record<string, string>>;
  readonly only: Only | undefined;
}

interface BaseRow {
  readonly id: string;
  readonly since: number;
  readonly reportId: string;
  readonly revision: number;
  readonly entity: string;
  readonly target: string | null;
  readonly code: string;
  readonly message: string;
  readonly correlationId: string;
  readonly updatedAt: number;
}
type RevisionRow = BaseRow & { readonly stage: 'revision' };
type PostingRow = BaseRow & { readonly stage: 'posting' | 'reversal'; readonly postingId: number; readonly externalKey: string; readonly erpRefs: string };
type Row = RevisionRow | PostingRow;

/** Open reconciliation breaks as items (src/reconcile/breaks.ts); their context is all in the row. */
async function readBreakItems(db: Db, q: Query): Promise<{ stage: 'reconciliation'; id: string; since: number; item: BreakItem }[]> {
  const { filter } = q;
  if (filter.kind !== undefined && filter.kind !== 'reconciliation') return [];
  if (filter.code !== undefined && !filter.code.startsWith('RECON_')) return [];
  const only = q.only && 'breakId' in q.only ? [q.only.breakId] : undefined;
  let rows = await listBreaks(db, { ...(filter.entity !== undefined && { entity: filter.entity }), ...(filter.code !== undefined && { code: filter.code }), ...(only && { ids: only }), states: ['open'], limit: q.limit + 1 });
  if (filter.target !== undefined) rows = rows.filter((b) => (b.target ?? q.entityTargets[b.entity]) === filter.target);
  if (q.cutoff !== undefined) rows = rows.filter((b) => b.firstSeenAt <= q.cutoff!);
  const correlation = await correlationIds(db, rows.flatMap((b) => (b.reportId === null ? [] : [b.reportId])));
  return rows.map((b) => ({ stage: 'reconciliation', id: `break:${b.id}`, since: b.firstSeenAt, item: breakItem(b, correlation.get(b.reportId ?? '') ?? '') }));
}

function breakItem(b: OpenBreak, correlationId: string): BreakItem {
  const { detail } = b;
  return {
    id: `break:${b.id}`,
    stage: 'reconciliation',
    reportId: b.reportId,
    revision: b.revision,
    entity: b.entity,
    target: b.target,
    code: b.code,
    kind: 'reconciliation',
    message: formatErrorMessage(b.code, breakParams(b)),
    record: null,
    blockers: [],
    erp: null,
    externalKey: b.externalKey,
    attempts: 0,
    firstSeen: new Date(b.firstSeenAt).toISOString(),
    lastSeen: new Date(b.lastSeenAt).toISOString(),
    correlationId,
    reconciliation: { class: b.class, period: b.period, currency: b.currency, state: b.state, action: b.action, firstRunId: b.firstRunId, lastRunId: b.lastRunId, platform: detail.platform, finsync: detail.finsync, erp: detail.erp },
  };
}

async function correlationIds(db: Db, reportIds: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const chunk of chunks([...new Set(reportIds)])) {
    for (const r of await db.selectFrom('reports').select(['report_id', 'correlation_id']).where('report_id', 'in', chunk).execute()) out.set(r.report_id, r.correlation_id);
  }
  return out;
}

async function readRevisions(db: Db, q: Query): Promise<RevisionRow[]> {
  const { filter } = q;
  let select = db
    .selectFrom('revisions as r')
    .innerJoin('reports as rep', 'rep.report_id', 'r.report_id')
    .select(['r.report_id', 'r.revision', 'r.reason_code', 'r.reason_detail', 'r.correlation_id', 'r.target', 'r.received_at', 'r.updated_at', 'rep.entity'])
    .where('r.state', '=', 'quarantined')
    // A revision whose journal posting is quarantined is listed once, as that posting.
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('postings as p').select('p.id').whereRef('p.report_id', '=', 'r.report_id').whereRef('p.revision', '=', 'r.revision').where('p.kind', '=', 'journal').where('p.state', '=', 'quarantined'))),
    );
  if (q.only && 'reportId' in q.only) select = select.where('r.report_id', '=', q.only.reportId).where('r.revision', '=', q.only.revision);
  if (filter.entity !== undefined) select = select.where('rep.entity', '=', filter.entity);
  if (filter.code !== undefined) select = select.where('r.reason_code', '=', filter.code);
  if (filter.kind !== undefined) {
    const codes = codesOfKind(filter.kind);
    select = 'in' in codes ? select.where('r.reason_code', 'in', [...codes.in]) : select.where('r.reason_code', 'not in', [...codes.notIn]);
  }
  if (filter.target !== undefined) {
    const target = filter.target;
    const entities = Object.entries(q.entityTargets).filter(([, t]) => t === target).map(([e]) => e);
    select = select.where((eb) => eb.or([eb('r.target', '=', target), ...(entities.length > 0 ? [eb.and([eb('r.target', 'is', null), eb('rep.entity', 'in', entities)])] : [])]));
  }
  // A revision is received before it is quarantined: one received after the cutoff cannot be old enough.
  if (q.cutoff !== undefined) select = select.where('r.received_at', '<=', q.cutoff);
  const rows = await select.orderBy('r.received_at').orderBy('r.report_id').orderBy('r.revision').limit(q.limit + 1).execute();
  return rows.map((r) => ({
    stage: 'revision',
    id: `revision:${r.report_id}:${r.revision}`,
    since: r.received_at,
    reportId: r.report_id,
    revision: r.revision,
    entity: r.entity,
    target: r.target ?? q.entityTargets[r.entity] ?? null,
    code: r.reason_code ?? 'UNKNOWN',
    message: r.reason_detail ?? '',
    correlationId: r.correlation_id,
    updatedAt: r.updated_at,
  }));
}

async function readPostings(db: Db, q: Query): Promise<PostingRow[]> {
  const { filter } = q;
  let select = db
    .selectFrom('postings as p')
    .innerJoin('reports as rep', 'rep.report_id', 'p.report_id')
    .select(['p.id', 'p.report_id', 'p.revision', 'p.target', 'p.kind', 'p.external_key', 'p.erp_refs', 'p.reason_code', 'p.reason_detail', 'p.correlation_id', 'p.created_at', 'p.updated_at', 'rep.entity'])
    .where('p.state', '=', 'quarantined');
  if (q.only && 'postingId' in q.only) select = select.where('p.id', '=', q.only.postingId);
  if (filter.entity !== undefined) select = select.where('rep.entity', '=', filter.entity);
  if (filter.target !== undefined) select = select.where('p.target', '=', filter.target);
  if (filter.code !== undefined) select = select.where('p.reason_code', '=', filter.code);
  if (filter.kind !== undefined) {
    const codes = codesOfKind(filter.kind);
    select = 'in' in codes ? select.where('p.reason_code', 'in', [...codes.in]) : select.where('p.reason_code', 'not in', [...codes.notIn]);
  }
  if (q.cutoff !== undefined) select = select.where('p.created_at', '<=', q.cutoff);
  const rows = await select.orderBy('p.created_at').orderBy('p.id').limit(q.limit + 1).execute();
  return rows.map((p) => ({
    stage: p.kind === 'reversal' ? 'reversal' : 'posting',
    id: `posting:${p.id}`,
    since: p.created_at,
    postingId: Number(p.id),
    externalKey: p.external_key,
    erpRefs: p.erp_refs,
    reportId: p.report_id,
    revision: p.revision,
    entity: p.entity,
    target: p.target,
    code: p.reason_code ?? 'UNKNOWN',
    message: p.reason_detail ?? '',
    correlationId: p.correlation_id,
    updatedAt: p.updated_at,
  }));
}

interface QuarantineEvent {
  readonly at: number;
  readonly revision: number | null;
  readonly kind: string;
  readonly externalKey?: string;
  readonly params?: Record<string, unknown>;
}

/** Adds what the log, the blockers and the attempts know about each row. */
async function enrich(db: Db, rows: readonly Row[]): Promise<QueueItem[]> {
  const reportIds = [...new Set(rows.map((r) => r.reportId))];
  const postingIds = rows.flatMap((r) => (r.stage === 'revision' ? [] : [r.postingId]));
  const [events, blockers, attempts] = await Promise.all([
    readQuarantineEvents(db, reportIds),
    readBlockers(db, [...new Set(rows.filter((r) => r.stage === 'revision').map((r) => r.reportId))]),
    readLastAttempts(db, postingIds),
  ]);
  return rows.map((row) => {
    const mine = (events.get(row.reportId) ?? []).filter((e) =>
      row.stage === 'revision' ? e.kind === 'revision.quarantined' && e.revision === row.revision : e.kind !== 'revision.quarantined' && e.externalKey === row.externalKey,
    );
    const firstSeen = mine[0]?.at ?? row.updatedAt;
    const lastSeen = mine[mine.length - 1]?.at ?? row.updatedAt;
    const base = { id: row.id, stage: row.stage, reconciliation: null, reportId: row.reportId, revision: row.revision, entity: row.entity, target: row.target, code: row.code, kind: kindOfCode(row.code), message: row.message };
    const seen = { firstSeen: new Date(firstSeen).toISOString(), lastSeen: new Date(lastSeen).toISOString(), correlationId: row.correlationId };
    if (row.stage === 'revision') {
      const held = blockers.get(`${row.reportId}\u0000${row.revision}`) ?? [];
      return { ...base, record: recordNamedByCode(row.code, held), blockers: held, erp: null, externalKey: null, attempts: Math.max(1, mine.length), ...seen };
    }
    const last = attempts.get(row.postingId);
    const params = mine[mine.length - 1]?.params ?? {};
    const record =
      row.code === 'ERP_INVALID_REFERENCE' && typeof params.field === 'string' && params.value !== undefined
        ? recordFromErpField(row.entity, params.field, String(params.value), parseRefs(row.erpRefs))
        : null;
    return { ...base, record, blockers: [], erp: last?.answer ?? null, externalKey: row.externalKey, attempts: last?.attempt ?? 0, ...seen };
  });
}

/** The quarantine events of the reports, in log order, by report. */
async function readQuarantineEvents(db: Db, reportIds: readonly string[]): Promise<Map<string, QuarantineEvent[]>> {
  const byReport = new Map<string, QuarantineEvent[]>();
  for (const chunk of chunks(reportIds)) {
    const rows = await db
      .selectFrom('event_log')
      .select(['report_id', 'revision', 'kind', 'occurred_at', 'payload'])
      .where('report_id', 'in', chunk)
      .where('kind', 'in', ['revision.quarantined', 'posting.quarantined', 'reversal.quarantined'])
      .orderBy('seq')
      .execute();
    for (const r of rows) {
      const payload = r.kind === 'revision.quarantined' ? {} : (JSON.parse(r.payload) as { externalKey?: string; params?: Record<string, unknown> });
      const event: QuarantineEvent = { at: r.occurred_at, revision: r.revision, kind: r.kind, ...(payload.externalKey !== undefined && { externalKey: payload.externalKey }), ...(payload.params && { params: payload.params }) };
      const list = byReport.get(r.report_id!) ?? [];
      list.push(event);
      byReport.set(r.report_id!, list);
    }
  }
  return byReport;
}

async function readBlockers(db: Db, reportIds: readonly string[]): Promise<Map<string, OffendingRecord[]>> {
  const byRevision = new Map<string, OffendingRecord[]>();
  for (const chunk of chunks(reportIds)) {
    const rows = await db.selectFrom('md_blockers').select(['report_id', 'revision', 'kind', 'entity', 'key', 'reason']).where('report_id', 'in', chunk).orderBy('report_id').orderBy('revision').orderBy('kind').orderBy('key').execute();
    for (const b of rows) {
      const key = `${b.report_id}\u0000${b.revision}`;
      const list = byRevision.get(key) ?? [];
      list.push({ kind: b.kind, entity: b.entity, key: b.key, state: b.reason, erpField: null, erpValue: null });
      byRevision.set(key, list);
    }
  }
  return byRevision;
}

async function readLastAttempts(db: Db, postingIds: readonly number[]): Promise<Map<number, { attempt: number; answer: ErpAnswer }>> {
  const byPosting = new Map<number, { attempt: number; answer: ErpAnswer }>();
  for (const chunk of chunks(postingIds)) {
    const rows = await db
      .selectFrom('posting_attempts as a')
      .select(['a.posting_id', 'a.attempt', 'a.error_kind', 'a.vendor_code', 'a.http_status', 'a.detail'])
      .select([sql<string | null>`substr(a.raw, 1, ${sql.lit(RAW_ANSWER_CHARS_MAX)})`.as('raw'), sql<number | null>`length(a.raw)`.as('raw_chars')])
      .where('a.posting_id', 'in', chunk)
      .where('a.attempt', '=', (eb) => eb.selectFrom('posting_attempts as m').select((m) => m.fn.max('m.attempt').as('n')).whereRef('m.posting_id', '=', 'a.posting_id'))
      .execute();
    for (const a of rows) {
      byPosting.set(Number(a.posting_id), {
        attempt: a.attempt,
        answer: { errorKind: a.error_kind, vendorCode: a.vendor_code, httpStatus: a.http_status, detail: a.detail, raw: a.raw, rawTruncated: Number(a.raw_chars ?? 0) > RAW_ANSWER_CHARS_MAX },
      });
    }
  }
  return byPosting;
}

type ErpRefs = Parameters<typeof recordFromErpField>[3];

function parseRefs(text: string): ErpRefs {
  try {
    return JSON.parse(text) as ErpRefs;
  } catch {
    return {};
  }
}

/** IN lists of at most 500 values: well under SQLite's and PostgreSQL's parameter limits. */
function* chunks<T>(values: readonly T[], size = 500): Generator<T[]> {
  for (let i = 0; i < values.length; i += size) yield values.slice(i, i + size);
}

/** Items that share a cause (causeKey): one closed cost center blocking 40 reports is one group of 40. */
export interface ExceptionGroup {
  readonly cause: string;
  readonly code: string;
  readonly kind: ExceptionKind;
  readonly record: OffendingRecord | null;
  /** For ERP codes without a record: the vendor's error code that is part of the cause. */
  readonly vendorCode: string | null;
  /** The message of the group's oldest member. */
  readonly message: string;
  readonly count: number;
  readonly entities: readonly string[];
  readonly targets: readonly string[];
  readonly oldestFirstSeen: string;
  readonly newestFirstSeen: string;
  /** Item ids, oldest first. */
  readonly members: readonly string[];
}

/** Groups items by cause; the largest group first, then the oldest. */
export function groupExceptions(items: readonly ExceptionItem[]): ExceptionGroup[] {
  const byCause = new Map<string, ExceptionItem[]>();
  const ordered = [...items].sort((a, b) => a.firstSeen.localeCompare(b.firstSeen) || a.id.localeCompare(b.id));
  for (const item of ordered) {
    const cause = causeKey({ ...item, vendorCode: item.erp?.vendorCode ?? null });
    const members = byCause.get(cause) ?? [];
    members.push(item);
    byCause.set(cause, members);
  }
  const groups = [...byCause].map(([cause, members]): ExceptionGroup => {
    const first = members[0];
    return {
      cause,
      code: first.code,
      kind: first.kind,
      record: first.record,
      vendorCode: first.record === null && first.code.startsWith('ERP_') ? (first.erp?.vendorCode ?? null) : null,
      message: first.message,
      count: members.length,
      entities: [...new Set(members.map((m) => m.entity))].sort(),
      targets: [...new Set(members.flatMap((m) => (m.target === null ? [] : [m.target])))].sort(),
      oldestFirstSeen: first.firstSeen,
      newestFirstSeen: members[members.length - 1].firstSeen,
      members: members.map((m) => m.id),
    };
  });
  return groups.sort((a, b) => b.count - a.count || a.oldestFirstSeen.localeCompare(b.oldestFirstSeen) || a.cause.localeCompare(b.cause));
}
