/** Postings: the durable queue of each posting lane, and the attempts made on each posting. */
import { sql } from 'kysely';
import type { Db, Store, Tx } from './db.ts';
import type { PostingsTable } from './schema.ts';
import type { Selectable } from 'kysely';

export type PostingRow = Selectable<PostingsTable>;

/** A claimed posting, with the number of the attempt recorded for it before anything is sent. */
export type ClaimedPosting = PostingRow & { readonly attempt: number };

/**
 * Claims due postings of one target, oldest first, skipping any posting whose report still has an
 * earlier posting queued or in flight on the same target: revisions (and their reversals) post in
 * order there, and a target that is down never holds back another. With `entity` ordering, also any
 * posting whose entity has an earlier one open on the target: one entity's postings go one at a time. A posting
 * whose lease expired was in flight when its worker died, so its outcome is unknown. In the same
 * transaction each claim records its first attempt as "sending": the intent, before the call.
 */
export async function claimPostings(store: Store, target: string, now: number, limit: number, leaseMs: number, ordering: 'report' | 'entity' = 'report'): Promise<ClaimedPosting[]> {
  if (limit <= 0) return [];
  return store.db.transaction().execute(async (tx) => {
    const result = await sql<PostingRow>`
      UPDATE postings SET state = 'posting', lease_until = ${now + leaseMs}, attempts = attempts + 1, updated_at = ${now},
        unknown_outcome = CASE WHEN state = 'posting' THEN 1 ELSE unknown_outcome END
      WHERE id IN (
        SELECT p.id FROM postings p
        WHERE p.target = ${target} AND p.state IN ('queued', 'posting')
          AND ((p.state = 'queued' AND p.next_attempt_at <= ${now}) OR (p.state = 'posting' AND p.lease_until < ${now}))
          AND NOT EXISTS (SELECT 1 FROM postings e WHERE e.report_id = p.report_id AND e.target = p.target AND e.id < p.id AND e.state IN ('queued', 'posting'))
          ${ordering === 'entity' ? sql`AND NOT EXISTS (SELECT 1 FROM postings f WHERE f.entity = p.entity AND f.target = p.target AND f.id < p.id AND f.state IN ('queued', 'posting'))` : sql``}
        ORDER BY p.id LIMIT ${limit} ${sql.raw(store.caps.claimLockSuffix)}
      )
      RETURNING *`.execute(tx);
    const claimed: ClaimedPosting[] = [];
    for (const row of result.rows.map((r) => ({ ...r, id: Number(r.id) })).sort((a, b) => a.id - b.id)) {
      claimed.push({ ...row, attempt: await insertAttempt(tx, row.id, now) });
    }
    return claimed;
  });
}

async function insertAttempt(db: Db | Tx, postingId: number, now: number, result?: AttemptResult & { startedAt: number }): Promise<number> {
  const row = await db.selectFrom('posting_attempts').select((eb) => eb.fn.max('attempt').as('n')).where('posting_id', '=', postingId).executeTakeFirst();
  const attempt = Number(row?.n ?? 0) + 1;
  await db
    .insertInto('posting_attempts')
    .values({ posting_id: postingId, attempt, started_at: result?.startedAt ?? now, finished_at: result ? now : null, outcome: result?.outcome ?? 'sending', ...attemptColumns(result) })
    .execute();
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

/** One call to the ERP made during a claim: the first was recorded at claim time, later ones were not. */
export interface AttemptRecord extends AttemptResult {
  readonly attempt?: number;
  readonly startedAt: number;
  readonly finishedAt: number;
}

function attemptColumns(result: AttemptResult | undefined) {
  return { error_kind: result?.errorKind ?? null, vendor_code: result?.vendorCode ?? null, http_status: result?.httpStatus ?? null, detail: result?.detail ?? null, raw: result?.raw ?? null };
}

/** Records the calls of one claim, in the transaction that records how the posting ended. */
export async function recordAttempts(tx: Tx, postingId: number, records: readonly AttemptRecord[]): Promise<void> {
  for (const record of records) {
    if (record.attempt !== undefined) {
      await tx
        .updateTable('posting_attempts')
        .set({ finished_at: record.finishedAt, outcome: record.outcome, ...attemptColumns(record) })
        .where('posting_id', '=', postingId)
        .where('attempt', '=', record.attempt)
        .execute();
    } else {
      await insertAttempt(tx, postingId, record.finishedAt, record);
    }
  }
}
