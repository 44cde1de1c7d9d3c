/**
 * Replay of the exception queue: one item, a selection, or every current member of a cause group,
 * sent back into the pipeline after a fix (master data, mapping, routing, credentials).
 *
 * - A revision item (quarantined before any posting existed) goes back to `received` and is
 *   processed again from validation, with the master data and rules in force now.
 * - A posting item goes back to `queued`, due now, with its claim count reset so the lane tries it
 *   afresh instead of quarantining it again as ERP_RETRIES_EXHAUSTED; its revision goes back to
 *   `queued`. An outcome left unknown stays unknown, so the lane looks the document up first.
 *
 * The external key depends only on report, revision and target, so a replay can never create a
 * second ERP document: the ERP's duplicate guard and the look-up before a resend both see it.
 *
 * All or nothing, in one transaction: every state change (conditional on the item still being
 * quarantined), its `revision.replayed` / `posting.replayed` timeline entry, the outbox messages and
 * the replay record commit together. The replay's outcome per item is computed from the current
 * state when it is read (getReplay); recovery time is recorded when the revision posts
 * (finish-posting.ts).
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../errors.ts';
import type { Clock } from '../pipeline/clock.ts';
import { TOPICS } from '../pipeline/topics.ts';
import { isController, type Principal } from '../store/api-keys.ts';
import type { Store, Tx } from '../store/db.ts';
import { appendLog } from '../store/event-log.ts';
import { enqueueMessage } from '../store/outbox.ts';
import { insertReplay, listReplays, readReplay, readReplayItems, type ReplayItemState } from '../store/replays.ts';
import { getException, groupExceptions, listExceptions, type ExceptionItem, type ExceptionStage, type QueueItem } from './exceptions.ts';

export const REPLAY_IDS_MAX = 1_000;
export const REPLAY_REASON_CHARS_MAX = 500;
export const REPLAYS_LIST_MAX = 200;

export interface ReplayDeps {
  readonly store: Store;
  readonly clock: Clock;
  /** Each entity's target, as the exception queue shows it. */
  readonly entityTargets: () => Readonly<Record<string, string>>;
  /** Told after commit: a posting of this target is due now. */
  readonly notifyLane: (target: string) => void;
  /** Told after commit: revisions wait in the outbox. */
  readonly wakeBroker: () => void;
}

export interface ReplayRequest {
  readonly ids?: readonly string[];
  /** A cause key from groupExceptions: every item of that cause now. */
  readonly group?: string;
  readonly reason: string;
}

/** One item of a replay: what was sent back, and the code it was quarantined with. */
interface ReplayItemBase {
  readonly id: string;
  readonly stage: ExceptionStage;
  readonly reportId: string;
  readonly revision: number;
  readonly postingId: number | null;
  readonly entity: string;
  readonly previousCode: string;
}

export interface ReplayedItem extends ReplayItemBase {
  readonly target: string | null;
}

export interface ReplayStarted {
  readonly replayId: string;
  readonly items: readonly ReplayedItem[];
}

export async function replayExceptions(deps: ReplayDeps, request: ReplayRequest, actor: Principal): Promise<ReplayStarted> {
  const reason = request.reason.trim();
  if (reason.length === 0 || request.reason.length > REPLAY_REASON_CHARS_MAX) throw new AppError('REQUEST_INVALID', { detail: `reason must be 1 to ${REPLAY_REASON_CHARS_MAX} characters` });
  const items = replayable(await resolveSelection(deps, request));
  requireReplayRole(actor, items);
  const now = deps.clock.now();
  const replayId = randomUUID();
  const selection = request.ids !== undefined ? { ids: [...new Set(request.ids)] } : { group: request.group };
  await deps.store.db.transaction().execute(async (tx) => {
    const why = { by: actor.name, reason, replayId };
    for (const item of items) {
      const moved = item.stage === 'revision' ? await requeueRevision(tx, now, item, { ...why, previousCode: item.code }) : await requeuePosting(tx, now, item, { ...why, previousCode: item.code });
      // Another replay or a newer revision moved it meanwhile: refuse the whole replay, so the record never lies.
      if (!moved) throw new AppError('REPLAY_CONFLICT', { id: item.id });
    }
    await insertReplay(
      tx,
      { id: replayId, actor: actor.name, reason, created_at: now, selection: JSON.stringify(selection) },
      items.map((i) => ({
        replay_id: replayId,
        item_id: i.id,
        stage: i.stage,
        report_id: i.reportId,
        revision: i.revision,
        posting_id: postingIdOf(i),
        previous_code: i.code,
        quarantined_at: Date.parse(i.firstSeen),
        recovered_at: null,
      })),
    );
  });
  for (const target of new Set(items.flatMap((i) => (i.stage !== 'revision' && i.target !== null ? [i.target] : [])))) deps.notifyLane(target);
  if (items.some((i) => i.stage === 'revision')) deps.wakeBroker();
  return {
    replayId,
    items: items.map((i) => ({ id: i.id, stage: i.stage, reportId: i.reportId, revision: i.revision, postingId: postingIdOf(i), entity: i.entity, target: i.target, previousCode: i.code })),
  };
}

/** Reconciliation breaks are resolved (or cleared by a later run), not replayed: a selection holding one is refused whole. */
function replayable(items: readonly ExceptionItem[]): QueueItem[] {
  const found = items.find((i) => i.stage === 'reconciliation');
  if (found) throw new AppError('REPLAY_SELECTION_INVALID', { detail: `${found.id} is a reconciliation break; resolve it with POST /v1/reconciliation/breaks/{id}/resolve once it is fixed, or let the next run clear it` });
  return items as QueueItem[];
}

function postingIdOf(item: QueueItem): number | null {
  return item.stage === 'revision' ? null : Number(item.id.slice('posting:'.length));
}

/** The items named, each quarantined now; or every current member of one cause. */
async function resolveSelection(deps: ReplayDeps, request: ReplayRequest): Promise<ExceptionItem[]> {
  const options = { now: deps.clock.now(), entityTargets: deps.entityTargets() };
  if ((request.ids === undefined) === (request.group === undefined)) throw new AppError('REPLAY_SELECTION_INVALID', { detail: request.ids === undefined ? 'neither ids nor a group was given' : 'both ids and a group were given' });
  if (request.ids !== undefined) {
    const ids = [...new Set(request.ids)];
    if (ids.length === 0) throw new AppError('REPLAY_SELECTION_INVALID', { detail: 'the list of ids is empty' });
    if (ids.length > REPLAY_IDS_MAX) throw new AppError('REQUEST_INVALID', { detail: `at most ${REPLAY_IDS_MAX} ids per replay; replay a whole cause with group instead` });
    const items: ExceptionItem[] = [];
    for (const id of ids) {
      const item = await getException(deps.store.db, id, options);
      if (!item) throw new AppError('EXCEPTION_NOT_FOUND', { id });
      items.push(item);
    }
    return items;
  }
  const group = request.group!;
  const { items } = await listExceptions(deps.store.db, {}, options);
  const members = new Set(groupExceptions(items).find((g) => g.cause === group)?.members ?? []);
  if (members.size === 0) throw new AppError('REPLAY_GROUP_EMPTY', { group });
  return items.filter((i) => members.has(i.id));
}

/** Operators and admins replay anything; a controller only items of the entities it controls. */
function requireReplayRole(actor: Principal, items: readonly ExceptionItem[]): void {
  if (actor.roles.includes('operator') || actor.roles.includes('admin')) return;
  const refused = [...new Set(items.map((i) => i.entity))].sort().find((entity) => !isController(actor, entity));
  if (refused !== undefined) throw new AppError('REPLAY_ROLE_REQUIRED', { actor: actor.name, entity: refused });
}

/**
 * Sends a quarantined revision back to `received` and queues it for processing, with its timeline
 * entry: the one implementation of a revision replay (the mapping replay uses it too). Returns false,
 * changing nothing, when the revision is no longer quarantined.
 */
export async function requeueRevision(tx: Tx, now: number, revision: { readonly reportId: string; readonly revision: number; readonly correlationId: string }, payload: Readonly<Record<string, unknown>>): Promise<boolean> {
  const updated = await tx
    .updateTable('revisions')
    .set({ state: 'received', reason_code: null, reason_detail: null, updated_at: now })
    .where('report_id', '=', revision.reportId)
    .where('revision', '=', revision.revision)
    .where('state', '=', 'quarantined')
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) !== 1) return false;
  await appendLog(tx, now, [{ correlationId: revision.correlationId, reportId: revision.reportId, revision: revision.revision, kind: 'revision.replayed', payload }]);
  await enqueueMessage(tx, now, TOPICS.processRevision, revision.reportId, { reportId: revision.reportId, revision: revision.revision });
  return true;
}

/**
 * Sends a quarantined posting back to its lane, due now. `attempts` counts the claims the lane
 * compares with maxPostingClaims: it starts again from zero, or a posting quarantined as
 * ERP_RETRIES_EXHAUSTED would be quarantined again on its first failure. The attempt log
 * (posting_attempts) keeps counting.
 */
export async function requeuePosting(tx: Tx, now: number, item: QueueItem, payload: Readonly<Record<string, unknown>>): Promise<boolean> {
  const postingId = postingIdOf(item)!;
  const updated = await tx
    .updateTable('postings')
    .set({ state: 'queued', next_attempt_at: now, lease_until: null, attempts: 0, reason_code: null, reason_detail: null, updated_at: now })
    .where('id', '=', postingId)
    .where('state', '=', 'quarantined')
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) !== 1) return false;
  if (item.stage === 'posting') {
    await tx
      .updateTable('revisions')
      .set({ state: 'queued', reason_code: null, reason_detail: null, updated_at: now })
      .where('report_id', '=', item.reportId)
      .where('revision', '=', item.revision)
      .where('state', '=', 'quarantined')
      .execute();
  }
  await appendLog(tx, now, [{ correlationId: item.correlationId, reportId: item.reportId, revision: item.revision, kind: 'posting.replayed', payload: { ...payload, postingId, kind: item.stage === 'reversal' ? 'reversal' : 'journal', externalKey: item.externalKey } }]);
  return true;
}

/** Where a replayed item is now: back in the pipeline, posted, quarantined again, or superseded by a newer revision or a recall. */
export type ReplayOutcome = 'pending' | 'posted' | 'quarantined' | 'superseded';

export interface ReplayItemOutcome extends ReplayItemBase {
  readonly quarantinedAt: string;
  readonly outcome: ReplayOutcome;
  /** The state of the revision (revision items) or posting (posting items) now. */
  readonly state: string;
  /** For `quarantined`: the code it has now. */
  readonly code: string | null;
  /** For `posted`: when, and the seconds from its first quarantine to then. */
  readonly postedAt: string | null;
  readonly recoverySeconds: number | null;
}

export interface ReplaySummary {
  readonly id: string;
  readonly actor: string;
  readonly reason: string;
  readonly createdAt: string;
  /** A re-drive of the event log (src/eventlog/redrive.ts) records its window, and the entity it was limited to. */
  readonly selection: { readonly ids?: readonly string[]; readonly group?: string; readonly window?: { readonly from: string; readonly to: string }; readonly entity?: string; readonly mapping?: { readonly entity: string; readonly codes: readonly string[] } };
  readonly itemCount: number;
}

export interface ReplayDetail extends ReplaySummary {
  readonly outcomes: Readonly<Record<ReplayOutcome, number>>;
  readonly items: readonly ReplayItemOutcome[];
}

export async function getReplay(store: Store, id: string): Promise<ReplayDetail> {
  const replay = await readReplay(store.db, id);
  if (!replay) throw new AppError('REPLAY_NOT_FOUND', { id });
  const items = (await readReplayItems(store.db, id)).map(outcomeOf);
  const outcomes = { pending: 0, posted: 0, quarantined: 0, superseded: 0 };
  for (const item of items) outcomes[item.outcome]++;
  return { ...summaryOf({ ...replay, items: items.length }), outcomes, items };
}

export async function recentReplays(store: Store, limit = 50): Promise<ReplaySummary[]> {
  return (await listReplays(store.db, Math.min(Math.max(1, limit), REPLAYS_LIST_MAX))).map(summaryOf);
}

function summaryOf(row: { id: string; actor: string; reason: string; created_at: number; selection: string; items: number }): ReplaySummary {
  return { id: row.id, actor: row.actor, reason: row.reason, createdAt: new Date(row.created_at).toISOString(), selection: JSON.parse(row.selection) as ReplaySummary['selection'], itemCount: row.items };
}

function outcomeOf(row: ReplayItemState): ReplayItemOutcome {
  const onPosting = row.stage !== 'revision';
  const state = (onPosting ? row.posting_state : row.revision_state) ?? 'superseded';
  const postedAt = onPosting ? row.posting_posted_at : row.revision_posted_at;
  let outcome: ReplayOutcome = 'pending';
  if (state === 'posted' || state === 'reversed') outcome = 'posted';
  else if (state === 'quarantined') outcome = 'quarantined';
  else if (state === 'superseded' || state === 'recalled' || state === 'skipped') outcome = 'superseded';
  const posted = outcome === 'posted' && postedAt !== null;
  const recoveredAt = row.recovered_at ?? (posted ? postedAt : null);
  return {
    id: row.item_id,
    stage: row.stage,
    reportId: row.report_id,
    revision: row.revision,
    postingId: row.posting_id,
    entity: row.entity,
    previousCode: row.previous_code,
    quarantinedAt: new Date(row.quarantined_at).toISOString(),
    outcome,
    state,
    code: outcome === 'quarantined' ? (onPosting ? row.posting_code : row.revision_code) : null,
    postedAt: posted ? new Date(postedAt).toISOString() : null,
    recoverySeconds: outcome === 'posted' && recoveredAt !== null ? Math.max(0, recoveredAt - row.quarantined_at) / 1000 : null,
  };
}
