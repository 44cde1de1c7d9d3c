/**
 * 005: an index over postings by state and reason code, the twin of `revisions_quarantine_reason`
 * (004). The exception queue lists quarantined postings; without it every listing would scan all
 * posted history, which only grows.
 */
export function quarantineIndex(): string[] {
  return [`CREATE INDEX postings_quarantine_reason ON postings (state, reason_code)`];
}
