/**
 * Dry run of a proposed rule set: the entity's last N posted reports are coded again with it, and
 * each new journal is compared with the journal that was posted. Nothing is stored or sent.
 *
 * Journals are compared by position, not by line order or memo: lines are netted per account and
 * dimensions (cost center, project, employee, tax code), debit positive and credit negative, so a
 * change shows as what moves between accounts and cost centers, in minor units.
 */
import type { JournalEntry } from '../domain/journal.ts';
import type { ExpenseReport } from '../domain/report.ts';
import { formatErrorMessage, type ErrorCode } from '../errors.ts';
import type { Db } from '../store/db.ts';
import { lastPostedRevisions } from './mapping-store.ts';
import type { ResolvedRules, RuleMapResult } from './rule-set.ts';

export interface PositionChange {
  readonly account: string;
  readonly costCenter?: string;
  readonly project?: string;
  readonly employeeId?: string;
  readonly taxCode?: string;
  /** Net debit (positive) or credit (negative) in minor units of the journal currency. */
  readonly beforeMinor: number;
  readonly afterMinor: number;
}

export interface ReportChange {
  readonly reportId: string;
  readonly revision: number;
  readonly currency: string;
  readonly lines: readonly PositionChange[];
}

export interface AccountTotal {
  readonly account: string;
  readonly currency: string;
  readonly beforeMinor: number;
  readonly afterMinor: number;
  readonly deltaMinor: number;
}

export interface DryRunResult {
  readonly scope: string;
  readonly version: number;
  readonly entities: readonly string[];
  /** Reports re-coded. */
  readonly reports: number;
  readonly unchanged: number;
  readonly changed: readonly ReportChange[];
  readonly failed: readonly { readonly reportId: string; readonly revision: number; readonly code: ErrorCode; readonly message: string }[];
  /** Net per account and currency over the reports that code without failing, before and after. */
  readonly totalsByAccount: readonly AccountTotal[];
}

export interface DryRunDeps {
  readonly db: Db;
  /** The rules the proposal would put in force for a report (proposal in its scope's place). */
  readonly rulesFor: (report: ExpenseReport) => ResolvedRules;
  readonly mapWith: (rules: ResolvedRules, report: ExpenseReport) => Promise<RuleMapResult>;
  /** Whether the accounts a coded journal posts to exist and are postable, as validation checks them. */
  readonly accountProblem: (report: ExpenseReport, journal: JournalEntry) => { code: ErrorCode; params: Record<string, string | number> } | undefined;
}

export async function dryRun(deps: DryRunDeps, scope: string, version: number, entities: readonly string[], reportsPerEntity: number): Promise<DryRunResult> {
  const changed: ReportChange[] = [];
  const failed: { reportId: string; revision: number; code: ErrorCode; message: string }[] = [];
  const totals = new Map<string, { account: string; currency: string; beforeMinor: number; afterMinor: number }>();
  let reports = 0;
  for (const entity of entities) {
    for (const posted of await lastPostedRevisions(deps.db, entity, reportsPerEntity)) {
      reports++;
      const report = JSON.parse(posted.report) as ExpenseReport;
      const before = JSON.parse(posted.journal) as JournalEntry;
      const mapped = await deps.mapWith(deps.rulesFor(report), report);
      const problem = mapped.ok ? deps.accountProblem(report, mapped.journal) : mapped;
      if (problem || !mapped.ok) {
        // A report that would fail is listed, and left out of the totals on both sides.
        const { code, params } = problem ?? { code: 'MAP_NO_RULE_SET' as const, params: {} };
        failed.push({ reportId: posted.reportId, revision: posted.revision, code, message: formatErrorMessage(code, params) });
        continue;
      }
      addTotals(totals, before, 'beforeMinor');
      addTotals(totals, mapped.journal, 'afterMinor');
      const lines = comparePositions(before, mapped.journal);
      if (lines.length === 0) continue;
      changed.push({ reportId: posted.reportId, revision: posted.revision, currency: before.currency, lines });
    }
  }
  const totalsByAccount = [...totals.values()]
    .map((t) => ({ ...t, deltaMinor: t.afterMinor - t.beforeMinor }))
    .sort((a, b) => a.account.localeCompare(b.account) || a.currency.localeCompare(b.currency));
  return { scope, version, entities, reports, unchanged: reports - changed.length - failed.length, changed, failed, totalsByAccount };
}

function positionKey(line: JournalEntry['lines'][number]): string {
  return [line.account, line.costCenter ?? '', line.project ?? '', line.employeeId ?? '', line.taxCode ?? ''].join('\u0000');
}

function netPositions(journal: JournalEntry): Map<string, { line: JournalEntry['lines'][number]; net: number }> {
  const positions = new Map<string, { line: JournalEntry['lines'][number]; net: number }>();
  for (const line of journal.lines) {
    const key = positionKey(line);
    const held = positions.get(key);
    const amount = line.debitMinor - line.creditMinor;
    if (held) held.net += amount;
    else positions.set(key, { line, net: amount });
  }
  return positions;
}

/** The positions whose net amount differs, in a stable order (account, then dimensions). */
export function comparePositions(before: JournalEntry, after: JournalEntry): PositionChange[] {
  const was = netPositions(before);
  const now = netPositions(after);
  const changes: PositionChange[] = [];
  for (const key of new Set([...was.keys(), ...now.keys()])) {
    const beforeMinor = was.get(key)?.net ?? 0;
    const afterMinor = now.get(key)?.net ?? 0;
    if (beforeMinor === afterMinor) continue;
    const line = (now.get(key) ?? was.get(key))!.line;
    changes.push({
      account: line.account,
      ...(line.costCenter !== undefined && { costCenter: line.costCenter }),
      ...(line.project !== undefined && { project: line.project }),
      ...(line.employeeId !== undefined && { employeeId: line.employeeId }),
      ...(line.taxCode !== undefined && { taxCode: line.taxCode }),
      beforeMinor,
      afterMinor,
    });
  }
  return changes.sort((a, b) => positionKey(toLine(a)).localeCompare(positionKey(toLine(b))));
}

function toLine(p: PositionChange): JournalEntry['lines'][number] {
  return { ...p, debitMinor: 0, creditMinor: 0, memo: '' };
}

function addTotals(totals: Map<string, { account: string; currency: string; beforeMinor: number; afterMinor: number }>, journal: JournalEntry, side: 'beforeMinor' | 'afterMinor'): void {
  for (const line of journal.lines) {
    const key = `${line.account}\u0000${journal.currency}`;
    const total = totals.get(key) ?? { account: line.account, currency: journal.currency, beforeMinor: 0, afterMinor: 0 };
    total[side] += line.debitMinor - line.creditMinor;
    totals.set(key, total);
  }
}
