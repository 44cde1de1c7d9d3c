/**
 * `finsync redrive`: re-drives a time window of report revisions on the configured store, as
 * POST /v1/redrives does, acting as the holder of the API key given with --api-key or
 * FINSYNC_API_KEY. The workers of a running `finsync serve` pick the re-queued items up on their
 * next poll.
 */
import { actingPrincipal, argumentInvalid } from './cli-support.ts';
import { redrive, type RedriveResult } from '../eventlog/redrive.ts';
import { REPLAY_REASON_CHARS_MAX } from '../exceptions/replay.ts';
import { systemClock } from '../pipeline/clock.ts';
import { withConfiguredStore } from './events-command.ts';

export interface RedriveOptions {
  readonly from?: string;
  readonly to?: string;
  readonly reason?: string;
  readonly entity?: string;
  readonly dryRun: boolean;
  readonly apiKey?: string;
  readonly json: boolean;
}

export async function runRedriveCommand(opts: RedriveOptions): Promise<number> {
  if (opts.from === undefined || opts.to === undefined) throw argumentInvalid('give the window with --from and --to (ISO 8601, e.g. 2026-05-04T00:00:00Z)');
  if (opts.reason === undefined || opts.reason.trim().length === 0 || opts.reason.length > REPLAY_REASON_CHARS_MAX) throw argumentInvalid(`--reason must be 1 to ${REPLAY_REASON_CHARS_MAX} characters`);
  const { from, to, reason } = opts;
  return withConfiguredStore(async (store, entityTargets) => {
    const actor = await actingPrincipal(store.db, opts.apiKey);
    // No lane or broker runs in this process: the running hub's workers find the items by polling.
    const deps = { store, clock: systemClock, entityTargets: () => entityTargets, notifyLane: () => {}, wakeBroker: () => {} };
    const result = await redrive(deps, { from, to, reason, actor, dryRun: opts.dryRun, ...(opts.entity !== undefined && { entity: opts.entity }) });
    process.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : formatRedrive(result));
    process.stderr.write(`${summaryOf(result)}\n`);
    return 0;
  });
}

function summaryOf(result: RedriveResult): string {
  if (result.dryRun) return 'Dry run: nothing was changed.';
  if (result.redriveId === null) return 'Nothing in the window needed re-driving; nothing was changed.';
  return `Re-driven; the workers of a running \`finsync serve\` (or its next start) pick the items up. Follow with \`finsync replay show ${result.redriveId}\`.`;
}

export function formatRedrive(result: RedriveResult): string {
  const { counts } = result;
  const head = `${result.dryRun ? 'dry run of a re-drive' : result.redriveId === null ? 're-drive (nothing to do)' : `re-drive ${result.redriveId}`} of ${result.window.from} to ${result.window.to}${result.entity ? ` (${result.entity})` : ''}: ${counts.revisions} revision(s); ${counts.requeued} requeued, ${counts.rerun} rerun, ${counts.unchanged} unchanged`;
  const rows = result.items.map((i) => [i.id, `${i.reportId} r${i.revision}`, i.previousCode ? `${i.state} ${i.previousCode}` : i.state, i.action]);
  if (rows.length === 0) return `${head}\n`;
  const header = ['ITEM', 'REVISION', 'WAS', 'ACTION'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const table = [header, ...rows].map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd());
  return `${[head, '', ...table].join('\n')}\n`;
}
