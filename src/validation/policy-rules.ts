/**
 * Expense-policy rules. The rules are data: each legal entity's policy is a master-data record
 * (kind `policy`, key `expense`, system `finsync`, effective-dated), and every line is checked
 * against the version in force on the line's date. An entity without a policy gets no policy
 * findings. The rules:
 *
 * - allowed transaction currencies (error);
 * - a category's limit per line, and per employee and day (the report's lines of that category on
 *   that day, nothing else) (warning unless the policy says error);
 * - a receipt above an amount (warning unless the policy says error; per diem lines are computed
 *   amounts and need none);
 * - per diem above the statutory daily limit × days: the taxable excess, which the mapping posts to
 *   its own account, made visible (info);
 * - duplicate suspicion: the same employee, amount, currency, date and merchant in another report
 *   approved within the policy's window, or twice in this report (warning);
 * - weekend and holiday dates (info).
 *
 * Amounts compare in the report currency, in integer minor units: a foreign line converts at its
 * own exchange rate (money.ts, exact). The policy's amounts are in the entity's functional
 * currency; a report in another currency is refused by master-data validation, so the amount
 * rules skip it. A policy limit with more decimals than the currency has is floored to minor
 * units, which keeps "above the limit" exact for integer amounts.
 */
import { convert, currencyExponent, formatAmount, parseRate } from '../domain/money.ts';
import type { ExpenseLine, ExpenseReport } from '../domain/report.ts';
import type { ReferenceData } from '../masterdata/md-index.ts';
import type { Policy } from '../masterdata/records.ts';
import { epochDay, normalizeMerchant, suspectsIn, type DuplicateIndex, type EmployeeLines } from './duplicates.ts';
import { finding, type Finding, type Severity } from './validate-report.ts';

export interface PolicyOptions {
  /**
   * Lines whose amount cannot be converted to the report currency (a draft line in a foreign
   * currency with no rate anywhere): the amount rules skip them; the others still apply.
   */
  readonly unconvertedLines?: ReadonlySet<number>;
}

interface CategoryRules {
  readonly perLineMinor?: number;
  readonly perDayMinor?: number;
  readonly severity: Severity;
}

/** A policy turned into minor units of one currency, once per policy version. */
interface CompiledPolicy {
  readonly currency: string;
  readonly allowed?: ReadonlySet<string>;
  readonly allowedText: string;
  readonly categories: ReadonlyMap<string, CategoryRules>;
  readonly receiptAboveMinor?: number;
  readonly receiptSeverity: Severity;
  readonly perDiem: ReadonlyMap<string, DailyLimit>;
  readonly windowDays?: number;
  readonly flagWeekends: boolean;
  readonly holidays: ReadonlySet<string>;
}

interface DailyLimit {
  readonly value: string;
  readonly minor: number;
  /** True when the limit has no more decimals than the currency: then days × minor is exact. */
  readonly exact: boolean;
}

function compileDailyLimit(value: string, exponent: number): DailyLimit {
  const fraction = value.split('.')[1] ?? '';
  return { value, minor: floorMinor(value, exponent), exact: fraction.replace(/0+$/, '').length <= exponent };
}

/** Policies are held by the master-data index and replaced, never changed, so a version compiles once. */
const compiled = new WeakMap<Policy, CompiledPolicy>();

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

interface DayGroup {
  readonly category: string;
  readonly date: string;
  readonly rules: CategoryRules;
  readonly lines: number[];
  totalMinor: number;
}

interface LineContext {
  readonly report: ExpenseReport;
  readonly line: ExpenseLine;
  readonly index: number;
  readonly rules: CompiledPolicy;
  /** The line in minor units of the report currency, if it can be compared with the policy. */
  readonly amountMinor: number | undefined;
}

/** What the rules keep across the lines of one report. Built lazily: most reports need little of it. */
interface ReportState {
  readonly duplicates: DuplicateIndex;
  days?: Map<string, DayGroup>;
  overLineLimit?: Set<number>;
  /** Line indexes by amount: a same-report duplicate has the same amount, so only those are compared. */
  byAmount?: Map<number, number[]>;
  /** The employee's lines in other reports; null when none are held. */
  held?: EmployeeLines | null;
  approvedDay?: number;
}

// The validation API's hot path: plain loops, state created on first use, no per-line maps.
export function evaluatePolicy(report: ExpenseReport, reference: ReferenceData, duplicates: DuplicateIndex, options: PolicyOptions = {}): Finding[] {
  const entity = reference.entity(report.entity);
  if (!entity) return [];
  const findings: Finding[] = [];
  const state: ReportState = { duplicates };
  // Consecutive lines of one date (the usual order) share one policy look-up.
  let policyDate = '';
  let policy: Policy | undefined;
  let rules: CompiledPolicy | undefined;
  for (let index = 0; index < report.lines.length; index++) {
    const line = report.lines[index];
    if (line.date !== policyDate) {
      policyDate = line.date;
      const next = reference.policy(report.entity, line.date);
      if (next !== policy) rules = next && compilePolicy(next, entity.currency);
      policy = next;
    }
    if (!rules) continue;
    const comparable = entity.currency === report.currency && !options.unconvertedLines?.has(index);
    const ctx: LineContext = { report, line, index, rules, amountMinor: comparable ? inReportCurrency(line, report.currency) : undefined };
    if (rules.allowed) checkCurrency(ctx, findings);
    if (ctx.amountMinor !== undefined) {
      const limits = rules.categories.get(line.category);
      if (limits && checkLineLimit(ctx, limits, findings)) (state.overLineLimit ??= new Set()).add(index);
      if (limits?.perDayMinor !== undefined) addToDay(ctx, limits, (state.days ??= new Map()));
      if (rules.receiptAboveMinor !== undefined) checkReceipt(ctx, findings);
      if (line.perDiem) checkPerDiem(ctx, findings);
    }
    if (rules.windowDays !== undefined) checkDuplicate(ctx, rules.windowDays, state, findings);
    checkCalendar(ctx, findings);
  }
  if (state.days) for (const group of state.days.values()) checkDailyLimit(report, group, state.overLineLimit, findings);
  return findings;
}

function compilePolicy(policy: Policy, currency: string): CompiledPolicy {
  const cached = compiled.get(policy);
  if (cached?.currency === currency) return cached;
  const exponent = currencyExponent(currency);
  const categories = new Map<string, CategoryRules>();
  for (const [category, limits] of Object.entries(policy.categoryLimits ?? {})) {
    categories.set(category, {
      ...(limits.perLine !== undefined && { perLineMinor: floorMinor(limits.perLine, exponent) }),
      ...(limits.perDay !== undefined && { perDayMinor: floorMinor(limits.perDay, exponent) }),
      severity: limits.severity ?? 'warning',
    });
  }
  const result: CompiledPolicy = {
    currency,
    ...(policy.allowedCurrencies && { allowed: new Set(policy.allowedCurrencies) }),
    allowedText: (policy.allowedCurrencies ?? []).join(', '),
    categories,
    ...(policy.receiptRequiredAbove !== undefined && { receiptAboveMinor: floorMinor(policy.receiptRequiredAbove, exponent) }),
    receiptSeverity: policy.receiptSeverity ?? 'warning',
    perDiem: new Map(Object.entries(policy.perDiem ?? {}).map(([category, p]) => [category, compileDailyLimit(p.dailyLimit, exponent)])),
    ...(policy.duplicateWindowDays !== undefined && { windowDays: policy.duplicateWindowDays }),
    flagWeekends: policy.flagWeekends ?? false,
    holidays: new Set(policy.holidays ?? []),
  };
  compiled.set(policy, result);
  return result;
}

/**
 * A non-negative policy decimal ("79.00"), times `times`, in minor units, rounded down. Exact
 * (BigInt); a value beyond the safe integers is capped there, above any amount a line can hold.
 */
function floorMinor(value: string, exponent: number, times = 1): number {
  const [whole, fraction = ''] = value.split('.');
  const minor = (BigInt(whole + fraction) * BigInt(times) * 10n ** BigInt(exponent)) / 10n ** BigInt(fraction.length);
  return minor > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(minor);
}

function inReportCurrency(line: ExpenseLine, currency: string): number | undefined {
  if (line.amount.currency === currency) return line.amount.amountMinor;
  if (!line.exchangeRate) return undefined;
  return convert(line.amount, currency, parseRate(line.exchangeRate.rate)).amountMinor;
}

function checkCurrency({ report, line, index, rules }: LineContext, findings: Finding[]): void {
  if (!rules.allowed || rules.allowed.has(line.amount.currency)) return;
  findings.push(finding('POLICY_CURRENCY_NOT_ALLOWED', 'error', { lineId: line.lineId, currency: line.amount.currency, entity: report.entity, allowed: rules.allowedText }, `lines[${index}].amount.currency`));
}

function checkLineLimit({ report, line, index, amountMinor }: LineContext, limits: CategoryRules, findings: Finding[]): boolean {
  if (limits.perLineMinor === undefined || amountMinor === undefined || amountMinor <= limits.perLineMinor) return false;
  const params = { lineId: line.lineId, category: line.category, amount: formatAmount(amountMinor, report.currency), currency: report.currency, limit: formatAmount(limits.perLineMinor, report.currency), entity: report.entity };
  findings.push(finding('POLICY_LINE_LIMIT', limits.severity, params, `lines[${index}].amount`));
  return true;
}

function addToDay({ line, index, amountMinor }: LineContext, limits: CategoryRules, days: Map<string, DayGroup>): void {
  if (amountMinor === undefined) return;
  const key = `${line.category}\u0000${line.date}`;
  const group = days.get(key);
  if (group) {
    group.totalMinor += amountMinor;
    group.lines.push(index);
  } else {
    days.set(key, { category: line.category, date: line.date, rules: limits, lines: [index], totalMinor: amountMinor });
  }
}

function checkDailyLimit(report: ExpenseReport, group: DayGroup, overLineLimit: ReadonlySet<number> | undefined, findings: Finding[]): void {
  const limitMinor = group.rules.perDayMinor;
  if (limitMinor === undefined || group.totalMinor <= limitMinor) return;
  // One line over both limits is said once, by the per-line finding.
  if (group.lines.length === 1 && overLineLimit?.has(group.lines[0])) return;
  const params = {
    category: group.category,
    employeeId: report.employeeId,
    date: group.date,
    amount: formatAmount(group.totalMinor, report.currency),
    currency: report.currency,
    limit: formatAmount(limitMinor, report.currency),
    entity: report.entity,
    lineIds: group.lines.map((i) => report.lines[i].lineId).join(', '),
  };
  findings.push(finding('POLICY_DAILY_LIMIT', group.rules.severity, params, `lines[${group.lines[group.lines.length - 1]}].amount`));
}

function checkReceipt({ report, line, index, rules, amountMinor }: LineContext, findings: Finding[]): void {
  if (rules.receiptAboveMinor === undefined || amountMinor === undefined || line.receipt || line.perDiem || amountMinor <= rules.receiptAboveMinor) return;
  const params = { lineId: line.lineId, amount: formatAmount(amountMinor, report.currency), currency: report.currency, limit: formatAmount(rules.receiptAboveMinor, report.currency) };
  findings.push(finding('POLICY_RECEIPT_REQUIRED', rules.receiptSeverity, params, `lines[${index}].receipt`));
}

/** Measured on the line's gross amount; per diem lines carry no reclaimable tax in practice. */
function checkPerDiem({ report, line, index, rules, amountMinor }: LineContext, findings: Finding[]): void {
  const dailyLimit = rules.perDiem.get(line.category);
  if (dailyLimit === undefined || !line.perDiem || amountMinor === undefined) return;
  const days = line.perDiem.days;
  const limitMinor = dailyLimit.exact ? Math.min(dailyLimit.minor * days, Number.MAX_SAFE_INTEGER) : floorMinor(dailyLimit.value, currencyExponent(report.currency), days);
  if (amountMinor <= limitMinor) return;
  const params = {
    lineId: line.lineId,
    amount: formatAmount(amountMinor, report.currency),
    currency: report.currency,
    days: line.perDiem.days,
    limit: formatAmount(limitMinor, report.currency),
    dailyLimit: formatAmount(dailyLimit.minor, report.currency),
    taxableAmount: formatAmount(amountMinor - limitMinor, report.currency),
  };
  findings.push(finding('POLICY_PER_DIEM_TAXABLE', 'info', params, `lines[${index}].amount`));
}

function checkDuplicate({ report, line, index }: LineContext, windowDays: number, state: ReportState, findings: Finding[]): void {
  const earlier = report.lines.length > SCAN_LINES_MAX ? earlierByAmount(report, line, index, state) : earlierByScan(report, line, index);
  let other: { reportId: string; lineId: string } | undefined;
  if (earlier !== undefined) {
    other = { reportId: `${report.reportId} (this report)`, lineId: report.lines[earlier].lineId };
  } else {
    if (state.held === undefined) state.held = state.duplicates.linesOf(report.entity, report.employeeId) ?? null;
    if (state.held) other = suspectsIn(state.held, line, report.reportId, (state.approvedDay ??= epochDay(report.approvedAt)), windowDays)[0];
  }
  if (!other) return;
  const params = {
    lineId: line.lineId,
    amount: formatAmount(line.amount.amountMinor, line.amount.currency),
    currency: line.amount.currency,
    merchant: line.merchant ?? 'no merchant',
    date: line.date,
    otherLineId: other.lineId,
    otherReportId: other.reportId,
  };
  findings.push(finding('POLICY_DUPLICATE_SUSPECTED', 'warning', params, `lines[${index}]`));
}

/** Up to this many lines, a line is compared with the earlier ones directly; a map by amount costs more than that. */
const SCAN_LINES_MAX = 32;

/**
 * The first earlier line of the report that is the same expense as `line`. Every earlier line of
 * the same date went through the same policy version, so it was checked for duplicates too.
 */
function earlierByScan(report: ExpenseReport, line: ExpenseLine, index: number): number | undefined {
  for (let j = 0; j < index; j++) {
    const other = report.lines[j];
    if (other.amount.amountMinor === line.amount.amountMinor && sameExpense(other, line)) return j;
  }
  return undefined;
}

/** The same as earlierByScan for long reports: only the earlier lines of the same amount are compared. */
function earlierByAmount(report: ExpenseReport, line: ExpenseLine, index: number, state: ReportState): number | undefined {
  const byAmount = (state.byAmount ??= new Map<number, number[]>());
  const sameAmount = byAmount.get(line.amount.amountMinor);
  let earlier: number | undefined;
  if (sameAmount) {
    for (const j of sameAmount) {
      if (sameExpense(report.lines[j], line)) {
        earlier = j;
        break;
      }
    }
    sameAmount.push(index);
  } else {
    byAmount.set(line.amount.amountMinor, [index]);
  }
  return earlier;
}

function sameExpense(a: ExpenseLine, b: ExpenseLine): boolean {
  return a.amount.amountMinor === b.amount.amountMinor && a.amount.currency === b.amount.currency && a.date === b.date && normalizeMerchant(a.merchant) === normalizeMerchant(b.merchant);
}

function checkCalendar({ report, line, index, rules }: LineContext, findings: Finding[]): void {
  if (rules.flagWeekends) {
    const weekday = dayOfWeek(line.date);
    if (weekday === 0 || weekday === 6) findings.push(finding('POLICY_WEEKEND', 'info', { lineId: line.lineId, date: line.date, weekday: WEEKDAYS[weekday] }, `lines[${index}].date`));
  }
  if (rules.holidays.has(line.date)) findings.push(finding('POLICY_HOLIDAY', 'info', { lineId: line.lineId, date: line.date, entity: report.entity }, `lines[${index}].date`));
}

const MONTH_OFFSETS = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];

/** 0 = Sunday … 6 = Saturday, of a YYYY-MM-DD date (Sakamoto's method; parsing a Date costs more than the rest of the rules). */
export function dayOfWeek(date: string): number {
  const month = digitsAt(date, 5, 2);
  const day = digitsAt(date, 8, 2);
  const year = digitsAt(date, 0, 4) - (month < 3 ? 1 : 0);
  return (year + Math.floor(year / 4) - Math.floor(year / 100) + Math.floor(year / 400) + MONTH_OFFSETS[month - 1] + day) % 7;
}

// Top level on purpose: tsx (esbuild keepNames) wraps a function defined inside another in __name()
// on every call, which cost more than all the rules together on the validation API's hot path.
function digitsAt(text: string, start: number, length: number): number {
  let value = 0;
  for (let i = start; i < start + length; i++) value = value * 10 + text.charCodeAt(i) - 48;
  return value;
}
