/**
 * 003: the master-data hub. `md_records` holds every version of every record from every system;
 * a change to a record replaces all its current versions at once (same `key_revision`), so the
 * `seq` order is a change feed the in-memory index follows. `md_blockers` ties a report revision
 * to the records it is missing or finds inactive (park and resume, the drift report).
 * `md_sources` keeps each source's sync cursor and last run.
 */
import type { Capabilities } from '../capabilities.ts';

export function masterDataSchema(caps: Capabilities): string[] {
  const id = caps.autoIncrementPrimaryKey;
  return [
    `CREATE TABLE md_records (seq ${id}, system TEXT NOT NULL, kind TEXT NOT NULL, entity TEXT NOT NULL, key TEXT NOT NULL,
       key_revision INTEGER NOT NULL, valid_from TEXT NOT NULL, valid_to TEXT NOT NULL, active INTEGER NOT NULL,
       attributes TEXT NOT NULL, source TEXT NOT NULL, recorded_at BIGINT NOT NULL, replaced_at BIGINT)`,
    `CREATE INDEX md_records_current ON md_records (system, kind, entity, key) WHERE replaced_at IS NULL`,
    `CREATE INDEX md_records_history ON md_records (kind, entity, key, seq)`,
    `CREATE TABLE md_blockers (report_id TEXT NOT NULL, revision INTEGER NOT NULL, kind TEXT NOT NULL, entity TEXT NOT NULL,
       key TEXT NOT NULL, reason TEXT NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (report_id, revision, kind, entity, key))`,
    `CREATE INDEX md_blockers_record ON md_blockers (kind, entity, key)`,
    `CREATE TABLE md_sources (name TEXT PRIMARY KEY, cursor TEXT, lease_until BIGINT, last_started_at BIGINT,
       last_finished_at BIGINT, last_status TEXT, last_error TEXT, records_seen INTEGER NOT NULL DEFAULT 0,
       records_changed INTEGER NOT NULL DEFAULT 0)`,
  ];
}
