/**
 * Replays of quarantined items: the record of who replayed what and why (`replays`), each item a
 * replay moved out of quarantine (`replay_items`), and when its report revision was posted after.
 */
import type { Selectable } from 'kysely';
import type { Db, Tx } from './db.ts';
import type { ReplayItemsTable, ReplaysTable, RevisionState, PostingState } from './schema.ts';

export type ReplayRow = Selectable<ReplaysTable>;
export type ReplayItemRow = Selectable<ReplayItemsTable>;

/** Rows per INSERT: 9 columns each, well under SQLite's and PostgreSQL's parameter limits. */
const INSERT_ROWS_MAX = 500;

export async function insertReplay(tx: Tx, replay: ReplayRow, items: readonly ReplayItemRow[]): Promise<void> {
  await tx.insertInto('replays').values(replay).execute();
  for (let i = 0; i < items.length; i += INSERT_ROWS_MAX) {
    await tx.insertInto('replay_items').values(items.slice(i, i + INSERT_ROWS_MAX)).execute();
  }
}

/**
 * Marks the open replay items of a report revision recovered, in the transaction that records its
 * posting. Returns the entity and the earliest first quarantine among them (a revision replayed
 * twice recovers once, from its first quarantine), or undefined when no replay was waiting for it.
 */
export async function markRecovered(tx: Tx, reportId: string, revision: number, now: number): Promise<{ entity: string; quarantinedAt: number } | undefined> {
  const open = await tx
    .selectFrom('replay_items as ri')
    .innerJoin('reports as rep', 'rep.report_id', 'ri.report_id')
    .select(['rep.entity', (eb) => eb.fn.min('ri.quarantined_at').as('first')])
    .where('ri.report_id', '=', reportId)
    .where('ri.revision', '=', revision)
    .where('ri.recovered_at', 'is', null)
    .groupBy('rep.entity')
    .executeTakeFirst();
  if (!open || open.first === null) return undefined;
  await tx.updateTable('replay_items').set({ recovered_at: now }).where('report_id', '=', reportId).where('revision', '=', revision).where('recovered_at', 'is', null).execute();
  return { entity: open.entity, quarantinedAt: Number(open.first) };
}

export async function readReplay(db: Db, id: string): Promise<ReplayRow | undefined> {
  return db.selectFrom('replays').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A replay item with the current state of what it moved: its revision, and its posting for posting items. */
export interface ReplayItemState extends ReplayItemRow {
  readonly entity: string;
  readonly revision_state: RevisionState;
  readonly revision_code: string | null;
  readonly revision_posted_at: number | null;
  readonly posting_state: PostingState | null;
  readonly posting_code: string | null;
  readonly posting_posted_at: number | null;
}

export async function readReplayItems(db: Db, replayId: string): Promise<ReplayItemState[]> {
  const rows = await db
    .selectFrom('replay_items as ri')
    .innerJoin('reports as rep', 'rep.report_id', 'ri.report_id')
    .innerJoin('revisions as r', (j) => j.onRef('r.report_id', '=', 'ri.report_id').onRef('r.revision', '=', 'ri.revision'))
    .leftJoin('postings as p', 'p.id', 'ri.posting_id')
    .selectAll('ri')
    .select([
      'rep.entity',
      'r.state as revision_state',
      'r.reason_code as revision_code',
      'r.posted_at as revision_posted_at',
      'p.state as posting_state',
      'p.reason_code as posting_code',
      'p.posted_at as posting_posted_at',
    ])
    .where('ri.replay_id', '=', replayId)
    .orderBy('ri.quarantined_at')
    .orderBy('ri.item_id')
    .execute();
  return rows.map((r) => ({ ...r, posting_id: r.posting_id === null ? null : Number(r.posting_id) }));
}

/** The most recent replays, newest first, with how many items each moved. */
export async function listReplays(db: Db, limit: number): Promise<(ReplayRow & { items: number })[]> {
  const rows = await db
    .selectFrom('replays')
    .selectAll('replays')
    .select((eb) => eb.selectFrom('replay_items').select((c) => c.fn.countAll<number>().as('n')).whereRef('replay_items.replay_id', '=', 'replays.id').as('items'))
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ ...r, items: Number(r.items ?? 0) }));
}
