// Proves that a rule set's references are checked against the entity's master data on the effective date: accounts must exist and be postable, literal cost centers and projects must be open, codes in conditions must be held in master data, closed or not (for GROUP sets: in some entity), and every setting must resolve from the set or the GROUP set behind it, a GROUP set on its own; and that ReferenceData.keys lists exactly the records usable on a date.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SAMPLE_COMPANY } from '../../src/demo/sample-company.ts';
import { createReferenceData } from '../../src/masterdata/company.ts';
import { checkReferences } from '../../src/mapping/check-references.ts';
import type { CompiledRuleSet, Condition, MatchColumn, Rule, RuleSetSettings, SourcePos } from '../../src/mapping/rule-set.ts';

const DATE = '2026-05-01';

/** The sample company, plus two DE01 projects (one closed) that the sample does not define. */
const reference = createReferenceData(SAMPLE_COMPANY);
const project = (key: string, validTo: string, seq: number) => ({
  system: 'erp' as const, kind: 'project' as const, entity: 'DE01', key, validFrom: '2020-01-01', validTo, active: true,
  attributes: { name: key }, seq, keyRevision: 1, source: 'test', recordedAt: 0, replacedAt: null,
});
reference.apply([project('PRJ-1', '9999-12-31', reference.seq + 1), project('PRJ-OLD', '2025-12-31', reference.seq + 2)]);

const at = (file: string, line: number, column = 5): SourcePos => ({ file, line, column });

/** A condition of literal codes (`-` = absent), as the parser compiles `a|b|-`. */
function literals(source: string): Condition {
  const parts = source.split('|');
  return { source, any: false, absent: parts.includes('-'), values: new Set(parts.filter((p) => p !== '-')), globs: [] };
}

function row(id: string, line: number, options: { when?: Record<string, string>; account?: string; file?: string } & Partial<Pick<Rule, 'costCenter' | 'project' | 'taxAccount' | 'taxableAccount'>> = {}): Rule {
  const file = options.file ?? 'DE01.yaml';
  return {
    id,
    at: at(file, line, 3),
    when: new Map(Object.entries(options.when ?? {}).map(([c, s]) => [c as MatchColumn, literals(s)])),
    account: options.account ?? '6130',
    accountAt: at(file, line + 1),
    costCenter: options.costCenter ?? { kind: 'allocation' },
    project: options.project ?? { kind: 'allocation' },
    employee: false,
    tax: { kind: 'reclaim' },
    ...(options.taxAccount !== undefined && { taxAccount: options.taxAccount, taxAccountAt: at(file, line + 2) }),
    ...(options.taxableAccount !== undefined && { taxableAccount: options.taxableAccount, taxableAccountAt: at(file, line + 3) }),
  };
}

const FULL_CREDIT = { out_of_pocket: '2110', company_card: '2120', individual_card: '2110', cash_advance: '1260' };

function ruleSet(scope: string, rules: Rule[], settings: Partial<Pick<RuleSetSettings, 'credit' | 'roundingAccount'>> = { credit: FULL_CREDIT, roundingAccount: '7990' }): CompiledRuleSet {
  const file = `${scope}.yaml`;
  const credit = settings.credit ?? {};
  const names = [...Object.keys(credit).map((k) => `credit.${k}`), ...(settings.roundingAccount === undefined ? [] : ['roundingAccount'])];
  const positions = Object.fromEntries(names.map((name, i) => [name, at(file, 2 + i, 17)]));
  return {
    scope,
    file,
    settings: { credit, ...(settings.roundingAccount !== undefined && { roundingAccount: settings.roundingAccount }), at: positions },
    rules,
    rulesAt: at(file, 9, 1),
    columns: [],
    document: { scope, settings: { credit }, rules: [] },
  };
}

const summary = (problems: readonly { code: string; line: number; column: number }[]) => problems.map((p) => `${p.code}@${p.line}:${p.column}`);

describe('checkReferences: accounts', () => {
  test('a set naming only postable accounts, open dimensions and held codes has no problems', () => {
    const set = ruleSet('DE01', [
      row('MEALS', 10, { when: { category: 'MEALS', costCenter: 'DE4110|DE4120', taxCode: 'DE19|-', project: 'PRJ-1|-' }, taxAccount: '1410', costCenter: { kind: 'literal', value: 'DE4110', at: at('DE01.yaml', 14) } }),
      row('PERDIEM', 20, { when: { category: 'PERDIEM' }, account: '6150', taxableAccount: '6155', project: { kind: 'literal', value: 'PRJ-1', at: at('DE01.yaml', 24) } }),
    ]);
    assert.deepEqual(checkReferences({ set, entity: 'DE01', reference, date: DATE }), []);
  });

  test('an unknown account and a blocked one are refused where they are written, saying which and in which entity', () => {
    const set = ruleSet('DE01', [row('GIFTS', 10, { account: '6998', taxAccount: '6999' })], { credit: { ...FULL_CREDIT, company_card: '6999' }, roundingAccount: '7990' });
    const problems = checkReferences({ set, entity: 'DE01', reference, date: DATE });
    assert.deepEqual(summary(problems), ['account@11:5', 'account@12:5', 'account@3:17']);
    assert.equal(problems[0].message, 'row GIFTS: account 6998 does not exist in entity DE01 on 2026-05-01: use an account of its chart of accounts');
    assert.equal(problems[1].message, 'row GIFTS, taxAccount: account 6999 is blocked for posting (not postable) in entity DE01 on 2026-05-01: choose a postable account, or have it unblocked in the ERP first');
    assert.match(problems[2].message, /^setting credit\.company_card: account 6999 is blocked/);
  });

  test('an account of another entity is unknown in this one', () => {
    const problems = checkReferences({ set: ruleSet('US01', [row('A', 10, { account: '6130' })]), entity: 'US01', reference, date: DATE });
    assert.deepEqual(problems, []);
    const other = checkReferences({ set: ruleSet('XX01', [row('A', 10)]), entity: 'XX01', reference, date: DATE });
    assert.ok(other.length > 0 && other.every((p) => p.code === 'account'));
  });
});

describe('checkReferences: dimensions', () => {
  test('literal output dimensions must be open on the date, reported at the value', () => {
    const set = ruleSet('DE01', [
      row('CLOSED-CC', 10, { costCenter: { kind: 'literal', value: 'DE4180', at: at('DE01.yaml', 14, 20) } }),
      row('NO-PROJECT', 20, { project: { kind: 'literal', value: 'PRJ-X', at: at('DE01.yaml', 24, 20) } }),
      row('OLD-PROJECT', 30, { project: { kind: 'literal', value: 'PRJ-OLD', at: at('DE01.yaml', 34, 20) } }),
    ]);
    const problems = checkReferences({ set, entity: 'DE01', reference, date: DATE });
    assert.deepEqual(summary(problems), ['dimension@14:20', 'dimension@24:20', 'dimension@34:20']);
    assert.match(problems[0].message, /^row CLOSED-CC: costCenter DE4180 is closed \(or not yet open\) in entity DE01 on 2026-05-01, so no journal could post to it: /);
    assert.match(problems[1].message, /^row NO-PROJECT: project PRJ-X does not exist in entity DE01/);
    assert.match(problems[2].message, /^row OLD-PROJECT: project PRJ-OLD is closed/);
  });

  test('codes in conditions that master data does not hold are refused at the row, saying the row can never match them', () => {
    const set = ruleSet('DE01', [row('TYPOS', 10, { when: { category: 'MEALS|MEELS', costCenter: 'DE4110|DE9999', taxCode: 'DE19|-', project: 'PRJ-1|PRJ-9' } })]);
    const problems = checkReferences({ set, entity: 'DE01', reference, date: DATE });
    assert.deepEqual(summary(problems), ['dimension@10:3', 'dimension@10:3', 'dimension@10:3']);
    assert.deepEqual(problems.map((p) => p.message.split(' in the ')[0]), ['row TYPOS: category MEELS', 'row TYPOS: costCenter DE9999', 'row TYPOS: project PRJ-9']);
    assert.equal(problems[0].message, "row TYPOS: category MEELS in the row's condition is not a category of entity DE01, so no valid report can have it and the row can never match it: correct the code or remove it from the condition");
  });

  test('codes in conditions that are held but closed on the date are accepted: a late report may still carry them', () => {
    const set = ruleSet('DE01', [row('PAST', 10, { when: { costCenter: 'DE4180', taxCode: 'DE16|-', project: 'PRJ-OLD' } })]);
    assert.deepEqual(checkReferences({ set, entity: 'DE01', reference, date: DATE }), []);
  });

  test('a code in a GROUP row condition needs to exist in some entity only, and then is not named per entity', () => {
    const group = ruleSet('GROUP', [row('US-ONLY', 10, { file: 'GROUP.yaml', when: { costCenter: 'US4110|NOWHERE1' } })]);
    const forDE = checkReferences({ set: group, entity: 'DE01', reference, date: DATE });
    const forUS = checkReferences({ set: group, entity: 'US01', reference, date: DATE });
    assert.equal(forDE.length, 1);
    assert.deepEqual(forDE, forUS);
    assert.match(forDE[0].message, /^row US-ONLY: costCenter NOWHERE1 in the row's condition is not a cost center of any entity, so/);
  });
});

describe('checkReferences: settings', () => {
  test("an entity's set may leave settings to the GROUP set; what neither names is a setting problem at the table", () => {
    const own = ruleSet('DE01', [row('A', 10)], { credit: { out_of_pocket: '2110', company_card: '2120' } });
    const group = ruleSet('GROUP', [], { credit: { individual_card: '2110' }, roundingAccount: '7990' });
    const problems = checkReferences({ set: own, entity: 'DE01', reference, date: DATE, group });
    assert.deepEqual(problems, [
      { file: 'DE01.yaml', line: 9, column: 1, code: 'setting', message: 'no credit account for payment type cash_advance: set credit.cash_advance in the settings of this file or of the GROUP rule set' },
    ]);
    const alone = checkReferences({ set: own, entity: 'DE01', reference, date: DATE });
    assert.deepEqual(alone.map((p) => p.message.split(':')[0]), ['no credit account for payment type individual_card', 'no credit account for payment type cash_advance', 'no rounding account']);
  });

  test('a GROUP set must name every setting itself', () => {
    const group = ruleSet('GROUP', [], { credit: { out_of_pocket: '2110', company_card: '2120', individual_card: '2110' } });
    const problems = checkReferences({ set: group, entity: 'DE01', reference, date: DATE, group: ruleSet('GROUP', []) });
    assert.deepEqual(summary(problems), ['setting@9:1', 'setting@9:1']);
    assert.match(problems[0].message, /^no credit account for payment type cash_advance: set credit\.cash_advance in the settings of this file: the GROUP rule set is every entity's default/);
    assert.match(problems[1].message, /^no rounding account: set roundingAccount/);
  });
});

describe('ReferenceData.keys', () => {
  test('lists the records of a kind that a valid report can use on the date: open, and postable for accounts', () => {
    const costCenters = reference.keys('cost_center', 'DE01', DATE).sort();
    assert.deepEqual(costCenters, ['DE4110', 'DE4120', 'DE4130', 'DE4140', 'DE4150', 'DE4160', 'DE4170']);
    assert.ok(reference.keys('cost_center', 'DE01', '2026-03-31').includes('DE4180'));
    const accounts = reference.keys('gl_account', 'DE01', DATE);
    assert.ok(accounts.includes('6130') && !accounts.includes('6999'));
    assert.deepEqual(reference.keys('tax_code', 'DE01', DATE).sort(), ['DE19', 'DE19-ENT', 'DE7']);
    assert.deepEqual(reference.keys('project', 'DE01', DATE), ['PRJ-1']);
    assert.deepEqual(reference.keys('project', 'XX01', DATE), []);
  });
});
