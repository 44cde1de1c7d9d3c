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
import { allocate, convert, divideRounded, parseRate, toSafeNumber, type Money } from '../domain/money.ts';
import type { Allocation, ExpenseLine, ExpenseReport, PaymentType } from '../domain/report.ts';
import type { JournalEntry, JournalLine } from '../domain/journal.ts';
import type { ErrorCode } from '../errors.ts';
import { ExpressionError } from './expressions.ts';
import {
  conditionMatches,
  resolvedRef,
  type CompiledExpression,
  type CompiledRuleSet,
  type Condition,
  type ExpressionInput,
  type ResolvedRules,
  type Rule,
  type RuleLayer,
  type RuleMapResult,
  type TaxLookup,
} from './rule-set.ts';

// ---------------------------------------------------------------------------------------------
// Matching

const CATEGORY = 0;
const PAYMENT_TYPE = 1;
const COST_CENTER = 2;
const PROJECT = 3;
const TAX_CODE = 4;
const PERSONAL = 5;
const CUSTOM_FIELD = 6;
const FIELDS: Readonly<Record<string, number>> = { category: CATEGORY, paymentType: PAYMENT_TYPE, costCenter: COST_CENTER, project: PROJECT, taxCode: TAX_CODE, personal: PERSONAL };

interface Check {
  readonly field: number;
  /** The custom field's name, for CUSTOM_FIELD. */
  readonly name: string;
  readonly condition: Condition;
}

interface IndexedRule {
  readonly rule: Rule;
  readonly checks: readonly Check[];
}

/** A scope's rows by exact category (each list in file order, the rows without an exact category merged in). */
interface RuleIndex {
  readonly byCategory: ReadonlyMap<string, readonly IndexedRule[]>;
  readonly rest: readonly IndexedRule[];
}

const indexes = new WeakMap<CompiledRuleSet, RuleIndex>();

function indexOf(set: CompiledRuleSet): RuleIndex {
  let index = indexes.get(set);
  if (index === undefined) {
    index = buildIndex(set);
    indexes.set(set, index);
  }
  return index;
}

function buildIndex(set: CompiledRuleSet): RuleIndex {
  const exact = new Map<string, number[]>();
  const rest: number[] = [];
  set.rules.forEach((rule, position) => {
    const category = rule.when.get('category');
    if (category === undefined || category.any || category.globs.length > 0) return rest.push(position);
    // A category is never absent, so `-` in the condition can be ignored here.
    for (const value of category.values) exact.set(value, [...(exact.get(value) ?? []), position]);
  });
  const full = set.rules.map((rule) => ({ rule, checks: checksOf(rule, false) }));
  const withoutCategory = set.rules.map((rule) => ({ rule, checks: checksOf(rule, true) }));
  const byCategory = new Map<string, IndexedRule[]>();
  for (const [category, positions] of exact) {
    const inFileOrder = [...positions, ...rest].sort((a, b) => a - b);
    const own = new Set(positions);
    byCategory.set(category, inFileOrder.map((p) => (own.has(p) ? withoutCategory[p] : full[p])));
  }
  return { byCategory, rest: rest.map((p) => full[p]) };
}

/** The conditions that can fail, cheapest columns first; the category left out when the index checked it. */
function checksOf(rule: Rule, categoryIndexed: boolean): Check[] {
  const checks: Check[] = [];
  for (const [column, condition] of rule.when) {
    if (condition.any || (categoryIndexed && column === 'category')) continue;
    const field = FIELDS[column] ?? CUSTOM_FIELD;
    checks.push({ field, name: field === CUSTOM_FIELD ? column.slice(3) : column, condition });
  }
  return checks.sort((a, b) => a.field - b.field);
}

function itemValue(field: number, name: string, report: ExpenseReport, line: ExpenseLine, allocation: Allocation): string | undefined {
  switch (field) {
    case CATEGORY:
      return line.category;
    case PAYMENT_TYPE:
      return line.paymentType;
    case COST_CENTER:
      return allocation.costCenter;
    case PROJECT:
      return allocation.project;
    case TAX_CODE:
      return line.tax?.code;
    case PERSONAL:
      return line.personal ? 'true' : 'false';
    default:
      return line.customFields?.[name] ?? report.customFields?.[name];
  }
}

function findInSet(set: CompiledRuleSet, report: ExpenseReport, line: ExpenseLine, allocation: Allocation): Rule | undefined {
  const index = indexOf(set);
  const candidates = index.byCategory.get(line.category) ?? index.rest;
  next: for (let i = 0; i < candidates.length; i++) {
    const checks = candidates[i].checks;
    for (let j = 0; j < checks.length; j++) {
      const check = checks[j];
      if (!conditionMatches(check.condition, itemValue(check.field, check.name, report, line, allocation))) continue next;
    }
    return candidates[i].rule;
  }
  return undefined;
}

/**
 * The row that codes one item: the first of the entity's rows that matches it, else the first of
 * the group's. (A proposal in which two rows of one scope match one item is refused, so "first"
 * only decides in rule sets that were never approved.)
 */
export function matchRule(rules: ResolvedRules, report: ExpenseReport, line: ExpenseLine, allocation: Allocation): { layer: RuleLayer; rule: Rule } | undefined {
  if (rules.own) {
    const rule = findInSet(rules.own.set, report, line, allocation);
    if (rule) return { layer: rules.own, rule };
  }
  if (rules.group) {
    const rule = findInSet(rules.group.set, report, line, allocation);
    if (rule) return { layer: rules.group, rule };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Settings

interface Setting {
  readonly account: string;
  /** `<layer ref>#settings.<name>`: the journal line's rule. */
  readonly rule: string;
}

function creditSetting(rules: ResolvedRules, paymentType: PaymentType): Setting | undefined {
  const own = rules.own?.set.settings.credit[paymentType];
  if (rules.own && own !== undefined) return { account: own, rule: `${rules.own.ref}#settings.credit.${paymentType}` };
  const group = rules.group?.set.settings.credit[paymentType];
  if (rules.group && group !== undefined) return { account: group, rule: `${rules.group.ref}#settings.credit.${paymentType}` };
  return undefined;
}

function roundingSetting(rules: ResolvedRules): Setting | undefined {
  const own = rules.own?.set.settings.roundingAccount;
  if (rules.own && own !== undefined) return { account: own, rule: `${rules.own.ref}#settings.roundingAccount` };
  const group = rules.group?.set.settings.roundingAccount;
  if (rules.group && group !== undefined) return { account: group, rule: `${rules.group.ref}#settings.roundingAccount` };
  return undefined;
}

/**
 * Every GL account the report's journal could post to, so validation can check that each exists
 * and is postable before mapping: the matched rows' accounts, their tax accounts where the line has
 * a tax code and the row handles tax, their taxable accounts, the credit accounts of the payment
 * types used, and with a platform total the rounding account and the out-of-pocket credit account.
 * Items that match no row are left out (mapping refuses them with MAP_NO_RULE).
 */
export function accountsUsed(rules: ResolvedRules, report: ExpenseReport): string[] {
  const accounts = new Set<string>();
  for (const line of report.lines) {
    for (const allocation of line.allocations) {
      const rule = matchRule(rules, report, line, allocation)?.rule;
      if (rule === undefined) continue;
      accounts.add(rule.account);
      if (line.tax && rule.tax.kind !== 'none' && rule.taxAccount !== undefined) accounts.add(rule.taxAccount);
      if (rule.taxable && rule.taxableAccount !== undefined) accounts.add(rule.taxableAccount);
    }
    const credit = creditAccountOf(rules, line.paymentType);
    if (credit !== undefined) accounts.add(credit);
  }
  if (report.total) {
    const rounding = rules.own?.set.settings.roundingAccount ?? rules.group?.set.settings.roundingAccount;
    if (rounding !== undefined) accounts.add(rounding);
    const payable = creditAccountOf(rules, 'out_of_pocket');
    if (payable !== undefined) accounts.add(payable);
  }
  return [...accounts];
}

function creditAccountOf(rules: ResolvedRules, paymentType: PaymentType): string | undefined {
  return rules.own?.set.settings.credit[paymentType] ?? rules.group?.set.settings.credit[paymentType];
}

// ---------------------------------------------------------------------------------------------
// Planning: what every item is worth, before any expression runs

type Failure = Extract<RuleMapResult, { ok: false }>;

interface ItemPlan {
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

interface LinePlan {
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

interface MapContext {
  readonly rules: ResolvedRules;
  readonly report: ExpenseReport;
  readonly tax: TaxLookup;
  readonly version: string;
  readonly credits: Map<PaymentType, Setting | undefined>;
  reportInput?: ExpressionInput['report'];
}

function fail(ctx: MapContext, code: ErrorCode, params: Record<string, string | number>): Failure {
  return { ok: false, code, params, mappingVersion: ctx.version };
}

function toReportCurrency(amount: Money, line: ExpenseLine, reportCurrency: string): number {
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

function planLine(ctx: MapContext, line: ExpenseLine, grossMinor: number): LinePlan | Failure {
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

function applyLineTaxable(plan: LinePlan, taxableMinor: number): void {
  const { items, weights } = plan;
  const single = items.length === 1;
  const expenseParts = single ? [plan.lineExpenseMinor - taxableMinor] : allocate(plan.lineExpenseMinor - taxableMinor, weights);
  const taxableParts = single ? [taxableMinor] : allocate(taxableMinor, weights);
  for (let i = 0; i < items.length; i++) {
    items[i].expenseMinor = expenseParts[i] + taxableParts[i];
    items[i].taxableMinor = taxableParts[i];
  }
}

// ---------------------------------------------------------------------------------------------
// Expressions

type ExpressionField = 'taxable' | 'costCenter' | 'project' | 'memo';

interface ExpressionJob {
  readonly plan: LinePlan;
  /** The item the result goes to; for a line-level taxable part, the line's first item. */
  readonly item: ItemPlan;
  readonly field: ExpressionField;
  readonly expression: CompiledExpression;
  readonly input: ExpressionInput;
}

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly detail: string };

const CODE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/;
const MEMO_MAX_CHARS = 200;
const EMPTY_FIELDS: Readonly<Record<string, string>> = Object.freeze({});

function reportInputOf(ctx: MapContext): ExpressionInput['report'] {
  if (ctx.reportInput) return ctx.reportInput;
  const r = ctx.report;
  ctx.reportInput = {
    reportId: r.reportId,
    revision: r.revision,
    entity: r.entity,
    employeeId: r.employeeId,
    currency: r.currency,
    ...(r.title !== undefined && { title: r.title }),
    approvedAt: r.approvedAt,
    postingDate: r.approvedAt.slice(0, 10),
    customFields: r.customFields ?? EMPTY_FIELDS,
  };
  return ctx.reportInput;
}

function lineInputOf(plan: LinePlan): ExpressionInput['line'] {
  if (plan.input) return plan.input;
  const l = plan.line;
  plan.input = {
    lineId: l.lineId,
    date: l.date,
    category: l.category,
    ...(l.merchant !== undefined && { merchant: l.merchant }),
    ...(l.description !== undefined && { description: l.description }),
    paymentType: l.paymentType,
    personal: l.personal,
    ...(l.tax !== undefined && { taxCode: l.tax.code }),
    currency: l.amount.currency,
    amountMinor: l.amount.amountMinor,
    customFields: l.customFields ?? EMPTY_FIELDS,
  };
  return plan.input;
}

function expressionInput(ctx: MapContext, plan: LinePlan, index: number, lineLevel: boolean): ExpressionInput {
  const item = plan.items[index];
  let grossMinor = plan.grossMinor;
  if (!lineLevel && plan.items.length > 1) grossMinor = (plan.grossParts ??= allocate(plan.grossMinor, plan.weights))[index];
  return {
    report: reportInputOf(ctx),
    line: lineInputOf(plan),
    allocation: item.allocation.project === undefined ? { costCenter: item.allocation.costCenter } : { costCenter: item.allocation.costCenter, project: item.allocation.project },
    grossMinor,
    expenseMinor: lineLevel ? plan.lineExpenseMinor : item.expenseMinor,
    days: plan.line.perDiem?.days ?? 0,
  };
}

function collectJobs(ctx: MapContext, plans: readonly LinePlan[]): ExpressionJob[] {
  const jobs: ExpressionJob[] = [];
  for (const plan of plans) {
    const items = plan.items;
    if (plan.lineTaxable) {
      jobs.push({ plan, item: items[0], field: 'taxable', expression: items[0].rule.taxable as CompiledExpression, input: expressionInput(ctx, plan, 0, true) });
    }
    for (let i = 0; i < items.length; i++) {
      const rule = items[i].rule;
      if (rule.taxable && !plan.lineTaxable) addJob(ctx, jobs, plan, i, 'taxable', rule.taxable);
      if (rule.costCenter.kind === 'expression') addJob(ctx, jobs, plan, i, 'costCenter', rule.costCenter.expression);
      if (rule.project.kind === 'expression') addJob(ctx, jobs, plan, i, 'project', rule.project.expression);
      if (rule.memo?.kind === 'expression') addJob(ctx, jobs, plan, i, 'memo', rule.memo.expression);
    }
  }
  return jobs;
}

function addJob(ctx: MapContext, jobs: ExpressionJob[], plan: LinePlan, index: number, field: ExpressionField, expression: CompiledExpression): void {
  jobs.push({ plan, item: plan.items[index], field, expression, input: expressionInput(ctx, plan, index, false) });
}

function hasExpressions(plans: readonly LinePlan[]): boolean {
  for (const plan of plans) {
    for (const { rule } of plan.items) {
      if (rule.taxable || rule.costCenter.kind === 'expression' || rule.project.kind === 'expression' || rule.memo?.kind === 'expression') return true;
    }
  }
  return false;
}

/**
 * Evaluates one expression. The evaluation limit on time is wall time, which a busy machine or a
 * long garbage-collection pause can use up for an expression that needs microseconds; a report must
 * not be refused for that, so an evaluation stopped by the time limit is tried once more (a runaway
 * expression is stopped again and refused).
 */
async function evaluate(job: ExpressionJob): Promise<Outcome> {
  try {
    return { ok: true, value: await job.expression.evaluate(job.input) };
  } catch (error) {
    if (!(error instanceof ExpressionError && error.limit === 'time')) return failed(error);
  }
  try {
    return { ok: true, value: await job.expression.evaluate(job.input) };
  } catch (error) {
    return failed(error);
  }
}

function failed(error: unknown): Outcome {
  // Compiled expressions reject with an Error; a bare JSONata error is a plain object with a message.
  const message = typeof error === 'object' && error !== null && 'message' in error ? (error as { message: unknown }).message : error;
  return { ok: false, detail: String(message) };
}

function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}

/** Checks a result and stores it in the plan; a refusal when it is out of its range. */
function applyOutcome(ctx: MapContext, job: ExpressionJob, outcome: Outcome): Failure | undefined {
  if (!outcome.ok) return fail(ctx, 'MAP_EXPRESSION_FAILED', { ...expressionParams(ctx, job), detail: outcome.detail });
  const value = outcome.value;
  switch (job.field) {
    case 'taxable': {
      const expense = job.input.expenseMinor;
      const [low, high] = expense < 0 ? [expense, 0] : [0, expense];
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < low || value > high) {
        return refuseResult(ctx, job, value, `expected a whole number of minor units from ${low} to ${high}`);
      }
      if (job.plan.lineTaxable) applyLineTaxable(job.plan, value);
      else job.item.taxableMinor = value;
      return undefined;
    }
    case 'costCenter':
    case 'project': {
      if (value === null || value === undefined) job.item[job.field] = undefined;
      else if (typeof value === 'string' && CODE.test(value)) job.item[job.field] = value;
      else return refuseResult(ctx, job, value, `expected a ${job.field === 'costCenter' ? 'cost center' : 'project'} code (a letter or digit, then up to 39 of letters, digits, _ . -) or null for none`);
      return undefined;
    }
    case 'memo': {
      if (typeof value !== 'string' || value.length > MEMO_MAX_CHARS) return refuseResult(ctx, job, value, `expected a text of at most ${MEMO_MAX_CHARS} characters`);
      job.item.memo = value;
      return undefined;
    }
  }
}

function expressionParams(ctx: MapContext, job: ExpressionJob): Record<string, string> {
  return { rule: job.item.ruleRef, version: ctx.version, field: job.field, lineId: job.plan.line.lineId };
}

function refuseResult(ctx: MapContext, job: ExpressionJob, value: unknown, expected: string): Failure {
  return fail(ctx, 'MAP_EXPRESSION_RESULT', { ...expressionParams(ctx, job), value: shown(value), expected });
}

/**
 * One evaluation at a time, in item order: evaluations run side by side would each see the others'
 * time on their wall-time limit, and the refusal reported is always the first item's.
 */
async function runExpressions(ctx: MapContext, plans: readonly LinePlan[]): Promise<Failure | undefined> {
  const jobs = collectJobs(ctx, plans);
  for (let i = 0; i < jobs.length; i++) {
    const failure = applyOutcome(ctx, jobs[i], await evaluate(jobs[i]));
    if (failure) return failure;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The journal

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
  const postingDate = report.approvedAt.slice(0, 10);
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
