/**
 * `finsync mapping …`: the four-eyes workflow of rule sets on the configured store, as the API runs
 * it (docs/mapping.md). Commands that act (propose, dry-run, review, approve, reject, activate,
 * replay) act as the holder of the API key given with --api-key or FINSYNC_API_KEY; the reading
 * ones need no key, since whoever can open the store can read it anyway.
 *
 * Output: what a script wants (a ref, JSON, the file) on stdout; notes and problems on stderr.
 * A refused rule file exits 1 with one `file:line:column  code  message` line per problem; other
 * coded errors exit 2 through runCli.
 */
import { argumentInvalid, actingPrincipal } from './cli-support.ts';
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { RULE_FILE_BYTES_MAX } from '../api/mapping-routes.ts';
import { parseVersionRef, SCOPE_PATTERN } from '../mapping/rule-set.ts';
import { createHub, createLogger, type Hub } from '../compose.ts';
import { loadConfig } from '../config.ts';
import { formatAmount } from '../domain/money.ts';
import { AppError, ERRORS } from '../errors.ts';
import type { DryRunResult, PositionChange } from '../mapping/dry-run.ts';
import { DRY_RUN_REPORTS_MAX, type VersionSummary } from '../mapping/governance.ts';
import { exportRuleSet } from '../mapping/rule-export.ts';
import { ruleFileFormat } from '../mapping/rule-file.ts';
import type { RuleProblem } from '../mapping/rule-set.ts';
import { isCalendarDate } from '../masterdata/records.ts';
import type { Principal } from '../store/api-keys.ts';
import { configuredEntities } from './masterdata-command.ts';


interface Context {
  readonly hub: Hub;
  /** The key holder: refused with AUTH_MISSING or AUTH_INVALID when the key is absent or unknown. */
  actor(): Promise<Principal>;
}

async function withHub<T>(apiKey: string | undefined, fn: (ctx: Context) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env);
  const company = { name: 'finsync', entities: configuredEntities(config), employees: [], costCenters: [], glAccounts: [], taxCodes: [] };
  // The same wiring as `finsync serve`, without workers or a listener.
  const hub = await createHub({ config, company, connectors: [], logger: createLogger({ logLevel: config.logLevel === 'info' ? 'warn' : config.logLevel }) });
  try {
    return await fn({ hub, actor: () => actingPrincipal(hub.store.db, apiKey) });
  } finally {
    await hub.close();
  }
}


function parseRef(ref: string): { scope: string; version: number } {
  const parsed = parseVersionRef(ref);
  if (!parsed) throw argumentInvalid(`"${ref}" is not a version reference SCOPE@N (e.g. DE01@3)`);
  return parsed;
}

function checkScope(scope: string, option: string): void {
  if (!new RegExp(SCOPE_PATTERN).test(scope)) throw argumentInvalid(`${option} must be an entity code or GROUP (letters, digits, . _ -); got "${scope}"`);
}

function checkDate(date: string, option: string): void {
  if (!isCalendarDate(date)) throw argumentInvalid(`${option} must be a date YYYY-MM-DD; got "${date}"`);
}

function checkReason(reason: string | undefined, option: string, required: boolean): void {
  if (reason === undefined ? required : reason.trim().length === 0 || reason.length > 500) throw argumentInvalid(`${option} must be 1 to 500 characters`);
}

function parseReports(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d{1,7}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= DRY_RUN_REPORTS_MAX)) throw argumentInvalid(`--reports must be a whole number from 1 to ${DRY_RUN_REPORTS_MAX}; got "${value}"`);
  return n;
}

function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/**
 * Runs a step that can refuse the rule file: the problems go to stderr (or stdout as JSON), one a
 * line, and the exit code is 1. `path` replaces the stored file name, so an editor can jump to it.
 */
async function refusable(json: boolean, path: string | undefined, step: () => Promise<number>): Promise<number> {
  try {
    return await step();
  } catch (error) {
    if (!(error instanceof AppError) || error.code !== 'MAPPING_RULES_INVALID') throw error;
    const { problems } = error.details as { problems: readonly RuleProblem[] };
    if (json) print(JSON.stringify({ code: error.code, message: error.message, problems }));
    else {
      process.stderr.write(`finsync: ${error.code}: ${error.message}\n`);
      for (const p of problems) process.stderr.write(`${path ?? p.file}:${p.line}:${p.column}  ${p.code}  ${p.message}\n`);
    }
    return 1;
  }
}

/** One line per version, in columns. */
export function formatVersionTable(versions: readonly VersionSummary[]): string {
  const header = ['REF', 'STATE', 'EFFECTIVE FROM', 'AUTHOR', 'REVIEWER', 'DECIDER', 'ACTIVE TODAY', 'DEFECTS'];
  const rows = versions.map((v) => [v.ref, v.state, v.effectiveFrom, v.author, v.reviewedBy ?? '-', v.decidedBy ?? '-', v.activeToday ? 'yes' : 'no', String(v.defects)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows].map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n') + '\n';
}

function describePosition(p: PositionChange): string {
  const dimensions = [p.costCenter && `cost center ${p.costCenter}`, p.project && `project ${p.project}`, p.employeeId && `employee ${p.employeeId}`, p.taxCode && `tax ${p.taxCode}`].filter(Boolean);
  return `${p.account}${dimensions.length > 0 ? ` (${dimensions.join(', ')})` : ''}`;
}

function signed(amountMinor: number, currency: string): string {
  return `${amountMinor > 0 ? '+' : ''}${formatAmount(amountMinor, currency)}`;
}

/** The human summary of a dry run: counts, each changed report's positions, totals by account, failures. */
export function formatDryRun(result: DryRunResult, heading: string): string {
  const lines = [
    `${heading} over ${result.entities.join(', ')}`,
    `  reports re-coded: ${result.reports}; unchanged: ${result.unchanged}; changed: ${result.changed.length}; failed: ${result.failed.length}`,
  ];
  if (result.changed.length > 0) lines.push('changed (net debit, credit negative; before → after):');
  for (const report of result.changed) {
    lines.push(`  ${report.reportId} r${report.revision} (${report.currency})`);
    for (const p of report.lines) lines.push(`    ${describePosition(p)}: ${formatAmount(p.beforeMinor, report.currency)} → ${formatAmount(p.afterMinor, report.currency)}`);
  }
  if (result.totalsByAccount.length > 0) lines.push('totals by account (before → after, delta):');
  for (const t of result.totalsByAccount) {
    lines.push(`  ${t.account} ${t.currency}: ${formatAmount(t.beforeMinor, t.currency)} → ${formatAmount(t.afterMinor, t.currency)} (${t.deltaMinor === 0 ? 'no change' : signed(t.deltaMinor, t.currency)})`);
  }
  if (result.failed.length > 0) lines.push('failed:');
  for (const f of result.failed) lines.push(`  ${f.reportId} r${f.revision}: ${f.code}: ${f.message}`);
  return `${lines.join('\n')}\n`;
}

export async function runMappingListCommand(opts: { scope?: string; json: boolean }): Promise<number> {
  if (opts.scope !== undefined) checkScope(opts.scope, '--scope');
  return withHub(undefined, async ({ hub }) => {
    const versions = await hub.governance.list(opts.scope);
    if (opts.json) print(JSON.stringify({ versions }));
    else if (versions.length === 0) print(`no rule-set versions${opts.scope ? ` of ${opts.scope}` : ''}`);
    else print(formatVersionTable(versions));
    return 0;
  });
}

export async function runMappingShowCommand(ref: string, opts: { source: boolean; json: boolean }): Promise<number> {
  const { scope, version } = parseRef(ref);
  return withHub(undefined, async ({ hub }) => {
    const detail = await hub.governance.get(scope, version);
    if (opts.json) print(JSON.stringify(detail));
    else if (opts.source) print(detail.source);
    else {
      const lines = [
        `${detail.ref}: ${detail.state}${detail.activeToday ? ', in force today' : ''}; effective from ${detail.effectiveFrom}`,
        `  file: ${detail.fileName} (${detail.format}), ${detail.document.rules.length} rule(s)${detail.document.description ? ` - ${detail.document.description}` : ''}`,
        `  proposed by ${detail.author} at ${detail.proposedAt}: ${detail.reason}`,
        `  reviewed by ${detail.reviewedBy ?? '-'}${detail.dryRun ? ` (dry run: ${detail.dryRun.reports} re-coded, ${detail.dryRun.changed.length} changed, ${detail.dryRun.failed.length} failed)` : ''}`,
        `  decided by ${detail.decidedBy ?? '-'}${detail.decisionReason ? `: ${detail.decisionReason}` : ''}`,
        `  mapping defects while in force: ${detail.defects}`,
      ];
      print(lines.join('\n'));
    }
    return 0;
  });
}

export async function runMappingProposeCommand(opts: { scope: string; file: string; effective: string; reason: string; apiKey?: string; json: boolean }): Promise<number> {
  checkScope(opts.scope, '--scope');
  checkDate(opts.effective, '--effective');
  checkReason(opts.reason, '--reason', true);
  const fileName = basename(opts.file);
  const format = ruleFileFormat(fileName);
  if (!format) throw argumentInvalid(`--file must end in .yaml, .yml or .csv; got "${fileName}"`);
  let text: string;
  try {
    if (statSync(opts.file).size > RULE_FILE_BYTES_MAX) throw argumentInvalid(`--file ${opts.file} is larger than ${RULE_FILE_BYTES_MAX} bytes`);
    text = readFileSync(opts.file, 'utf8');
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw argumentInvalid(`--file ${opts.file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return withHub(opts.apiKey, async ({ hub, actor }) => {
    const by = await actor();
    return refusable(opts.json, opts.file, async () => {
      const summary = await hub.governance.propose({ scope: opts.scope, fileName, format, text, effectiveFrom: opts.effective, reason: opts.reason }, by);
      print(opts.json ? JSON.stringify(summary) : summary.ref);
      if (!opts.json) process.stderr.write(`${summary.ref} proposed by ${by.name}, effective from ${summary.effectiveFrom}. Next: \`finsync mapping review ${summary.ref}\` by a controller of ${opts.scope}.\n`);
      return 0;
    });
  });
}

export async function runMappingDryRunCommand(ref: string, opts: { reports?: string; apiKey?: string; json: boolean }, record: boolean): Promise<number> {
  const { scope, version } = parseRef(ref);
  const reports = parseReports(opts.reports);
  return withHub(opts.apiKey, async ({ hub, actor }) => {
    const by = await actor();
    const options = reports === undefined ? {} : { reports };
    const result = record ? await hub.governance.review(scope, version, options, by) : await hub.governance.dryRun(scope, version, options, by);
    print(opts.json ? JSON.stringify(result) : formatDryRun(result, record ? `review of ${ref} by ${by.name} (recorded)` : `dry run of ${ref} (nothing recorded)`));
    return 0;
  });
}

function printDecision(summary: VersionSummary, json: boolean, what: string): number {
  print(json ? JSON.stringify(summary) : `${summary.ref} ${what}; now ${summary.state}${summary.activeToday ? ', in force today' : ''}`);
  return 0;
}

export async function runMappingApproveCommand(ref: string, opts: { reason?: string; apiKey?: string; json: boolean }): Promise<number> {
  const { scope, version } = parseRef(ref);
  checkReason(opts.reason, '--reason', false);
  return withHub(opts.apiKey, async ({ hub, actor }) => {
    const by = await actor();
    return refusable(opts.json, undefined, async () => printDecision(await hub.governance.approve(scope, version, opts.reason ?? '', by), opts.json, `approved by ${by.name}`));
  });
}

export async function runMappingRejectCommand(ref: string, opts: { reason: string; apiKey?: string; json: boolean }): Promise<number> {
  const { scope, version } = parseRef(ref);
  checkReason(opts.reason, '--reason', true);
  return withHub(opts.apiKey, async ({ hub, actor }) => {
    const by = await actor();
    return printDecision(await hub.governance.reject(scope, version, opts.reason, by), opts.json, `rejected by ${by.name}`);
  });
}

export async function runMappingActivateCommand(ref: string, opts: { effective: string; reason: string; apiKey?: string; json: boolean }): Promise<number> {
  const { scope, version } = parseRef(ref);
  checkDate(opts.effective, '--effective');
  checkReason(opts.reason, '--reason', true);
  return withHub(opts.apiKey, async ({ hub, actor }) => {
    const by = await actor();
    return refusable(opts.json, undefined, async () => printDecision(await hub.governance.activate(scope, version, opts.effective, opts.reason, by), opts.json, `activated from ${opts.effective} by ${by.name}`));
  });
}

export async function runMappingDiffCommand(refA: string, refB: string, opts: { json: boolean }): Promise<number> {
  const [a, b] = [parseRef(refA), parseRef(refB)];
  return withHub(undefined, async ({ hub }) => {
    const { diff, text } = await hub.governance.diff(a, b);
    print(opts.json ? JSON.stringify({ diff, text }) : text);
    return 0;
  });
}

export async function runMappingExportCommand(ref: string, opts: { format?: string }): Promise<number> {
  const { scope, version } = parseRef(ref);
  if (opts.format !== undefined && opts.format !== 'yaml' && opts.format !== 'csv') throw argumentInvalid(`--format must be yaml or csv; got "${opts.format}"`);
  const format = opts.format;
  return withHub(undefined, async ({ hub }) => {
    const detail = await hub.governance.get(scope, version);
    // The file as proposed, byte for byte, unless another format is asked for.
    if (format === undefined || format === detail.format) process.stdout.write(detail.source);
    else {
      const { credit, roundingAccount } = detail.document.settings;
      if (format === 'csv' && (Object.keys(credit).length > 0 || roundingAccount !== undefined)) {
        process.stderr.write(`${detail.ref} has settings (credit accounts, rounding account) that a CSV rule file cannot hold: they are left out. Use --format yaml to keep them.\n`);
      }
      process.stdout.write(exportRuleSet(detail.document, format));
    }
    return 0;
  });
}

export async function runMappingReplayCommand(opts: { entity: string; reason: string; code: string[]; apiKey?: string; json: boolean }): Promise<number> {
  checkScope(opts.entity, '--entity');
  checkReason(opts.reason, '--reason', true);
  for (const code of opts.code) if (!Object.hasOwn(ERRORS, code)) throw argumentInvalid(`--code ${code} is not an error code (see docs/errors.md)`);
  return withHub(opts.apiKey, async ({ hub, actor }) => {
    const by = await actor();
    const result = await hub.governance.replay(opts.entity, opts.reason, by, opts.code.length > 0 ? opts.code : undefined);
    if (opts.json) print(JSON.stringify(result));
    else for (const r of result.replayed) print(`${r.reportId} r${r.revision}  was ${r.previousCode}${r.previousVersion ? ` with ${r.previousVersion}` : ''}`);
    process.stderr.write(`${result.replayed.length} revision(s) of ${result.entity} queued again; the workers of a running \`finsync serve\` (or its next start) process them with the rules now in force.\n`);
    return 0;
  });
}
