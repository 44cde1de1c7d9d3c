// Proves that the rule engine codes expense reports the way domain.md says a finance team expects and exactly as the mapping v0 tables did with the sample rule files (test/support/mapping-v0.ts is that oracle), item by item with globs, custom fields and expressions, and that every journal of any generated report balances.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkBalance, type JournalEntry, type JournalLine } from '../../src/domain/journal.ts';
import { convert, divideRounded, formatAmount, parseRate } from '../../src/domain/money.ts';
import { normalizeReport, PAYMENT_TYPES, type ExpenseReport, type LineInput, type PaymentType, type ReportInput } from '../../src/domain/report.ts';
import { accountsUsed, mapWithRules, matchRule } from '../../src/mapping/engine.ts';
import { createTableMapper, SAMPLE_MAPPINGS } from '../support/mapping-v0.ts';
import { checkCoverage } from '../../src/mapping/coverage.ts';
import { ExpressionError } from '../../src/mapping/expressions.ts';
import { parseRuleFile } from '../../src/mapping/rule-file.ts';
import { GROUP_SCOPE, type CompiledRuleSet, type ResolvedRules, type RuleMapResult, type TaxLookup } from '../../src/mapping/rule-set.ts';
import { SAMPLE_CATEGORIES, SAMPLE_COMPANY } from '../../src/demo/sample-company.ts';
import { sampleRuleFiles } from '../../src/demo/sample-rules.ts';
import { generateReports } from '../../src/demo/expense-platform.ts';
import { sampleLine } from '../support/report-fixtures.ts';

/** Run properties with a random seed (fast-check prints it on failure); FC_SEED=<n> replays one. */
const FC_SEED = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };

/** A rule file compiled by the parser; the tests below only use valid ones. */
function compileRuleFile(source: { scope: string; file: string; format: 'yaml' | 'csv'; text: string }): CompiledRuleSet {
  const result = parseRuleFile(source);
  assert.ok(result.ok, `${source.file}: ${JSON.stringify(!result.ok && result.problems)}`);
  return result.ruleSet;
}

// ---------------------------------------------------------------------------------------------
// The sample company's rule sets

const SAMPLE_SETS = new Map<string, CompiledRuleSet>(sampleRuleFiles().map((f) => [f.scope, compileRuleFile(f)]));

function sampleSet(scope: string): CompiledRuleSet {
  const set = SAMPLE_SETS.get(scope);
  assert.ok(set, `sample rule set ${scope}`);
  return set;
}

/** The entity's own sample rules (version 1) over the group's (version 1). */
function sampleRules(entity: string, ownScope = entity): ResolvedRules {
  return { own: { ref: `${entity}@1`, set: sampleSet(ownScope) }, group: { ref: `${GROUP_SCOPE}@1`, set: sampleSet(GROUP_SCOPE) } };
}

/** Tax facts as the pipeline passes them: master data's rate, and 100% reclaimable (no `reclaim` attribute). */
const sampleRateBp = (code: string) => SAMPLE_COMPANY.taxCodes.find((t) => t.code === code)?.rateBp;
const sampleTax: TaxLookup = (code) => {
  const rateBp = sampleRateBp(code);
  return rateBp === undefined ? undefined : { rateBp, reclaimBp: 10_000 };
};
/** The sample tax codes plus a 20% VAT code: the worked example of domain.md. */
const taxWithVat20: TaxLookup = (code, date) => (code === 'VAT20' ? { rateBp: 2000, reclaimBp: 10_000 } : sampleTax(code, date));

const RATE = { source: 'ECB', date: '2026-05-03' };

function line(overrides: Partial<LineInput> = {}): LineInput {
  return sampleLine(overrides);
}

function reportInput(lines: LineInput[], overrides: Partial<ReportInput> = {}): ReportInput {
  return {
    reportId: 'R-100',
    revision: 2,
    entity: 'DE01',
    employeeId: 'DE01-E0007',
    currency: 'EUR',
    approvedAt: '2026-05-06T10:00:00.000Z',
    lines: lines.map((l, i) => ({ ...l, lineId: l.lineId === 'L1' && i > 0 ? `L${i + 1}` : l.lineId })),
    ...overrides,
  };
}

function map(input: ReportInput, rules: ResolvedRules = sampleRules(input.entity), tax: TaxLookup = sampleTax): Promise<RuleMapResult> {
  return mapWithRules(rules, normalizeReport(input), tax);
}

function journalOf(result: RuleMapResult): JournalEntry {
  assert.ok(result.ok, `mapping failed: ${JSON.stringify(result)}`);
  const check = checkBalance(result.journal);
  assert.ok(check.balanced, `unbalanced: ${JSON.stringify(check)}`);
  return result.journal;
}

/** A journal as sorted rows "account costCenter D|C amount", easy to compare with a worked example. */
function rows(journal: JournalEntry): string[] {
  return journal.lines.map((l) => `${l.account} ${l.costCenter ?? '-'} ${l.debitMinor > 0 ? `D${l.debitMinor}` : `C${l.creditMinor}`}`).sort();
}

const halves = [
  { costCenter: 'DE4110', percent: '50' },
  { costCenter: 'DE4120', percent: '50' },
];

describe('mapWithRules: the worked cases of mapping v0, with the sample rule files', () => {
  test('the domain.md example: 120.00 EUR hotel, 20% VAT fully reclaimable, split 50/50', async () => {
    const result = await map(reportInput([line({ tax: { code: 'VAT20' }, allocations: halves })]), sampleRules('DE01'), taxWithVat20);
    const journal = journalOf(result);
    assert.deepEqual(rows(journal), ['1410 - D2000', '2110 - C12000', '6110 DE4110 D5000', '6110 DE4120 D5000']);
    const payable = journal.lines.find((l) => l.account === '2110') as JournalLine;
    assert.equal(payable.employeeId, 'DE01-E0007');
    assert.equal(journal.lines.find((l) => l.account === '1410')?.taxCode, 'VAT20');
    assert.deepEqual(journal.conversions, []);
    assert.equal(journal.kind, 'journal');
    assert.equal(journal.currency, 'EUR');
    assert.equal(journal.entity, 'DE01');
    assert.equal(journal.reportId, 'R-100');
    assert.equal(journal.revision, 2);
    assert.equal(journal.postingDate, '2026-05-06');
    assert.equal(journal.memo, 'Expense report R-100 revision 2');
    assert.ok(result.ok && result.mappingVersion === 'DE01@1+GROUP@1');
  });

  test('19% VAT fully reclaimable on a gross amount', async () => {
    assert.deepEqual(rows(journalOf(await map(reportInput([line({ amount: { value: '119.00', currency: 'EUR' }, tax: { code: 'DE19' } })])))), [
      '1410 - D1900',
      '2110 - C11900',
      '6110 DE4110 D10000',
    ]);
  });

  test('partial reclaim (DE19-ENT, 70%, a row of DE01) keeps the rest of the tax in the expense', async () => {
    const entertainment = line({ category: 'ENTERTAINMENT', amount: { value: '119.00', currency: 'EUR' }, tax: { code: 'DE19-ENT' } });
    const journal = journalOf(await map(reportInput([entertainment])));
    assert.deepEqual(rows(journal), ['1410 - D1330', '2110 - C11900', '6180 DE4110 D10570']);
    assert.deepEqual(journal.lines.map((l) => l.rule), ['DE01@1#ENTERTAINMENT-ENT', 'DE01@1#ENTERTAINMENT-ENT', 'GROUP@1#settings.credit.out_of_pocket']);
    const small = line({ category: 'ENTERTAINMENT', amount: { value: '10.00', currency: 'EUR' }, tax: { code: 'DE19-ENT' } });
    assert.deepEqual(rows(journalOf(await map(reportInput([small])))), ['1410 - D112', '2110 - C1000', '6180 DE4110 D888']);
  });

  test('a tax code without reclaim (US-NT, `tax: 0%` in US01) posts no tax line and keeps the code on the expense', async () => {
    const input = reportInput([line({ amount: { value: '50.00', currency: 'USD' }, tax: { code: 'US-NT', amount: '4.00' }, allocations: [{ costCenter: 'US4110', percent: '100' }] })], {
      entity: 'US01',
      currency: 'USD',
    });
    const journal = journalOf(await map(input));
    assert.deepEqual(rows(journal), ['2110 - C5000', '6110 US4110 D5000']);
    assert.equal(journal.lines[0].taxCode, 'US-NT');
    assert.equal(journal.lines[0].rule, 'US01@1#LODGING-NT');
  });

  test('a company-billed card credits the card clearing account', async () => {
    const journal = journalOf(await map(reportInput([line({ paymentType: 'company_card', amount: { value: '119.00', currency: 'EUR' }, tax: { code: 'DE19' } })])));
    assert.deepEqual(rows(journal), ['1410 - D1900', '2120 - C11900', '6110 DE4110 D10000']);
    assert.equal(journal.lines.find((l) => l.account === '2120')?.memo, 'R-100 r2 card');
  });

  test('an individually billed card credits the employee payable, a cash advance the advance account', async () => {
    assert.deepEqual(rows(journalOf(await map(reportInput([line({ paymentType: 'individual_card' })])))), ['2110 - C12000', '6110 DE4110 D12000']);
    assert.deepEqual(rows(journalOf(await map(reportInput([line({ paymentType: 'cash_advance' })])))), ['1260 - C12000', '6110 DE4110 D12000']);
  });

  test('a personal item on the company card becomes one employee receivable line, without tax line, tax code or cost center', async () => {
    const personal = line({ paymentType: 'company_card', personal: true, amount: { value: '119.00', currency: 'EUR' }, tax: { code: 'DE19' }, allocations: halves });
    const journal = journalOf(await map(reportInput([personal])));
    assert.deepEqual(rows(journal), ['1250 - D11900', '2120 - C11900']);
    assert.deepEqual(journal.lines[0], { account: '1250', debitMinor: 11900, creditMinor: 0, employeeId: 'DE01-E0007', memo: 'R-100 r2 LODGING (personal)', rule: 'GROUP@1#PERSONAL' });
  });

  test('a credit (negative line) flips every side', async () => {
    const refund = line({ amount: { value: '-119.00', currency: 'EUR' }, tax: { code: 'DE19' }, allocations: halves });
    assert.deepEqual(rows(journalOf(await map(reportInput([refund])))), ['1410 - C1900', '2110 - D11900', '6110 DE4110 C5000', '6110 DE4120 C5000']);
  });

  test('a credit and an expense on the same payment type net on the credit side', async () => {
    const journal = journalOf(await map(reportInput([line(), line({ lineId: 'L2', amount: { value: '-20.00', currency: 'EUR' } })])));
    assert.deepEqual(rows(journal), ['2110 - C10000', '6110 DE4110 C2000', '6110 DE4110 D12000']);
  });

  test('per diem above the statutory limit puts the excess on the taxable account, split like the line', async () => {
    // DE01 allows 28.00 a day: 3 days = 84.00 tax free, 16.00 taxable (computed once for the line, then split).
    const perDiem = line({ category: 'PERDIEM', amount: { value: '100.00', currency: 'EUR' }, perDiem: { days: 3 }, allocations: halves });
    const journal = journalOf(await map(reportInput([perDiem])));
    assert.deepEqual(rows(journal), ['2110 - C10000', '6150 DE4110 D4200', '6150 DE4120 D4200', '6155 DE4110 D800', '6155 DE4120 D800']);
    assert.equal(journal.lines.find((l) => l.account === '6155')?.memo, 'R-100 r2 PERDIEM per diem above statutory limit');
    assert.equal(journal.lines.find((l) => l.account === '6155')?.rule, 'DE01@1#PERDIEM');
    const within = line({ category: 'PERDIEM', amount: { value: '84.00', currency: 'EUR' }, perDiem: { days: 3 } });
    assert.deepEqual(rows(journalOf(await map(reportInput([within])))), ['2110 - C8400', '6150 DE4110 D8400']);
    // Without per-diem days nothing is taxable, as in v0.
    const noDays = line({ category: 'PERDIEM', amount: { value: '100.00', currency: 'EUR' } });
    assert.deepEqual(rows(journalOf(await map(reportInput([noDays])))), ['2110 - C10000', '6150 DE4110 D10000']);
  });

  test('per diem limits are the entity\'s: 79.00 USD a day in US01, 5000 JPY in JP01', async () => {
    const us = reportInput([line({ category: 'PERDIEM', amount: { value: '250.00', currency: 'USD' }, perDiem: { days: 3 }, allocations: [{ costCenter: 'US4110', percent: '100' }] })], { entity: 'US01', currency: 'USD' });
    assert.deepEqual(rows(journalOf(await map(us))), ['2110 - C25000', '6150 US4110 D23700', '6155 US4110 D1300']);
    const jp = reportInput([line({ category: 'PERDIEM', amount: { value: '16000', currency: 'JPY' }, perDiem: { days: 3 }, allocations: [{ costCenter: 'JP4110', percent: '100' }] })], { entity: 'JP01', currency: 'JPY' });
    assert.deepEqual(rows(journalOf(await map(jp))), ['2110 - C16000', '6150 JP4110 D15000', '6155 JP4110 D1000']);
  });

  test('a foreign-currency line is converted at its rate, and the conversion is recorded', async () => {
    const usd = line({ amount: { value: '100.00', currency: 'USD' }, exchangeRate: { rate: '0.92', ...RATE } });
    const yen = line({ lineId: 'L2', category: 'TAXI', amount: { value: '15000', currency: 'JPY' }, exchangeRate: { rate: '0.0062', ...RATE } });
    const journal = journalOf(await map(reportInput([usd, yen])));
    assert.deepEqual(rows(journal), ['2110 - C18500', '6110 DE4110 D9200', '6140 DE4110 D9300']);
    assert.deepEqual(journal.conversions, [
      { lineId: 'L1', from: 'USD', to: 'EUR', rate: '0.92', source: 'ECB', date: '2026-05-03' },
      { lineId: 'L2', from: 'JPY', to: 'EUR', rate: '0.0062', source: 'ECB', date: '2026-05-03' },
    ]);
  });

  test('a rate sent on a line already in the report currency is ignored and not recorded', async () => {
    const journal = journalOf(await map(reportInput([line({ exchangeRate: { rate: '2', ...RATE } })])));
    assert.deepEqual(rows(journal), ['2110 - C12000', '6110 DE4110 D12000']);
    assert.deepEqual(journal.conversions, []);
  });

  test('an explicit tax amount is used as given (converted with the line when foreign)', async () => {
    assert.deepEqual(rows(journalOf(await map(reportInput([line({ tax: { code: 'DE19', amount: '10.00' } })])))), ['1410 - D1000', '2110 - C12000', '6110 DE4110 D11000']);
    const ent = line({ category: 'ENTERTAINMENT', tax: { code: 'DE19-ENT', amount: '10.00' } });
    assert.deepEqual(rows(journalOf(await map(reportInput([ent])))), ['1410 - D700', '2110 - C12000', '6180 DE4110 D11300']);
    const usd = line({ amount: { value: '100.00', currency: 'USD' }, exchangeRate: { rate: '0.92', ...RATE }, tax: { code: 'DE19', amount: '15.97' } });
    assert.deepEqual(rows(journalOf(await map(reportInput([usd])))), ['1410 - D1469', '2110 - C9200', '6110 DE4110 D7731']);
  });

  test('amount allocations split the net expense in proportion to the allocated amounts', async () => {
    const byAmount = line({ amount: { value: '119.00', currency: 'EUR' }, tax: { code: 'DE19' }, allocations: [{ costCenter: 'DE4110', amount: '89.25' }, { costCenter: 'DE4120', amount: '29.75' }] });
    assert.deepEqual(rows(journalOf(await map(reportInput([byAmount])))), ['1410 - D1900', '2110 - C11900', '6110 DE4110 D7500', '6110 DE4120 D2500']);
  });

  test('a zero line posts nothing for itself', async () => {
    const journal = journalOf(await map(reportInput([line(), line({ lineId: 'L2', amount: { value: '0', currency: 'EUR' }, tax: { code: 'DE19' } })])));
    assert.deepEqual(rows(journal), ['2110 - C12000', '6110 DE4110 D12000']);
  });

  test('the tax rate is taken as it was on each line\'s expense date, not on the approval date', async () => {
    const rateOn: TaxLookup = (code, date) => (code === 'DE19' ? { rateBp: date < '2026-07-01' ? 1900 : 1600, reclaimBp: 10_000 } : sampleTax(code, date));
    const input = reportInput(
      [line({ date: '2026-06-30', amount: { value: '119.00', currency: 'EUR' }, tax: { code: 'DE19' } }), line({ lineId: 'L2', date: '2026-07-01', amount: { value: '116.00', currency: 'EUR' }, tax: { code: 'DE19' } })],
      { approvedAt: '2026-07-10T10:00:00.000Z' },
    );
    const journal = journalOf(await map(input, sampleRules('DE01'), rateOn));
    assert.deepEqual(journal.lines.filter((l) => l.account === '1410').map((l) => l.debitMinor), [1900, 1600]);
  });

  test('`tax: reclaim` takes the reclaimable share from the tax lookup', async () => {
    const half: TaxLookup = (code, date) => (code === 'DE19' ? { rateBp: 1900, reclaimBp: 5000 } : sampleTax(code, date));
    const journal = journalOf(await map(reportInput([line({ amount: { value: '119.00', currency: 'EUR' }, tax: { code: 'DE19' } })]), sampleRules('DE01'), half));
    assert.deepEqual(rows(journal), ['1410 - D950', '2110 - C11900', '6110 DE4110 D10950']);
  });
});

describe('mapWithRules: refusals and totals', () => {
  test('an item no row matches is refused with MAP_NO_RULE naming the version, the line and the item', async () => {
    assert.deepEqual(await map(reportInput([line(), line({ lineId: 'L2', category: 'YACHT', tax: { code: 'DE19' }, allocations: [{ costCenter: 'DE4120', project: 'P7', percent: '100' }] })])), {
      ok: false,
      code: 'MAP_NO_RULE',
      params: { version: 'DE01@1+GROUP@1', entity: 'DE01', lineId: 'L2', item: 'category=YACHT paymentType=out_of_pocket costCenter=DE4120 project=P7 taxCode=DE19 personal=false' },
      mappingVersion: 'DE01@1+GROUP@1',
    });
  });

  test('no rule set at all is refused with MAP_NO_RULE_SET naming the entity and the posting date', async () => {
    assert.deepEqual(await map(reportInput([line()]), {}), { ok: false, code: 'MAP_NO_RULE_SET', params: { entity: 'DE01', date: '2026-05-06' }, mappingVersion: 'none' });
  });

  test('the group\'s rules alone code an entity without rules of its own; a missing credit setting is MAP_NO_RULE', async () => {
    const groupOnly: ResolvedRules = { group: { ref: 'GROUP@4', set: sampleSet(GROUP_SCOPE) } };
    const journal = journalOf(await map(reportInput([line()]), groupOnly));
    assert.deepEqual(journal.lines.map((l) => l.rule), ['GROUP@4#LODGING', 'GROUP@4#settings.credit.out_of_pocket']);
    const ownOnly: ResolvedRules = { own: { ref: 'DE01@2', set: sampleSet('DE01') } };
    assert.deepEqual(await map(reportInput([line({ category: 'PERDIEM', paymentType: 'cash_advance' })]), ownOnly), {
      ok: false,
      code: 'MAP_NO_RULE',
      params: { version: 'DE01@2', entity: 'DE01', lineId: 'L1', item: 'credit account for payment type cash_advance' },
      mappingVersion: 'DE01@2',
    });
  });

  test('a tax code master data does not know is refused with MD_TAX_CODE_UNKNOWN', async () => {
    assert.deepEqual(await map(reportInput([line({ tax: { code: 'VAT20' } })])), {
      ok: false,
      code: 'MD_TAX_CODE_UNKNOWN',
      params: { taxCode: 'VAT20', entity: 'DE01' },
      mappingVersion: 'DE01@1+GROUP@1',
    });
    // A personal item handles no tax (`tax: none`), so its code is not looked up, as in v0.
    journalOf(await map(reportInput([line({ personal: true, paymentType: 'company_card', tax: { code: 'VAT20' } })])));
  });

  test('a platform total within one minor unit per converted line posts the difference to the rounding account', async () => {
    const usd = line({ amount: { value: '100.00', currency: 'USD' }, exchangeRate: { rate: '0.92', ...RATE } });
    const above = journalOf(await map(reportInput([usd], { total: '92.01' })));
    assert.deepEqual(rows(above), ['2110 - C1', '2110 - C9200', '6110 DE4110 D9200', '7990 - D1']);
    assert.deepEqual(above.lines.slice(-2).map((l) => [l.rule, l.memo]), [
      ['GROUP@1#settings.credit.out_of_pocket', 'R-100 r2 rounding to platform total'],
      ['GROUP@1#settings.roundingAccount', 'R-100 r2 rounding'],
    ]);
    const below = journalOf(await map(reportInput([usd], { total: '91.99' })));
    assert.deepEqual(rows(below), ['2110 - C9200', '2110 - D1', '6110 DE4110 D9200', '7990 - C1']);
    const exact = journalOf(await map(reportInput([usd], { total: '92.00' })));
    assert.deepEqual(rows(exact), ['2110 - C9200', '6110 DE4110 D9200']);
    const twoLines = journalOf(await map(reportInput([usd, { ...usd, lineId: 'L2' }], { total: '184.02' })));
    assert.ok(rows(twoLines).includes('7990 - D2'));
  });

  test('a platform total beyond the tolerance is refused with REPORT_TOTAL_MISMATCH', async () => {
    const usd = line({ amount: { value: '100.00', currency: 'USD' }, exchangeRate: { rate: '0.92', ...RATE } });
    assert.deepEqual(await map(reportInput([usd], { total: '92.02' })), {
      ok: false,
      code: 'REPORT_TOTAL_MISMATCH',
      params: { expectedMinor: 9202, actualMinor: 9200, toleranceMinor: 1, currency: 'EUR' },
      mappingVersion: 'DE01@1+GROUP@1',
    });
    assert.equal(journalOf(await map(reportInput([line()], { total: '120.00' }))).lines.length, 2);
    const off = await map(reportInput([line()], { total: '120.01' }));
    assert.equal(off.ok ? 'ok' : off.code, 'REPORT_TOTAL_MISMATCH');
  });

  test('accountsUsed names every account the journal posts to, including the payable that takes a rounding difference', async () => {
    const card = line({ paymentType: 'company_card', amount: { value: '100.00', currency: 'USD' }, exchangeRate: { rate: '0.92', ...RATE } });
    const report = normalizeReport(reportInput([card, line({ lineId: 'L2', category: 'PERDIEM', perDiem: { days: 1 }, tax: { code: 'DE7' } })], { total: '212.01' }));
    const journal = journalOf(await mapWithRules(sampleRules('DE01'), report, sampleTax));
    const used = accountsUsed(sampleRules('DE01'), report);
    assert.deepEqual([...used].sort(), ['1410', '2110', '2120', '6110', '6150', '6155', '7990']);
    for (const l of journal.lines) assert.ok(used.includes(l.account), `${l.account} is posted but not in accountsUsed`);
  });
});

// ---------------------------------------------------------------------------------------------
// Rule sets written for the tests below.

const R_AND_D = `
description: DE01 with an R&D cost-center group
rules:
  - id: RD-TRAVEL
    when: { category: LODGING|AIRFARE, costCenter: "DE416?", personal: false }
    then: { account: "6190", tax: reclaim, taxAccount: "1410" }
  - id: RD-MEALS
    when: { category: MEALS, costCenter: "DE416*", personal: false }
    then: { account: "6191", tax: 50%, taxAccount: "1415" }
`;

function withOwn(text: string, ref = 'DE01@7', format: 'yaml' | 'csv' = 'yaml'): ResolvedRules {
  return { own: { ref, set: compileRuleFile({ scope: 'DE01', file: `DE01.${format}`, format, text }) }, group: { ref: 'GROUP@1', set: sampleSet(GROUP_SCOPE) } };
}

function expressionRules(then: string, when = '{ category: LODGING }'): ResolvedRules {
  return withOwn(`rules:\n  - id: X\n    when: ${when}\n    then: ${then}\n`);
}

describe('mapWithRules: per-item coding, custom fields and expressions', () => {
  const split = [
    { costCenter: 'DE4110', percent: '50' },
    { costCenter: 'DE4160', percent: '50' },
  ];

  test('each allocation is matched on its own: R&D travel goes to its own account by a cost-center glob', async () => {
    const rules = withOwn(R_AND_D);
    const journal = journalOf(await map(reportInput([line({ amount: { value: '119.00', currency: 'EUR' }, tax: { code: 'DE19' }, allocations: split })]), rules));
    // The same tax handling on both items: the reclaim is computed on the whole line, as in v0.
    assert.deepEqual(rows(journal), ['1410 - D1900', '2110 - C11900', '6110 DE4110 D5000', '6190 DE4160 D5000']);
    assert.deepEqual(journal.lines.map((l) => l.rule), ['GROUP@1#LODGING', 'GROUP@1#LODGING', 'DE01@7#RD-TRAVEL', 'GROUP@1#settings.credit.out_of_pocket']);
    assert.deepEqual(matchRule(rules, normalizeReport(reportInput([line()])), normalizeReport(reportInput([line()])).lines[0], { costCenter: 'DE4160' })?.rule.id, 'RD-TRAVEL');
  });

  test('items with different tax handling split gross and tax first, and reclaim each on its own part', async () => {
    const meal = line({ category: 'MEALS', amount: { value: '119.01', currency: 'EUR' }, tax: { code: 'DE19' }, allocations: split });
    const journal = journalOf(await map(reportInput([meal]), withOwn(R_AND_D)));
    // Gross 11901 -> 5951 / 5950; tax 1900 -> 950 / 950; DE4110 reclaims all (950), DE4160 half (475) to its own account.
    assert.deepEqual(rows(journal), ['1410 - D950', '1415 - D475', '2110 - C11901', '6130 DE4110 D5001', '6191 DE4160 D5475']);
    assert.ok(accountsUsed(withOwn(R_AND_D), normalizeReport(reportInput([meal]))).includes('1415'));
  });

  test('the entity\'s own rows override the group\'s; the group codes what they leave', async () => {
    const own = `rules:\n  - id: LODGING-DE\n    when: { category: LODGING, personal: false }\n    then: { account: "6111", tax: reclaim, taxAccount: "1411" }\n`;
    const journal = journalOf(await map(reportInput([line({ tax: { code: 'DE19' } }), line({ lineId: 'L2', category: 'TAXI' })]), withOwn(own)));
    assert.deepEqual(
      journal.lines.map((l) => `${l.account} ${l.rule}`),
      ['1411 DE01@7#LODGING-DE', '6111 DE01@7#LODGING-DE', '6140 GROUP@1#TAXI', '2110 GROUP@1#settings.credit.out_of_pocket'],
    );
  });

  test('a custom-field condition reads the line\'s field, else the report\'s; a project comes from an expression', async () => {
    const rules = withOwn(
      [
        'id,category,cf.tripType,account,out.project,tax,taxAccount',
        '# Customer trips are rebilled: their project is the platform\'s project code.',
        'CUSTOMER,LODGING,customer,6112,= line.customFields.projectCode,reclaim,1410',
      ].join('\n'),
      'DE01@8',
      'csv',
    );
    const customerLine = line({ customFields: { tripType: 'customer', projectCode: 'PRJ-42' } });
    const inherits = line({ lineId: 'L2', customFields: { projectCode: 'PRJ-43' } });
    const other = line({ lineId: 'L3', customFields: { tripType: 'internal' } });
    const journal = journalOf(await map(reportInput([customerLine, inherits, other], { customFields: { tripType: 'customer' } }), rules));
    assert.deepEqual(
      journal.lines.slice(0, 3).map((l) => [l.account, l.costCenter, l.project, l.rule]),
      [
        ['6112', 'DE4110', 'PRJ-42', 'DE01@8#CUSTOMER'],
        ['6112', 'DE4110', 'PRJ-43', 'DE01@8#CUSTOMER'],
        ['6110', 'DE4110', undefined, 'GROUP@1#LODGING'],
      ],
    );
    // No project code: the expression gives nothing, and the line has no project.
    const none = journalOf(await map(reportInput([line({ customFields: { tripType: 'customer' } })]), rules));
    assert.equal(none.lines[0].project, undefined);
    const unmatched = await map(reportInput([line({ category: 'YACHT', customFields: { tripType: 'customer' } })]), rules);
    assert.ok(!unmatched.ok && String(unmatched.params.item).endsWith('personal=false cf.tripType=customer'));
  });

  test('a memo expression writes the memo of the item\'s journal lines; a literal cost center and `-` replace the allocation\'s', async () => {
    const rules = expressionRules(`{ account: "6110", costCenter: "DE4199", tax: reclaim, taxAccount: "1410", memo: "= report.reportId & ' ' & line.merchant & ' for ' & allocation.costCenter & ': ' & $string(grossMinor)" }`);
    const journal = journalOf(await map(reportInput([line({ merchant: 'Hotel Adlon', tax: { code: 'DE19' }, allocations: split })]), rules));
    assert.deepEqual(
      journal.lines.map((l) => [l.account, l.costCenter ?? '-', l.debitMinor || -l.creditMinor, l.memo]),
      [
        ['1410', '-', 1916, 'R-100 Hotel Adlon for DE4110: 6000 input tax'],
        // Both items set the cost center themselves and have different memos: two lines on DE4199.
        ['6110', 'DE4199', 5042, 'R-100 Hotel Adlon for DE4110: 6000'],
        ['6110', 'DE4199', 5042, 'R-100 Hotel Adlon for DE4160: 6000'],
        ['2110', '-', -12000, 'R-100 r2 employee'],
      ],
    );
    const merged = journalOf(await map(reportInput([line({ allocations: split })]), expressionRules('{ account: "6110", costCenter: "-", tax: none }')));
    assert.deepEqual(rows(merged), ['2110 - C12000', '6110 - D12000']);
  });

  test('a taxable expression sees the item\'s amounts after reclaim; results outside 0..expense are MAP_EXPRESSION_RESULT', async () => {
    const taxable = (expr: string) => expressionRules(`{ account: "6150", tax: reclaim, taxAccount: "1410", taxable: "${expr}", taxableAccount: "6155" }`);
    const hotel = reportInput([line({ amount: { value: '119.00', currency: 'EUR' }, tax: { code: 'DE19' } })]);
    assert.deepEqual(rows(journalOf(await map(hotel, taxable('= expenseMinor - 2500')))), ['1410 - D1900', '2110 - C11900', '6150 DE4110 D2500', '6155 DE4110 D7500']);
    for (const [expr, value] of [
      ['= expenseMinor + 1', '10001'],
      ['= -1', '-1'],
      ['= 1.5', '1.5'],
      ["= 'ten'", '"ten"'],
      ['= nothing', 'nothing'],
    ]) {
      assert.deepEqual(await map(hotel, taxable(expr)), {
        ok: false,
        code: 'MAP_EXPRESSION_RESULT',
        params: { rule: 'DE01@7#X', version: 'DE01@7+GROUP@1', field: 'taxable', lineId: 'L1', value, expected: 'expected a whole number of minor units from 0 to 10000' },
        mappingVersion: 'DE01@7+GROUP@1',
      }, expr);
    }
    // On a credit the taxable part lies between the (negative) expense and 0.
    const refund = reportInput([line({ amount: { value: '-119.00', currency: 'EUR' }, tax: { code: 'DE19' } })]);
    assert.deepEqual(rows(journalOf(await map(refund, taxable('= expenseMinor + 2500')))), ['1410 - C1900', '2110 - D11900', '6150 DE4110 C2500', '6155 DE4110 C7500']);
    const wrongSide = await map(refund, taxable('= 1'));
    assert.ok(!wrongSide.ok && wrongSide.code === 'MAP_EXPRESSION_RESULT' && wrongSide.params.expected === 'expected a whole number of minor units from -10000 to 0');
  });

  test('an expression that throws is MAP_EXPRESSION_FAILED; a cost center or memo of the wrong shape is MAP_EXPRESSION_RESULT', async () => {
    const failed = await map(reportInput([line()]), expressionRules(`{ account: "6110", tax: none, memo: "= $error('no trip purpose')" }`));
    assert.deepEqual(failed, {
      ok: false,
      code: 'MAP_EXPRESSION_FAILED',
      params: { rule: 'DE01@7#X', version: 'DE01@7+GROUP@1', field: 'memo', lineId: 'L1', detail: 'no trip purpose (JSONata D3137, DE01.yaml:4:56)' },
      mappingVersion: 'DE01@7+GROUP@1',
    });
    // A runaway expression is stopped by the evaluation limits and refused the same way.
    const runaway = await map(reportInput([line()]), expressionRules(`{ account: "6110", tax: none, costCenter: "= ($f := function($n) { 1 + $f($n + 1) }; $f(0))" }`));
    assert.ok(!runaway.ok && runaway.code === 'MAP_EXPRESSION_FAILED' && runaway.params.field === 'costCenter', JSON.stringify(runaway));
    const badCenter = await map(reportInput([line()]), expressionRules(`{ account: "6110", tax: none, costCenter: "= 'not a code!'" }`));
    assert.ok(!badCenter.ok && badCenter.code === 'MAP_EXPRESSION_RESULT' && badCenter.params.field === 'costCenter' && badCenter.params.value === '"not a code!"');
    const longMemo = await map(reportInput([line()]), expressionRules(`{ account: "6110", tax: none, memo: "= $pad('', 201, 'x')" }`));
    assert.ok(!longMemo.ok && longMemo.code === 'MAP_EXPRESSION_RESULT' && longMemo.params.field === 'memo');
    const noneCenter = journalOf(await map(reportInput([line()]), expressionRules(`{ account: "6110", tax: none, costCenter: "= null" }`)));
    assert.equal(noneCenter.lines[0].costCenter, undefined);
  });

  test('an expression stopped by its limits refuses the report with MAP_EXPRESSION_FAILED, evaluated once by the engine', async () => {
    const base = expressionRules(`{ account: "6110", tax: none, memo: "= 'unused'" }`);
    const own = base.own!;
    const withMemo = (evaluate: () => Promise<unknown>): ResolvedRules => {
      const rule = { ...own.set.rules[0], memo: { kind: 'expression' as const, expression: { source: 'stub', at: own.set.rules[0].at, evaluate } } };
      return { ...base, own: { ref: own.ref, set: { ...own.set, rules: [rule] } } };
    };
    // The compiled expression already tried a second time (test/mapping/rule-file.test.ts); the engine does not retry again.
    const stopped = new ExpressionError('it ran longer than 50 ms, twice, and was stopped', 'D1012', 'time', own.set.rules[0].at);
    let calls = 0;
    const runaway = await map(reportInput([line()]), withMemo(() => (calls++, Promise.reject(stopped))));
    assert.ok(!runaway.ok && runaway.code === 'MAP_EXPRESSION_FAILED' && runaway.params.detail === 'it ran longer than 50 ms, twice, and was stopped');
    assert.equal(calls, 1);
  });

  test('matchRule keeps file order across rows indexed by category and rows that are not', () => {
    const rules = withOwn(`rules:
  - id: ANY-RD
    when: { costCenter: "DE416*" }
    then: { account: "6001", tax: none }
  - id: LODGING
    when: { category: LODGING }
    then: { account: "6002", tax: none }
  - id: GLOB
    when: { category: "LODG*" }
    then: { account: "6003", tax: none }
`);
    const report = normalizeReport(reportInput([line()]));
    const ids = (costCenter: string, category = 'LODGING') => matchRule(rules, report, { ...report.lines[0], category }, { costCenter })?.rule.id;
    assert.equal(ids('DE4160'), 'ANY-RD');
    assert.equal(ids('DE4110'), 'LODGING');
    assert.equal(ids('DE4110', 'LODGINGS'), 'GLOB');
    assert.equal(ids('DE4110', 'MEALS'), 'MEALS');
    assert.equal(matchRule({}, report, report.lines[0], { costCenter: 'DE4110' }), undefined);
  });
});

// ---------------------------------------------------------------------------------------------
// Generated reports.

const LINE_CURRENCIES = ['EUR', 'USD', 'JPY', 'KWD', 'CLF'] as const;
const CATEGORY_CODES = SAMPLE_CATEGORIES.map(([code]) => code);

interface EntitySpec {
  readonly entity: string;
  readonly currency: string;
  /** Whose rule set codes it: KW01 (a KWD entity, exponent 3) borrows DE01's rows. */
  readonly rules: string;
  readonly taxCodes: readonly string[];
  readonly costCenters: readonly string[];
}

function entitySpec(entity: string, currency: string, rules = entity): EntitySpec {
  return {
    entity,
    currency,
    rules,
    taxCodes: SAMPLE_COMPANY.taxCodes.filter((t) => t.entity === rules).map((t) => t.code),
    costCenters: SAMPLE_COMPANY.costCenters.filter((c) => c.entity === rules).map((c) => c.code),
  };
}

const SAMPLE_ENTITY_SPECS = SAMPLE_COMPANY.entities.map((e) => entitySpec(e.code, e.currency));

/** Rates as sources send them, from 0.00000001 to 999.99999999. */
const rateArb = fc
  .tuple(fc.integer({ min: 0, max: 999 }), fc.stringMatching(/^\d{0,8}$/))
  .map(([whole, fraction]) => (fraction === '' ? String(whole) : `${whole}.${fraction}`))
  .filter((rate) => !/^0*(\.0*)?$/.test(rate));

const lineSpecArb = (spec: EntitySpec) =>
  fc.record({
    currency: fc.option(fc.constantFrom(...LINE_CURRENCIES), { nil: undefined }),
    rate: rateArb,
    amountMinor: fc.oneof(fc.integer({ min: -100_000_000, max: 100_000_000 }), fc.integer({ min: -50, max: 50 })),
    category: fc.constantFrom(...CATEGORY_CODES),
    paymentType: fc.constantFrom<PaymentType>(...PAYMENT_TYPES),
    personal: fc.boolean(),
    tax: fc.option(fc.record({ code: fc.constantFrom(...spec.taxCodes), percentOfLine: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }) }), { nil: undefined }),
    perDiemDays: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
    byAmount: fc.boolean(),
    weights: fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 4 }),
    costCenters: fc.array(fc.constantFrom(...spec.costCenters), { minLength: 4, maxLength: 4 }),
    projects: fc.array(fc.option(fc.constantFrom('PRJ1', 'PRJ2'), { nil: undefined }), { minLength: 4, maxLength: 4 }),
    customFields: fc.option(fc.dictionary(fc.constantFrom('projectCode', 'tripType'), fc.constantFrom('A', 'customer')), { nil: undefined }),
  });

type LineSpec = ReturnType<typeof lineSpecArb> extends fc.Arbitrary<infer T> ? T : never;

function splitParts(total: number, weights: number[]): number[] {
  // Any exact split will do for building input; kept apart from allocate() so the input does not depend on the code under test.
  const sum = weights.reduce((a, b) => a + b, 0);
  const abs = Math.abs(total);
  const floors = weights.map((w) => Math.floor((abs * w) / sum));
  let left = abs - floors.reduce((a, b) => a + b, 0);
  for (let i = 0; left > 0; i++, left--) floors[i % floors.length] += 1;
  return floors.map((p) => (total < 0 ? -p : p));
}

function toLineInput(spec: LineSpec, index: number, reportCurrency: string): LineInput {
  const currency = spec.currency ?? reportCurrency;
  const parts = splitParts(spec.amountMinor, spec.weights);
  const dimensions = spec.weights.map((_, i) => ({ costCenter: spec.costCenters[i], ...(spec.projects[i] !== undefined && { project: spec.projects[i] }) }));
  const allocations =
    spec.byAmount && parts.every((p) => p !== 0)
      ? dimensions.map((d, i) => ({ ...d, amount: formatAmount(parts[i], currency) }))
      : splitParts(10_000, spec.weights).map((bp, i) => ({ ...dimensions[i], percent: `${Math.floor(bp / 100)}.${String(bp % 100).padStart(2, '0')}` }));
  return {
    lineId: `L${index + 1}`,
    date: '2026-05-04',
    category: spec.category,
    amount: { value: formatAmount(spec.amountMinor, currency), currency },
    ...(currency !== reportCurrency && { exchangeRate: { rate: spec.rate, ...RATE } }),
    paymentType: spec.paymentType,
    personal: spec.personal,
    ...(spec.tax && {
      tax: {
        code: spec.tax.code,
        ...(spec.tax.percentOfLine !== undefined && { amount: formatAmount(Math.trunc((spec.amountMinor * spec.tax.percentOfLine) / 100), currency) }),
      },
    }),
    ...(spec.perDiemDays !== undefined && { perDiem: { days: spec.perDiemDays } }),
    allocations,
    ...(spec.customFields !== undefined && { customFields: spec.customFields }),
  };
}

const generatedArb = (specs: readonly EntitySpec[]) =>
  fc.constantFrom(...specs).chain((entity) =>
    fc.record({
      entity: fc.constant(entity),
      lines: fc.array(lineSpecArb(entity), { minLength: 1, maxLength: 8 }),
      totalOffset: fc.option(fc.integer({ min: -3, max: 3 }), { nil: undefined }),
    }),
  );

/** What each line is worth in the report currency, computed independently of the engine. */
function grossOf(report: ExpenseReport, index: number): number {
  const l = report.lines[index];
  if (l.amount.currency === report.currency) return l.amount.amountMinor;
  return convert(l.amount, report.currency, parseRate(l.exchangeRate?.rate ?? '')).amountMinor;
}

/** A generated report, with a platform total `totalOffset` away from its converted lines when given. */
function generatedReport(entity: EntitySpec, specs: LineSpec[], totalOffset: number | undefined): ExpenseReport {
  const lines = specs.map((spec, i) => toLineInput(spec, i, entity.currency));
  const overrides = { entity: entity.entity, employeeId: `${entity.entity}-E0007`, currency: entity.currency };
  const base = normalizeReport(reportInput(lines, overrides));
  if (totalOffset === undefined) return base;
  const grossTotal = base.lines.reduce((sum, _, i) => sum + grossOf(base, i), 0);
  return normalizeReport(reportInput(lines, { ...overrides, total: formatAmount(grossTotal + totalOffset, entity.currency) }));
}

function withoutRules(journal: JournalEntry): JournalEntry {
  return { ...journal, lines: journal.lines.map(({ rule: _rule, ...rest }) => rest) };
}

describe('mapWithRules: the sample rule files code exactly like the mapping v0 tables they replace', () => {
  test('the sample rule files have no overlaps, and no gaps over each entity\'s categories, cost centers and tax codes', () => {
    for (const { code: entity } of SAMPLE_COMPANY.entities) {
      const domains = {
        category: CATEGORY_CODES,
        costCenter: SAMPLE_COMPANY.costCenters.filter((c) => c.entity === entity).map((c) => c.code),
        project: [],
        taxCode: SAMPLE_COMPANY.taxCodes.filter((t) => t.entity === entity).map((t) => t.code),
      };
      for (const report of ['own', 'group'] as const) {
        assert.deepEqual(checkCoverage({ entity, own: sampleSet(entity), group: sampleSet(GROUP_SCOPE), domains, report }), [], `${entity} ${report}`);
      }
    }
  });

  const v0Mappers = new Map(SAMPLE_MAPPINGS.map((m) => [m.entity, createTableMapper(m)]));
  const rateBp = (code: string) => sampleRateBp(code);

  async function assertSameAsV0(report: ExpenseReport): Promise<boolean> {
    const v0 = v0Mappers.get(report.entity)?.mapReport(report, rateBp);
    assert.ok(v0);
    const engine = await mapWithRules(sampleRules(report.entity), report, sampleTax);
    if (!v0.ok) {
      assert.ok(!engine.ok, `v0 refused with ${v0.code}, the engine built a journal`);
      assert.deepEqual([engine.code, engine.params], [v0.code, v0.params]);
      return false;
    }
    assert.ok(engine.ok, JSON.stringify(engine));
    assert.deepEqual(withoutRules(engine.journal), v0.journal);
    return true;
  }

  test('on every generated valid report of the sample company (journal or refusal alike, `rule` aside)', async () => {
    let built = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(generatedArb(SAMPLE_ENTITY_SPECS), async ({ entity, lines, totalOffset }) => {
        if (await assertSameAsV0(generatedReport(entity, lines, totalOffset))) built++;
        else refused++;
      }),
      { numRuns: 500, ...FC_SEED },
    );
    assert.ok(built > 200 && refused > 0, `built ${built}, refused ${refused}`);
  });

  test('on 400 reports of the demo generator (expense-platform simulator)', async () => {
    const reports = generateReports({ count: 400, seed: 11, invalidShare: 0, approvedOn: new Date('2026-06-15T12:00:00Z') });
    for (const input of reports) assert.ok(await assertSameAsV0(normalizeReport(input)), input.reportId);
  });
});

/** What the sample rules mean, stated independently of them: the oracle of the properties below. */
const ORACLE = {
  expenseAccount: { LODGING: '6110', AIRFARE: '6120', MEALS: '6130', TAXI: '6140', PERDIEM: '6150', SUPPLIES: '6170', ENTERTAINMENT: '6180' } as Record<string, string>,
  credit: { out_of_pocket: '2110', individual_card: '2110', company_card: '2120', cash_advance: '1260' } as Record<PaymentType, string>,
  reclaimBp: (code: string) => (code === 'DE19-ENT' ? 7_000 : code === 'US-NT' ? 0 : 10_000),
  perDiemLimitMinorPerDay: { US01: 7_900, DE01: 2_800, JP01: 5_000, GB01: 2_500, KW01: 2_800 } as Record<string, number>,
};

/** The net (debit - credit) each account should carry, from domain.md's rules. */
function expectedNets(report: ExpenseReport, offset: number): Map<string, number> {
  const nets = new Map<string, number>();
  const add = (account: string, amount: number) => nets.set(account, (nets.get(account) ?? 0) + amount);
  report.lines.forEach((l, i) => {
    const gross = grossOf(report, i);
    add(ORACLE.credit[l.paymentType], -gross);
    if (l.personal) return add('1250', gross);
    let reclaim = 0;
    if (l.tax) {
      const rate = sampleRateBp(l.tax.code) ?? 0;
      const taxMinor = l.tax.amount
        ? l.amount.currency === report.currency
          ? l.tax.amount.amountMinor
          : convert(l.tax.amount, report.currency, parseRate(l.exchangeRate?.rate ?? '')).amountMinor
        : Number(divideRounded(BigInt(gross) * BigInt(rate), BigInt(10_000 + rate)));
      reclaim = Number(divideRounded(BigInt(taxMinor) * BigInt(ORACLE.reclaimBp(l.tax.code)), 10_000n));
      add('1410', reclaim);
    }
    const expense = gross - reclaim;
    const limit = l.category === 'PERDIEM' && l.perDiem ? ORACLE.perDiemLimitMinorPerDay[report.entity] * l.perDiem.days : undefined;
    const taxable = limit !== undefined && expense > limit ? expense - limit : 0;
    add(ORACLE.expenseAccount[l.category], expense - taxable);
    if (taxable > 0) add('6155', taxable);
  });
  if (offset !== 0) {
    add(ORACLE.credit.out_of_pocket, -offset);
    add('7990', offset);
  }
  for (const [account, net] of nets) if (net === 0) nets.delete(account);
  return nets;
}

function actualNets(journal: JournalEntry): Map<string, number> {
  const nets = new Map<string, number>();
  for (const l of journal.lines) nets.set(l.account, (nets.get(l.account) ?? 0) + l.debitMinor - l.creditMinor);
  for (const [account, net] of nets) if (net === 0) nets.delete(account);
  return nets;
}

const sorted = (nets: Map<string, number>) => [...nets].sort(([a], [b]) => a.localeCompare(b));
const EXPENSE_ACCOUNTS = new Set([...Object.values(ORACLE.expenseAccount), '6155']);

describe('mapWithRules: generated reports', () => {
  test('every journal built is balanced, well-formed, complete per account, traced to its rules, reproducible and within accountsUsed', async () => {
    let built = 0;
    let refusedTotals = 0;
    const specs = [...SAMPLE_ENTITY_SPECS, entitySpec('KW01', 'KWD', 'DE01')];
    await fc.assert(
      fc.asyncProperty(generatedArb(specs), async ({ entity, lines, totalOffset }) => {
        const report = generatedReport(entity, lines, totalOffset);
        const rules = sampleRules(entity.entity, entity.rules);
        const result = await mapWithRules(rules, report, sampleTax);
        const converted = report.lines.filter((l) => l.amount.currency !== report.currency);
        if (totalOffset !== undefined && Math.abs(totalOffset) > converted.length) {
          assert.equal(result.ok ? 'ok' : result.code, 'REPORT_TOTAL_MISMATCH');
          refusedTotals++;
          return;
        }
        assert.ok(result.ok, JSON.stringify(result));
        built++;
        const journal = result.journal;
        const check = checkBalance(journal);
        assert.deepEqual(check.malformedLines, []);
        if (journal.lines.length === 0) {
          assert.ok(report.lines.every((_, i) => grossOf(report, i) === 0));
          return;
        }
        assert.ok(check.balanced, JSON.stringify(check));
        assert.deepEqual(sorted(actualNets(journal)), sorted(expectedNets(report, totalOffset ?? 0)));
        const costCenters = new Set(report.lines.flatMap((l) => l.allocations.map((a) => a.costCenter)));
        for (const l of journal.lines) {
          if (EXPENSE_ACCOUNTS.has(l.account)) assert.ok(l.costCenter && costCenters.has(l.costCenter), `${l.account} without a cost center`);
          else assert.equal(l.costCenter, undefined, `${l.account} carries a cost center`);
          assert.match(l.rule ?? '', new RegExp(`^(${entity.entity}|GROUP)@1#([A-Z-]+|settings\\.(credit\\.[a-z_]+|roundingAccount))$`));
        }
        assert.deepEqual(
          journal.conversions.map((c) => [c.lineId, c.from, c.to, c.rate]),
          converted.map((l) => [l.lineId, l.amount.currency, report.currency, l.exchangeRate?.rate]),
        );
        const used = new Set(accountsUsed(rules, report));
        for (const l of journal.lines) assert.ok(used.has(l.account), `${l.account} is posted but not in accountsUsed`);
        assert.deepEqual(await mapWithRules(rules, report, sampleTax), result);
      }),
      { numRuns: 400, ...FC_SEED },
    );
    assert.ok(built > 100, `only ${built} journals built`);
    assert.ok(refusedTotals > 0, 'no total was ever refused');
  });
});
