/** API keys: shown once at creation, stored only as a SHA-256 hash. */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Db } from './db.ts';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * Who a key speaks for: its name is the person (or system) the key was created for, so two keys of
 * one name are one person to the four-eyes rule.
 */
export interface Principal {
  readonly keyId: string;
  readonly name: string;
  readonly roles: readonly string[];
}

/**
 * Roles a key can hold. `controller:<entity>` owns that entity's mapping rules (and `controller:*`
 * every entity's and the GROUP set); the others are recorded for the operations and audit views.
 */
export const ROLE_PATTERN = /^(admin|operator|auditor|controller:(\*|[A-Za-z0-9][A-Za-z0-9_.-]{0,39}))$/;

export async function createApiKey(db: Db, name: string, now: number, roles: readonly string[] = []): Promise<{ id: string; key: string }> {
  const key = `fsk_${randomBytes(32).toString('base64url')}`;
  const id = randomUUID();
  await db.insertInto('api_keys').values({ id, name, key_hash: hashApiKey(key), created_at: now, revoked_at: null, roles: JSON.stringify([...new Set(roles)]) }).execute();
  return { id, key };
}

export async function findApiKey(db: Db, key: string): Promise<Principal | undefined> {
  const row = await db.selectFrom('api_keys').select(['id', 'name', 'roles']).where('key_hash', '=', hashApiKey(key)).where('revoked_at', 'is', null).executeTakeFirst();
  return row && { keyId: row.id, name: row.name, roles: JSON.parse(row.roles) as string[] };
}

/** Whether a principal may act as controller of a scope (an entity code or GROUP). */
export function isController(principal: Principal, scope: string): boolean {
  return principal.roles.includes('controller:*') || principal.roles.includes(`controller:${scope}`);
}
