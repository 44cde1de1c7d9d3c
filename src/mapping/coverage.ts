/**
 * Overlaps and gaps of a decision table (rule-set.ts): within one scope no coding item may match
 * two rows, and every item of a valid report must match a row of the entity's or the group's set.
 *
 * Items are not enumerated (10,000 cost centers times everything else is too many). Per column,
 * the domain is split into classes of values that the rows cannot tell apart (each value of a class
 * matches exactly the same rows), and a depth-first search picks one class per column, narrowing
 * the rows that still match. It stops descending where nothing new can be found below: no rows
 * left (a gap, whatever the remaining columns), or a row that matches everything below and no pair
 * of the checked rows not yet reported. Gaps found that way are merged into as few item sets as an
 * exact merge allows, so a category nobody codes is one gap, with `*` everywhere else.
 */
import type { CompiledRuleSet, MatchColumn, Rule, RuleProblem, RuleProblemCode, SourcePos } from './rule-set.ts';
import {
  allRows,
  andInto,
  columnsOf,
  domainOf,
  hasBit,
  intersects,
  isEmpty,
  membersOf,
  orInto,
  OTHER_VALUE,
  partitionColumn,
  setBit,
  type CoverageDomains,
  type DomainValue,
  type Partition,
} from './coverage-classes.ts';

export { OTHER_VALUE, type CoverageDomains, type DomainValue } from './coverage-classes.ts';

/** The values one column takes in a set of items; `all` when they are the column's whole domain. */
export interface ColumnValues {
  readonly column: MatchColumn;
  readonly values: readonly DomainValue[];
  readonly all: boolean;
}

/** A set of items: every combination of the values of its columns (one entry per match column). */
export type ItemSet = readonly ColumnValues[];

export interface CoverageAnalysis {
  /** Each pair of checked rows that match a common item, once, with the first items found; `first` comes first in the file. */
  readonly overlaps: readonly { readonly first: Rule; readonly second: Rule; readonly items: ItemSet }[];
  /** Items no row of either layer matches, as disjoint item sets. */
  readonly gaps: readonly ItemSet[];
  /** More gaps (or overlaps) were found than are kept (GAPS_KEPT, OVERLAPS_KEPT); they were counted, not listed. */
  readonly gapsOmitted: number;
  /** False when the work limit stopped the search: what was found is real, but there may be more. */
  readonly complete: boolean;
}

export interface CoverageInput {
  readonly entity: string;
  readonly own?: CompiledRuleSet;
  readonly group?: CompiledRuleSet;
  readonly domains: CoverageDomains;
  /** Whose problems to report: overlaps among that set's rows, and gaps, at that set's file. */
  readonly report: 'own' | 'group';
  /** At most this many problems, then one saying how many more (default 20). */
  readonly maxProblems?: number;
  /** The search's bound (default COVERAGE_WORK_LIMIT); tests lower it. */
  readonly workLimit?: number;
}

/**
 * Bounds the search (in bitset words touched): a table that needs more is refused as too complex
 * rather than holding a proposal check for minutes. Realistic tables need a few percent of it.
 */
export const COVERAGE_WORK_LIMIT = 50_000_000;
const GAPS_KEPT = 20_000;
/** Overlapping pairs kept; past this the search stops (a table of thousands of identical rows must not take minutes and gigabytes to refuse). */
const OVERLAPS_KEPT = 1_000;

/**
 * The overlaps among the rows of the reported set, and the gaps of the entity's and the group's
 * rows together, as rule problems at the reported set's file. The caller checks a GROUP set once
 * per entity (its gaps depend on the entity's rows and master data); gap messages name the entity.
 */
export function checkCoverage(input: CoverageInput): RuleProblem[] {
  const checked = input.report === 'own' ? input.own : input.group;
  if (!checked) return [];
  const other = input.report === 'own' ? input.group : input.own;
  const analysis = analyzeCoverage(checked.rules, other?.rules ?? [], input.domains, input.workLimit);
  const problems: RuleProblem[] = [
    ...analysis.overlaps.map((o) => problemAt(o.second.at, 'overlap', overlapMessage(o.first, o.second, o.items))),
    ...analysis.gaps.map((g) => problemAt(checked.rulesAt, 'gap', gapMessage(input, g))),
  ];
  const max = Math.max(1, input.maxProblems ?? 20);
  const listed = problems.slice(0, max);
  const more = problems.length - listed.length + analysis.gapsOmitted;
  if (more > 0) {
    const code: RuleProblemCode = problems.slice(max).every((p) => p.code === 'overlap') && analysis.gapsOmitted === 0 ? 'overlap' : 'gap';
    const count = analysis.gapsOmitted > 0 ? 'very many' : String(more);
    listed.push(problemAt(checked.rulesAt, code, `… and ${count} more overlaps or gaps not listed: fix the ones above and check again to see the rest`));
  }
  if (!analysis.complete) {
    listed.push(
      problemAt(
        checked.rulesAt,
        'field',
        'the table is too complex to check for overlaps and gaps (the check stopped at its work limit): make rows whose globs or lists partly overlap on several columns narrower, or split the table by category',
      ),
    );
  }
  return listed;
}

/**
 * The structured result behind checkCoverage: overlaps among `checked` rows over every item, and
 * items that neither `checked` nor `other` rows match. Pure; exported for tests and tools.
 */
export function analyzeCoverage(checked: readonly Rule[], other: readonly Rule[], domains: CoverageDomains, workLimit = COVERAGE_WORK_LIMIT): CoverageAnalysis {
  const rows = [...checked, ...other];
  const words = Math.max(1, Math.ceil(rows.length / 32));
  const partitions = columnsOf(rows).map((column) => partitionColumn(column, domainOf(column, rows, domains), rows, words));
  if (partitions.some((p) => p.classes.length === 0)) return { overlaps: [], gaps: [], gapsOmitted: 0, complete: true };
  const start = allRows(rows.length, words);
  // A column whose values all match the same rows cannot split anything: apply it once, search the rest.
  for (const p of partitions) if (p.classes.length === 1) andInto(start, start, p.classes[0].rows);
  const branching = partitions.filter((p) => p.classes.length > 1).sort((a, b) => a.classes.length - b.classes.length);
  const search = createSearch(branching, checked.length, words, workLimit);
  visit(search, 0, start);
  const itemsOf = (cube: Cube) => itemSet(partitions, branching, cube);
  return {
    overlaps: [...search.overlaps].sort((a, b) => a.second - b.second || a.first - b.first).map((o) => ({ first: rows[o.first], second: rows[o.second], items: itemsOf(o.path) })),
    gaps: mergeGaps(search.gaps, branching).map(itemsOf),
    gapsOmitted: search.gapsOmitted,
    complete: !search.stopped || search.overlaps.length >= OVERLAPS_KEPT,
  };
}

/** Per branching column, by search level: the classes of a set of items; [] = every class. */
type Cube = readonly (readonly number[])[];

interface Search {
  readonly partitions: readonly Partition[];
  /** Per level: the rows that match every value of every branching column from that level on. */
  readonly coversRest: readonly Uint32Array[];
  /** The checked rows' bits; overlaps are looked for among these only. */
  readonly checkedMask: Uint32Array;
  /** Per checked row: the checked rows it has been reported with (and itself). */
  readonly reported: readonly Uint32Array[];
  /**
   * Per level, per checked row: the checked rows it shares a value with on every branching column
   * from that level on. Items are all combinations of column values, so two rows alive at a node
   * match a common item below it exactly when they are in each other's set here.
   */
  readonly meets: readonly (readonly Uint32Array[])[];
  readonly buffers: readonly Uint32Array[];
  readonly path: number[];
  readonly words: number;
  readonly workLimit: number;
  readonly overlaps: { first: number; second: number; path: Cube }[];
  readonly gaps: Cube[];
  gapsOmitted: number;
  work: number;
  stopped: boolean;
}

function createSearch(partitions: readonly Partition[], checkedCount: number, words: number, workLimit: number): Search {
  const checkedMask = allRows(checkedCount, words);
  const coversRest: Uint32Array[] = [];
  coversRest[partitions.length] = new Uint32Array(words).fill(0xffffffff);
  for (let level = partitions.length - 1; level >= 0; level--) {
    const covers = coversRest[level + 1].slice();
    for (const c of partitions[level].classes) andInto(covers, covers, c.rows);
    coversRest[level] = covers;
  }
  const reported = Array.from({ length: checkedCount }, (_, r) => {
    const mask = new Uint32Array(words);
    setBit(mask, r);
    return mask;
  });
  const meets: Uint32Array[][] = [];
  meets[partitions.length] = Array.from({ length: checkedCount }, () => new Uint32Array(words).fill(0xffffffff));
  for (let level = partitions.length - 1; level >= 0; level--) {
    const shared = Array.from({ length: checkedCount }, () => new Uint32Array(words));
    for (const c of partitions[level].classes) for (const r of membersOf(c.rows, checkedMask)) orInto(shared[r], c.rows);
    meets[level] = shared.map((mask, r) => {
      andInto(mask, mask, meets[level + 1][r]);
      return mask;
    });
  }
  return {
    partitions,
    coversRest,
    checkedMask,
    reported,
    meets,
    buffers: Array.from({ length: partitions.length + 1 }, () => new Uint32Array(words)),
    path: new Array<number>(partitions.length).fill(-1),
    words,
    workLimit,
    overlaps: [],
    gaps: [],
    gapsOmitted: 0,
    work: 0,
    stopped: false,
  };
}

/** Searches the items below the chosen classes path[0, level) that rows `rows` still match. */
function visit(search: Search, level: number, rows: Uint32Array): void {
  search.work += search.words;
  if (search.work > search.workLimit) search.stopped = true;
  if (search.stopped) return;
  if (isEmpty(rows)) {
    recordGap(search, level);
    return;
  }
  const gapPossible = !intersects(rows, search.coversRest[level]);
  if (!gapPossible && !hasNewPair(search, level, rows)) return;
  if (level === search.partitions.length) {
    recordPairs(search, rows);
    return;
  }
  const next = search.buffers[level + 1];
  const classes = search.partitions[level].classes;
  for (let k = 0; k < classes.length && !search.stopped; k++) {
    andInto(next, rows, classes[k].rows);
    search.path[level] = k;
    visit(search, level + 1, next);
  }
  search.path[level] = -1;
}

function recordGap(search: Search, level: number): void {
  if (search.gaps.length >= GAPS_KEPT) search.gapsOmitted++;
  else search.gaps.push(search.path.map((k, i) => (i < level ? [k] : [])));
}

/** Whether two of the checked rows among `rows` match a common item below `level` and were not reported together yet. */
function hasNewPair(search: Search, level: number, rows: Uint32Array): boolean {
  const { checkedMask, reported, words } = search;
  const meets = search.meets[level];
  for (let w = 0; w < words; w++) {
    for (let bits = rows[w] & checkedMask[w]; bits !== 0; bits &= bits - 1) {
      const r = w * 32 + (31 - Math.clz32(bits & -bits));
      search.work += words;
      const seen = reported[r];
      const meet = meets[r];
      for (let v = 0; v < words; v++) if ((rows[v] & checkedMask[v] & meet[v] & ~seen[v]) !== 0) return true;
    }
  }
  return false;
}

/** Reports each pair of checked rows matching this item that was not reported before. */
function recordPairs(search: Search, rows: Uint32Array): void {
  const members = membersOf(rows, search.checkedMask);
  for (let a = 0; a < members.length; a++) {
    for (let b = a + 1; b < members.length; b++) {
      search.work++;
      if (search.overlaps.length >= OVERLAPS_KEPT) {
        // Enough to refuse the table: the rest are counted as "very many more", not listed.
        search.gapsOmitted++;
        search.stopped = true;
        return;
      }
      const [first, second] = [members[a], members[b]];
      if (hasBit(search.reported[first], second)) continue;
      setBit(search.reported[first], second);
      setBit(search.reported[second], first);
      search.overlaps.push({ first, second, path: search.path.map((k) => [k]) });
    }
  }
}

/**
 * Merges gap cubes that differ in one column only, until none do. The search's cubes are disjoint,
 * so each merge is exact: the merged cube holds exactly the items of the two.
 */
function mergeGaps(cubes: readonly Cube[], partitions: readonly Partition[]): readonly Cube[] {
  let current = cubes;
  for (let changed = true; changed; ) {
    changed = false;
    for (let level = 0; level < partitions.length; level++) {
      const groups = new Map<string, Cube>();
      for (const cube of current) {
        const key = cube.map((set, i) => (i === level ? '' : set.join(','))).join(';');
        const seen = groups.get(key);
        if (!seen) {
          groups.set(key, cube);
          continue;
        }
        changed = true;
        const union = [...seen[level], ...cube[level]].sort((a, b) => a - b);
        groups.set(key, seen.map((set, i) => (i !== level ? set : union.length === partitions[level].classes.length ? [] : union)));
      }
      current = [...groups.values()];
    }
  }
  return current;
}

/** The items of a cube, over every column (the columns that did not branch take all their values). */
function itemSet(partitions: readonly Partition[], branching: readonly Partition[], cube: Cube): ItemSet {
  return partitions.map((partition) => {
    const level = branching.indexOf(partition);
    const classes = (level === -1 ? [] : cube[level]).map((k) => partition.classes[k]);
    if (classes.length === 0 || classes.length === partition.classes.length) return { column: partition.column, values: partition.domain, all: true };
    const indices = classes.flatMap((c) => c.indices).sort((a, b) => a - b);
    return { column: partition.column, values: indices.map((i) => partition.domain[i]), all: false };
  });
}

function overlapMessage(first: Rule, second: Rule, items: ItemSet): string {
  return `rows ${first.id} (line ${first.at.line}) and ${second.id} (line ${second.at.line}) both match ${describeItems(items, 1)}: an item must match one row of a rule set, so narrow one of the two`;
}

function gapMessage(input: CoverageInput, items: ItemSet): string {
  const described = describeItems(items, 3);
  if (input.report === 'group') {
    return `in entity ${input.entity}, no row of its rule set or the GROUP rule set matches ${described}: add a row for these items here or in ${input.entity}'s rule set`;
  }
  return `no row matches ${described}: add a row for these items here or in the GROUP rule set`;
}

/** `category=MEALS costCenter=DE4110|DE4120 (and 9 others) project=- …`: `*` every value, `-` absent. */
export function describeItems(items: ItemSet, shown: number): string {
  return items
    .map(({ column, values, all }) => {
      if (all) return `${column}=*`;
      const rest = values.length - shown;
      const more = rest > 0 ? ` (and ${rest} other${rest === 1 ? '' : 's'})` : '';
      return `${column}=${values.slice(0, shown).map(showValue).join('|')}${more}`;
    })
    .join(' ');
}

function showValue(value: DomainValue): string {
  return value === undefined ? '-' : value === OTHER_VALUE ? '(other)' : value;
}

function problemAt(at: SourcePos, code: RuleProblemCode, message: string): RuleProblem {
  return { file: at.file, line: at.line, column: at.column, code, message };
}
