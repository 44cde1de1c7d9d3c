/**
 * What changed between two versions of a rule set, for reviewers (`finsync mapping diff`, the
 * approval screen). Rows are matched by id, not by position: within a scope no two rows may match
 * the same item, so their order carries no meaning. Values are compared as written.
 */
import { PAYMENT_TYPES } from '../domain/report.ts';
import { MATCH_COLUMNS, OUTPUT_FIELDS, type RuleSetDocument } from './rule-set.ts';

export type RuleRow = RuleSetDocument['rules'][number];

/** One value that differs; `from` is absent when it was not set, `to` when it no longer is. */
export interface ValueChange {
  readonly from?: string;
  readonly to?: string;
}

export interface SettingChange extends ValueChange {
  /** `credit.out_of_pocket`, `roundingAccount`. */
  readonly name: string;
}

export interface FieldChange extends ValueChange {
  /** `when.category`, `then.account`. */
  readonly field: string;
}

export interface RuleSetDiff {
  readonly description?: ValueChange;
  readonly settings: readonly SettingChange[];
  /** Rows of b whose id a lacks, in b's order. */
  readonly added: readonly RuleRow[];
  /** Rows of a whose id b lacks, in a's order. */
  readonly removed: readonly RuleRow[];
  /** Rows in both that differ, in b's order, fields in column order. */
  readonly changed: readonly { readonly id: string; readonly fields: readonly FieldChange[] }[];
  readonly unchanged: number;
}

export function diffRuleSets(a: RuleSetDocument, b: RuleSetDocument): RuleSetDiff {
  const before = new Map(a.rules.map((row) => [row.id, row] as const));
  const after = new Set(b.rules.map((row) => row.id));
  const added: RuleRow[] = [];
  const changed: { id: string; fields: FieldChange[] }[] = [];
  let unchanged = 0;
  for (const row of b.rules) {
    const old = before.get(row.id);
    if (!old) {
      added.push(row);
      continue;
    }
    const fields = [...changes('when.', old.when, row.when, whenOrder), ...changes('then.', old.then, row.then, thenOrder)];
    if (fields.length > 0) changed.push({ id: row.id, fields });
    else unchanged++;
  }
  const description = a.description === b.description ? undefined : valueChange(a.description, b.description);
  return {
    ...(description && { description }),
    settings: settingChanges(a.settings, b.settings),
    added,
    removed: a.rules.filter((row) => !after.has(row.id)),
    changed,
    unchanged,
  };
}

export function isEmptyDiff(diff: RuleSetDiff): boolean {
  return !diff.description && diff.settings.length === 0 && diff.added.length === 0 && diff.removed.length === 0 && diff.changed.length === 0;
}

function valueChange(from: string | undefined, to: string | undefined): ValueChange {
  return { ...(from !== undefined && { from }), ...(to !== undefined && { to }) };
}

function settingChanges(a: RuleSetDocument['settings'], b: RuleSetDocument['settings']): SettingChange[] {
  const flat = (s: RuleSetDocument['settings']): Record<string, string | undefined> => ({
    ...Object.fromEntries(Object.entries(s.credit).map(([type, account]) => [`credit.${type}`, account])),
    roundingAccount: s.roundingAccount,
  });
  const order = (keys: string[]) => sortBy(keys, [...PAYMENT_TYPES.map((t) => `credit.${t}`), 'roundingAccount']);
  return changes('', flat(a), flat(b), order).map(({ field, ...change }) => ({ name: field, ...change }));
}

function changes(prefix: string, a: Readonly<Record<string, string | undefined>>, b: Readonly<Record<string, string | undefined>>, order: (keys: string[]) => string[]): FieldChange[] {
  const keys = order([...new Set([...Object.keys(a), ...Object.keys(b)])]);
  const out: FieldChange[] = [];
  for (const key of keys) if (a[key] !== b[key]) out.push({ field: `${prefix}${key}`, ...valueChange(a[key], b[key]) });
  return out;
}

/** Known names in their canonical order, then any others alphabetically (cf. columns). */
function sortBy(keys: string[], known: readonly string[]): string[] {
  const rank = (k: string) => {
    const i = known.indexOf(k);
    return i < 0 ? known.length : i;
  };
  return keys.sort((x, y) => rank(x) - rank(y) || (x < y ? -1 : x > y ? 1 : 0));
}

const whenOrder = (keys: string[]) => sortBy(keys, MATCH_COLUMNS);
const thenOrder = (keys: string[]) => sortBy(keys, OUTPUT_FIELDS);

/**
 * The diff as text lines: a title, `~` changed values (description, settings, rows), `+` added and
 * `-` removed rows with their conditions and outputs, and a count line. A value with blank space,
 * quotes or line breaks is shown in JSON quotes so every entry stays on one line; an unset value is
 * shown as (none).
 */
export function renderDiff(diff: RuleSetDiff, aRef: string, bRef: string): string {
  const lines = [`${aRef} → ${bRef}`];
  if (diff.description) lines.push(`~ description: ${shown(diff.description.from)} → ${shown(diff.description.to)}`);
  for (const s of diff.settings) lines.push(`~ settings  ${s.name}: ${shown(s.from)} → ${shown(s.to)}`);
  for (const row of diff.changed) for (const f of row.fields) lines.push(`~ ${row.id}  ${f.field}: ${shown(f.from)} → ${shown(f.to)}`);
  for (const row of diff.added) lines.push(`+ ${describeRow(row)}`);
  for (const row of diff.removed) lines.push(`- ${describeRow(row)}`);
  const counts = [`${diff.added.length} added`, `${diff.removed.length} removed`, `${diff.changed.length} changed`, `${diff.unchanged} unchanged`];
  const extra = [
    ...(diff.settings.length > 0 ? [`${diff.settings.length} setting${diff.settings.length === 1 ? '' : 's'} changed`] : []),
    ...(diff.description ? ['description changed'] : []),
  ];
  lines.push(`rules: ${counts.join(', ')}${extra.length > 0 ? `; ${extra.join('; ')}` : ''}`);
  return `${lines.join('\n')}\n`;
}

function describeRow(row: RuleRow): string {
  const pairs = (record: Readonly<Record<string, string>>, order: (keys: string[]) => string[]) =>
    order(Object.keys(record))
      .map((k) => `${k}=${shown(record[k])}`)
      .join(' ');
  const when = Object.keys(row.when).length > 0 ? pairs(row.when, whenOrder) : '(any)';
  return `${row.id}  when: ${when}  then: ${pairs(row.then, thenOrder)}`;
}

function shown(value: string | undefined): string {
  if (value === undefined) return '(none)';
  return /^[^\s"\\(][^\s"\\]*$/.test(value) ? value : JSON.stringify(value);
}
