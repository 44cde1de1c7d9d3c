/**
 * `finsync reconcile --entity DE01 --period 2026-11`: one reconciliation run on the configured
 * store, reading the platform and the ERP through the configured connections (or from files),
 * with a progress bar on standard error, the result on standard output, and the breaks exported
 * as CSV or JSON with --export. Healing re-queues postings and takes reports in: the workers of a
 * running `finsync serve` (or its next start) carry them out. `finsync reconcile list` and
 * `finsync reconcile show ID` read the recorded runs.
 */
import { userInfo } from 'node:os';
import { Presets, SingleBar } from 'cli-progress';
import { createHub, createLogger } from '../compose.ts';
import { loadConfig } from '../config.ts';
import { exportFormatOf } from '../reconcile/export.ts';
import { runReconciliation, type ReconRunSummary } from '../reconcile/run.ts';
import { getRun, listRuns, requireReconcileRole, type RunRecord } from '../reconcile/runs.ts';
import { findApiKey } from '../store/api-keys.ts';
import { argumentInvalid, withConfiguredStore } from './cli-support.ts';
import { configuredConcurFis, configuredConnectors } from './connections.ts';
import { configuredEntities } from './masterdata-command.ts';
import { AppError } from '../errors.ts';

export interface ReconcileOptions {
  readonly entity: string;
  readonly period?: string;
  readonly platformFile?: string;
  readonly erpFile?: string;
  readonly export?: string;
  readonly heal: boolean;
  readonly json: boolean;
  readonly progress: boolean;
  readonly apiKey?: string;
}

export async function runReconcileCommand(opts: ReconcileOptions): Promise<number> {
  const config = loadConfig(process.env);
  const period = opts.period ?? new Date().toISOString().slice(0, 7);
  const exportTo = opts.export === undefined ? undefined : { path: opts.export, format: exportFormatOf(opts.export) };
  const logger = createLogger({ logLevel: config.logLevel === 'info' ? 'warn' : config.logLevel });
  const entities = configuredEntities(config);
  const concurFis = configuredConcurFis(config);
  const hub = await createHub({
    config,
    company: { name: 'finsync', entities, employees: [], costCenters: [], glAccounts: [], taxCodes: [] },
    connectors: configuredConnectors(config, logger),
    ...(concurFis && { concurFis }),
    logger,
  });
  const bar = opts.progress && process.stderr.isTTY ? new SingleBar({ format: 'reconcile {entity} {period} |{bar}| {phase} {value}/{total}', stream: process.stderr, hideCursor: true }, Presets.shades_classic) : undefined;
  try {
    const actor = await actorName(hub.store.db, opts.apiKey, opts.entity);
    let started = false;
    const summary = await runReconciliation(hub.reconciliation, {
      entity: opts.entity,
      period,
      trigger: 'manual',
      actor,
      heal: opts.heal,
      ...(opts.platformFile !== undefined && { platformFile: opts.platformFile }),
      ...(opts.erpFile !== undefined && { erpFile: opts.erpFile }),
      ...(exportTo && { exportTo }),
      onProgress: (p) => {
        if (!bar) return;
        const read = p.linesRead.platform + p.linesRead.finsync + p.linesRead.erp;
        const [value, total] = p.phase === 'partition' ? [read, Math.max(read, 1)] : [p.partitionsDone, p.partitions];
        if (!started) (bar.start(total, value, { entity: opts.entity, period, phase: 'lines read' }), (started = true));
        bar.setTotal(total);
        bar.update(value, { phase: p.phase === 'partition' ? 'lines read' : 'partitions compared' });
      },
    }).finally(() => bar?.stop());
    process.stdout.write(opts.json ? `${JSON.stringify(summary)}\n` : formatRunSummary(summary));
    return 0;
  } finally {
    await hub.close();
  }
}

/** With an API key, its holder (who needs the operator, admin or controller role); without, the operating-system user. */
async function actorName(db: Parameters<typeof findApiKey>[0], apiKey: string | undefined, entity: string): Promise<string> {
  if (!apiKey) return `cli:${userInfo().username}`;
  const principal = await findApiKey(db, apiKey);
  if (!principal) throw new AppError('AUTH_INVALID');
  requireReconcileRole(principal, entity, 'run a reconciliation');
  return principal.name;
}

export function formatRunSummary(s: ReconRunSummary): string {
  const breaks = Object.entries(s.breaks).filter(([, n]) => n > 0);
  const healed = Object.entries(s.healed).filter(([, n]) => n > 0);
  const lines = [
    `reconciliation ${s.id}: ${s.entity} ${s.period} (${s.trigger}, by ${s.actor})`,
    `  sides: platform ${s.sides.platform}; finsync ${s.sides.finsync}; ERP ${s.sides.erp}`,
    `  lines read: platform ${s.linesRead.platform}, finsync ${s.linesRead.finsync}, ERP ${s.linesRead.erp}; keys ${s.keys}`,
    `  completeness: ${s.completeness.percent ?? 'n/a'}% (${s.completeness.matchedKeys} of ${s.completeness.approvedKeys} approved keys without a break)`,
    `  breaks: ${breaks.length === 0 ? 'none' : breaks.map(([c, n]) => `${n} ${c}`).join(', ')}`,
    `  healed: ${healed.length === 0 ? 'none' : healed.map(([c, n]) => `${n} ${c}`).join(', ')}; exceptions opened ${s.exceptionsOpened}; in flight ${s.inFlight}; already in the queue ${s.alreadyInQueue}; cleared ${s.cleared}`,
    ...s.refused.map((r) => `  refused at re-ingest: ${r.id}: ${r.code}`),
    ...(s.export ? [`  breaks written to ${s.export.path} (${s.export.format})`] : []),
  ];
  const differing = s.balances.filter((b) => b.finsyncMinusPlatformMinor !== 0 || b.erpMinusFinsyncMinor !== 0);
  if (differing.length > 0) {
    lines.push('', '  balances that differ (minor units):', '  CURRENCY  ACCOUNT   PLATFORM  FINSYNC  ERP  FINSYNC-PLATFORM  ERP-FINSYNC');
    for (const b of differing) lines.push(`  ${b.currency}  ${b.account}  ${b.platformMinor}  ${b.finsyncMinor}  ${b.erpMinor}  ${b.finsyncMinusPlatformMinor}  ${b.erpMinusFinsyncMinor}`);
  }
  if (s.exceptionsOpened > 0) lines.push('', `  open breaks: finsync exceptions --kind reconciliation --entity ${s.entity}`);
  return `${lines.join('\n')}\n`;
}

export async function runReconcileListCommand(opts: { entity?: string; limit?: string; json: boolean }): Promise<number> {
  const limit = opts.limit === undefined ? 20 : Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw argumentInvalid('--limit must be an integer from 1 to 200');
  const runs = await withConfiguredStore((store) => listRuns(store.db, { ...(opts.entity !== undefined && { entity: opts.entity }), limit }));
  process.stdout.write(opts.json ? `${JSON.stringify({ runs })}\n` : `${runs.map(formatRunLine).join('\n')}${runs.length > 0 ? '\n' : ''}`);
  return 0;
}

function formatRunLine(r: RunRecord): string {
  const result = r.summary ? `${r.summary.completeness.percent ?? 'n/a'}% complete, ${Object.values(r.summary.breaks).reduce((a, b) => a + b, 0)} break(s)` : (r.error ?? r.status);
  return `${r.id}  ${r.entity} ${r.period}  ${r.trigger}  ${r.startedAt}  ${r.status}  ${result}`;
}

export async function runReconcileShowCommand(id: string, opts: { json: boolean }): Promise<number> {
  const run = await withConfiguredStore((store) => getRun(store.db, id));
  process.stdout.write(opts.json || !run.summary ? `${JSON.stringify(run)}\n` : formatRunSummary(run.summary));
  return 0;
}
