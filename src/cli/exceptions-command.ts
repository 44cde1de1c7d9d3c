/**
 * `finsync exceptions`: the exception queue on the configured store, as GET /v1/exceptions shows
 * it: a table of groups by cause (default) or of items, or the same answer as JSON.
 */
import { argumentInvalid } from './cli-support.ts';
import { openConfiguredStore } from '../compose.ts';
import { loadConfig } from '../config.ts';
import { EXCEPTION_KINDS, groupExceptions, listExceptions, type ExceptionFilter, type ExceptionGroup, type ExceptionItem, type ExceptionKind, type OffendingRecord } from '../exceptions/exceptions.ts';
import { OLDER_THAN_HOURS_MAX } from '../api/exceptions-routes.ts';
import { migrate } from '../store/migrate.ts';
import { configuredEntities } from './masterdata-command.ts';

export interface ExceptionsOptions {
  readonly entity?: string;
  readonly target?: string;
  readonly kind?: string;
  readonly code?: string;
  readonly olderThanHours?: string;
  readonly items: boolean;
  readonly json: boolean;
}


export function parseExceptionFilter(opts: ExceptionsOptions): ExceptionFilter {
  if (opts.kind !== undefined && !(EXCEPTION_KINDS as readonly string[]).includes(opts.kind)) throw argumentInvalid(`--kind must be one of ${EXCEPTION_KINDS.join(', ')}; got "${opts.kind}"`);
  if (opts.code !== undefined && !/^[A-Z][A-Z0-9_]{1,63}$/.test(opts.code)) throw argumentInvalid(`--code must be an error code such as MD_COST_CENTER_CLOSED; got "${opts.code}"`);
  let olderThanMs: number | undefined;
  if (opts.olderThanHours !== undefined) {
    const hours = /^\d{1,6}(\.\d{1,3})?$/.test(opts.olderThanHours) ? Number(opts.olderThanHours) : NaN;
    if (!(hours >= 0 && hours <= OLDER_THAN_HOURS_MAX)) throw argumentInvalid(`--older-than-hours must be a number of hours from 0 to ${OLDER_THAN_HOURS_MAX}; got "${opts.olderThanHours}"`);
    olderThanMs = Math.round(hours * 3_600_000);
  }
  return {
    ...(opts.entity !== undefined && { entity: opts.entity }),
    ...(opts.target !== undefined && { target: opts.target }),
    ...(opts.kind !== undefined && { kind: opts.kind as ExceptionKind }),
    ...(opts.code !== undefined && { code: opts.code }),
    ...(olderThanMs !== undefined && { olderThanMs }),
  };
}

export async function runExceptionsCommand(opts: ExceptionsOptions): Promise<number> {
  const filter = parseExceptionFilter(opts);
  const config = loadConfig(process.env);
  const entityTargets = Object.fromEntries(configuredEntities(config).map((e) => [e.code, e.target]));
  const store = await openConfiguredStore(config);
  try {
    await migrate(store);
    const now = Date.now();
    const { items, truncated } = await listExceptions(store.db, filter, { now, entityTargets });
    const view = opts.items ? 'items' : 'groups';
    const groups = opts.items ? [] : groupExceptions(items);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ view, total: items.length, truncated, ...(opts.items ? { items } : { groups }) })}\n`);
    } else {
      process.stdout.write(items.length === 0 ? 'no quarantined items\n' : opts.items ? formatItemTable(items, now) : formatGroupTable(groups, now));
      if (truncated) process.stdout.write(`… more than ${items.length} items matched; narrow the filter\n`);
    }
    return 0;
  } finally {
    await store.close();
  }
}

function describeRecord(record: OffendingRecord | null): string {
  if (!record) return '-';
  const erp = record.erpField ? ` (${record.erpField} ${record.erpValue})` : '';
  return `${record.kind} ${record.entity}/${record.key}${record.state ? ` ${record.state}` : ''}${erp}`;
}

/** A short age: 40s, 12m, 5h10m, 3d4h. */
export function formatAge(fromIso: string, now: number): string {
  const seconds = Math.max(0, Math.floor((now - Date.parse(fromIso)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h${minutes % 60 > 0 ? `${minutes % 60}m` : ''}`;
  return `${Math.floor(hours / 24)}d${hours % 24 > 0 ? `${hours % 24}h` : ''}`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows].map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n') + '\n';
}

/** One line per cause: how many items, the code, the record, the entities and the oldest item's age. */
export function formatGroupTable(groups: readonly ExceptionGroup[], now: number): string {
  const rows = groups.map((g) => [String(g.count), g.code, g.kind, describeRecord(g.record), g.entities.join(','), formatAge(g.oldestFirstSeen, now)]);
  return table(['COUNT', 'CODE', 'KIND', 'RECORD', 'ENTITIES', 'OLDEST'], rows);
}

export function formatItemTable(items: readonly ExceptionItem[], now: number): string {
  const rows = items.map((i) => [i.id, i.code, i.kind, i.entity, i.target ?? '-', describeRecord(i.record), String(i.attempts), formatAge(i.firstSeen, now)]);
  return table(['ID', 'CODE', 'KIND', 'ENTITY', 'TARGET', 'RECORD', 'ATTEMPTS', 'AGE'], rows);
}
