/** Table types for the query layer. Timestamps are epoch milliseconds; JSON columns hold text. */
import type { Generated } from 'kysely';

export interface SchemaMigrationsTable { version: number; name: string; applied_at: number }

export interface ApiKeysTable {
  id: string;
  name: string;
  key_hash: string;
  created_at: number;
  revoked_at: number | null;
  /** JSON array of roles: `admin`, `operator`, `auditor`, `controller:<entity>`, `controller:*`. */
  roles: Generated<string>;
}

export interface InboxTable {
  source: string;
  event_id: string;
  type: string;
  body_hash: string;
  correlation_id: string;
  report_id: string | null;
  revision: number | null;
  received_at: number;
  body: string;
}

export interface EventLogTable {
  seq: Generated<number>;
  occurred_at: number;
  correlation_id: string;
  report_id: string | null;
  revision: number | null;
  kind: string;
  payload: string;
}

export interface ReportsTable {
  report_id: string;
  source: string;
  entity: string;
  latest_revision: number;
  /** One correlation id per report, shared by all its events, revisions and postings. */
  correlation_id: string;
  recalled_at: number | null;
  created_at: number;
  updated_at: number;
}

/** `waiting`: parked until master data it is missing arrives (md_blockers names what). */
export type RevisionState = 'received' | 'validated' | 'mapped' | 'queued' | 'posted' | 'quarantined' | 'waiting' | 'superseded' | 'reversed' | 'recalled';

export interface RevisionsTable {
  report_id: string;
  revision: number;
  state: RevisionState;
  reason_code: string | null;
  reason_detail: string | null;
  correlation_id: string;
  approved_at: number;
  received_at: number;
  updated_at: number;
  posted_at: number | null;
  report: string;
  journal: string | null;
  mapping_version: string | null;
  target: string | null;
}

export type PostingState = 'queued' | 'posting' | 'posted' | 'quarantined' | 'superseded' | 'skipped';

export interface PostingsTable {
  id: Generated<number>;
  report_id: string;
  revision: number;
  target: string;
  kind: 'journal' | 'reversal';
  external_key: string;
  state: PostingState;
  journal: string;
  erp_refs: string;
  correlation_id: string;
  attempts: number;
  next_attempt_at: number;
  lease_until: number | null;
  unknown_outcome: number;
  document_id: string | null;
  reason_code: string | null;
  reason_detail: string | null;
  approved_at: number;
  created_at: number;
  updated_at: number;
  posted_at: number | null;
  /** The report's legal entity (per-entity ordering). */
  entity: Generated<string>;
  /** `primary`, or `shadow`: posted to a migration wave's second target and compared, never deciding the revision's state. */
  role: Generated<'primary' | 'shadow'>;
}

export interface PostingAttemptsTable {
  posting_id: number;
  attempt: number;
  started_at: number;
  finished_at: number | null;
  outcome: string;
  error_kind: string | null;
  vendor_code: string | null;
  http_status: number | null;
  detail: string | null;
  raw: string | null;
}

export interface OutboxTable {
  id: Generated<number>;
  topic: string;
  message_key: string;
  payload: string;
  available_at: number;
  lease_until: number | null;
  attempts: number;
  done_at: number | null;
  created_at: number;
}

export interface MdRecordsTable {
  seq: Generated<number>;
  system: string;
  kind: string;
  entity: string;
  key: string;
  /** Every change to a record writes all its current versions with the next key_revision. */
  key_revision: number;
  valid_from: string;
  valid_to: string;
  active: number;
  attributes: string;
  source: string;
  recorded_at: number;
  replaced_at: number | null;
}

export interface MdBlockersTable {
  report_id: string;
  revision: number;
  kind: string;
  entity: string;
  key: string;
  reason: 'missing' | 'inactive';
  created_at: number;
}

export interface MdSourcesTable {
  name: string;
  cursor: string | null;
  lease_until: number | null;
  last_started_at: number | null;
  last_finished_at: number | null;
  last_status: string | null;
  last_error: string | null;
  records_seen: number;
  records_changed: number;
}

export type MappingVersionState = 'proposed' | 'reviewed' | 'approved' | 'rejected';

export interface MappingVersionsTable {
  scope: string;
  version: number;
  state: MappingVersionState;
  format: 'yaml' | 'csv';
  file_name: string;
  /** The file as proposed, byte for byte. */
  source: string;
  /** RuleSetDocument as JSON. */
  document: string;
  effective_from: string;
  author: string;
  reason: string;
  proposed_at: number;
  reviewed_by: string | null;
  reviewed_at: number | null;
  /** The dry run recorded at review, as JSON. */
  dry_run: string | null;
  decided_by: string | null;
  decided_at: number | null;
  decision_reason: string | null;
}

export interface MappingActivationsTable {
  seq: Generated<number>;
  scope: string;
  version: number;
  effective_from: string;
  kind: 'approval' | 'rollback' | 'bootstrap';
  actor: string;
  reason: string;
  activated_at: number;
}

export interface MappingDefectsTable {
  seq: Generated<number>;
  /** The versions in force when the revision was quarantined, e.g. DE01@3+GROUP@1. */
  mapping_version: string;
  code: string;
  report_id: string;
  revision: number;
  occurred_at: number;
}

export interface ReplaysTable {
  id: string;
  /** The API key holder's name. */
  actor: string;
  reason: string;
  created_at: number;
  /** JSON: `{ "ids": [...] }` or `{ "group": "<cause>" }`, as asked. */
  selection: string;
}

export interface ReplayItemsTable {
  replay_id: string;
  /** The exception item id: `revision:<reportId>:<revision>` or `posting:<id>`. */
  item_id: string;
  stage: 'revision' | 'posting' | 'reversal';
  report_id: string;
  revision: number;
  posting_id: number | null;
  previous_code: string;
  /** When the item was first quarantined (its firstSeen). */
  quarantined_at: number;
  /** When its report revision was posted after the replay; null while it is not. */
  recovered_at: number | null;
}

export interface ReconRunsTable {
  id: string;
  entity: string;
  /** YYYY-MM */
  period: string;
  trigger: 'schedule' | 'manual' | 'api';
  actor: string;
  started_at: number;
  finished_at: number | null;
  status: 'running' | 'done' | 'failed';
  /** JSON ReconRunSummary (src/reconcile/run.ts). */
  summary: string | null;
  error: string | null;
}

/** `open`: an exception in the queue; `healing`: re-driven, the next run confirms; `cleared`: no longer found; `resolved`: closed by a person. */
export type ReconBreakState = 'open' | 'healing' | 'cleared' | 'resolved';

export interface ReconBreaksTable {
  id: Generated<number>;
  entity: string;
  period: string;
  currency: string;
  class: string;
  /** The exception code: RECON_<CLASS> or RECON_RECALLED_AFTER_POSTING. */
  code: string;
  external_key: string;
  report_id: string | null;
  revision: number | null;
  target: string | null;
  state: ReconBreakState;
  /** What finsync did: `replayed`, `reingested`, `recall_applied`, `lookup_requeued`, or `exception`. */
  action: string;
  /** JSON: the Break as the engine reported it (sides' statuses, amounts per account, ERP documents). */
  detail: string;
  first_run_id: string | null;
  last_run_id: string | null;
  first_seen_at: number;
  last_seen_at: number;
  closed_at: number | null;
  closed_by: string | null;
  resolution: string | null;
}

export interface FisDocumentsTable {
  doc_id: string;
  report_id: string;
  revision: number;
  company_id: string;
  pulled_at: number;
  acked_at: number | null;
  /** `success` | `error`, once confirmed to Concur. */
  posting_status: string | null;
  document_number: string | null;
  posting_confirmed_at: number | null;
  /** The last payment confirmation sent: CP, PP, RE, OB. */
  payment_status: string | null;
  payment_confirmed_at: number | null;
}

export interface RoutingVersionsTable {
  version: number;
  /** JSON RoutingRule[] (src/routing/routing.ts). */
  rules: string;
  author: string;
  reason: string;
  created_at: number;
}

export interface MaintenanceWindowsTable {
  id: Generated<number>;
  target: string;
  from_at: number;
  to_at: number;
  reason: string;
  created_by: string;
  created_at: number;
  cancelled_at: number | null;
  cancelled_by: string | null;
}

export interface Database {
  schema_migrations: SchemaMigrationsTable;
  api_keys: ApiKeysTable;
  inbox: InboxTable;
  event_log: EventLogTable;
  reports: ReportsTable;
  revisions: RevisionsTable;
  postings: PostingsTable;
  posting_attempts: PostingAttemptsTable;
  outbox: OutboxTable;
  md_records: MdRecordsTable;
  md_blockers: MdBlockersTable;
  md_sources: MdSourcesTable;
  mapping_versions: MappingVersionsTable;
  mapping_activations: MappingActivationsTable;
  mapping_defects: MappingDefectsTable;
  replays: ReplaysTable;
  replay_items: ReplayItemsTable;
  recon_runs: ReconRunsTable;
  recon_breaks: ReconBreaksTable;
  fis_documents: FisDocumentsTable;
  routing_versions: RoutingVersionsTable;
  maintenance_windows: MaintenanceWindowsTable;
}
