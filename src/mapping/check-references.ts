/**
 * The master-data half of a rule-set proposal check: every account a set posts to is a postable GL
 * account of the entity, every literal cost center or project it writes is open, every code its
 * conditions name is held in master data (closed or not), and the settings (a credit account per payment
 * type, the rounding account) resolve, from the set itself or from the GROUP set behind it.
 *
 * A GROUP set is checked once per entity (by the caller): its accounts and output dimensions must
 * exist in each entity, since any entity's items may land on its rows. A code in a GROUP row's
 * condition only needs to exist in some entity: the row simply never matches in the others. Such
 * messages do not name the entity, so the caller's per-entity runs collapse into one problem.
 */
import { PAYMENT_TYPES } from '../domain/report.ts';
import type { ReferenceData } from '../masterdata/md-index.ts';
import type { Kind } from '../masterdata/records.ts';
import { GROUP_SCOPE, type CompiledRuleSet, type FixedMatchColumn, type Rule, type RuleProblem, type RuleProblemCode, type SourcePos, type ValueSource } from './rule-set.ts';

export interface ReferenceCheckInput {
  readonly set: CompiledRuleSet;
  /** The entity whose master data the set is checked against (for a GROUP set: each entity in turn). */
  readonly entity: string;
  readonly reference: ReferenceData;
  /** The day the set would take effect: records are checked as they are on it. */
  readonly date: string;
  /** The GROUP set in force behind an entity's set, for settings the entity's set leaves out. */
  readonly group?: CompiledRuleSet;
}

/** The condition columns that name master-data records, and the kind of record each names. */
const CONDITION_KINDS: readonly (readonly [FixedMatchColumn, Kind, string])[] = [
  ['category', 'category', 'category'],
  ['costCenter', 'cost_center', 'cost center'],
  ['project', 'project', 'project'],
  ['taxCode', 'tax_code', 'tax code'],
];

/** Every account, dimension and setting problem of `set` in `entity` on `date`, in file order per kind. */
export function checkReferences(input: ReferenceCheckInput): RuleProblem[] {
  return [...checkAccounts(input), ...checkDimensions(input), ...checkSettings(input)];
}

/** Each account the set names, where it names it: the rows' outputs, then the settings. */
function checkAccounts(input: ReferenceCheckInput): RuleProblem[] {
  const { set } = input;
  const places: { what: string; account: string; at: SourcePos }[] = [];
  for (const rule of set.rules) {
    places.push({ what: `row ${rule.id}`, account: rule.account, at: rule.accountAt });
    if (rule.taxAccount !== undefined) places.push({ what: `row ${rule.id}, taxAccount`, account: rule.taxAccount, at: rule.taxAccountAt ?? rule.at });
    if (rule.taxableAccount !== undefined) places.push({ what: `row ${rule.id}, taxableAccount`, account: rule.taxableAccount, at: rule.taxableAccountAt ?? rule.at });
  }
  for (const paymentType of PAYMENT_TYPES) {
    const account = set.settings.credit[paymentType];
    const name = `credit.${paymentType}`;
    if (account !== undefined) places.push({ what: `setting ${name}`, account, at: set.settings.at[name] ?? set.rulesAt });
  }
  if (set.settings.roundingAccount !== undefined) places.push({ what: 'setting roundingAccount', account: set.settings.roundingAccount, at: set.settings.at.roundingAccount ?? set.rulesAt });
  const problems: RuleProblem[] = [];
  for (const place of places) {
    const state = recordState(input, 'gl_account', place.account);
    if (state === 'ok') continue;
    const fix = state === 'unknown' ? 'use an account of its chart of accounts' : 'choose a postable account, or have it unblocked in the ERP first';
    problems.push(problemAt(place.at, 'account', `${place.what}: account ${place.account} ${describeState(state)} in entity ${input.entity} on ${input.date}: ${fix}`));
  }
  return problems;
}

/** Literal output dimensions must be open in the entity; codes in conditions must be held at all. */
function checkDimensions(input: ReferenceCheckInput): RuleProblem[] {
  const problems: RuleProblem[] = [];
  for (const rule of input.set.rules) {
    for (const [field, source, kind] of [['costCenter', rule.costCenter, 'cost_center'], ['project', rule.project, 'project']] as const) {
      const problem = checkOutput(input, rule, field, source, kind);
      if (problem) problems.push(problem);
    }
    problems.push(...checkConditions(input, rule));
  }
  return problems;
}

function checkOutput(input: ReferenceCheckInput, rule: Rule, field: string, source: ValueSource, kind: Kind): RuleProblem | undefined {
  if (source.kind !== 'literal') return undefined;
  const state = recordState(input, kind, source.value);
  if (state === 'ok') return undefined;
  const message = `row ${rule.id}: ${field} ${source.value} ${describeState(state)} in entity ${input.entity} on ${input.date}, so no journal could post to it: correct the code, or leave ${field} to the allocation`;
  return problemAt(source.at, 'dimension', message);
}

/**
 * Codes a row's conditions name that master data does not hold at all: no valid report can carry
 * them, so the row never matches them; almost always a typo. A code held but closed on the date
 * is accepted: a report submitted late may still carry it (a VAT rate of the past, a cost center
 * closed last month).
 */
function checkConditions(input: ReferenceCheckInput, rule: Rule): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const isGroup = input.set.scope === GROUP_SCOPE;
  const isHeld = (entity: string, kind: Kind, code: string) => input.reference.lookup(kind, entity, code, input.date).found;
  for (const [column, kind, label] of CONDITION_KINDS) {
    for (const code of rule.when.get(column)?.values ?? []) {
      if (isGroup ? input.reference.entities().some((e) => isHeld(e.code, kind, code)) : isHeld(input.entity, kind, code)) continue;
      const where = isGroup ? 'of any entity' : `of entity ${input.entity}`;
      const message = `row ${rule.id}: ${column} ${code} in the row's condition is not a ${label} ${where}, so no valid report can have it and the row can never match it: correct the code or remove it from the condition`;
      problems.push(problemAt(rule.at, 'dimension', message));
    }
  }
  return problems;
}

/** Each setting must resolve from the set, or for an entity's set from the GROUP set behind it. */
function checkSettings(input: ReferenceCheckInput): RuleProblem[] {
  const { set } = input;
  const fallback = set.scope === GROUP_SCOPE ? undefined : input.group;
  const where =
    set.scope === GROUP_SCOPE ? 'in the settings of this file: the GROUP rule set is every entity\'s default, so it must name every setting itself' : 'in the settings of this file or of the GROUP rule set';
  const missing: { name: string; what: string }[] = [];
  for (const paymentType of PAYMENT_TYPES) {
    if (set.settings.credit[paymentType] === undefined && fallback?.settings.credit[paymentType] === undefined) {
      missing.push({ name: `credit.${paymentType}`, what: `no credit account for payment type ${paymentType}` });
    }
  }
  if (set.settings.roundingAccount === undefined && fallback?.settings.roundingAccount === undefined) missing.push({ name: 'roundingAccount', what: 'no rounding account' });
  return missing.map(({ name, what }) => problemAt(set.rulesAt, 'setting', `${what}: set ${name} ${where}`));
}

type RecordState = 'ok' | 'unknown' | 'blocked' | 'closed';

/** Whether a record is usable on the date, and if not, why (a GL account found but not postable is blocked). */
function recordState(input: Pick<ReferenceCheckInput, 'reference' | 'entity' | 'date'>, kind: Kind, key: string): RecordState {
  const found = input.reference.lookup(kind, input.entity, key, input.date);
  if (!found.found) return 'unknown';
  if (found.active) return 'ok';
  const { record } = found;
  const onDate = record.validFrom <= input.date && input.date <= record.validTo && record.active;
  return kind === 'gl_account' && onDate && record.attributes.postable !== true ? 'blocked' : 'closed';
}

function describeState(state: Exclude<RecordState, 'ok'>): string {
  switch (state) {
    case 'unknown':
      return 'does not exist';
    case 'blocked':
      return 'is blocked for posting (not postable)';
    case 'closed':
      return 'is closed (or not yet open)';
  }
}

function problemAt(at: SourcePos, code: RuleProblemCode, message: string): RuleProblem {
  return { file: at.file, line: at.line, column: at.column, code, message };
}
