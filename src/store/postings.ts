/** Postings: the durable queue of each posting lane, and the attempts made on each posting. */
import { sql } from 'kysely';
import type { Db, Store, Tx } from './db.ts';
import type { PostingsTable } from './schema.ts';
import type { Selectable } from 'kysely';

export type PostingRow = Selectable<PostingsTable>;

/**
 * Claims due postings of one target, oldest first, skipping any posting whose report still has an
 * earlier posting queued or in flight: revisions (and their reversals) post in order. A posting
 * whose lease expired was in flight when its worker died, so its outcome is unknown.
 */
export async function claimPostings(store: Store, target: string, now: number, limit: number, leaseMs: number): Promise<PostingRow[]> {
  if (limit <= 0) return [];
  const result = await sql<PostingRow>`
    UPDATE postings SET state = 'posting', lease_until = ${now + leaseMs}, attempts = attempts + 1, updated_at = ${now},
      unknown_outcome = CASE WHEN state = 'posting' THEN 1 ELSE unknown_outcome END
    WHERE id IN (
      SELECT p.id FROM postings p
      WHERE p.target = ${target}
        AND ((p.state = 'queued' AND p.next_attempt_at <= ${now}) OR (p.state = 'posting' AND p.lease_until < ${now}))
        AND NOT EXISTS (SELECT 1 FROM postings e WHERE e.report_id = p.report_id AND e.id < p.id AND e.state IN ('queued', 'posting'))
      ORDER BY p.id LIMIT ${limit} ${sql.raw(store.caps.claimLockSuffix)}
    )
    RETURNING *`.execute(store.db);
  return result.rows.map((r) => ({ ...r, id: Number(r.id) })).sort((a, b) => a.id - b.id);
}

export async function startAttempt(db: Db, postingId: number, now: number): Promise<number> {
  const row = await db.selectFrom('posting_attempts').select((eb) => eb.fn.max('attempt').as('n')).where('posting_id', '=', postingId).executeTakeFirst();
  const attempt = Number(row?.n ?? 0) + 1;
  await db.insertInto('posting_attempts').values({ posting_id: postingId, attempt, started_at: now, finished_at: null, outcome: 'sending', error_kind: null, vendor_code: null, http_status: null, detail: null, raw: null }).execute();
  return attempt;
}

export interface AttemptResult {
  readonly outcome: string;
  readonly errorKind?: string;
  readonly vendorCode?: string;
  readonly httpStatus?: number;
  readonly detail?: string;
  readonly raw?: string;
}

export async function finishAttempt(db: Db, postingId: number, attempt: number, now: number, result: AttemptResult): Promise<void> {
  await db
    .updateTable('posting_attempts')
    .set({ finished_at: now, outcome: result.outcome, error_kind: result.errorKind ?? null, vendor_code: result.vendorCode ?? null, http_status: result.httpStatus ?? null, detail: result.detail ?? null, raw: result.raw ?? null })
    .where('posting_id', '=', postingId)
    .where('attempt', '=', attempt)
    .execute();
}

export async function findJournalPosting(tx: Tx | Db, reportId: string, revision: number, target: string): Promise<PostingRow | undefined> {
  return tx.selectFrom('postings').selectAll().where('report_id', '=', reportId).where('revision', '=', revision).where('target', '=', target).where('kind', '=', 'journal').executeTakeFirst();
}
