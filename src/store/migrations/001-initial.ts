/** 001: inbox, event log, reports and revisions, postings and attempts, outbox, API keys. */
import type { Capabilities } from '../capabilities.ts';

export function initialSchema(caps: Capabilities): string[] {
  const id = caps.autoIncrementPrimaryKey;
  return [
    `CREATE TABLE api_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL, revoked_at BIGINT)`,
    `CREATE TABLE inbox (source TEXT NOT NULL, event_id TEXT NOT NULL, type TEXT NOT NULL, body_hash TEXT NOT NULL,
       correlation_id TEXT NOT NULL, report_id TEXT, revision INTEGER, received_at BIGINT NOT NULL, body TEXT NOT NULL,
       PRIMARY KEY (source, event_id))`,
    `CREATE TABLE event_log (seq ${id}, occurred_at BIGINT NOT NULL, correlation_id TEXT NOT NULL, report_id TEXT,
       revision INTEGER, kind TEXT NOT NULL, payload TEXT NOT NULL)`,
    `CREATE INDEX event_log_report ON event_log (report_id, seq)`,
    `CREATE TABLE reports (report_id TEXT PRIMARY KEY, source TEXT NOT NULL, entity TEXT NOT NULL, latest_revision INTEGER NOT NULL,
       correlation_id TEXT NOT NULL,
       recalled_at BIGINT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)`,
    `CREATE TABLE revisions (report_id TEXT NOT NULL, revision INTEGER NOT NULL, state TEXT NOT NULL, reason_code TEXT,
       reason_detail TEXT, correlation_id TEXT NOT NULL, approved_at BIGINT NOT NULL, received_at BIGINT NOT NULL,
       updated_at BIGINT NOT NULL, posted_at BIGINT, report TEXT NOT NULL, journal TEXT, mapping_version TEXT, target TEXT,
       PRIMARY KEY (report_id, revision))`,
    `CREATE INDEX revisions_state ON revisions (state)`,
    `CREATE TABLE postings (id ${id}, report_id TEXT NOT NULL, revision INTEGER NOT NULL, target TEXT NOT NULL,
       kind TEXT NOT NULL, external_key TEXT NOT NULL UNIQUE, state TEXT NOT NULL, journal TEXT NOT NULL, erp_refs TEXT NOT NULL,
       correlation_id TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at BIGINT NOT NULL, lease_until BIGINT,
       unknown_outcome INTEGER NOT NULL DEFAULT 0, document_id TEXT, reason_code TEXT, reason_detail TEXT,
       approved_at BIGINT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, posted_at BIGINT)`,
    `CREATE INDEX postings_claim ON postings (target, state, next_attempt_at)`,
    `CREATE INDEX postings_report ON postings (report_id, id)`,
    `CREATE TABLE posting_attempts (posting_id BIGINT NOT NULL, attempt INTEGER NOT NULL, started_at BIGINT NOT NULL,
       finished_at BIGINT, outcome TEXT NOT NULL, error_kind TEXT, vendor_code TEXT, http_status INTEGER, detail TEXT, raw TEXT,
       PRIMARY KEY (posting_id, attempt))`,
    `CREATE TABLE outbox (id ${id}, topic TEXT NOT NULL, message_key TEXT NOT NULL, payload TEXT NOT NULL,
       available_at BIGINT NOT NULL, lease_until BIGINT, attempts INTEGER NOT NULL DEFAULT 0, done_at BIGINT, created_at BIGINT NOT NULL)`,
    `CREATE INDEX outbox_ready ON outbox (done_at, available_at)`,
  ];
}
