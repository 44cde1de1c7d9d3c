/**
 * 005: the exception queue. An index over postings by state and reason code, the twin of
 * `revisions_quarantine_reason` (004): the queue lists quarantined postings, and without it every
 * listing would scan all posted history, which only grows.
 *
 * Replays of quarantined items: `replays` holds who replayed what selection and why;
 * `replay_items` each item it moved out of quarantine, with the code it had, when it was first
 * quarantined, and when its report revision was posted afterwards (`recovered_at`, set in the
 * posting's transaction; found through `replay_items_open` on every posting).
 */
export function quarantineIndex(): string[] {
  return [
    `CREATE INDEX postings_quarantine_reason ON postings (state, reason_code)`,
    `CREATE TABLE replays (id TEXT PRIMARY KEY, actor TEXT NOT NULL, reason TEXT NOT NULL, created_at BIGINT NOT NULL, selection TEXT NOT NULL)`,
    `CREATE INDEX replays_created ON replays (created_at)`,
    `CREATE TABLE replay_items (replay_id TEXT NOT NULL, item_id TEXT NOT NULL, stage TEXT NOT NULL, report_id TEXT NOT NULL,
       revision INTEGER NOT NULL, posting_id BIGINT, previous_code TEXT NOT NULL, quarantined_at BIGINT NOT NULL, recovered_at BIGINT,
       PRIMARY KEY (replay_id, item_id))`,
    `CREATE INDEX replay_items_open ON replay_items (report_id, revision, recovered_at)`,
  ];
}
