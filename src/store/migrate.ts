/**
 * Numbered, forward-only migrations, applied at start. A process refuses to run against a schema
 * newer than it knows: an older binary must never write into a newer layout.
 */
import { sql } from 'kysely';
import { AppError } from '../errors.ts';
import type { Store } from './db.ts';
import { initialSchema } from './migrations/001-initial.ts';
import { openPostingIndexes } from './migrations/002-open-posting-indexes.ts';
import { masterDataSchema } from './migrations/003-master-data.ts';
import { mappingRuleSetsSchema } from './migrations/004-mapping-rule-sets.ts';
import { quarantineIndex } from './migrations/005-quarantine-index.ts';
import { reconciliationSchema } from './migrations/006-reconciliation.ts';
import { multiErpSchema } from './migrations/007-multi-erp.ts';
import type { Capabilities } from './capabilities.ts';

interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: (caps: Capabilities) => string[];
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial', statements: initialSchema },
  { version: 2, name: 'open-posting-indexes', statements: openPostingIndexes },
  { version: 3, name: 'master-data', statements: masterDataSchema },
  { version: 4, name: 'mapping-rule-sets', statements: mappingRuleSetsSchema },
  { version: 5, name: 'quarantine-index', statements: quarantineIndex },
  { version: 6, name: 'reconciliation', statements: reconciliationSchema },
  { version: 7, name: 'multi-erp', statements: multiErpSchema },
];

export const KNOWN_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

export interface MigrationReport {
  readonly from: number;
  readonly to: number;
  readonly applied: readonly string[];
}

export async function currentSchemaVersion(store: Store): Promise<number> {
  await sql`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`.execute(store.db);
  const row = await store.db.selectFrom('schema_migrations').select((eb) => eb.fn.max('version').as('version')).executeTakeFirst();
  return Number(row?.version ?? 0);
}

/** Arbitrary but fixed: the PostgreSQL advisory lock that lets one process at a time migrate. */
const MIGRATION_LOCK_ID = 4_242_001;

export async function migrate(store: Store, now: () => number = Date.now): Promise<MigrationReport> {
  if (store.caps.kind === 'sqlite') return migrateLocked(store, now);
  // Several processes may start at once against one PostgreSQL: the first migrates, the others
  // wait for it and then find nothing left to do.
  return store.db.connection().execute(async (connection) => {
    await sql`SELECT pg_advisory_lock(${MIGRATION_LOCK_ID})`.execute(connection);
    try {
      return await migrateLocked({ ...store, db: connection }, now);
    } finally {
      await sql`SELECT pg_advisory_unlock(${MIGRATION_LOCK_ID})`.execute(connection);
    }
  });
}

async function migrateLocked(store: Store, now: () => number): Promise<MigrationReport> {
  const from = await currentSchemaVersion(store);
  if (from > KNOWN_SCHEMA_VERSION) throw new AppError('SCHEMA_TOO_NEW', { found: from, known: KNOWN_SCHEMA_VERSION });
  const applied: string[] = [];
  for (const migration of MIGRATIONS.filter((m) => m.version > from)) {
    await store.db.transaction().execute(async (tx) => {
      for (const statement of migration.statements(store.caps)) await sql.raw(statement).execute(tx);
      await tx.insertInto('schema_migrations').values({ version: migration.version, name: migration.name, applied_at: now() }).execute();
    });
    applied.push(`${String(migration.version).padStart(3, '0')}-${migration.name}`);
  }
  return { from, to: KNOWN_SCHEMA_VERSION, applied };
}
