/**
 * 004: governed mapping rule sets. `mapping_versions` holds every version of every scope (a legal
 * entity, or GROUP) as proposed, with its workflow state and who did what; a version's content never
 * changes. `mapping_activations` says from which date a version is in force: applied in `seq` order,
 * each one replaces the scope's versions from its date on, so an approval and a rollback are both an
 * activation. `mapping_defects` records each quarantine a mapping is to blame for, with the versions
 * that were in force (kept when a replay later posts the report). API keys gain roles (`controller:DE01`, `admin`, …), which the four-eyes rule needs;
 * existing keys keep the access they had and no role.
 */
import type { Capabilities } from '../capabilities.ts';

export function mappingRuleSetsSchema(caps: Capabilities): string[] {
  const id = caps.autoIncrementPrimaryKey;
  return [
    `CREATE TABLE mapping_versions (scope TEXT NOT NULL, version INTEGER NOT NULL, state TEXT NOT NULL,
       format TEXT NOT NULL, file_name TEXT NOT NULL, source TEXT NOT NULL, document TEXT NOT NULL,
       effective_from TEXT NOT NULL, author TEXT NOT NULL, reason TEXT NOT NULL, proposed_at BIGINT NOT NULL,
       reviewed_by TEXT, reviewed_at BIGINT, dry_run TEXT,
       decided_by TEXT, decided_at BIGINT, decision_reason TEXT,
       PRIMARY KEY (scope, version))`,
    `CREATE TABLE mapping_activations (seq ${id}, scope TEXT NOT NULL, version INTEGER NOT NULL,
       effective_from TEXT NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL, reason TEXT NOT NULL, activated_at BIGINT NOT NULL)`,
    `CREATE TABLE mapping_defects (seq ${id}, mapping_version TEXT NOT NULL, code TEXT NOT NULL, report_id TEXT NOT NULL,
       revision INTEGER NOT NULL, occurred_at BIGINT NOT NULL)`,
    `ALTER TABLE api_keys ADD COLUMN roles TEXT NOT NULL DEFAULT '[]'`,
    `CREATE INDEX revisions_quarantine_reason ON revisions (state, reason_code)`,
  ];
}
