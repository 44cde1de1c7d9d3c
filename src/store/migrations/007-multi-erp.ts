/**
 * 007: several ERPs. `routing_versions` holds every version of the routing table (legal entity,
 * ledger and process type → target connection, with effective dates for cutovers and an optional
 * shadow target); the latest version is in force, earlier ones stay for the audit trail.
 * `maintenance_windows` is each target's maintenance calendar: its lane claims nothing inside a
 * window, so the postings wait in order and drain when it ends. Postings gain their entity (for
 * per-entity ordering on targets that need it, with a partial index over open postings) and their
 * role: `primary`, or `shadow` (a migration wave's second target: posted and compared, never
 * deciding the revision's state).
 */
import type { Capabilities } from '../capabilities.ts';

export function multiErpSchema(caps: Capabilities): string[] {
  const id = caps.autoIncrementPrimaryKey;
  return [
    `CREATE TABLE routing_versions (version INTEGER PRIMARY KEY, rules TEXT NOT NULL, author TEXT NOT NULL, reason TEXT NOT NULL, created_at BIGINT NOT NULL)`,
    `CREATE TABLE maintenance_windows (id ${id}, target TEXT NOT NULL, from_at BIGINT NOT NULL, to_at BIGINT NOT NULL, reason TEXT NOT NULL,
       created_by TEXT NOT NULL, created_at BIGINT NOT NULL, cancelled_at BIGINT, cancelled_by TEXT)`,
    `CREATE INDEX maintenance_windows_target ON maintenance_windows (target, to_at)`,
    `ALTER TABLE postings ADD COLUMN entity TEXT NOT NULL DEFAULT ''`,
    `ALTER TABLE postings ADD COLUMN role TEXT NOT NULL DEFAULT 'primary'`,
    `UPDATE postings SET entity = (SELECT r.entity FROM reports r WHERE r.report_id = postings.report_id)`,
    `CREATE INDEX postings_open_by_entity ON postings (target, entity, id) WHERE state IN ('queued', 'posting')`,
  ];
}
