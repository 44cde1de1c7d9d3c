/**
 * `finsync maintenance add|list|cancel` and `finsync routing show|set` on the configured store, as
 * /v1/maintenance and /v1/routing do. A running `finsync serve` sees a change within its poll
 * interval. With --api-key (or FINSYNC_API_KEY) the holder needs the operator or admin role; without
 * one the command acts as the operating-system user (whoever runs it can write the store anyway).
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { createLogger } from '../compose.ts';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import { addMaintenanceWindow, cancelMaintenanceWindow, listMaintenanceWindows, type MaintenanceWindow } from '../routing/maintenance.ts';
import { readLatestRouting, setRouting } from '../routing/routing.ts';
import { findApiKey } from '../store/api-keys.ts';
import type { Db } from '../store/db.ts';
import { argumentInvalid, withConfiguredStore } from './cli-support.ts';
import { configuredTargets } from './connections.ts';
import { configuredEntities } from './masterdata-command.ts';

function withDb<T>(fn: (db: Db, config: Config) => Promise<T>): Promise<T> {
  return withConfiguredStore((store, _targets, config) => fn(store.db, config));
}

async function actorName(db: Db, apiKey: string | undefined, action: string): Promise<string> {
  if (!apiKey) return `cli:${userInfo().username}`;
  const principal = await findApiKey(db, apiKey);
  if (!principal) throw new AppError('AUTH_INVALID');
  if (!principal.roles.includes('operator') && !principal.roles.includes('admin')) throw new AppError('OPERATOR_ROLE_REQUIRED', { actor: principal.name, action });
  return principal.name;
}

function formatWindow(w: MaintenanceWindow): string {
  return `${w.id}  ${w.target}  ${w.from} → ${w.to}  ${w.cancelledAt ? `cancelled ${w.cancelledAt}` : 'open'}  by ${w.createdBy}: ${w.reason}`;
}

export async function runMaintenanceAdd(opts: { target?: string; from?: string; to?: string; reason?: string; apiKey?: string; json: boolean }): Promise<number> {
  for (const name of ['target', 'from', 'to'] as const) if (!opts[name]) throw argumentInvalid(`--${name} is required`);
  return withDb(async (db, config) => {
    const actor = await actorName(db, opts.apiKey, 'change a maintenance calendar');
    const window = await addMaintenanceWindow(db, { target: opts.target!, from: opts.from!, to: opts.to!, reason: opts.reason ?? 'planned maintenance' }, actor, configuredTargets(config, createLogger({ logLevel: 'silent' })), Date.now());
    process.stdout.write(opts.json ? `${JSON.stringify(window)}\n` : `${formatWindow(window)}\n`);
    return 0;
  });
}

export async function runMaintenanceList(opts: { target?: string; all: boolean; json: boolean }): Promise<number> {
  const windows = await withDb((db) => listMaintenanceWindows(db, { ...(opts.target && { target: opts.target }), all: opts.all, now: Date.now() }));
  process.stdout.write(opts.json ? `${JSON.stringify({ windows })}\n` : windows.map((w) => `${formatWindow(w)}\n`).join(''));
  return 0;
}

export async function runMaintenanceCancel(id: string, opts: { apiKey?: string; json: boolean }): Promise<number> {
  if (!/^\d{1,15}$/.test(id)) throw argumentInvalid('the window id is a whole number (`finsync maintenance list`)');
  return withDb(async (db) => {
    const actor = await actorName(db, opts.apiKey, 'change a maintenance calendar');
    const window = await cancelMaintenanceWindow(db, Number(id), actor, Date.now());
    process.stdout.write(opts.json ? `${JSON.stringify(window)}\n` : `${formatWindow(window)}\n`);
    return 0;
  });
}

export async function runRoutingShow(opts: { json: boolean }): Promise<number> {
  const latest = await withDb((db) => readLatestRouting(db));
  if (opts.json) process.stdout.write(`${JSON.stringify(latest ?? { version: 0, rules: [] })}\n`);
  else if (!latest) process.stdout.write('routing version 0: no routing table; each entity posts to the target of its definition\n');
  else {
    process.stdout.write(`routing version ${latest.version} by ${latest.author} at ${latest.createdAt}: ${latest.reason}\n`);
    for (const r of latest.rules) {
      const scope = [r.entity, r.ledger && `ledger ${r.ledger}`, r.processType && `process ${r.processType}`].filter(Boolean).join(' ');
      process.stdout.write(`  ${scope} → ${r.target}${r.companyId ? ` (${r.companyId})` : ''} from ${r.from ?? 'the start'} to ${r.to ?? 'open'}${r.shadow ? `, shadow ${r.shadow.target}` : ''}\n`);
    }
  }
  return 0;
}

export async function runRoutingSet(opts: { file?: string; reason?: string; apiKey?: string; json: boolean }): Promise<number> {
  if (!opts.file) throw argumentInvalid('--file is required: a JSON file holding the routing rules (an array, or {"rules": [...]})');
  if (!opts.reason) throw argumentInvalid('--reason is required');
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(opts.file, 'utf8'));
  } catch (error) {
    throw argumentInvalid(`${opts.file} cannot be read as JSON: ${(error as Error).message}`);
  }
  const rules = Array.isArray(parsed) ? parsed : (parsed as { rules?: unknown }).rules;
  return withDb(async (db, config) => {
    const author = await actorName(db, opts.apiKey, 'change the routing');
    const version = await setRouting(db, { rules, author, reason: opts.reason! }, { entities: configuredEntities(config).map((e) => e.code), targets: configuredTargets(config, createLogger({ logLevel: 'silent' })) }, Date.now());
    process.stdout.write(opts.json ? `${JSON.stringify(version)}\n` : `routing version ${version.version} stored (${version.rules.length} rules)\n`);
    return 0;
  });
}
