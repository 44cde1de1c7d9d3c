/**
 * Runs a suite against every store: SQLite always, PostgreSQL when it can be reached. Each call
 * gets a fresh SQLite file or a fresh PostgreSQL schema. Under CI (CI=true) an unreachable
 * PostgreSQL fails the suite instead of skipping it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { dropPostgresSchema, openStore, type Store } from '../../src/store/db.ts';

export const POSTGRES_URL = process.env.FINSYNC_TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let reachable: Promise<string | undefined> | undefined;

/** undefined when PostgreSQL answers, else the reason it does not. */
export function postgresUnavailableReason(): Promise<string | undefined> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return undefined;
    } catch (error) {
      return `PostgreSQL at ${POSTGRES_URL} is not reachable: ${(error as Error).message}`;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return reachable;
}

export type StoreKind = 'sqlite' | 'postgres';

export interface TestStorage {
  readonly kind: StoreKind;
  readonly options: { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string; schema: string };
  open(): Promise<Store>;
  cleanup(): Promise<void>;
}

let counter = 0;

export function createTestStorage(kind: StoreKind): TestStorage {
  const tag = `${process.pid}_${Date.now()}_${counter++}`;
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'finsync-test-'));
    const options = { kind: 'sqlite' as const, file: join(dir, 'test.db') };
    return { kind, options, open: () => openStore(options), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const options = { kind: 'postgres' as const, url: POSTGRES_URL, schema: `finsync_test_${tag}` };
  return { kind, options, open: () => openStore({ ...options, poolSize: 5 }), cleanup: () => dropPostgresSchema(POSTGRES_URL, options.schema) };
}

/**
 * The stores a test should run on, with a skip reason for PostgreSQL when it is down and CI is not
 * set. Use: `for (const s of await storeKinds()) test(`... on ${s.kind}`, { skip: s.skip }, ...)`.
 */
export async function storeKinds(): Promise<{ kind: StoreKind; skip: string | false }[]> {
  const reason = await postgresUnavailableReason();
  if (reason && process.env.CI === 'true') throw new Error(`${reason}. CI runs every store test on PostgreSQL; start it (see .ci/run).`);
  if (reason) console.log(`# skipping PostgreSQL tests: ${reason}`);
  return [
    { kind: 'sqlite', skip: false },
    { kind: 'postgres', skip: reason ?? false },
  ];
}
