/**
 * Re-drive of a time window: every report revision received in [from, to) (its `received_at`, the
 * time of its `event.received` entry and inbox row) is driven through the pipeline again, for
 * example after a connector fix. Idempotent, item by item:
 *
 * - a quarantined revision is processed again from validation (requeueRevision, as a replay does);
 * - a quarantined posting goes back to its lane under its unchanged external key (requeuePosting),
 *   so the ERP's duplicate guard and the look-up before a resend see one document: a journal while
 *   its revision is quarantined, a reversal whatever its revision's state (the original is posted
 *   and must be taken back). A journal whose revision was superseded or recalled meanwhile is left
 *   alone: posting it now would book what the newer revision replaced;
 * - a revision still `received` with no processing message waiting is queued for processing again
 *   (`revision.redriven` in the log); with one waiting, it is left to it;
 * - everything else (queued, waiting for master data, posted, superseded, reversed, recalled) is
 *   left alone and counted as `unchanged`.
 *
 * So a second run of the same re-drive finds nothing to do and stores nothing. Like a replay, all of
 * it commits in one transaction, each state change conditional on the item not having moved
 * meanwhile (an item that did is reported `unchanged`), and it is recorded in `replays` with the
 * selection `{ "window": { "from", "to" }, "entity"? }` and one `replay_items` row per item moved
 * out of quarantine: GET /v1/replays/{id} follows their outcomes. A dry run plans the same and
 * writes nothing.
 *
 * Revisions are found by `received_at` without an index of their own: a re-drive is a rare
 * operator action over at most REDRIVE_ITEMS_MAX revisions, not worth an index on every insert.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../errors.ts';
import { getException, type ExceptionItem } from '../exceptions/exceptions.ts';
import { REPLAY_REASON_CHARS_MAX, requeuePosting, requeueRevision, type ReplayDeps } from '../exceptions/replay.ts';
import { TOPICS } from '../pipeline/topics.ts';
import { isController, type Principal } from '../store/api-keys.ts';
import type { Db, Tx } from '../store/db.ts';
import { appendLog } from '../store/event-log.ts';
import { enqueueMessage } from '../store/outbox.ts';
import { insertReplay } from '../store/replays.ts';
import { parseWindow, type RedriveWindow } from './redrive-window.ts';

export { REDRIVE_WINDOW_DAYS_MAX } from './redrive-window.ts';

/** Report revisions one re-drive may select. */
export const REDRIVE_ITEMS_MAX = 10_000;
/** Report ids per query (postings and outbox look-ups): well under either store's parameter limit. */
const IDS_PER_QUERY = 500;

export interface RedriveRequest {
  /** ISO 8601: a date (midnight UTC) or an instant with its offset. */
  readonly from: string;
  readonly to: string;
  readonly reason: string;
  readonly actor: Principal;
  /** Only revisions of this entity's reports. */
  readonly entity?: string;
  /** Plan only: list what would happen and write nothing. */
  readonly dryRun?: boolean;
}

/** What requeuePosting takes: a quarantined revision or posting of the exception queue. */
type QueuedException = Parameters<typeof requeuePosting>[2];

/** Where an item is: a revision (before any posting existed), its journal posting, or a reversal. */
export type RedriveStage = 'revision' | 'posting' | 'reversal';

/** requeued: back in the pipeline from quarantine; rerun: a `received` revision queued for processing again; unchanged: left as it is. */
export type RedriveAction = 'requeued' | 'rerun' | 'unchanged';

export interface RedriveItem {
  /** As in the exception queue: `revision:<reportId>:<revision>` or `posting:<id>`. */
  readonly id: string;
  readonly stage: RedriveStage;
  readonly reportId: string;
  readonly revision: number;
  readonly entity: string;
  readonly receivedAt: string;
  /** The state before the re-drive: the revision's, or the posting's for posting items. */
  readonly state: string;
  readonly action: RedriveAction;
  /** For quarantined items: their code. */
  readonly previousCode: string | null;
  readonly externalKey: string | null;
}

export interface RedriveResult {
  /** The replay that records it (GET /v1/replays/{id}); null for a dry run, or when nothing needed re-driving. */
  readonly redriveId: string | null;
  readonly dryRun: boolean;
  readonly window: { readonly from: string; readonly to: string };
  readonly entity: string | null;
  readonly counts: { readonly revisions: number; readonly requeued: number; readonly rerun: number; readonly unchanged: number };
  readonly items: readonly RedriveItem[];
}

interface Candidate {
  readonly reportId: string;
  readonly revision: number;
  readonly entity: string;
  readonly state: string;
  readonly correlationId: string;
  readonly receivedAt: number;
}

type Planned = RedriveItem & { readonly exception?: QueuedException; readonly correlationId: string };

/** `limits` exists for tests: a window of more than REDRIVE_ITEMS_MAX revisions is costly to build. */
export async function redrive(deps: ReplayDeps, request: RedriveRequest, limits: { readonly itemsMax: number } = { itemsMax: REDRIVE_ITEMS_MAX }): Promise<RedriveResult> {
  const reason = request.reason.trim();
  if (reason.length === 0 || request.reason.length > REPLAY_REASON_CHARS_MAX) throw new AppError('REQUEST_INVALID', { detail: `reason must be 1 to ${REPLAY_REASON_CHARS_MAX} characters` });
  const window = parseWindow(request.from, request.to);
  const entityTargets = deps.entityTargets();
  if (request.entity !== undefined && !Object.hasOwn(entityTargets, request.entity)) {
    throw new AppError('REDRIVE_ENTITY_UNKNOWN', { entity: request.entity, configured: Object.keys(entityTargets).sort().join(', ') });
  }
  const candidates = await selectRevisions(deps.store.db, window, request.entity, limits.itemsMax);
  requireRedriveRole(request.actor, [...candidates.map((c) => c.entity), ...(request.entity !== undefined ? [request.entity] : [])]);
  const plan = await planItems(deps, candidates, entityTargets);
  const answer = (redriveId: string | null, items: readonly Planned[]) => resultOf(redriveId, request, window, candidates.length, items);
  if (request.dryRun || plan.every((i) => i.action === 'unchanged')) return answer(null, plan);
  const now = deps.clock.now();
  const redriveId = randomUUID();
  const done = await deps.store.db.transaction().execute(async (tx) => {
    const why = { by: request.actor.name, reason, replayId: redriveId, window: { from: window.fromIso, to: window.toIso } };
    const items: Planned[] = [];
    for (const item of plan) items.push((await applyItem(tx, now, item, why)) ? item : { ...item, action: 'unchanged' });
    if (items.every((i) => i.action === 'unchanged')) return items;
    const selection = { window: why.window, ...(request.entity !== undefined && { entity: request.entity }) };
    const moved = items.filter((i) => i.action === 'requeued' && i.exception !== undefined);
    await insertReplay(
      tx,
      { id: redriveId, actor: request.actor.name, reason, created_at: now, selection: JSON.stringify(selection) },
      moved.map((i) => ({
        replay_id: redriveId,
        item_id: i.id,
        stage: i.stage,
        report_id: i.reportId,
        revision: i.revision,
        posting_id: i.stage === 'revision' ? null : Number(i.id.slice('posting:'.length)),
        previous_code: i.exception!.code,
        quarantined_at: Date.parse(i.exception!.firstSeen),
        recovered_at: null,
      })),
    );
    return items;
  });
  const acted = done.filter((i) => i.action !== 'unchanged');
  if (acted.length === 0) return answer(null, done);
  for (const target of new Set(acted.flatMap((i) => (i.stage !== 'revision' && i.exception?.target ? [i.exception.target] : [])))) deps.notifyLane(target);
  if (acted.some((i) => i.stage === 'revision')) deps.wakeBroker();
  return answer(redriveId, done);
}

/** Every revision received in the window, oldest first; refused whole when there are more than `itemsMax`. */
async function selectRevisions(db: Db, window: RedriveWindow, entity: string | undefined, itemsMax: number): Promise<Candidate[]> {
  let query = db
    .selectFrom('revisions as r')
    .innerJoin('reports as rep', 'rep.report_id', 'r.report_id')
    .where('r.received_at', '>=', window.fromMs)
    .where('r.received_at', '<', window.toMs);
  if (entity !== undefined) query = query.where('rep.entity', '=', entity);
  const rows = await query
    .select(['r.report_id', 'r.revision', 'r.state', 'r.correlation_id', 'r.received_at', 'rep.entity'])
    .orderBy('r.received_at')
    .orderBy('r.report_id')
    .orderBy('r.revision')
    .limit(itemsMax + 1)
    .execute();
  if (rows.length > itemsMax) {
    const count = await query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    throw new AppError('REDRIVE_TOO_MANY', { count: Number(count?.n ?? rows.length), max: itemsMax });
  }
  return rows.map((r) => ({ reportId: r.report_id, revision: Number(r.revision), entity: r.entity, state: r.state, correlationId: r.correlation_id, receivedAt: Number(r.received_at) }));
}

/** As for a replay: operators and admins re-drive anything; a controller only windows of the entities it controls. */
function requireRedriveRole(actor: Principal, entities: readonly string[]): void {
  if (actor.roles.includes('operator') || actor.roles.includes('admin')) return;
  const refused = [...new Set(entities)].sort().find((entity) => !isController(actor, entity));
  if (refused !== undefined) throw new AppError('REDRIVE_ROLE_REQUIRED', { actor: actor.name, entity: refused });
}

const revisionKey = (reportId: string, revision: number) => `${reportId}\u0000${revision}`;

/** What the re-drive does with each revision of the window and each of its quarantined postings. */
async function planItems(deps: ReplayDeps, candidates: readonly Candidate[], entityTargets: Readonly<Record<string, string>>): Promise<Planned[]> {
  const db = deps.store.db;
  const options = { now: deps.clock.now(), entityTargets };
  const quarantined = await quarantinedPostings(db, candidates);
  const pending = await pendingProcessing(db, candidates.filter((c) => c.state === 'received'));
  const plan: Planned[] = [];
  for (const c of candidates) {
    const base = { reportId: c.reportId, revision: c.revision, entity: c.entity, receivedAt: new Date(c.receivedAt).toISOString(), correlationId: c.correlationId };
    let journalRequeued = false;
    for (const p of quarantined.get(revisionKey(c.reportId, c.revision)) ?? []) {
      const wanted = p.kind === 'reversal' || c.state === 'quarantined';
      const exception = wanted ? queued(await getException(db, `posting:${p.id}`, options)) : undefined;
      const stage = p.kind === 'reversal' ? 'reversal' : 'posting';
      plan.push({ ...base, id: `posting:${p.id}`, stage, state: 'quarantined', action: exception ? 'requeued' : 'unchanged', previousCode: p.reasonCode, externalKey: p.externalKey, ...(exception && { exception }) });
      if (exception && p.kind === 'journal') journalRequeued = true;
    }
    if (journalRequeued) continue;
    const id = `revision:${c.reportId}:${c.revision}`;
    const exception = c.state === 'quarantined' ? queued(await getException(db, id, options)) : undefined;
    const action: RedriveAction = exception ? 'requeued' : c.state === 'received' && !pending.has(revisionKey(c.reportId, c.revision)) ? 'rerun' : 'unchanged';
    plan.push({ ...base, id, stage: 'revision', state: c.state, action, previousCode: exception?.code ?? null, externalKey: null, ...(exception && { exception }) });
  }
  return plan;
}

/** The item when it is a quarantined revision or posting (the queue also lists other kinds of items). */
function queued(item: ExceptionItem | undefined): QueuedException | undefined {
  return item !== undefined && (item.stage === 'revision' || item.stage === 'posting' || item.stage === 'reversal') ? (item as QueuedException) : undefined;
}

interface QuarantinedPosting {
  readonly id: number;
  readonly kind: 'journal' | 'reversal';
  readonly externalKey: string;
  readonly reasonCode: string | null;
}

/** The quarantined postings of the candidates, by report revision. */
async function quarantinedPostings(db: Db, candidates: readonly Candidate[]): Promise<Map<string, QuarantinedPosting[]>> {
  const wanted = new Set(candidates.map((c) => revisionKey(c.reportId, c.revision)));
  const reportIds = [...new Set(candidates.map((c) => c.reportId))];
  const found = new Map<string, QuarantinedPosting[]>();
  for (let i = 0; i < reportIds.length; i += IDS_PER_QUERY) {
    const rows = await db
      .selectFrom('postings')
      .select(['id', 'report_id', 'revision', 'kind', 'external_key', 'reason_code'])
      .where('report_id', 'in', reportIds.slice(i, i + IDS_PER_QUERY))
      .where('state', '=', 'quarantined')
      .orderBy('id')
      .execute();
    for (const row of rows) {
      const key = revisionKey(row.report_id, Number(row.revision));
      if (!wanted.has(key)) continue;
      found.set(key, [...(found.get(key) ?? []), { id: Number(row.id), kind: row.kind, externalKey: row.external_key, reasonCode: row.reason_code }]);
    }
  }
  return found;
}

/** The `received` revisions that still have a processing message waiting in the outbox. */
async function pendingProcessing(db: Db, received: readonly Candidate[]): Promise<Set<string>> {
  const reportIds = [...new Set(received.map((c) => c.reportId))];
  const pending = new Set<string>();
  for (let i = 0; i < reportIds.length; i += IDS_PER_QUERY) {
    const rows = await db
      .selectFrom('outbox')
      .select(['message_key', 'payload'])
      .where('done_at', 'is', null)
      .where('topic', '=', TOPICS.processRevision)
      .where('message_key', 'in', reportIds.slice(i, i + IDS_PER_QUERY))
      .execute();
    for (const row of rows) pending.add(revisionKey(row.message_key, Number((JSON.parse(row.payload) as { revision?: unknown }).revision)));
  }
  return pending;
}

/** Moves one item, conditional on it being where the plan found it; false when it moved meanwhile. */
async function applyItem(tx: Tx, now: number, item: Planned, why: Readonly<Record<string, unknown>>): Promise<boolean> {
  if (item.action === 'unchanged') return true;
  if (item.action === 'requeued') {
    const payload = { ...why, previousCode: item.exception!.code };
    return item.stage === 'revision' ? requeueRevision(tx, now, item.exception!, payload) : requeuePosting(tx, now, item.exception!, payload);
  }
  const row = await tx.selectFrom('revisions').select('state').where('report_id', '=', item.reportId).where('revision', '=', item.revision).executeTakeFirst();
  if (row?.state !== 'received') return false;
  await appendLog(tx, now, [{ correlationId: item.correlationId, reportId: item.reportId, revision: item.revision, kind: 'revision.redriven', payload: why }]);
  await enqueueMessage(tx, now, TOPICS.processRevision, item.reportId, { reportId: item.reportId, revision: item.revision });
  return true;
}

function resultOf(redriveId: string | null, request: RedriveRequest, window: RedriveWindow, revisions: number, items: readonly Planned[]): RedriveResult {
  const counts = { revisions, requeued: 0, rerun: 0, unchanged: 0 };
  for (const item of items) counts[item.action]++;
  return {
    redriveId,
    dryRun: request.dryRun === true,
    window: { from: window.fromIso, to: window.toIso },
    entity: request.entity ?? null,
    counts,
    items: items.map(({ exception: _exception, correlationId: _correlationId, ...item }) => item),
  };
}
