/**
 * The fold of one report's event log into the state the revisions and postings tables project
 * from it. Pure: it reads only the entries given (in `seq` order) and, for each `event.received`,
 * the raw event the inbox kept (its type and data), and mirrors every state change of the pipeline,
 * with the same conditions, so its answer can be compared with the tables (rebuild.ts).
 *
 * Two changes have no entry of their own and are derived here, exactly as the pipeline makes them
 * in the transaction of the entry named: the earlier revisions a newer revision supersedes
 * (`revision.queued`, reason SUPERSEDED) or a recall ends (`revision.recalled`, reason RECALLED).
 * A claim by a posting lane is not logged either: a posting in flight is `queued` in the log's view.
 */
import { EVENT_TYPES } from '../domain/events.ts';
import { hashJson } from '../domain/keys.ts';
import { assert } from '../errors.ts';

/** One entry of the event log, as stored. */
export interface LogRecord {
  readonly seq: number;
  /** occurred_at, epoch milliseconds. */
  readonly at: number;
  readonly kind: string;
  readonly revision: number | null;
  readonly payload: Readonly<Record<string, unknown>>;
}

/** The raw event an `event.received` entry names, from the inbox. */
export interface ReceivedEvent {
  readonly type: string;
  /** The CloudEvent's `data`. */
  readonly data: unknown;
}

/** The state of one revision: what the revisions table holds for it, with its postings' keys and documents. */
export interface RevisionView {
  readonly revision: number;
  /** received, validated, mapped, queued, waiting, quarantined, posted, superseded, reversed or recalled. */
  readonly state: string;
  readonly reasonCode: string | null;
  /** The rule-set versions it was mapped (or quarantined) with, e.g. DE01@3+GROUP@1. */
  readonly mappingVersion: string | null;
  readonly target: string | null;
  /** SHA-256 of the journal built for it (keys sorted), so journals compare without printing them. */
  readonly journalHash: string | null;
  readonly receivedAt: string | null;
  readonly approvedAt: string | null;
  /** When its journal posting was posted. */
  readonly postedAt: string | null;
  /** The external keys of its postings (journal, reversal), in the order they were created. */
  readonly externalKeys: readonly string[];
  /** The ERP documents of its postings. */
  readonly documentIds: readonly string[];
}

export interface PostingView {
  readonly externalKey: string;
  readonly kind: 'journal' | 'reversal';
  readonly revision: number;
  readonly target: string | null;
  /** queued (in flight counts as queued), posted, quarantined, superseded or skipped. */
  readonly state: string;
  readonly reasonCode: string | null;
  readonly documentId: string | null;
  readonly postedAt: string | null;
}

export interface ReportStateView {
  readonly entity: string | null;
  readonly latestRevision: number | null;
  readonly recalledAt: string | null;
  readonly revisions: readonly RevisionView[];
  readonly postings: readonly PostingView[];
}

/** An entry the fold could not apply: a kind it does not know, or one naming a revision or posting the log never created. */
export interface IgnoredEntry {
  readonly seq: number;
  readonly kind: string;
  readonly reason: string;
}

export interface FoldedLog extends ReportStateView {
  readonly ignored: readonly IgnoredEntry[];
}

interface Revision {
  readonly revision: number;
  state: string;
  reasonCode: string | null;
  mappingVersion: string | null;
  target: string | null;
  journalHash: string | null;
  readonly receivedAt: number;
  readonly approvedAt: number | null;
  postedAt: number | null;
}

interface Posting {
  readonly externalKey: string;
  readonly kind: 'journal' | 'reversal';
  /** `shadow`: a migration wave's second target (routing); it never changes its revision's state. */
  readonly shadow: boolean;
  readonly revision: number;
  readonly target: string | null;
  state: string;
  reasonCode: string | null;
  documentId: string | null;
  postedAt: number | null;
}

interface Fold {
  entity: string | null;
  latest: number | null;
  recalledAt: number | null;
  readonly revisions: Map<number, Revision>;
  readonly postings: Map<string, Posting>;
  readonly received: ReadonlyMap<string, ReceivedEvent>;
  readonly ignored: IgnoredEntry[];
}

/** Revision states a newer revision or a recall still ends (supersedeEarlier in process-revision.ts). */
const OPEN_REVISION_STATES = new Set(['received', 'validated', 'mapped', 'queued', 'quarantined', 'waiting']);

/** Kinds that change nothing the tables hold. */
const NO_CHANGE = new Set(['event.duplicate', 'revision.duplicate', 'recall.unknown-report', 'revision.redriven', 'revision.recall-flagged']);

export function receivedKey(source: string, eventId: string): string {
  return `${source}\u0000${eventId}`;
}

export function foldReportLog(entries: readonly LogRecord[], received: ReadonlyMap<string, ReceivedEvent>): FoldedLog {
  const fold: Fold = { entity: null, latest: null, recalledAt: null, revisions: new Map(), postings: new Map(), received, ignored: [] };
  let previous = -Infinity;
  for (const entry of entries) {
    assert(entry.seq > previous, `event-log entries are folded in seq order (${entry.seq} after ${previous})`);
    previous = entry.seq;
    apply(fold, entry);
  }
  return { ...viewOf(fold), ignored: fold.ignored };
}

function apply(fold: Fold, entry: LogRecord): void {
  // Reimbursement milestones (src/sources/reimbursements.ts) are part of the timeline, not of the revision or posting state.
  if (NO_CHANGE.has(entry.kind) || entry.kind.startsWith('reimbursement.')) return;
  if (entry.kind === 'event.received') return receive(fold, entry);
  if (entry.kind.startsWith('revision.')) return applyToRevision(fold, entry);
  if (entry.kind.startsWith('posting.') || entry.kind.startsWith('reversal.')) return applyToPosting(fold, entry);
  fold.ignored.push({ seq: entry.seq, kind: entry.kind, reason: 'a kind the rebuild does not know' });
}

/** ingest.ts: a report event adds its revision (superseded at once when stale); a recall marks a known report recalled. */
function receive(fold: Fold, entry: LogRecord): void {
  const { source, id, type } = entry.payload;
  const event = typeof source === 'string' && typeof id === 'string' ? fold.received.get(receivedKey(source, id)) : undefined;
  if (type === EVENT_TYPES.recalled) {
    if (fold.revisions.size > 0) fold.recalledAt = entry.at;
    return;
  }
  const revision = entry.revision;
  if (revision === null) return ignore(fold, entry, 'a report event without a revision');
  // A known revision arriving again under another event id: `revision.duplicate` follows, nothing changes.
  if (fold.revisions.has(revision)) return;
  const data = (event?.data ?? {}) as { entity?: unknown; approvedAt?: unknown };
  const approvedAt = typeof data.approvedAt === 'string' ? Date.parse(data.approvedAt) : NaN;
  const stale = fold.latest !== null && revision < fold.latest;
  fold.revisions.set(revision, {
    revision,
    state: stale ? 'superseded' : 'received',
    reasonCode: stale ? 'STALE_REVISION' : null,
    mappingVersion: null,
    target: null,
    journalHash: null,
    receivedAt: entry.at,
    approvedAt: event === undefined ? null : Number.isFinite(approvedAt) ? approvedAt : entry.at,
    postedAt: null,
  });
  if (stale) return;
  fold.latest = revision;
  fold.recalledAt = null;
  if (typeof data.entity === 'string') fold.entity = data.entity;
}

function applyToRevision(fold: Fold, entry: LogRecord): void {
  const rev = entry.revision === null ? undefined : fold.revisions.get(entry.revision);
  if (!rev) return ignore(fold, entry, `revision ${entry.revision} was never received`);
  const p = entry.payload;
  switch (entry.kind) {
    case 'revision.superseded':
      return set(rev, 'superseded', typeof p.reason === 'string' ? p.reason : 'STALE_REVISION');
    case 'revision.validated':
      rev.state = 'validated';
      return;
    case 'revision.mapped':
      rev.state = 'mapped';
      rev.mappingVersion = stringOr(p.mappingVersion, rev.mappingVersion);
      rev.journalHash = p.journal === undefined ? rev.journalHash : hashJson(p.journal);
      return;
    case 'revision.queued':
      supersedeEarlier(fold, rev.revision, 'SUPERSEDED');
      rev.state = 'queued';
      rev.target = stringOr(p.target, rev.target);
      if (typeof p.externalKey !== 'string') return ignore(fold, entry, 'no externalKey');
      fold.postings.set(p.externalKey, { externalKey: p.externalKey, kind: 'journal', shadow: false, revision: rev.revision, target: rev.target, state: 'queued', reasonCode: null, documentId: null, postedAt: null });
      if (isShadow(p.shadow)) fold.postings.set(p.shadow.externalKey, { externalKey: p.shadow.externalKey, kind: 'journal', shadow: true, revision: rev.revision, target: p.shadow.target, state: 'queued', reasonCode: null, documentId: null, postedAt: null });
      return;
    case 'revision.waiting':
      return set(rev, 'waiting', waitingCode(p));
    case 'revision.resumed':
    case 'revision.replayed':
      // Both updates are conditional: on `waiting` (resumeWaiting) and on `quarantined` (requeueRevision).
      if (rev.state === (entry.kind === 'revision.resumed' ? 'waiting' : 'quarantined')) set(rev, 'received', null);
      return;
    case 'revision.quarantined':
      set(rev, 'quarantined', stringOr(p.code, null));
      rev.mappingVersion = stringOr(p.mappingVersion, rev.mappingVersion);
      return;
    case 'revision.recalled':
      supersedeEarlier(fold, rev.revision, 'RECALLED');
      return set(rev, 'recalled', 'RECALLED');
  }
  ignore(fold, entry, 'a kind the rebuild does not know');
}

/** finish-posting.ts, posting-lane.ts, process-revision.ts (supersedeEarlier) and replay.ts, entry by entry. */
function applyToPosting(fold: Fold, entry: LogRecord): void {
  const p = entry.payload;
  if (typeof p.externalKey !== 'string') return ignore(fold, entry, 'no externalKey');
  if (entry.kind === 'reversal.queued') {
    const original = typeof p.of === 'string' ? fold.postings.get(p.of) : undefined;
    if (entry.revision === null) return ignore(fold, entry, 'a reversal without a revision');
    fold.postings.set(p.externalKey, { externalKey: p.externalKey, kind: 'reversal', shadow: original?.shadow ?? false, revision: entry.revision, target: stringOr(p.target, original?.target ?? null), state: 'queued', reasonCode: null, documentId: null, postedAt: null });
    return;
  }
  const posting = fold.postings.get(p.externalKey);
  if (!posting) return ignore(fold, entry, `posting ${p.externalKey} was never queued`);
  // A shadow posting's end changes only the posting: its revision follows the primary target.
  const rev = posting.shadow ? undefined : fold.revisions.get(posting.revision);
  switch (entry.kind) {
    case 'posting.retry-scheduled':
      posting.state = 'queued';
      return;
    case 'posting.superseded':
      posting.state = 'superseded';
      return;
    case 'reversal.skipped':
      posting.state = 'skipped';
      return;
    case 'posting.replayed':
      // Reconciliation re-posts a posted journal the ERP lost (src/reconcile/heal.ts): back to queued, nothing else changes.
      if (posting.state === 'posted') posting.state = 'queued';
      if (posting.state !== 'quarantined') return;
      posting.state = 'queued';
      posting.reasonCode = null;
      if (posting.kind === 'journal' && rev?.state === 'quarantined') set(rev, 'queued', null);
      return;
    case 'posting.quarantined':
    case 'reversal.quarantined':
      posting.state = 'quarantined';
      posting.reasonCode = stringOr(p.code, null);
      if (posting.kind === 'journal' && rev?.state === 'queued') set(rev, 'quarantined', posting.reasonCode);
      return;
    case 'posting.posted':
    case 'reversal.posted':
      markPosted(posting, p.documentId, entry.at);
      if (rev && posting.kind === 'journal') {
        if (rev.state === 'queued') rev.state = 'posted';
        rev.postedAt = entry.at;
      }
      if (rev && posting.kind === 'reversal' && (rev.state === 'posted' || rev.state === 'superseded')) rev.state = 'reversed';
      return;
    case 'posting.found-on-lookup':
      // After `posting.posted` it repeats what is known; logged by a reversal, it records its original as posted.
      if (posting.state !== 'posted') markPosted(posting, p.documentId, entry.at);
      return;
  }
  ignore(fold, entry, 'a kind the rebuild does not know');
}

function isShadow(value: unknown): value is { externalKey: string; target: string } {
  return typeof value === 'object' && value !== null && typeof (value as { externalKey?: unknown }).externalKey === 'string' && typeof (value as { target?: unknown }).target === 'string';
}

function markPosted(posting: Posting, documentId: unknown, at: number): void {
  posting.state = 'posted';
  posting.documentId = typeof documentId === 'string' ? documentId : null;
  posting.postedAt = at;
}

function supersedeEarlier(fold: Fold, revision: number, reason: string): void {
  for (const earlier of fold.revisions.values()) {
    if (earlier.revision < revision && OPEN_REVISION_STATES.has(earlier.state)) set(earlier, 'superseded', reason);
  }
}

function set(rev: Revision, state: string, reasonCode: string | null): void {
  rev.state = state;
  rev.reasonCode = reasonCode;
}

/** The code of the first error among the findings, as parkRevision records it. */
function waitingCode(payload: Readonly<Record<string, unknown>>): string | null {
  if (typeof payload.code === 'string') return payload.code;
  const findings = Array.isArray(payload.findings) ? (payload.findings as { severity?: unknown; code?: unknown }[]) : [];
  const first = findings.find((f) => f?.severity === 'error');
  return typeof first?.code === 'string' ? first.code : null;
}

function stringOr(value: unknown, fallback: string | null): string | null {
  return typeof value === 'string' ? value : fallback;
}

function ignore(fold: Fold, entry: LogRecord, reason: string): void {
  fold.ignored.push({ seq: entry.seq, kind: entry.kind, reason });
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function viewOf(fold: Fold): ReportStateView {
  const postings = [...fold.postings.values()];
  return {
    entity: fold.entity,
    latestRevision: fold.latest,
    recalledAt: iso(fold.recalledAt),
    revisions: [...fold.revisions.values()]
      .sort((a, b) => a.revision - b.revision)
      .map((r) => {
        const own = postings.filter((p) => p.revision === r.revision);
        return {
          revision: r.revision,
          state: r.state,
          reasonCode: r.reasonCode,
          mappingVersion: r.mappingVersion,
          target: r.target,
          journalHash: r.journalHash,
          receivedAt: iso(r.receivedAt),
          approvedAt: iso(r.approvedAt),
          postedAt: iso(r.postedAt),
          externalKeys: own.map((p) => p.externalKey),
          documentIds: own.flatMap((p) => (p.documentId === null ? [] : [p.documentId])),
        };
      }),
    postings: postings.map((p) => ({ externalKey: p.externalKey, kind: p.kind, revision: p.revision, target: p.target, state: p.state, reasonCode: p.reasonCode, documentId: p.documentId, postedAt: iso(p.postedAt) })),
  };
}
