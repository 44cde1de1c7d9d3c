/**
 * Planning for the mapping engine (engine.ts): what every coding item of a line is worth before any
 * expression runs: its row, the line's gross in the report currency, the reclaimable tax, the
 * expense split across the allocations, and the line-level taxable (per diem) split.
 */
import { allocate, convert, divideRounded, parseRate, toSafeNumber, type Money } from '../domain/money.ts';
import type { Allocation, ExpenseLine, ExpenseReport, PaymentType } from '../domain/report.ts';
import type { ErrorCode } from '../errors.ts';
import type { ExpressionInput, ResolvedRules, Rule, RuleMapResult, TaxLookup } from './rule-set.ts';
import { creditSetting, CUSTOM_FIELD, itemValue, matchRule, type Setting } from './engine-match.ts';

export type Failure = Extract<RuleMapResult, { ok: false }>;

export interface ItemPlan {
  readonly allocation: Allocation;
  readonly rule: Rule;
  /** `<layer ref>#<row id>`. */
  readonly ruleRef: string;
  reclaimMinor: number;
  /** After reclaim; what `taxable` splits. */
  expenseMinor: number;
  taxableMinor: number;
  costCenter: string | undefined;
  project: string | undefined;
  memo: string;
}

export interface LinePlan {
  readonly line: ExpenseLine;
  readonly grossMinor: number;
  readonly weights: readonly number[];
  readonly items: ItemPlan[];
  readonly credit: Setting;
  /** Reclaim and expense computed on the whole line (every item handles tax alike). */
  readonly whole: boolean;
  readonly lineReclaimMinor: number;
  readonly lineExpenseMinor: number;
  /** The taxable part is computed once on the whole line (every item matched that one row). */
  readonly lineTaxable: boolean;
  grossParts?: number[];
  input?: ExpressionInput['line'];
}

export interface MapContext {
  readonly rules: ResolvedRules;
  readonly report: ExpenseReport;
  readonly tax: TaxLookup;
  readonly version: string;
  readonly credits: Map<PaymentType, Setting | undefined>;
  reportInput?: ExpressionInput['report'];
}

export function fail(ctx: MapContext, code: ErrorCode, params: Record<string, string | number>): Failure {
  return { ok: false, code, params, mappingVersion: ctx.version };
}

export function toReportCurrency(amount: Money, line: ExpenseLine, reportCurrency: string): number {
  if (amount.currency === reportCurrency) return amount.amountMinor;
  if (!line.exchangeRate) throw new Error(`Assertion failed: line ${line.lineId} in ${amount.currency} has no rate (normalization checks this)`);
  return convert(amount, reportCurrency, parseRate(line.exchangeRate.rate)).amountMinor;
}

function describeItem(ctx: MapContext, line: ExpenseLine, allocation: Allocation): string {
  let item = `category=${line.category} paymentType=${line.paymentType} costCenter=${allocation.costCenter} project=${allocation.project ?? '-'} taxCode=${line.tax?.code ?? '-'} personal=${line.personal}`;
  const columns = new Set([...(ctx.rules.own?.set.columns ?? []), ...(ctx.rules.group?.set.columns ?? [])]);
  for (const column of columns) {
    if (column.startsWith('cf.')) item += ` ${column}=${itemValue(CUSTOM_FIELD, column.slice(3), ctx.report, line, allocation) ?? '-'}`;
  }
  return item;
}

function handlesTax(items: readonly ItemPlan[]): boolean {
  for (let i = 0; i < items.length; i++) if (items[i].rule.tax.kind !== 'none') return true;
  return false;
}

function sameTaxHandling(a: Rule, b: Rule): boolean {
  if (a.tax.kind !== b.tax.kind) return false;
  if (a.tax.kind === 'share' && b.tax.kind === 'share' && a.tax.bp !== b.tax.bp) return false;
  return a.tax.kind === 'none' || a.taxAccount === b.taxAccount;
}

function reclaimBpOf(rule: Rule, facts: { readonly reclaimBp: number } | undefined): number {
  if (rule.tax.kind === 'reclaim') return facts?.reclaimBp ?? 0;
  return rule.tax.kind === 'share' ? rule.tax.bp : 0;
}

function reclaimOf(taxMinor: number, bp: number): number {
  return bp === 0 || taxMinor === 0 ? 0 : toSafeNumber(divideRounded(BigInt(taxMinor) * BigInt(bp), 10_000n), 'tax');
}

function defaultMemo(report: ExpenseReport, line: ExpenseLine): string {
  return `${report.reportId} r${report.revision} ${line.category}${line.merchant ? ` ${line.merchant}` : ''}${line.personal ? ' (personal)' : ''}`;
}

export function planLine(ctx: MapContext, line: ExpenseLine, grossMinor: number): LinePlan | Failure {
  const { report } = ctx;
  let credit = ctx.credits.get(line.paymentType);
  if (!ctx.credits.has(line.paymentType)) ctx.credits.set(line.paymentType, (credit = creditSetting(ctx.rules, line.paymentType)));
  if (credit === undefined) return fail(ctx, 'MAP_NO_RULE', { version: ctx.version, entity: report.entity, lineId: line.lineId, item: `credit account for payment type ${line.paymentType}` });
  const memo = defaultMemo(report, line);
  const items: ItemPlan[] = [];
  for (const allocation of line.allocations) {
    const match = matchRule(ctx.rules, report, line, allocation);
    if (match === undefined) return fail(ctx, 'MAP_NO_RULE', { version: ctx.version, entity: report.entity, lineId: line.lineId, item: describeItem(ctx, line, allocation) });
    const { layer, rule } = match;
    items.push({
      allocation,
      rule,
      ruleRef: `${layer.ref}#${rule.id}`,
      reclaimMinor: 0,
      expenseMinor: 0,
      taxableMinor: 0,
      costCenter: rule.costCenter.kind === 'allocation' ? allocation.costCenter : rule.costCenter.kind === 'literal' ? rule.costCenter.value : undefined,
      project: rule.project.kind === 'allocation' ? allocation.project : rule.project.kind === 'literal' ? rule.project.value : undefined,
      memo: rule.memo?.kind === 'literal' ? rule.memo.value : memo,
    });
  }
  let taxMinor = 0;
  let facts: ReturnType<TaxLookup>;
  if (line.tax && handlesTax(items)) {
    facts = ctx.tax(line.tax.code, line.date);
    if (facts === undefined) return fail(ctx, 'MD_TAX_CODE_UNKNOWN', { taxCode: line.tax.code, entity: report.entity });
    taxMinor = line.tax.amount
      ? toReportCurrency(line.tax.amount, line, report.currency)
      : toSafeNumber(divideRounded(BigInt(grossMinor) * BigInt(facts.rateBp), BigInt(10_000 + facts.rateBp)), 'tax');
  }
  return splitLine(line, grossMinor, credit, items, taxMinor, facts);
}

function splitLine(line: ExpenseLine, grossMinor: number, credit: Setting, items: ItemPlan[], taxMinor: number, facts: ReturnType<TaxLookup>): LinePlan {
  const weights = weightsOf(line);
  const first = items[0].rule;
  let whole = true;
  let sameRule = true;
  for (let i = 1; i < items.length; i++) {
    if (!sameTaxHandling(items[i].rule, first)) whole = false;
    if (items[i].rule !== first) sameRule = false;
  }
  if (whole) {
    const lineReclaimMinor = reclaimOf(taxMinor, reclaimBpOf(first, facts));
    const lineExpenseMinor = grossMinor - lineReclaimMinor;
    // With a line-level taxable part this split is provisional (expressions see it); applyLineTaxable redoes it.
    const parts = items.length === 1 ? [lineExpenseMinor] : allocate(lineExpenseMinor, weights);
    for (let i = 0; i < items.length; i++) items[i].expenseMinor = parts[i];
    const lineTaxable = sameRule && first.taxable !== undefined;
    return { line, grossMinor, weights, items, credit, whole, lineReclaimMinor, lineExpenseMinor, lineTaxable };
  }
  const grossParts = allocate(grossMinor, weights);
  const taxParts = allocate(taxMinor, weights);
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    item.reclaimMinor = reclaimOf(taxParts[i], reclaimBpOf(item.rule, facts));
    item.expenseMinor = grossParts[i] - item.reclaimMinor;
  }
  return { line, grossMinor, weights, items, credit, whole, lineReclaimMinor: 0, lineExpenseMinor: 0, lineTaxable: false, grossParts };
}

/** Each allocation's weight in the line's split: its share, or its amount. */
function weightsOf(line: ExpenseLine): number[] {
  const weights: number[] = [];
  for (const a of line.allocations) weights.push(a.shareBp ?? Math.abs(a.amountMinor ?? 0));
  return weights;
}

export function applyLineTaxable(plan: LinePlan, taxableMinor: number): void {
  const { items, weights } = plan;
  const single = items.length === 1;
  const expenseParts = single ? [plan.lineExpenseMinor - taxableMinor] : allocate(plan.lineExpenseMinor - taxableMinor, weights);
  const taxableParts = single ? [taxableMinor] : allocate(taxableMinor, weights);
  for (let i = 0; i < items.length; i++) {
    items[i].expenseMinor = expenseParts[i] + taxableParts[i];
    items[i].taxableMinor = taxableParts[i];
  }
}
