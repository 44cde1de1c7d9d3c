/**
 * Value classes for the coverage check (coverage.ts): each column's domain, split into classes of
 * values that the rows cannot tell apart, with the rows each class matches as a bitset; and the
 * bitset operations over rows that the search uses.
 */
import { PAYMENT_TYPES } from '../domain/report.ts';
import { MATCH_COLUMNS, type Condition, type MatchColumn, type Rule } from './rule-set.ts';

/**
 * The values master data holds for the entity, per column (see ReferenceData.keys). paymentType and
 * personal have fixed domains; project and taxCode may also be absent; a custom field column takes
 * every value a row names, absent, and any other value (OTHER_VALUE). Values that a row names
 * literally are added to every column's domain, so rows naming a code master data lacks are still
 * checked against each other.
 */
export interface CoverageDomains {
  readonly category: readonly string[];
  readonly costCenter: readonly string[];
  readonly project: readonly string[];
  readonly taxCode: readonly string[];
}

/** A custom field's value that no row names: it stands for every such value. */
export const OTHER_VALUE: unique symbol = Symbol('other');
/** One value of a column: a code, `undefined` for absent, or OTHER_VALUE. */
export type DomainValue = string | undefined | typeof OTHER_VALUE;

/** The fixed columns, then the custom field columns any row uses, in first-use order. */
export function columnsOf(rows: readonly Rule[]): MatchColumn[] {
  const custom = new Set<MatchColumn>();
  for (const row of rows) for (const column of row.when.keys()) if (column.startsWith('cf.')) custom.add(column);
  return [...MATCH_COLUMNS, ...custom];
}

/** A column's domain: codes sorted (the glob prefix search relies on it), then absent, then other. */
export function domainOf(column: MatchColumn, rows: readonly Rule[], domains: CoverageDomains): DomainValue[] {
  if (column === 'paymentType') return [...PAYMENT_TYPES].sort();
  if (column === 'personal') return ['false', 'true'];
  const codes = new Set<string>(column.startsWith('cf.') ? [] : domains[column as keyof CoverageDomains]);
  for (const row of rows) for (const value of row.when.get(column)?.values ?? []) codes.add(value);
  const values: DomainValue[] = [...codes].sort();
  if (column === 'project' || column === 'taxCode' || column.startsWith('cf.')) values.push(undefined);
  if (column.startsWith('cf.')) values.push(OTHER_VALUE);
  return values;
}

export interface ValueClass {
  /** Indices into the column's domain, ascending. */
  readonly indices: number[];
  /** The rows (checked, then other) that match every value of the class on this column. */
  readonly rows: Uint32Array;
}

export interface Partition {
  readonly column: MatchColumn;
  readonly domain: readonly DomainValue[];
  readonly classes: readonly ValueClass[];
}

/** Splits a column's domain into classes of values that match exactly the same rows. */
export function partitionColumn(column: MatchColumn, domain: readonly DomainValue[], rows: readonly Rule[], words: number): Partition {
  const ids = new Map<string, number>();
  const conditions: Condition[] = [];
  const rowsOf: Uint32Array[] = [];
  const unconstrained = new Uint32Array(words);
  rows.forEach((row, r) => {
    const condition = row.when.get(column);
    if (!condition || condition.any) {
      setBit(unconstrained, r);
      return;
    }
    const key = conditionKey(condition);
    let id = ids.get(key);
    if (id === undefined) {
      ids.set(key, (id = conditions.length));
      conditions.push(condition);
      rowsOf.push(new Uint32Array(words));
    }
    setBit(rowsOf[id], r);
  });
  // matched[i]: the ids of the conditions value i matches, ascending (conditions are visited in id order).
  const matched: number[][] = domain.map(() => []);
  const codeCount = domain.filter((v) => typeof v === 'string').length;
  conditions.forEach((condition, id) =>
    forEachMatch(condition, domain, codeCount, (i) => {
      if (matched[i].at(-1) !== id) matched[i].push(id);
    }),
  );
  const byKey = new Map<string, ValueClass>();
  matched.forEach((ids, i) => {
    const key = ids.join(',');
    let found = byKey.get(key);
    if (!found) {
      const mask = unconstrained.slice();
      for (const id of ids) orInto(mask, rowsOf[id]);
      byKey.set(key, (found = { indices: [], rows: mask }));
    }
    found.indices.push(i);
  });
  return { column, domain, classes: [...byKey.values()] };
}

/** Two conditions with one key match the same values. */
function conditionKey(condition: Condition): string {
  return `${condition.absent ? '-' : ''}\u0000${[...condition.values].sort().join('\u0001')}\u0000${condition.globs.map((g) => `${g.source}/${g.flags}`).join('\u0001')}`;
}

/** Calls `found` with the index of each domain value the condition matches (some maybe twice); codes are domain[0, codeCount). */
function forEachMatch(condition: Condition, domain: readonly DomainValue[], codeCount: number, found: (index: number) => void): void {
  for (const value of condition.values) {
    const i = lowerBound(domain, codeCount, value);
    if (i < codeCount && domain[i] === value) found(i);
  }
  if (condition.absent) {
    const i = domain.indexOf(undefined);
    if (i !== -1) found(i);
  }
  for (const glob of condition.globs) {
    // Only codes that start with the glob's literal prefix can match; the domain is sorted.
    const prefix = literalPrefix(glob);
    for (let i = lowerBound(domain, codeCount, prefix); i < codeCount && (domain[i] as string).startsWith(prefix); i++) {
      glob.lastIndex = 0;
      if (glob.test(domain[i] as string)) found(i);
    }
  }
}

/** The first index in the sorted codes domain[0, count) not below `value`. */
function lowerBound(domain: readonly DomainValue[], count: number, value: string): number {
  let low = 0;
  let high = count;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((domain[mid] as string) < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * The text every match of an anchored pattern starts with (`^DE41.*$` → `DE41`), or '' when that
 * cannot be told safely from the source (alternation, flags, an optional last character).
 */
function literalPrefix(glob: RegExp): string {
  const source = glob.source;
  if (!source.startsWith('^') || source.includes('|') || /[imsuy]/.test(glob.flags)) return '';
  let end = 1;
  while (end < source.length && /[A-Za-z0-9_\- ]/.test(source[end])) end++;
  const prefix = source.slice(1, end);
  return end < source.length && '?*+{'.includes(source[end]) ? prefix.slice(0, -1) : prefix;
}

// Bitsets over rows: Uint32Array words, row r at bit r % 32 of word r / 32.

export function allRows(count: number, words: number): Uint32Array {
  const mask = new Uint32Array(words);
  for (let r = 0; r < count; r++) setBit(mask, r);
  return mask;
}

export function setBit(mask: Uint32Array, r: number): void {
  mask[r >>> 5] |= 1 << (r & 31);
}

export function hasBit(mask: Uint32Array, r: number): boolean {
  return (mask[r >>> 5] & (1 << (r & 31))) !== 0;
}

export function andInto(out: Uint32Array, a: Uint32Array, b: Uint32Array): void {
  for (let w = 0; w < out.length; w++) out[w] = a[w] & b[w];
}

export function orInto(out: Uint32Array, a: Uint32Array): void {
  for (let w = 0; w < out.length; w++) out[w] |= a[w];
}

export function isEmpty(mask: Uint32Array): boolean {
  for (let w = 0; w < mask.length; w++) if (mask[w] !== 0) return false;
  return true;
}

export function intersects(a: Uint32Array, b: Uint32Array): boolean {
  for (let w = 0; w < a.length; w++) if ((a[w] & b[w]) !== 0) return true;
  return false;
}

export function membersOf(mask: Uint32Array, within: Uint32Array): number[] {
  const members: number[] = [];
  for (let w = 0; w < mask.length; w++) for (let bits = mask[w] & within[w]; bits !== 0; bits &= bits - 1) members.push(w * 32 + (31 - Math.clz32(bits & -bits)));
  return members;
}
