/**
 * `finsync replay`: replays quarantined items on the configured store, as POST /v1/replays does,
 * acting as the holder of the API key given with --api-key or FINSYNC_API_KEY; `finsync replay show
 * ID` shows a replay with each item's outcome now, as GET /v1/replays/{id} does (reading needs no
 * key). The workers of a running `finsync serve` pick the replayed items up on their next poll.
 */
import { argumentInvalid, actingPrincipal, withConfiguredStore } from './cli-support.ts';
import { getReplay, replayExceptions, REPLAY_IDS_MAX, REPLAY_REASON_CHARS_MAX, type ReplayDetail } from '../exceptions/replay.ts';
import { systemClock } from '../pipeline/clock.ts';

export interface ReplayOptions {
  readonly id: string[];
  readonly group?: string;
  readonly reason?: string;
  readonly apiKey?: string;
  readonly json: boolean;
}


export function checkReplayOptions(opts: ReplayOptions): void {
  if ((opts.id.length > 0) === (opts.group !== undefined)) throw argumentInvalid('give --id (repeatable) or --group, one of the two');
  if (opts.id.length > REPLAY_IDS_MAX) throw argumentInvalid(`at most ${REPLAY_IDS_MAX} --id per replay; replay a whole cause with --group`);
  if (opts.reason === undefined || opts.reason.trim().length === 0 || opts.reason.length > REPLAY_REASON_CHARS_MAX) throw argumentInvalid(`--reason must be 1 to ${REPLAY_REASON_CHARS_MAX} characters`);
}

export async function runReplayCommand(opts: ReplayOptions): Promise<number> {
  checkReplayOptions(opts);
  return withConfiguredStore(async (store, entityTargets) => {
    const actor = await actingPrincipal(store.db, opts.apiKey);
    // No lane or broker runs in this process: the running hub's workers find the items by polling.
    const deps = { store, clock: systemClock, entityTargets: () => entityTargets, notifyLane: () => {}, wakeBroker: () => {} };
    const selection = opts.group !== undefined ? { group: opts.group } : { ids: opts.id };
    const started = await replayExceptions(deps, { ...selection, reason: opts.reason! }, actor);
    if (opts.json) process.stdout.write(`${JSON.stringify(started)}\n`);
    else {
      process.stdout.write(`${started.replayId}\n`);
      for (const item of started.items) process.stdout.write(`  ${item.id}  ${item.reportId} r${item.revision}  was ${item.previousCode}\n`);
    }
    process.stderr.write(`${started.items.length} item(s) replayed; the workers of a running \`finsync serve\` (or its next start) pick them up. Follow with \`finsync replay show ${started.replayId}\`.\n`);
    return 0;
  });
}

export async function runReplayShowCommand(replayId: string, opts: { json: boolean }): Promise<number> {
  return withConfiguredStore(async (store) => {
    const replay = await getReplay(store, replayId);
    process.stdout.write(opts.json ? `${JSON.stringify(replay)}\n` : formatReplay(replay));
    return 0;
  });
}

export function formatReplay(replay: ReplayDetail): string {
  const head = [
    `replay ${replay.id}`,
    `by ${replay.actor} at ${replay.createdAt}: ${replay.reason}`,
    `selection: ${replay.selection.window !== undefined ? `re-drive of ${replay.selection.window.from} to ${replay.selection.window.to}${replay.selection.entity !== undefined ? ` (${replay.selection.entity})` : ''}` : replay.selection.group !== undefined ? `group ${replay.selection.group}` : `${replay.selection.ids?.length ?? 0} id(s)`}`,
    `outcomes: ${Object.entries(replay.outcomes).map(([k, n]) => `${n} ${k}`).join(', ')}`,
  ];
  const rows = replay.items.map((i) => [i.id, i.previousCode, i.outcome, i.outcome === 'quarantined' ? (i.code ?? '-') : i.outcome === 'posted' ? `${i.postedAt} (${i.recoverySeconds ?? '?'}s)` : i.state]);
  const header = ['ITEM', 'WAS', 'OUTCOME', 'DETAIL'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const table = [header, ...rows].map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd());
  return `${[...head, '', ...table].join('\n')}\n`;
}
