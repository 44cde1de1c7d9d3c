/**
 * Governed mapping rule sets (docs/mapping.md): the shapes shared by the rule-file parser, the
 * compiler, the proposal checks (references, overlaps and gaps), the engine that turns a report into
 * a journal, and the governance workflow.
 *
 * A rule set belongs to a scope: one legal entity, or GROUP (the group-wide default that an
 * entity's own rules override). It holds settings (credit accounts per payment type, the rounding
 * account) and a decision table. Each row of the table matches a coding item, one allocation of one
 * expense line, on its match columns, and says how that item is coded. Within one scope no item may
 * match two rows (overlap); across the entity's and the group's rows together, every item of a valid
 * report must match one (gap). An item matched by the entity's rows never looks at the group's.
 */
import type { JournalEntry } from '../domain/journal.ts';
import type { PaymentType } from '../domain/report.ts';
import type { ErrorCode } from '../errors.ts';

export const GROUP_SCOPE = 'GROUP';

/** Where something is in a rule file: 1-based line and column. */
export interface SourcePos {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** One reason a rule file is refused, with where it is. `code` is a MAP_RULE_* detail code. */
export interface RuleProblem extends SourcePos {
  readonly code: RuleProblemCode;
  readonly message: string;
}

export const RULE_PROBLEM_CODES = [
  /** The file is not valid YAML or CSV. */
  'syntax',
  /** A field or column that the format does not know, or a required one missing, or a bad value. */
  'field',
  /** A JSONata expression that does not compile. */
  'expression',
  /** Two rows with one id. */
  'duplicate_id',
  /** An account that does not exist in the entity, or exists but is not postable. */
  'account',
  /** A literal cost center or project that does not exist in the entity, or is inactive. */
  'dimension',
  /** A setting (credit account, rounding account) missing in the entity's and the group's sets. */
  'setting',
  /** Two rows of one scope match the same item. */
  'overlap',
  /** An item of a valid report that no row matches. */
  'gap',
] as const;
export type RuleProblemCode = (typeof RULE_PROBLEM_CODES)[number];

/**
 * The columns a row matches on. `costCenter` and `project` are the allocation's; `taxCode` is the
 * line's (absent when the line has no tax); `personal` is "true" or "false". A custom field column is
 * `cf.<name>`: the line's custom field of that name, else the report's.
 */
export const MATCH_COLUMNS = ['category', 'paymentType', 'costCenter', 'project', 'taxCode', 'personal'] as const;
export type FixedMatchColumn = (typeof MATCH_COLUMNS)[number];
export type MatchColumn = FixedMatchColumn | `cf.${string}`;


/**
 * A compiled match condition. Source syntax: empty or `*` = any value (also absent); `a|b|c` = one
 * of; `-` = absent (in a list too: `-|DE19`); a glob with `*` and `?` (finite columns only).
 */
export interface Condition {
  /** The text as written, for messages and diffs. */
  readonly source: string;
  readonly any: boolean;
  /** Matches when the value is absent. */
  readonly absent: boolean;
  readonly values: ReadonlySet<string>;
  readonly globs: readonly RegExp[];
}

export interface CompiledExpression {
  readonly source: string;
  readonly at: SourcePos;
  /** Evaluates against an ExpressionInput; rejects with the JSONata error (or a time/depth limit). */
  evaluate(input: ExpressionInput): Promise<unknown>;
}

/**
 * How an output dimension gets its value: from the allocation (the default), none at all, a
 * literal, or an expression (`=` prefix in the file) that yields a code or null for none.
 */
export type ValueSource =
  | { readonly kind: 'allocation' }
  | { readonly kind: 'none' }
  | { readonly kind: 'literal'; readonly value: string; readonly at: SourcePos }
  | { readonly kind: 'expression'; readonly expression: CompiledExpression };

/** Tax handling: `reclaim` = the tax code's reclaimable share from master data; `none`; or a fixed share. */
export type TaxHandling = { readonly kind: 'none' } | { readonly kind: 'reclaim' } | { readonly kind: 'share'; readonly bp: number };

export interface Rule {
  readonly id: string;
  /** The row (YAML: the rule's first line; CSV: the record's line). */
  readonly at: SourcePos;
  readonly when: ReadonlyMap<MatchColumn, Condition>;
  /** The debit account of the item's expense part. Always a literal, so proposals can check it. */
  readonly account: string;
  readonly accountAt: SourcePos;
  readonly costCenter: ValueSource;
  readonly project: ValueSource;
  /** Put the report's employee on the line (receivables for personal items). */
  readonly employee: boolean;
  readonly tax: TaxHandling;
  /** Where the reclaimed tax goes; required unless tax is none. */
  readonly taxAccount?: string;
  readonly taxAccountAt?: SourcePos;
  /** The taxable part of the expense in minor units (per-diem split); must be 0 ≤ part ≤ expense. */
  readonly taxable?: CompiledExpression;
  readonly taxableAccount?: string;
  readonly taxableAccountAt?: SourcePos;
  /** The line memo; default `<reportId> r<revision> <category>[ <merchant>]`. */
  readonly memo?: { readonly kind: 'literal'; readonly value: string } | { readonly kind: 'expression'; readonly expression: CompiledExpression };
}

export interface RuleSetSettings {
  /** Credit account per payment type. */
  readonly credit: Partial<Record<PaymentType, string>>;
  /** Takes unavoidable rounding differences against the report total, never silently. */
  readonly roundingAccount?: string;
  /** Where each setting is in the file, by name (`credit.out_of_pocket`, `roundingAccount`). */
  readonly at: Readonly<Record<string, SourcePos>>;
}

export interface CompiledRuleSet {
  readonly scope: string;
  readonly file: string;
  readonly description?: string;
  readonly settings: RuleSetSettings;
  readonly rules: readonly Rule[];
  /** Where the decision table starts (YAML: the `rules:` key; CSV: the header): where a gap is reported. */
  readonly rulesAt: SourcePos;
  /** The match columns used by any row, in first-use order. */
  readonly columns: readonly MatchColumn[];
  /** The serializable form (stored, diffed, exported). */
  readonly document: RuleSetDocument;
}

/** The rule set as data: what `finsync mapping diff` compares and `export` writes. */
export interface RuleSetDocument {
  readonly scope: string;
  readonly description?: string;
  readonly settings: {
    readonly credit: Partial<Record<PaymentType, string>>;
    readonly roundingAccount?: string;
  };
  /** Each row: its id, its conditions and outputs as written (empty cells left out). */
  readonly rules: readonly { readonly id: string; readonly when: Readonly<Record<string, string>>; readonly then: Readonly<Record<string, string>> }[];
}

/**
 * The output fields of a row, as named in YAML `then:` and in RuleSetDocument. In CSV they are
 * columns of the same names, except `costCenter` and `project`, which are `out.costCenter` and
 * `out.project` there (the plain names are the match columns).
 */
export const OUTPUT_FIELDS = ['account', 'costCenter', 'project', 'employee', 'tax', 'taxAccount', 'taxable', 'taxableAccount', 'memo'] as const;
export type OutputField = (typeof OUTPUT_FIELDS)[number];

/**
 * What an expression sees. Amounts are integers in minor units of the report currency; there are
 * no fractional amounts anywhere.
 */
export interface ExpressionInput {
  readonly report: {
    readonly reportId: string;
    readonly revision: number;
    readonly entity: string;
    readonly employeeId: string;
    readonly currency: string;
    readonly title?: string;
    readonly approvedAt: string;
    readonly postingDate: string;
    readonly customFields: Readonly<Record<string, string>>;
  };
  readonly line: {
    readonly lineId: string;
    readonly date: string;
    readonly category: string;
    readonly merchant?: string;
    readonly description?: string;
    readonly paymentType: PaymentType;
    readonly personal: boolean;
    readonly taxCode?: string;
    readonly currency: string;
    /** The line amount in minor units of its own currency. */
    readonly amountMinor: number;
    readonly customFields: Readonly<Record<string, string>>;
  };
  readonly allocation: { readonly costCenter: string; readonly project?: string };
  /** This item's gross amount (its share of the line) in the report currency. */
  readonly grossMinor: number;
  /** This item's expense after reclaimed tax: what `taxable` splits. */
  readonly expenseMinor: number;
  /** Per-diem days of the line, or 0. */
  readonly days: number;
}

/** The tax facts the engine needs on a line's date. */
export type TaxLookup = (code: string, date: string) => { readonly rateBp: number; readonly reclaimBp: number } | undefined;

/** A rule-set scope: an entity code or GROUP, as ROLE_PATTERN spells the scope of `controller:<scope>`. */
export const SCOPE_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$';
/** A version reference, `DE01@3`. */
export const VERSION_REF_PATTERN = '^([A-Za-z0-9][A-Za-z0-9_.-]{0,39})@([1-9][0-9]{0,8})$';
/** `DE01@3` → { scope, version }, or undefined when it is not a version reference. */
export function parseVersionRef(ref: string): { scope: string; version: number } | undefined {
  const match = new RegExp(VERSION_REF_PATTERN).exec(ref);
  return match ? { scope: match[1], version: Number(match[2]) } : undefined;
}

/** A version of a scope, e.g. DE01@3. */
export function versionRef(scope: string, version: number): string {
  return `${scope}@${version}`;
}

/** A compiled version of a scope, with its reference (`DE01@3`). */
export interface RuleLayer {
  readonly ref: string;
  readonly set: CompiledRuleSet;
}

/** The rule sets in force for one report: the entity's own and the group's, either may be absent. */
export interface ResolvedRules {
  readonly own?: RuleLayer;
  readonly group?: RuleLayer;
}

/** What a posting records as its mapping version: `DE01@3+GROUP@2`, `GROUP@2`, or `none`. */
export function resolvedRef(rules: ResolvedRules): string {
  const refs = [rules.own?.ref, rules.group?.ref].filter((r): r is string => r !== undefined);
  return refs.length > 0 ? refs.join('+') : 'none';
}

export type RuleMapResult =
  | { readonly ok: true; readonly journal: JournalEntry; readonly mappingVersion: string }
  | { readonly ok: false; readonly code: ErrorCode; readonly params: Record<string, string | number>; readonly mappingVersion: string };

/** Quarantine codes that a mapping (not the report or master data) is to blame for: counted per version. */
export const MAPPING_DEFECT_CODES: readonly ErrorCode[] = ['MAP_NO_RULE_SET', 'MAP_NO_RULE', 'MAP_EXPRESSION_FAILED', 'MAP_EXPRESSION_RESULT', 'MD_GL_ACCOUNT_UNKNOWN', 'MD_GL_ACCOUNT_BLOCKED', 'JOURNAL_UNBALANCED'];

/** Whether a condition matches a value (undefined = absent). On the hot path: a Set look-up, then globs. */
export function conditionMatches(condition: Condition, value: string | undefined): boolean {
  if (condition.any) return true;
  if (value === undefined) return condition.absent;
  if (condition.values.has(value)) return true;
  for (const glob of condition.globs) if (glob.test(value)) return true;
  return false;
}

/** A rule file as text, with the scope it is for: what a proposal or a bootstrap receives. */
export interface RuleFileSource {
  readonly scope: string;
  readonly file: string;
  readonly format: 'yaml' | 'csv';
  readonly text: string;
}
