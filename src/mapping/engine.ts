/**
 * The mapping engine: codes a report with the governed rule sets in force (rule-set.ts) and builds
 * its balanced journal. Pure apart from the expressions, which JSONata evaluates asynchronously.
 *
 * Each coding item (one allocation of one line) is matched on its own: the entity's rows first, in
 * file order, then the group's. Per line, in the report currency, as mapping v0 did: the gross is
 * converted at the line's rate; the reclaimable part of the tax goes to the row's tax account and
 * the rest stays in the expense; the expense is split across the allocations by largest remainder;
 * a `taxable` part (per diem above the statutory limit) goes to its own account; the payment type's
 * credit setting picks the credit account. Credits (negative lines) flip sides by sign. A platform
 * total within one minor unit per converted line of the converted lines is balanced on the rounding
 * account against the out-of-pocket credit account; a larger gap is refused.
 *
 * How a line's items share its amounts:
 * - When every item matched rows with the same tax handling and tax account, the reclaim is computed
 *   on the whole line (so a line codes exactly as in v0) and the expense is split. When moreover
 *   every item matched the same row and that row has `taxable`, the taxable part is computed once on
 *   the whole line (a statutory limit is per day of the line, not per allocation: the expression
 *   then sees the line's gross and expense and its first allocation) and both parts are split.
 * - Otherwise the gross and the tax are split across the allocations (same weights) and each item's
 *   reclaim and taxable part are computed on its own share.
 *
 * Journal lines: one per allocation where the row takes the cost center from the allocation (as in
 * v0, even when two allocations name the same cost center); items whose rows set the cost center
 * themselves (none, a literal, an expression) are merged into one journal line per distinct coding
 * within the line, and so are input-tax lines. A line carries the line's tax code unless its row
 * says `tax: none` (a personal item: no tax code, as in v0); `tax: 0%` keeps the code and reclaims
 * nothing. Every journal line names the rule that made it (`DE01@3#LODGING`) or the setting
 * (`GROUP@2#settings.credit.company_card`, `GROUP@2#settings.roundingAccount`); credit lines are
 * one per account, and name the setting of the first payment type that used it.
 */
import { postingDateOf, type ExpenseReport } from '../domain/report.ts';
import type { JournalEntry, JournalLine } from '../domain/journal.ts';
import { resolvedRef, type ResolvedRules, type RuleMapResult, type TaxLookup } from './rule-set.ts';
import { creditAccountOf, creditSetting, roundingSetting } from './engine-match.ts';
import { fail, planLine, toReportCurrency, type Failure, type ItemPlan, type LinePlan, type MapContext } from './engine-items.ts';
import { hasExpressions, runExpressions } from './engine-expressions.ts';

export { accountsUsed, matchRule } from './engine-match.ts';

interface Entry {
  account: string;
  amountMinor: number;
  costCenter?: string;
  project?: string;
  employeeId?: string;
  taxCode?: string;
  memo: string;
  rule: string;
  /** May be merged with an equal entry of the same line (see the module comment). */
  mergeable: boolean;
}

function sameCoding(a: Entry, b: Entry): boolean {
  return a.account === b.account && a.costCenter === b.costCenter && a.project === b.project && a.employeeId === b.employeeId && a.taxCode === b.taxCode && a.memo === b.memo && a.rule === b.rule;
}

/** Adds an entry, merged into an equal mergeable one of the same line (from `lineStart` on) where allowed. */
function addEntry(entries: Entry[], lineStart: number, entry: Entry): void {
  if (entry.mergeable) {
    for (let i = lineStart; i < entries.length; i++) {
      if (entries[i].mergeable && sameCoding(entries[i], entry)) {
        entries[i].amountMinor += entry.amountMinor;
        return;
      }
    }
  }
  entries.push(entry);
}

function itemEntry(ctx: MapContext, plan: LinePlan, item: ItemPlan, account: string, amountMinor: number, memo: string): Entry {
  const entry: Entry = { account, amountMinor, memo, rule: item.ruleRef, mergeable: item.rule.costCenter.kind !== 'allocation' };
  if (item.costCenter !== undefined) entry.costCenter = item.costCenter;
  if (item.project !== undefined) entry.project = item.project;
  if (item.rule.employee) entry.employeeId = ctx.report.employeeId;
  if (plan.line.tax && item.rule.tax.kind !== 'none') entry.taxCode = plan.line.tax.code;
  return entry;
}

function addLineEntries(ctx: MapContext, entries: Entry[], plan: LinePlan): void {
  const start = entries.length;
  const { items, line } = plan;
  const taxCode = line.tax?.code;
  if (plan.whole) {
    const first = items[0];
    if (plan.lineReclaimMinor !== 0 && first.rule.taxAccount !== undefined) {
      addEntry(entries, start, { account: first.rule.taxAccount, amountMinor: plan.lineReclaimMinor, taxCode, memo: `${first.memo} input tax`, rule: first.ruleRef, mergeable: true });
    }
  } else {
    for (const item of items) {
      if (item.reclaimMinor === 0 || item.rule.taxAccount === undefined) continue;
      addEntry(entries, start, { account: item.rule.taxAccount, amountMinor: item.reclaimMinor, taxCode, memo: `${item.memo} input tax`, rule: item.ruleRef, mergeable: true });
    }
  }
  for (const item of items) addEntry(entries, start, itemEntry(ctx, plan, item, item.rule.account, item.expenseMinor - item.taxableMinor, item.memo));
  for (const item of items) {
    if (item.taxableMinor === 0 || item.rule.taxableAccount === undefined) continue;
    addEntry(entries, start, itemEntry(ctx, plan, item, item.rule.taxableAccount, item.taxableMinor, `${item.memo} per diem above statutory limit`));
  }
}

function toJournalLine(entry: Entry): JournalLine {
  const line: { -readonly [K in keyof JournalLine]: JournalLine[K] } = {
    account: entry.account,
    debitMinor: entry.amountMinor > 0 ? entry.amountMinor : 0,
    creditMinor: entry.amountMinor < 0 ? -entry.amountMinor : 0,
    memo: entry.memo,
  };
  if (entry.costCenter !== undefined) line.costCenter = entry.costCenter;
  if (entry.project !== undefined) line.project = entry.project;
  if (entry.employeeId !== undefined) line.employeeId = entry.employeeId;
  if (entry.taxCode !== undefined) line.taxCode = entry.taxCode;
  line.rule = entry.rule;
  return line;
}

/** The credit lines (one per account) and a rounding difference against the platform total. */
function addCreditEntries(ctx: MapContext, entries: Entry[], plans: readonly LinePlan[]): void {
  const { report } = ctx;
  const byAccount = new Map<string, Entry>();
  const cardAccount = creditAccountOf(ctx.rules, 'company_card');
  for (const plan of plans) {
    const existing = byAccount.get(plan.credit.account);
    if (existing) existing.amountMinor -= plan.grossMinor;
    else {
      const kind = plan.credit.account === cardAccount ? 'card' : 'employee';
      byAccount.set(plan.credit.account, { account: plan.credit.account, amountMinor: -plan.grossMinor, employeeId: report.employeeId, memo: `${report.reportId} r${report.revision} ${kind}`, rule: plan.credit.rule, mergeable: false });
    }
  }
  for (const entry of byAccount.values()) entries.push(entry);
}

function checkTotal(ctx: MapContext, entries: Entry[], grossTotal: number, conversions: number): Failure | undefined {
  const { report } = ctx;
  if (!report.total) return undefined;
  const gap = report.total.amountMinor - grossTotal;
  if (Math.abs(gap) > conversions) {
    return fail(ctx, 'REPORT_TOTAL_MISMATCH', { expectedMinor: report.total.amountMinor, actualMinor: grossTotal, toleranceMinor: conversions, currency: report.currency });
  }
  if (gap === 0) return undefined;
  const payable = creditSetting(ctx.rules, 'out_of_pocket');
  if (payable === undefined) return fail(ctx, 'MAP_NO_RULE', { version: ctx.version, entity: report.entity, lineId: report.lines[0].lineId, item: 'credit account for payment type out_of_pocket' });
  const rounding = roundingSetting(ctx.rules);
  if (rounding === undefined) return fail(ctx, 'MAP_NO_RULE', { version: ctx.version, entity: report.entity, lineId: report.lines[0].lineId, item: 'rounding account' });
  const prefix = `${report.reportId} r${report.revision}`;
  entries.push({ account: payable.account, amountMinor: -gap, employeeId: report.employeeId, memo: `${prefix} rounding to platform total`, rule: payable.rule, mergeable: false });
  entries.push({ account: rounding.account, amountMinor: gap, memo: `${prefix} rounding`, rule: rounding.rule, mergeable: false });
  return undefined;
}

/**
 * Builds the journal of a validated report with the rule sets in force. Refusals name the mapping
 * version (`DE01@3+GROUP@2`): MAP_NO_RULE_SET, MAP_NO_RULE (an item no row matches, or a missing
 * credit or rounding setting), MAP_EXPRESSION_FAILED, MAP_EXPRESSION_RESULT, MD_TAX_CODE_UNKNOWN,
 * REPORT_TOTAL_MISMATCH. Expressions are evaluated only for rows that have them.
 */
export async function mapWithRules(rules: ResolvedRules, report: ExpenseReport, tax: TaxLookup): Promise<RuleMapResult> {
  const ctx: MapContext = { rules, report, tax, version: resolvedRef(rules), credits: new Map() };
  const postingDate = postingDateOf(report);
  if (!rules.own && !rules.group) return fail(ctx, 'MAP_NO_RULE_SET', { entity: report.entity, date: postingDate });
  const plans: LinePlan[] = [];
  const conversions: JournalEntry['conversions'][number][] = [];
  let grossTotal = 0;
  for (const line of report.lines) {
    const grossMinor = toReportCurrency(line.amount, line, report.currency);
    if (line.exchangeRate && line.amount.currency !== report.currency) {
      conversions.push({ lineId: line.lineId, from: line.amount.currency, to: report.currency, ...line.exchangeRate });
    }
    grossTotal += grossMinor;
    const plan = planLine(ctx, line, grossMinor);
    if ('ok' in plan) return plan;
    plans.push(plan);
  }
  const closing: Entry[] = [];
  const totalFailure = checkTotal(ctx, closing, grossTotal, conversions.length);
  if (totalFailure) return totalFailure;
  if (hasExpressions(plans)) {
    const failure = await runExpressions(ctx, plans);
    if (failure) return failure;
  }
  const entries: Entry[] = [];
  for (const plan of plans) addLineEntries(ctx, entries, plan);
  addCreditEntries(ctx, entries, plans);
  entries.push(...closing);
  const lines: JournalLine[] = [];
  for (const entry of entries) if (entry.amountMinor !== 0) lines.push(toJournalLine(entry));
  return {
    ok: true,
    mappingVersion: ctx.version,
    journal: {
      kind: 'journal',
      reportId: report.reportId,
      revision: report.revision,
      entity: report.entity,
      currency: report.currency,
      postingDate,
      memo: `Expense report ${report.reportId} revision ${report.revision}${report.title ? `: ${report.title}` : ''}`,
      lines,
      conversions,
    },
  };
}
