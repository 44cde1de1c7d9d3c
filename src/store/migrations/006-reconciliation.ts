/**
 * 006: reconciliation runs and what they found, and the SAP Concur FIS documents finsync pulled.
 *
 * `recon_runs`: one row per run of one entity and period (scheduled, on demand or from the API):
 * who started it, when, and its summary (breaks by class, completeness, healed) as JSON.
 *
 * `recon_breaks`: a break is kept per (entity, external key, class) while it lasts: a later run
 * that finds it again updates `last_seen_at`/`last_run_id` rather than opening a second one; a run
 * that no longer finds an open one marks it `cleared`. `state`: `open` (an exception in the
 * queue), `healing` (finsync re-drove it and waits for the next run to confirm), `cleared`,
 * `resolved` (closed by a person, with who and why). Approval-state flags (a report recalled after
 * it was posted, under an entity's `flag` policy) are breaks without a run.
 *
 * `fis_documents`: every Concur FIS document finsync took in, the report revision it became (a
 * report sent again after a failure is a new document: the next revision), its acknowledgement,
 * and the confirmations sent back (posting: success with the ERP document number, or failure;
 * payment). A document finsync could not read is kept with report_id `unreadable:<docId>`.
 */
export function reconciliationSchema(caps: { readonly autoIncrementPrimaryKey: string }): string[] {
  return [
    `CREATE TABLE recon_runs (id TEXT PRIMARY KEY, entity TEXT NOT NULL, period TEXT NOT NULL, trigger TEXT NOT NULL, actor TEXT NOT NULL,
       started_at BIGINT NOT NULL, finished_at BIGINT, status TEXT NOT NULL, summary TEXT, error TEXT)`,
    `CREATE INDEX recon_runs_entity ON recon_runs (entity, period, started_at)`,
    `CREATE TABLE recon_breaks (id ${caps.autoIncrementPrimaryKey}, entity TEXT NOT NULL, period TEXT NOT NULL, currency TEXT NOT NULL,
       class TEXT NOT NULL, code TEXT NOT NULL, external_key TEXT NOT NULL, report_id TEXT, revision INTEGER, target TEXT,
       state TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL, first_run_id TEXT, last_run_id TEXT,
       first_seen_at BIGINT NOT NULL, last_seen_at BIGINT NOT NULL, closed_at BIGINT, closed_by TEXT, resolution TEXT)`,
    `CREATE INDEX recon_breaks_key ON recon_breaks (entity, external_key, class, state)`,
    `CREATE INDEX recon_breaks_state ON recon_breaks (state, code)`,
    `CREATE TABLE fis_documents (doc_id TEXT PRIMARY KEY, report_id TEXT NOT NULL, revision INTEGER NOT NULL, company_id TEXT NOT NULL, pulled_at BIGINT NOT NULL,
       acked_at BIGINT, posting_status TEXT, document_number TEXT, posting_confirmed_at BIGINT, payment_status TEXT, payment_confirmed_at BIGINT)`,
    `CREATE INDEX fis_documents_report ON fis_documents (report_id)`,
  ];
}
