// Proves that the coverage check finds exactly the overlapping row pairs of a rule set and exactly the items no row of the entity's or the group's set matches (against a brute-force enumeration of every item of random small tables), reports them at the right file and line in messages a finance user can act on, keeps entity rows and group rows apart, and stays within its work bound on a realistic 10,000-cost-center table and on a pathological one.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PAYMENT_TYPES } from '../../src/domain/report.ts';
import { analyzeCoverage, checkCoverage, OTHER_VALUE, type CoverageDomains, type DomainValue, type ItemSet } from '../../src/mapping/coverage.ts';
import { parseRuleFile } from '../../src/mapping/rule-file.ts';
import { conditionMatches, MATCH_COLUMNS, type CompiledRuleSet, type Condition, type MatchColumn, type Rule } from '../../src/mapping/rule-set.ts';

/** Run properties with a random seed (fast-check prints it on failure); FC_SEED=<n> replays one. */
const FC_SEED = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };

/** A condition from its source text, as rule files write it: `` or `*` any, `a|b`, `-` absent, globs with `*` and `?`. */
function cond(source: string): Condition {
  const parts = source === '' || source === '*' ? [] : source.split('|');
  const isGlob = (p: string) => /[*?]/.test(p);
  const globs = parts.filter(isGlob).map((p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`));
  return { source, any: parts.length === 0, absent: parts.includes('-'), values: new Set(parts.filter((p) => p !== '-' && !isGlob(p))), globs };
}

function row(id: string, line: number, when: Record<string, string>, file = 'DE01.yaml'): Rule {
  const at = { file, line, column: 3 };
  const conditions = Object.entries(when).filter(([, source]) => source !== '' && source !== '*');
  return { id, at, when: new Map(conditions.map(([column, source]) => [column as MatchColumn, cond(source)])), account: '6130', accountAt: at, costCenter: { kind: 'allocation' }, project: { kind: 'allocation' }, employee: false, tax: { kind: 'reclaim' } };
}

function ruleSet(scope: string, rules: Rule[]): CompiledRuleSet {
  const file = `${scope}.yaml`;
  return { scope, file, settings: { credit: {}, at: {} }, rules, rulesAt: { file, line: 5, column: 1 }, columns: [], document: { scope, settings: { credit: {} }, rules: [] } };
}

const DOMAINS: CoverageDomains = { category: ['MEALS', 'LODGING', 'GIFTS'], costCenter: ['DE4110', 'DE4120', 'DE4210'], project: ['P1'], taxCode: ['DE19', 'DE7'] };
/** A group set that codes every item: no gaps where a test looks at overlaps. */
const CATCH_ALL = ruleSet('GROUP', [row('GROUP-ALL', 3, {}, 'GROUP.yaml')]);

describe('checkCoverage: overlaps', () => {
  test('two rows of one set matching the same item are named with their lines, at the later row', () => {
    const own = ruleSet('DE01', [row('MEALS-ALL', 12, { category: 'MEALS' }), row('MEALS-CARD', 14, { category: 'MEALS', paymentType: 'company_card' }), row('REST', 16, { category: 'LODGING|GIFTS' })]);
    const problems = checkCoverage({ entity: 'DE01', own, domains: DOMAINS, report: 'own' });
    assert.equal(problems.length, 1);
    const [p] = problems;
    assert.deepEqual({ code: p.code, file: p.file, line: p.line }, { code: 'overlap', file: 'DE01.yaml', line: 14 });
    assert.match(p.message, /^rows MEALS-ALL \(line 12\) and MEALS-CARD \(line 14\) both match category=MEALS paymentType=company_card costCenter=\* project=\* taxCode=\* personal=\*: .*narrow one/);
  });

  test('entity rows override group rows: the same item in both layers is no overlap', () => {
    const own = ruleSet('DE01', [row('MEALS', 10, { category: 'MEALS' })]);
    const group = ruleSet('GROUP', [row('G-MEALS', 3, { category: 'MEALS' }, 'GROUP.yaml'), row('G-REST', 4, { category: 'LODGING|GIFTS' }, 'GROUP.yaml')]);
    assert.deepEqual(checkCoverage({ entity: 'DE01', own, group, domains: DOMAINS, report: 'own' }), []);
    assert.deepEqual(checkCoverage({ entity: 'DE01', own, group, domains: DOMAINS, report: 'group' }), []);
  });

  test('overlaps among group rows are reported against the group file, whatever the entity codes itself', () => {
    const own = ruleSet('DE01', [row('ALL', 10, {})]);
    const group = ruleSet('GROUP', [row('G-MEALS', 3, { category: 'MEALS' }, 'GROUP.yaml'), row('G-ANY', 4, {}, 'GROUP.yaml')]);
    const problems = checkCoverage({ entity: 'DE01', own, group, domains: DOMAINS, report: 'group' });
    assert.deepEqual(problems.map((p) => [p.code, p.file, p.line]), [['overlap', 'GROUP.yaml', 4]]);
    assert.match(problems[0].message, /rows G-MEALS \(line 3\) and G-ANY \(line 4\) both match category=MEALS /);
  });

  test('a narrower glob inside a wider one overlaps on the values both match; disjoint globs do not', () => {
    const costCenter = ['DE4110', 'DE4111', 'DE4120', 'DE4210', 'DE5110'];
    const own = ruleSet('DE01', [row('DE41', 10, { costCenter: 'DE41*' }), row('DE4', 11, { costCenter: 'DE4*' }), row('DE5', 12, { costCenter: 'DE5*' })]);
    const problems = checkCoverage({ entity: 'DE01', own, domains: { ...DOMAINS, costCenter }, report: 'own' });
    assert.deepEqual(problems.map((p) => [p.code, p.line]), [['overlap', 11]]);
    assert.match(problems[0].message, /rows DE41 \(line 10\) and DE4 \(line 11\) both match category=\* paymentType=\* costCenter=DE4110 \(and 2 others\) project=\*/);
  });

  test('lists overlap on their common value only', () => {
    const own = ruleSet('DE01', [row('A', 10, { category: 'MEALS|GIFTS' }), row('B', 11, { category: 'GIFTS|LODGING' })]);
    const [p, ...rest] = checkCoverage({ entity: 'DE01', own, domains: DOMAINS, report: 'own' });
    assert.equal(rest.length, 0);
    assert.match(p.message, /both match category=GIFTS paymentType=\*/);
  });

  test('absent is a value of its own: `-` and `-|DE19` overlap on absent, `-` and `DE19|DE7` do not', () => {
    const own = ruleSet('DE01', [row('NO-TAX', 10, { taxCode: '-' }), row('TAXED', 11, { taxCode: 'DE19|DE7' }), row('BOTH', 12, { taxCode: '-|DE19', category: 'GIFTS' })]);
    const problems = checkCoverage({ entity: 'DE01', own, domains: DOMAINS, report: 'own' });
    assert.deepEqual(problems.map((p) => [p.code, p.line]), [['overlap', 12], ['overlap', 12]]);
    assert.match(problems[0].message, /rows NO-TAX \(line 10\) and BOTH \(line 12\) both match category=GIFTS .*taxCode=- /);
    assert.match(problems[1].message, /rows TAXED \(line 11\) and BOTH \(line 12\) both match category=GIFTS .*taxCode=DE19 /);
  });

  test('a code that rows name but master data lacks still counts: two rows naming it overlap', () => {
    const own = ruleSet('DE01', [row('OLD', 10, { costCenter: 'DE9999' }), row('OLD-AGAIN', 11, { costCenter: 'DE9999|DE4110', category: 'MEALS' })]);
    const problems = checkCoverage({ entity: 'DE01', own, group: CATCH_ALL, domains: DOMAINS, report: 'own' });
    assert.deepEqual(problems.map((p) => p.code), ['overlap']);
    assert.match(problems[0].message, /category=MEALS .*costCenter=DE9999 /);
  });
});

describe('checkCoverage: gaps', () => {
  test('a category nobody codes is one gap with every other column `*`, at the table of the set', () => {
    const own = ruleSet('DE01', [row('MEALS', 10, { category: 'MEALS' }), row('LODGING', 11, { category: 'LODGING' })]);
    const problems = checkCoverage({ entity: 'DE01', own, domains: DOMAINS, report: 'own' });
    assert.deepEqual(problems, [
      { file: 'DE01.yaml', line: 5, column: 1, code: 'gap', message: 'no row matches category=GIFTS paymentType=* costCenter=* project=* taxCode=* personal=*: add a row for these items here or in the GROUP rule set' },
    ]);
  });

  test('the group covers what the entity leaves out; a gap of both is reported against the group with the entity named', () => {
    const own = ruleSet('DE01', [row('MEALS', 10, { category: 'MEALS' })]);
    const group = ruleSet('GROUP', [row('G-LODGING', 3, { category: 'LODGING', personal: 'false' }, 'GROUP.yaml')]);
    const problems = checkCoverage({ entity: 'DE01', own, group, domains: DOMAINS, report: 'group' });
    assert.deepEqual(problems.map((p) => [p.code, p.file, p.line]), [['gap', 'GROUP.yaml', 5], ['gap', 'GROUP.yaml', 5]]);
    const messages = problems.map((p) => p.message).sort();
    assert.match(messages[0], /^in entity DE01, no row of its rule set or the GROUP rule set matches category=GIFTS paymentType=\* costCenter=\* project=\* taxCode=\* personal=\*: add a row .*DE01's rule set$/);
    assert.match(messages[1], /matches category=LODGING paymentType=\* costCenter=\* project=\* taxCode=\* personal=true:/);
  });

  test('absent tax code and a tax code no row names are gaps, shown as `-` and by code', () => {
    const own = ruleSet('DE01', [row('TAXED', 10, { taxCode: 'DE19' })]);
    const [p, ...rest] = checkCoverage({ entity: 'DE01', own, domains: DOMAINS, report: 'own' });
    assert.equal(rest.length, 0);
    assert.match(p.message, /no row matches category=\* paymentType=\* costCenter=\* project=\* taxCode=DE7\|- personal=\*/);
  });

  test('a custom field column has a gap for values no row names, shown as (other)', () => {
    const own = ruleSet('DE01', [row('TRIP-A', 10, { 'cf.trip': 'A' }), row('TRIP-B', 11, { 'cf.trip': 'B|-' })]);
    const [p, ...rest] = checkCoverage({ entity: 'DE01', own, domains: DOMAINS, report: 'own' });
    assert.equal(rest.length, 0);
    assert.match(p.message, /no row matches category=\* .* personal=\* cf\.trip=\(other\):/);
  });

  test('more problems than maxProblems end with one saying how many more', () => {
    const own = ruleSet('DE01', [0, 1, 2, 3, 4].map((i) => row(`MEALS-${i}`, 10 + i, { category: 'MEALS' })));
    const problems = checkCoverage({ entity: 'DE01', own, domains: DOMAINS, report: 'own', maxProblems: 3 });
    // 10 overlapping pairs and one gap (LODGING and GIFTS): 3 listed, then the count of the other 8.
    assert.deepEqual(problems.map((p) => p.code), ['overlap', 'overlap', 'overlap', 'gap']);
    assert.deepEqual(problems[3], { file: 'DE01.yaml', line: 5, column: 1, code: 'gap', message: '… and 8 more overlaps or gaps not listed: fix the ones above and check again to see the rest' });
  });

  test('a set the caller does not report on, or missing, gives no problems', () => {
    assert.deepEqual(checkCoverage({ entity: 'DE01', domains: DOMAINS, report: 'own' }), []);
    assert.deepEqual(checkCoverage({ entity: 'DE01', own: ruleSet('DE01', []), domains: DOMAINS, report: 'group' }), []);
  });
});

describe('checkCoverage on parsed rule files', () => {
  test('a YAML file with a glob row inside a wider one: the overlap is at the later row, the uncovered category at `rules:`', () => {
    const text = [
      'settings:',
      '  credit: { out_of_pocket: "2110", company_card: "2120", individual_card: "2110", cash_advance: "1260" }',
      '  roundingAccount: "7990"',
      'rules:',
      '  - id: MEALS-DE4',
      '    when: { category: MEALS, costCenter: "DE4*" }',
      '    then: { account: "6130", tax: reclaim, taxAccount: "1410" }',
      '  - id: MEALS-DE41',
      '    when: { category: MEALS, costCenter: "DE41*", taxCode: "DE19|-" }',
      '    then: { account: "6131", tax: reclaim, taxAccount: "1410" }',
      '  - id: LODGING',
      '    when: { category: LODGING }',
      '    then: { account: "6110", tax: reclaim, taxAccount: "1410" }',
      '',
    ].join('\n');
    const parsed = parseRuleFile({ text, file: 'DE01.yaml', format: 'yaml', scope: 'DE01' });
    assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.problems));
    const problems = checkCoverage({ entity: 'DE01', own: parsed.ruleSet, domains: DOMAINS, report: 'own' });
    assert.deepEqual(problems.map((p) => [p.code, p.file, p.line]), [['overlap', 'DE01.yaml', 8], ['gap', 'DE01.yaml', 4]]);
    assert.match(problems[0].message, /^rows MEALS-DE4 \(line 5\) and MEALS-DE41 \(line 8\) both match category=MEALS paymentType=\* costCenter=DE4110 \(and 1 other\) project=\* taxCode=DE19 \(and 1 other\) personal=\*/);
    assert.match(problems[1].message, /^no row matches category=GIFTS paymentType=\* costCenter=\* project=\* taxCode=\* personal=\*/);
  });
});

describe('checkCoverage: size', () => {
  const costCenter = Array.from({ length: 10_000 }, (_, i) => `DE${String(i).padStart(4, '0')}`);
  const category = Array.from({ length: 20 }, (_, i) => `CAT${i}`);
  const big: CoverageDomains = { category, costCenter, project: Array.from({ length: 200 }, (_, i) => `P${i}`), taxCode: Array.from({ length: 10 }, (_, i) => `T${i}`) };
  /** 20 categories × 15 cost-center globs: each category split over DE0*…DE9* with DE41*…DE45* carved out of DE4*. */
  function table(): Rule[] {
    const rules: Rule[] = [];
    for (const c of category) {
      for (const d of [0, 1, 2, 3, 5, 6, 7, 8, 9]) rules.push(row(`${c}-${d}`, rules.length + 10, { category: c, costCenter: `DE${d}*` }));
      rules.push(row(`${c}-4-rest`, rules.length + 10, { category: c, costCenter: 'DE40*|DE46*|DE47*|DE48*|DE49*' }));
      for (const d of [1, 2, 3, 4, 5]) rules.push(row(`${c}-4${d}`, rules.length + 10, { category: c, costCenter: `DE4${d}*`, taxCode: d === 5 ? 'T1|T2' : '' }));
    }
    return rules;
  }

  test('10,000 cost centers and 300 glob rows: complete, with the one carved-out hole and one planted overlap found', () => {
    const rules = table();
    assert.equal(rules.length, 300);
    rules.push(row('PLANTED', 999, { category: 'CAT7', costCenter: 'DE411?', personal: 'true' }));
    const problems = checkCoverage({ entity: 'DE01', own: ruleSet('DE01', rules), domains: big, report: 'own' });
    assert.deepEqual(problems.map((p) => [p.code, p.line]), [['overlap', 999], ['gap', 5]]);
    assert.match(problems[0].message, /rows CAT7-41 \(line \d+\) and PLANTED \(line 999\) both match category=CAT7 .*costCenter=DE4110 \(and 9 others\) .*personal=true/);
    assert.match(problems[1].message, /no row matches category=\* paymentType=\* costCenter=DE4500\|DE4501\|DE4502 \(and 97 others\) project=\* taxCode=T0\|T3\|T4 \(and 6 others\) personal=\*/);
  });

  test('a table too complex for the work bound ends with a field problem instead of running on', () => {
    const problems = checkCoverage({ entity: 'DE01', own: ruleSet('DE01', table()), domains: big, report: 'own', workLimit: 1_000 });
    const last = problems.at(-1);
    assert.equal(last?.code, 'field');
    assert.match(last?.message ?? '', /too complex to check for overlaps and gaps/);
  });
});

// Brute force: every item of the domain, every row.

const CATEGORIES = ['MEALS', 'TAXI', 'GIFTS'];
const COST_CENTERS = ['DE4110', 'DE4120', 'DE4210', 'US100'];
const SMALL: CoverageDomains = { category: CATEGORIES, costCenter: COST_CENTERS, project: ['P1', 'P2'], taxCode: ['DE19'] };

/** The domain of each column as the rules of coverage.ts define it, built independently. */
function bruteDomains(rows: readonly Rule[]): Map<MatchColumn, DomainValue[]> {
  const literals = (column: MatchColumn) => rows.flatMap((r) => [...(r.when.get(column)?.values ?? [])]);
  const unique = <T,>(values: T[]) => [...new Set(values)];
  const domains = new Map<MatchColumn, DomainValue[]>([
    ['category', unique([...SMALL.category, ...literals('category')])],
    ['paymentType', [...PAYMENT_TYPES]],
    ['costCenter', unique([...SMALL.costCenter, ...literals('costCenter')])],
    ['project', [...unique([...SMALL.project, ...literals('project')]), undefined]],
    ['taxCode', [...unique([...SMALL.taxCode, ...literals('taxCode')]), undefined]],
    ['personal', ['true', 'false']],
  ]);
  for (const r of rows) for (const column of r.when.keys()) if (column.startsWith('cf.')) domains.set(column, [...unique(literals(column)), undefined, OTHER_VALUE]);
  return domains;
}

function matches(rule: Rule, item: ReadonlyMap<MatchColumn, DomainValue>): boolean {
  for (const [column, condition] of rule.when) {
    const value = item.get(column);
    if (value === OTHER_VALUE ? !condition.any : !conditionMatches(condition, value)) return false;
  }
  return true;
}

function* itemsOf(domains: ReadonlyMap<MatchColumn, readonly DomainValue[]>): Generator<Map<MatchColumn, DomainValue>> {
  const columns = [...domains.keys()];
  const walk = function* (i: number, item: Map<MatchColumn, DomainValue>): Generator<Map<MatchColumn, DomainValue>> {
    if (i === columns.length) return yield new Map(item);
    for (const value of domains.get(columns[i]) ?? []) {
      item.set(columns[i], value);
      yield* walk(i + 1, item);
    }
  };
  yield* walk(0, new Map());
}

const keyOf = (columns: readonly MatchColumn[], item: ReadonlyMap<MatchColumn, DomainValue>) =>
  columns.map((c) => { const v = item.get(c); return v === undefined ? '\u0000-' : v === OTHER_VALUE ? '\u0000*' : v; }).join('\u0001');

function expand(set: ItemSet): Map<MatchColumn, DomainValue>[] {
  return [...itemsOf(new Map(set.map((c) => [c.column, [...c.values]])))];
}

const conditionArb = (values: string[], extra: string[]) => fc.oneof(fc.constant(''), fc.subarray([...values, ...extra], { minLength: 1 }).map((parts) => parts.join('|')));
const rowArb = fc.record({
  category: conditionArb(CATEGORIES, ['XX1', 'M*', '*S']),
  paymentType: conditionArb([...PAYMENT_TYPES], ['*card']),
  costCenter: conditionArb(COST_CENTERS, ['DE41*', 'DE4*', '*0', 'US???', 'DE9999']),
  project: conditionArb(['P1', 'P2'], ['-', 'P*']),
  taxCode: conditionArb(['DE19'], ['-', 'DE7']),
  personal: conditionArb(['true', 'false'], []),
  'cf.trip': conditionArb(['A', 'B'], ['-']),
});
const layerArb = (min: number) => fc.array(rowArb, { minLength: min, maxLength: 6 });

describe('checkCoverage agrees with enumerating every item', () => {
  test('overlapping pairs, gap items and gap existence are exactly those of brute force, in both layers', () => {
    fc.assert(
      fc.property(layerArb(2), layerArb(0), fc.constantFrom<'own' | 'group'>('own', 'group'), (ownWhen, groupWhen, report) => {
        const own = ruleSet('DE01', ownWhen.map((w, i) => row(`O${i}`, 10 + i, w)));
        const group = ruleSet('GROUP', groupWhen.map((w, i) => row(`G${i}`, 10 + i, w, 'GROUP.yaml')));
        const [checked, other] = report === 'own' ? [own, group] : [group, own];
        const domains = bruteDomains([...own.rules, ...group.rules]);
        const columns = [...MATCH_COLUMNS, ...[...domains.keys()].filter((c) => c.startsWith('cf.'))];
        const pairs = new Set<string>();
        const uncovered = new Set<string>();
        for (const item of itemsOf(domains)) {
          const hits = checked.rules.filter((r) => matches(r, item));
          for (let a = 0; a < hits.length; a++) for (let b = a + 1; b < hits.length; b++) pairs.add(`${hits[a].id}+${hits[b].id}`);
          if (hits.length === 0 && !other.rules.some((r) => matches(r, item))) uncovered.add(keyOf(columns, item));
        }
        const analysis = analyzeCoverage(checked.rules, other.rules, SMALL);
        assert.ok(analysis.complete);
        assert.deepEqual(new Set(analysis.overlaps.map((o) => `${o.first.id}+${o.second.id}`)), pairs);
        for (const o of analysis.overlaps) for (const item of expand(o.items)) assert.ok(matches(o.first, item) && matches(o.second, item), 'an overlap names items both rows match');
        const gapItems = analysis.gaps.flatMap(expand).map((item) => keyOf(columns, item));
        assert.equal(gapItems.length, new Set(gapItems).size, 'gaps are disjoint');
        assert.deepEqual(new Set(gapItems), uncovered);
        const problems = checkCoverage({ entity: 'DE01', own, group, domains: SMALL, report, maxProblems: 1000 });
        assert.equal(problems.some((p) => p.code === 'gap'), uncovered.size > 0);
        assert.equal(problems.filter((p) => p.code === 'overlap').length, pairs.size);
      }),
      { numRuns: 300, ...FC_SEED },
    );
  });
});
