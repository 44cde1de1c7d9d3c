/**
 * The transactional outbox: a message is written in the same transaction as the state change
 * that causes it, then claimed by a consumer with a lease. A consumer that dies leaves its lease
 * to expire and the message is delivered again, so handlers are idempotent.
 */
import { sql } from 'kysely';
import type { Db, Store, Tx } from './db.ts';

export interface OutboxMessage {
  readonly id: number;
  readonly topic: string;
  readonly key: string;
  readonly payload: unknown;
  readonly attempts: number;
}

export interface NewMessage {
  readonly topic: string;
  readonly key: string;
  readonly payload: unknown;
}

/** Writes messages in the caller's transaction, in one statement, available after `delayMs`. */
export async function enqueueMessages(tx: Tx | Db, now: number, messages: readonly NewMessage[], delayMs = 0): Promise<void> {
  if (messages.length === 0) return;
  await tx
    .insertInto('outbox')
    .values(messages.map((m) => ({ topic: m.topic, message_key: m.key, payload: JSON.stringify(m.payload), available_at: now + delayMs, attempts: 0, created_at: now, lease_until: null, done_at: null })))
    .execute();
}

export async function enqueueMessage(tx: Tx | Db, now: number, topic: string, key: string, payload: unknown, delayMs = 0): Promise<void> {
  await enqueueMessages(tx, now, [{ topic, key, payload }], delayMs);
}

export async function claimMessages(store: Store, now: number, topics: readonly string[], limit: number, leaseMs: number): Promise<OutboxMessage[]> {
  const topicList = sql.join(topics.map((t) => sql`${t}`));
  const lock = sql.raw(store.caps.claimLockSuffix);
  const result = await sql<{ id: number; topic: string; message_key: string; payload: string; attempts: number }>`
    UPDATE outbox SET lease_until = ${now + leaseMs}, attempts = attempts + 1
    WHERE id IN (
      SELECT id FROM outbox
      WHERE done_at IS NULL AND available_at <= ${now} AND (lease_until IS NULL OR lease_until < ${now}) AND topic IN (${topicList})
      ORDER BY id LIMIT ${limit} ${lock}
    )
    RETURNING id, topic, message_key, payload, attempts`.execute(store.db);
  return result.rows
    .sort((a, b) => Number(a.id) - Number(b.id))
    .map((r) => ({ id: Number(r.id), topic: r.topic, key: r.message_key, payload: JSON.parse(r.payload) as unknown, attempts: Number(r.attempts) }));
}

export async function completeMessage(db: Db | Tx, id: number, now: number): Promise<void> {
  await db.updateTable('outbox').set({ done_at: now, lease_until: null }).where('id', '=', id).execute();
}

export async function releaseMessage(db: Db, id: number, availableAt: number): Promise<void> {
  await db.updateTable('outbox').set({ lease_until: null, available_at: availableAt }).where('id', '=', id).execute();
}

export async function countPendingMessages(db: Db): Promise<number> {
  const row = await db.selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).where('done_at', 'is', null).executeTakeFirst();
  return Number(row?.n ?? 0);
}
