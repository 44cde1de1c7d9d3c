/**
 * Persistence of rule-set versions and activations (migration 004). Versions are immutable once
 * proposed except for their workflow columns; activations are append-only.
 */
import { sql } from 'kysely';
import type { Db, Store, Tx } from '../store/db.ts';
import type { MappingActivationsTable, MappingVersionState, MappingVersionsTable } from '../store/schema.ts';
import { MAPPING_DEFECT_CODES } from './rule-set.ts';

/** Arbitrary but fixed: the PostgreSQL advisory lock that serializes rule-set changes. */
const MAPPING_LOCK_ID = 4_242_004;

export type VersionRow = MappingVersionsTable;
export type ActivationRow = Omit<MappingActivationsTable, 'seq'> & { seq: number };

/** Serializes version numbering and state changes across processes (SQLite has one writer anyway). */
export async function lockMapping(tx: Tx, store: Store): Promise<void> {
  if (store.caps.kind === 'postgres') await sql`SELECT pg_advisory_xact_lock(${MAPPING_LOCK_ID})`.execute(tx);
}

export async function nextVersion(tx: Tx, scope: string): Promise<number> {
  const row = await tx.selectFrom('mapping_versions').select((eb) => eb.fn.max('version').as('v')).where('scope', '=', scope).executeTakeFirst();
  return Number(row?.v ?? 0) + 1;
}

export async function insertVersion(tx: Tx, row: VersionRow): Promise<void> {
  await tx.insertInto('mapping_versions').values(row).execute();
}

export async function readVersion(db: Db | Tx, scope: string, version: number): Promise<VersionRow | undefined> {
  return db.selectFrom('mapping_versions').selectAll().where('scope', '=', scope).where('version', '=', version).executeTakeFirst();
}

export async function listVersions(db: Db | Tx, scope?: string): Promise<VersionRow[]> {
  let query = db.selectFrom('mapping_versions').selectAll().orderBy('scope').orderBy('version');
  if (scope !== undefined) query = query.where('scope', '=', scope);
  return query.execute();
}

export async function setVersionState(tx: Tx, scope: string, version: number, from: readonly MappingVersionState[], changes: Partial<VersionRow> & { state: MappingVersionState }): Promise<boolean> {
  const result = await tx.updateTable('mapping_versions').set(changes).where('scope', '=', scope).where('version', '=', version).where('state', 'in', [...from]).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function insertActivation(tx: Tx, row: Omit<ActivationRow, 'seq'>): Promise<void> {
  await tx.insertInto('mapping_activations').values(row).execute();
}

/** Activations after `afterSeq`, in order. */
export async function readActivations(db: Db | Tx, afterSeq = 0): Promise<ActivationRow[]> {
  return db.selectFrom('mapping_activations').selectAll().where('seq', '>', afterSeq).orderBy('seq').execute();
}

export async function headActivationSeq(db: Db | Tx): Promise<number> {
  const row = await db.selectFrom('mapping_activations').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
  return Number(row?.seq ?? 0);
}

/**
 * Records a quarantine the mapping is to blame for, with the versions in force, in the quarantine's
 * transaction. Kept when a replay later posts the report, so a bad version's count does not fall
 * back to zero.
 */
export async function recordDefect(tx: Tx, mappingVersion: string, code: string, reportId: string, revision: number, now: number): Promise<void> {
  await tx.insertInto('mapping_defects').values({ mapping_version: mappingVersion, code, report_id: reportId, revision, occurred_at: now }).execute();
}

/**
 * Mapping defects per version: a defect under `DE01@3+GROUP@2` counts for both (either set may be
 * the cause). Counted from the store, so every process and a restart agree.
 */
export async function countDefects(db: Db): Promise<Map<string, number>> {
  const rows = await db.selectFrom('mapping_defects').select(['mapping_version', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('mapping_version').execute();
  const byVersion = new Map<string, number>();
  for (const row of rows) for (const ref of row.mapping_version.split('+')) byVersion.set(ref, (byVersion.get(ref) ?? 0) + Number(row.n));
  return byVersion;
}

/** How many mapping defects were recorded in all. */
export async function countAllDefects(db: Db): Promise<number> {
  const row = await db.selectFrom('mapping_defects').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  return Number(row?.n ?? 0);
}

export interface PostedRevision {
  readonly reportId: string;
  readonly revision: number;
  readonly report: string;
  readonly journal: string;
  readonly mappingVersion: string | null;
}

/** The entity's last `limit` posted revisions, newest first: what a dry run re-maps. */
export async function lastPostedRevisions(db: Db, entity: string, limit: number): Promise<PostedRevision[]> {
  const rows = await db
    .selectFrom('revisions')
    .innerJoin('reports', 'reports.report_id', 'revisions.report_id')
    .select(['revisions.report_id', 'revisions.revision', 'revisions.report', 'revisions.journal', 'revisions.mapping_version'])
    .where('reports.entity', '=', entity)
    .where('revisions.state', '=', 'posted')
    .where('revisions.journal', 'is not', null)
    .orderBy('revisions.posted_at', 'desc')
    .orderBy('revisions.report_id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ reportId: r.report_id, revision: r.revision, report: r.report, journal: r.journal as string, mappingVersion: r.mapping_version }));
}

/** Revisions of the entity quarantined for a mapping reason (optionally only these codes). */
export async function quarantinedForMapping(db: Db | Tx, entity: string, codes: readonly string[] = MAPPING_DEFECT_CODES): Promise<{ reportId: string; revision: number; reasonCode: string; mappingVersion: string | null; correlationId: string; quarantinedAt: number }[]> {
  const rows = await db
    .selectFrom('revisions')
    .innerJoin('reports', 'reports.report_id', 'revisions.report_id')
    .select(['revisions.report_id', 'revisions.revision', 'revisions.reason_code', 'revisions.mapping_version', 'revisions.correlation_id', 'revisions.updated_at'])
    .where('reports.entity', '=', entity)
    .where('revisions.state', '=', 'quarantined')
    .where('revisions.reason_code', 'in', [...codes])
    // A revision that got as far as a posting was quarantined by the ERP, not by its mapping.
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('postings').select('postings.id').whereRef('postings.report_id', '=', 'revisions.report_id').whereRef('postings.revision', '=', 'revisions.revision').where('postings.kind', '=', 'journal'))),
    )
    .orderBy('revisions.report_id')
    .orderBy('revisions.revision')
    .execute();
  return rows.map((r) => ({ reportId: r.report_id, revision: r.revision, reasonCode: r.reason_code as string, mappingVersion: r.mapping_version, correlationId: r.correlation_id, quarantinedAt: Number(r.updated_at) }));
}
