/** API keys: shown once at creation, stored only as a SHA-256 hash. */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Db } from './db.ts';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export async function createApiKey(db: Db, name: string, now: number): Promise<{ id: string; key: string }> {
  const key = `fsk_${randomBytes(32).toString('base64url')}`;
  const id = randomUUID();
  await db.insertInto('api_keys').values({ id, name, key_hash: hashApiKey(key), created_at: now, revoked_at: null }).execute();
  return { id, key };
}

export async function findApiKey(db: Db, key: string): Promise<{ id: string; name: string } | undefined> {
  return db.selectFrom('api_keys').select(['id', 'name']).where('key_hash', '=', hashApiKey(key)).where('revoked_at', 'is', null).executeTakeFirst();
}
