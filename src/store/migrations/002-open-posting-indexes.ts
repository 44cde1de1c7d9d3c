/**
 * 002: partial indexes over open postings (queued or in flight). Claiming scans only these, and
 * the per-report ordering check probes them, so a lane's claim stays fast as posted history grows.
 */
export function openPostingIndexes(): string[] {
  return [
    `CREATE INDEX postings_open_by_target ON postings (target, id) WHERE state IN ('queued', 'posting')`,
    `CREATE INDEX postings_open_by_report ON postings (report_id, id) WHERE state IN ('queued', 'posting')`,
  ];
}
