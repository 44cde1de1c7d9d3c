/**
 * Master data in the store. `applyRecords` writes a batch atomically: every record's versions are
 * recomputed (temporal.ts), changed records get all their current versions rewritten under a new
 * `key_revision` and the old ones marked replaced, and in the same transaction the caller's
 * `afterApply` resumes report revisions that were waiting for these records. On PostgreSQL the
 * writers take one advisory lock, so the `seq` order of committed rows is the order the in-memory
 * index reads them in (no row can commit behind the index's high-water mark).
 */
import { sql } from 'kysely';
import type { Db, Store, Tx } from '../store/db.ts';
import type { MdRecordsTable } from '../store/schema.ts';
import { AUTHORITY, KINDS, recordId, type IncomingVersion, type Kind, type RecordVersion, type System } from './records.ts';
import { applyIncoming } from './temporal.ts';

/** Arbitrary but fixed: serializes master-data writers and the parking of waiting revisions. */
export const MASTER_DATA_LOCK_ID = 4_242_003;

const KEY_CHUNK = 500;
const INSERT_CHUNK = 200;

export interface StoredVersion extends RecordVersion {
  readonly seq: number;
  readonly keyRevision: number;
  readonly source: string;
  readonly recordedAt: number;
  readonly replacedAt: number | null;
}

export interface ApplyOptions {
  readonly system: System;
  /** The configured source (or `api`, `import:<file>`) that delivered the batch; kept on every row. */
  readonly source: string;
  readonly records: readonly IncomingVersion[];
  readonly now: number;
  /** The date a change without a start date takes effect (YYYY-MM-DD). */
  readonly today: string;
  /** Runs inside the transaction after the rows are written; rows with seq > fromSeq are this batch's. */
  readonly afterApply?: (tx: Tx, fromSeq: number) => Promise<number>;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface ApplyResult {
  readonly received: number;
  /** Records whose versions changed. */
  readonly changed: number;
  readonly unchanged: number;
  /** Report revisions that were waiting for one of these records and now run again. */
  readonly resumed: number;
  /** The feed position after this batch. */
  readonly seq: number;
}

export function toStoredVersion(row: Pick<MdRecordsTable, 'system' | 'kind' | 'entity' | 'key' | 'key_revision' | 'valid_from' | 'valid_to' | 'active' | 'attributes' | 'source' | 'recorded_at' | 'replaced_at'> & { seq: number }): StoredVersion {
  return {
    seq: Number(row.seq),
    system: row.system as System,
    kind: row.kind as Kind,
    entity: row.entity,
    key: row.key,
    keyRevision: Number(row.key_revision),
    validFrom: row.valid_from,
    validTo: row.valid_to,
    active: Number(row.active) === 1,
    attributes: JSON.parse(row.attributes) as Record<string, unknown>,
    source: row.source,
    recordedAt: Number(row.recorded_at),
    replacedAt: row.replaced_at === null ? null : Number(row.replaced_at),
  };
}

export async function lockMasterData(tx: Tx, store: Store, mode: 'exclusive' | 'shared'): Promise<void> {
  if (store.caps.kind !== 'postgres') return;
  if (mode === 'exclusive') await sql`SELECT pg_advisory_xact_lock(${MASTER_DATA_LOCK_ID})`.execute(tx);
  else await sql`SELECT pg_advisory_xact_lock_shared(${MASTER_DATA_LOCK_ID})`.execute(tx);
}

export async function applyRecords(store: Store, options: ApplyOptions): Promise<ApplyResult> {
  return store.db.transaction().execute(async (tx) => {
    await lockMasterData(tx, store, 'exclusive');
    const fromSeq = await headSeq(tx);
    const current = await loadCurrent(tx, options.system, options.records);
    const changed = new Map<string, { versions: RecordVersion[]; previous: StoredVersion[] }>();
    let done = 0;
    // Rows of one record apply in date order: each replaces the record from its start on.
    const groups = new Map<string, IncomingVersion[]>();
    for (const record of options.records) {
      const id = recordId(record);
      groups.set(id, [...(groups.get(id) ?? []), record]);
    }
    const byStart = (a: IncomingVersion, b: IncomingVersion) => ((a.validFrom ?? '') < (b.validFrom ?? '') ? -1 : (a.validFrom ?? '') > (b.validFrom ?? '') ? 1 : 0);
    const ordered = [...groups.values()].flatMap((rows) => (rows.length > 1 ? [...rows].sort(byStart) : rows));
    for (const incoming of ordered) {
      const id = recordId(incoming);
      const base = changed.get(id)?.versions ?? current.get(id) ?? [];
      const next = applyIncoming(base, incoming, options.today);
      if (next) changed.set(id, { versions: next, previous: current.get(id) ?? [] });
      options.onProgress?.(++done, options.records.length);
    }
    const replacedSeqs = [...changed.values()].flatMap((c) => c.previous.map((v) => v.seq));
    for (let i = 0; i < replacedSeqs.length; i += KEY_CHUNK) {
      await tx.updateTable('md_records').set({ replaced_at: options.now }).where('seq', 'in', replacedSeqs.slice(i, i + KEY_CHUNK)).execute();
    }
    const rows = [...changed.values()].flatMap(({ versions, previous }) => {
      const keyRevision = (previous[0]?.keyRevision ?? 0) + 1;
      return versions.map((v) => ({
        system: v.system,
        kind: v.kind,
        entity: v.entity,
        key: v.key,
        key_revision: keyRevision,
        valid_from: v.validFrom,
        valid_to: v.validTo,
        active: v.active ? 1 : 0,
        attributes: JSON.stringify(v.attributes),
        source: options.source,
        recorded_at: options.now,
        replaced_at: null,
      }));
    });
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) await tx.insertInto('md_records').values(rows.slice(i, i + INSERT_CHUNK)).execute();
    const resumed = options.afterApply && changed.size > 0 ? await options.afterApply(tx, fromSeq) : 0;
    const distinct = new Set(options.records.map(recordId)).size;
    return { received: options.records.length, changed: changed.size, unchanged: distinct - changed.size, resumed, seq: await headSeq(tx) };
  });
}

async function headSeq(db: Db | Tx): Promise<number> {
  const row = await db.selectFrom('md_records').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
  return Number(row?.seq ?? 0);
}

/** The current versions of every record the batch touches, by record id. */
async function loadCurrent(tx: Tx, system: System, records: readonly IncomingVersion[]): Promise<Map<string, StoredVersion[]>> {
  const groups = new Map<string, { kind: string; entity: string; keys: Set<string> }>();
  for (const r of records) {
    const g = `${r.kind}\u0000${r.entity}`;
    if (!groups.has(g)) groups.set(g, { kind: r.kind, entity: r.entity, keys: new Set() });
    groups.get(g)!.keys.add(r.key);
  }
  const out = new Map<string, StoredVersion[]>();
  for (const { kind, entity, keys } of groups.values()) {
    const all = [...keys];
    for (let i = 0; i < all.length; i += KEY_CHUNK) {
      const rows = await tx
        .selectFrom('md_records')
        .selectAll()
        .where('system', '=', system)
        .where('kind', '=', kind)
        .where('entity', '=', entity)
        .where('key', 'in', all.slice(i, i + KEY_CHUNK))
        .where('replaced_at', 'is', null)
        .execute();
      for (const row of rows) {
        const version = toStoredVersion(row);
        const id = recordId(version);
        out.set(id, [...(out.get(id) ?? []), version]);
      }
    }
  }
  return out;
}

/** Current versions held by the systems validation reads, for loading the in-memory index. */
export async function readAuthoritative(db: Db): Promise<StoredVersion[]> {
  const rows = await db
    .selectFrom('md_records')
    .selectAll()
    .where('replaced_at', 'is', null)
    .where((eb) => eb.or(KINDS.map((kind) => eb.and([eb('kind', '=', kind), eb('system', '=', AUTHORITY[kind])]))))
    .orderBy('seq')
    .execute();
  return rows.map(toStoredVersion);
}

/** Rows written after `afterSeq`, in feed order, at most `limit`. */
export async function readChanges(db: Db, afterSeq: number, limit: number): Promise<StoredVersion[]> {
  const rows = await db.selectFrom('md_records').selectAll().where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();
  return rows.map(toStoredVersion);
}

export async function readHeadSeq(db: Db): Promise<number> {
  return headSeq(db);
}

/** Every version ever held for one record, in every system, oldest first. */
export async function readRecordHistory(db: Db, kind: Kind, entity: string, key: string): Promise<StoredVersion[]> {
  const rows = await db.selectFrom('md_records').selectAll().where('kind', '=', kind).where('entity', '=', entity).where('key', '=', key).orderBy('seq').execute();
  return rows.map(toStoredVersion);
}

/** Whether the authoritative system holds the record now (any date): used to re-check before parking. */
export async function authoritativeExists(tx: Tx, kind: Kind, entity: string, key: string): Promise<boolean> {
  const row = await tx
    .selectFrom('md_records')
    .select('seq')
    .where('system', '=', AUTHORITY[kind])
    .where('kind', '=', kind)
    .where('entity', '=', entity)
    .where('key', '=', key)
    .where('replaced_at', 'is', null)
    .executeTakeFirst();
  return row !== undefined;
}

export interface Blocker {
  readonly kind: Kind;
  readonly entity: string;
  readonly key: string;
  readonly reason: 'missing' | 'inactive';
}

export async function recordBlockers(tx: Tx, reportId: string, revision: number, blockers: readonly Blocker[], now: number): Promise<void> {
  if (blockers.length === 0) return;
  const unique = new Map(blockers.map((b) => [`${b.kind}\u0000${b.entity}\u0000${b.key}`, b]));
  await tx
    .insertInto('md_blockers')
    .values([...unique.values()].map((b) => ({ report_id: reportId, revision, kind: b.kind, entity: b.entity, key: b.key, reason: b.reason, created_at: now })))
    .onConflict((oc) => oc.columns(['report_id', 'revision', 'kind', 'entity', 'key']).doUpdateSet({ reason: (eb) => eb.ref('excluded.reason'), created_at: now }))
    .execute();
}

/** Revisions waiting for a record that this batch (rows with seq > fromSeq) brought to its authoritative system. */
export async function findResumable(tx: Tx, fromSeq: number): Promise<{ reportId: string; revision: number }[]> {
  const rows = await tx
    .selectFrom('md_blockers as b')
    .innerJoin('md_records as r', (join) => join.onRef('r.kind', '=', 'b.kind').onRef('r.entity', '=', 'b.entity').onRef('r.key', '=', 'b.key'))
    .select(['b.report_id', 'b.revision'])
    .distinct()
    .where('b.reason', '=', 'missing')
    .where('r.seq', '>', fromSeq)
    .where('r.replaced_at', 'is', null)
    .where((eb) => eb.or(KINDS.map((kind) => eb.and([eb('r.kind', '=', kind), eb('r.system', '=', AUTHORITY[kind])]))))
    .execute();
  return rows.map((r) => ({ reportId: r.report_id, revision: Number(r.revision) }));
}

export async function clearBlockers(tx: Tx, reportId: string, revision: number): Promise<void> {
  await tx.deleteFrom('md_blockers').where('report_id', '=', reportId).where('revision', '=', revision).execute();
}
