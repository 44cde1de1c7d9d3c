/**
 * Matching for the mapping engine (engine.ts): which row of the rule sets in force codes an item,
 * through a per-rule-set index by exact category; the item values the rows' conditions test; the
 * credit and rounding settings; and every account a report's journal could post to.
 */
import type { Allocation, ExpenseLine, ExpenseReport, PaymentType } from '../domain/report.ts';
import { conditionMatches, type CompiledRuleSet, type Condition, type ResolvedRules, type Rule, type RuleLayer } from './rule-set.ts';

const CATEGORY = 0;
const PAYMENT_TYPE = 1;
const COST_CENTER = 2;
const PROJECT = 3;
const TAX_CODE = 4;
const PERSONAL = 5;
export const CUSTOM_FIELD = 6;
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

export function itemValue(field: number, name: string, report: ExpenseReport, line: ExpenseLine, allocation: Allocation): string | undefined {
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

export interface Setting {
  readonly account: string;
  /** `<layer ref>#settings.<name>`: the journal line's rule. */
  readonly rule: string;
}

export function creditSetting(rules: ResolvedRules, paymentType: PaymentType): Setting | undefined {
  const own = rules.own?.set.settings.credit[paymentType];
  if (rules.own && own !== undefined) return { account: own, rule: `${rules.own.ref}#settings.credit.${paymentType}` };
  const group = rules.group?.set.settings.credit[paymentType];
  if (rules.group && group !== undefined) return { account: group, rule: `${rules.group.ref}#settings.credit.${paymentType}` };
  return undefined;
}

export function roundingSetting(rules: ResolvedRules): Setting | undefined {
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

export function creditAccountOf(rules: ResolvedRules, paymentType: PaymentType): string | undefined {
  return rules.own?.set.settings.credit[paymentType] ?? rules.group?.set.settings.credit[paymentType];
}
