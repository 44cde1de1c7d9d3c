/**
 * The query layer: one Kysely instance over SQLite (embedded default) or PostgreSQL
 * (when DATABASE_URL is set). Everything above this file writes the same queries for both; the
 * differences live in capabilities.ts.
 */
import SQLiteDatabase from 'better-sqlite3';
import pg from 'pg';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, PostgresDialect, SqliteDialect, sql, type Transaction } from 'kysely';
import { CAPABILITIES, type Capabilities } from './capabilities.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;

export interface Store {
  readonly db: Db;
  readonly caps: Capabilities;
  /** Where the data lives, for humans: a file path or a URL without its password. */
  readonly location: string;
  close(): Promise<void>;
}

export type StoreOptions =
  | { readonly kind: 'sqlite'; readonly file: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly schema?: string; readonly poolSize?: number };

const INT8_OID = 20;

export async function openStore(options: StoreOptions): Promise<Store> {
  if (options.kind === 'sqlite') return openSqlite(options.file);
  return openPostgres(options.url, options.schema, options.poolSize ?? 10);
}

function openSqlite(file: string): Store {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const database = new SQLiteDatabase(file);
  database.pragma('journal_mode = WAL');
  // FULL: a committed posting survives power loss, not only a process crash. Finance data first.
  database.pragma('synchronous = FULL');
  database.pragma('busy_timeout = 5000');
  database.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  return { db, caps: CAPABILITIES.sqlite, location: file, close: () => db.destroy() };
}

async function openPostgres(url: string, schema: string | undefined, poolSize: number): Promise<Store> {
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`Assertion failed: schema name ${schema} must be a lower-case identifier`);
  }
  if (schema) {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } finally {
      await admin.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    ...(schema && { options: `-c search_path=${schema}` }),
    // Epoch-millisecond timestamps and counts are BIGINT; every value we store fits a JS number.
    types: { getTypeParser: ((oid: number, format?: string) => (oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser },
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const safeUrl = url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
  return { db, caps: CAPABILITIES.postgres, location: schema ? `${safeUrl} (schema ${schema})` : safeUrl, close: () => db.destroy() };
}

/** Drops a PostgreSQL schema; used by tests and the demo to clean up after themselves. */
export async function dropPostgresSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

export { sql };
