/**
 * `finsync events rebuild --report ID`: the report's state rebuilt from the event log, as
 * GET /v1/reports/{id}/rebuild answers it, with every difference from the tables. Exits 0 when the
 * log and the tables agree, 3 when they do not (2 for an error, as every command).
 */
import { argumentInvalid, withConfiguredStore } from './cli-support.ts';
import { rebuildReport, type ReportRebuild } from '../eventlog/rebuild.ts';

/** Exit status of `finsync events rebuild` when the log and the tables differ. */
export const EXIT_INCONSISTENT = 3;

export { withConfiguredStore };

export async function runEventsRebuildCommand(opts: { report?: string; json: boolean }): Promise<number> {
  const reportId = opts.report ?? '';
  if (reportId.length === 0 || reportId.length > 64) throw argumentInvalid('--report must name a report id of 1 to 64 characters');
  return withConfiguredStore(async (store) => {
    const rebuild = await rebuildReport(store.db, reportId);
    process.stdout.write(opts.json ? `${JSON.stringify(rebuild)}\n` : formatRebuild(rebuild));
    return rebuild.consistent ? 0 : EXIT_INCONSISTENT;
  });
}

export function formatRebuild(rebuild: ReportRebuild): string {
  const { state } = rebuild;
  const lines = [
    `report ${rebuild.reportId} (${state.entity ?? 'entity unknown'}), latest revision ${state.latestRevision ?? '-'}${state.recalledAt ? `, recalled ${state.recalledAt}` : ''}`,
    `${rebuild.entries} log entr${rebuild.entries === 1 ? 'y' : 'ies'} up to seq ${rebuild.lastSeq ?? '-'}: ${rebuild.consistent ? 'consistent with the tables' : `${rebuild.differences.length} difference(s) from the tables`}`,
    '',
  ];
  for (const r of state.revisions) {
    lines.push(`revision ${r.revision}  ${r.state}${r.reasonCode ? ` (${r.reasonCode})` : ''}  mapping ${r.mappingVersion ?? '-'}  target ${r.target ?? '-'}  posted ${r.postedAt ?? '-'}`);
    for (const p of state.postings.filter((x) => x.revision === r.revision)) lines.push(`  ${p.kind} ${p.externalKey}  ${p.state}${p.reasonCode ? ` (${p.reasonCode})` : ''}  document ${p.documentId ?? '-'}`);
  }
  if (rebuild.differences.length > 0) {
    lines.push('', 'FIELD  FROM LOG  STORED');
    for (const d of rebuild.differences) lines.push(`${d.field}  ${d.fromLog ?? 'null'}  ${d.stored ?? 'null'}`);
  }
  for (const i of rebuild.ignored) lines.push(`ignored seq ${i.seq} (${i.kind}): ${i.reason}`);
  return `${lines.join('\n')}\n`;
}
