// Proves that the mapping v0 journal builder codes expense reports the way domain.md says a finance team expects (VAT split and partial reclaim, cost-center splits, card and personal items, credits, per diem above the statutory limit, foreign currency with its recorded conversion, explicit tax, platform totals within the rounding tolerance) and that, for any valid generated report, every journal it builds is balanced, well-formed, nets each account to the amount the report implies, and uses only accounts that validation was told about.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkBalance, type JournalEntry, type JournalLine } from '../../src/domain/journal.ts';
import { convert, divideRounded, formatAmount, parseRate } from '../../src/domain/money.ts';
import { normalizeReport, PAYMENT_TYPES, type ExpenseReport, type LineInput, type PaymentType, type ReportInput } from '../../src/domain/report.ts';
import { createTableMapper } from '../../src/mapping/build-journal.ts';
import type { EntityMapping, MapResult } from '../../src/mapping/entity-mapping.ts';
import { SAMPLE_COMPANY, SAMPLE_MAPPINGS } from '../../src/demo/sample-company.ts';
import { sampleLine } from '../support/report-fixtures.ts';

/** Run properties with a random seed (fast-check prints it on failure); FC_SEED=<n> replays one. */
const FC_SEED = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };

function mappingOf(entity: string): EntityMapping {
  const mapping = SAMPLE_MAPPINGS.find((m) => m.entity === entity);
  assert.ok(mapping, `sample mapping for ${entity}`);
  return mapping;
}

const DE01 = mappingOf('DE01');
/** Tax rates as master data holds them (the mapper does not check which entity a code belongs to). */
const sampleRateBp = (code: string) => SAMPLE_COMPANY.taxCodes.find((t) => t.code === code)?.rateBp;

/** DE01 plus a 20% VAT code, fully reclaimable: the worked example of domain.md. */
const DE01_WITH_VAT20: EntityMapping = { ...DE01, taxCodes: { ...DE01.taxCodes, VAT20: { inputTaxAccount: '1410', reclaimBp: 10_000 } } };
const rateWithVat20 = (code: string) => (code === 'VAT20' ? 2000 : sampleRateBp(code));

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

function map(input: ReportInput, mapping: EntityMapping = DE01, rateBp: (code: string) => number | undefined = sampleRateBp): MapResult {
  return createTableMapper(mapping).mapReport(normalizeReport(input), rateBp);
}

function journalOf(result: MapResult): JournalEntry {
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

describe('buildJournal: worked cases', () => {
  test('the domain.md example: 120.00 EUR hotel, 20% VAT fully reclaimable, split 50/50', () => {
    const result = map(reportInput([line({ tax: { code: 'VAT20' }, allocations: halves })]), DE01_WITH_VAT20, rateWithVat20);
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
    assert.ok(result.ok && /^v0-DE01-[0-9a-f]{12}$/.test(result.mappingVersion));
  });

  test('19% VAT fully reclaimable on a gross amount', () => {
    assert.deepEqual(rows(journalOf(map(reportInput([line({ amount: { value: '119.00', currency: 'EUR' }, tax: { code: 'DE19' } })])))), [
      '1410 - D1900',
      '2110 - C11900',
      '6110 DE4110 D10000',
    ]);
  });

  test('partial reclaim (DE19-ENT, 70%) keeps the rest of the tax in the expense', () => {
    const entertainment = line({ category: 'ENTERTAINMENT', amount: { value: '119.00', currency: 'EUR' }, tax: { code: 'DE19-ENT' } });
    // Tax 19.00, 70% reclaimable = 13.30; the expense keeps 100.00 + 5.70.
    assert.deepEqual(rows(journalOf(map(reportInput([entertainment])))), ['1410 - D1330', '2110 - C11900', '6180 DE4110 D10570']);
    // 10.00 gross: tax 1.5966 -> 1.60, reclaim 1.12, expense 8.88.
    const small = line({ category: 'ENTERTAINMENT', amount: { value: '10.00', currency: 'EUR' }, tax: { code: 'DE19-ENT' } });
    assert.deepEqual(rows(journalOf(map(reportInput([small])))), ['1410 - D112', '2110 - C1000', '6180 DE4110 D888']);
  });

  test('a tax code without reclaim posts no tax line', () => {
    const us = mappingOf('US01');
    const journal = journalOf(map(reportInput([line({ amount: { value: '50.00', currency: 'USD' }, tax: { code: 'US-NT' } })], { entity: 'US01', currency: 'USD' }), us));
    assert.deepEqual(rows(journal), ['2110 - C5000', '6110 DE4110 D5000']);
  });

  test('a company-billed card credits the card clearing account', () => {
    const journal = journalOf(map(reportInput([line({ paymentType: 'company_card', amount: { value: '119.00', currency: 'EUR' }, tax: { code: 'DE19' } })])));
    assert.deepEqual(rows(journal), ['1410 - D1900', '2120 - C11900', '6110 DE4110 D10000']);
  });

  test('an individually billed card credits the employee payable, a cash advance the advance account', () => {
    assert.deepEqual(rows(journalOf(map(reportInput([line({ paymentType: 'individual_card' })])))), ['2110 - C12000', '6110 DE4110 D12000']);
    assert.deepEqual(rows(journalOf(map(reportInput([line({ paymentType: 'cash_advance' })])))), ['1260 - C12000', '6110 DE4110 D12000']);
  });

  test('a personal item on the company card becomes an employee receivable with no tax line', () => {
    const personal = line({ paymentType: 'company_card', personal: true, amount: { value: '119.00', currency: 'EUR' }, tax: { code: 'DE19' } });
    const journal = journalOf(map(reportInput([personal])));
    assert.deepEqual(rows(journal), ['1250 - D11900', '2120 - C11900']);
    assert.equal(journal.lines.find((l) => l.account === '1250')?.employeeId, 'DE01-E0007');
  });

  test('a credit (negative line) flips every side', () => {
    const refund = line({ amount: { value: '-119.00', currency: 'EUR' }, tax: { code: 'DE19' }, allocations: halves });
    assert.deepEqual(rows(journalOf(map(reportInput([refund])))), ['1410 - C1900', '2110 - D11900', '6110 DE4110 C5000', '6110 DE4120 C5000']);
  });

  test('a credit and an expense on the same payment type net on the credit side', () => {
    const journal = journalOf(map(reportInput([line(), line({ lineId: 'L2', amount: { value: '-20.00', currency: 'EUR' } })])));
    assert.deepEqual(rows(journal), ['2110 - C10000', '6110 DE4110 C2000', '6110 DE4110 D12000']);
  });

  test('per diem above the statutory limit puts the excess on the taxable account, split like the line', () => {
    // DE01 allows 28.00 a day: 3 days = 84.00 tax free, 16.00 taxable.
    const perDiem = line({ category: 'PERDIEM', amount: { value: '100.00', currency: 'EUR' }, perDiem: { days: 3 }, allocations: halves });
    assert.deepEqual(rows(journalOf(map(reportInput([perDiem])))), ['2110 - C10000', '6150 DE4110 D4200', '6150 DE4120 D4200', '6155 DE4110 D800', '6155 DE4120 D800']);
    const within = line({ category: 'PERDIEM', amount: { value: '84.00', currency: 'EUR' }, perDiem: { days: 3 } });
    assert.deepEqual(rows(journalOf(map(reportInput([within])))), ['2110 - C8400', '6150 DE4110 D8400']);
  });

  test('a foreign-currency line is converted at its rate, and the conversion is recorded', () => {
    const usd = line({ amount: { value: '100.00', currency: 'USD' }, exchangeRate: { rate: '0.92', ...RATE } });
    const yen = line({ lineId: 'L2', category: 'TAXI', amount: { value: '15000', currency: 'JPY' }, exchangeRate: { rate: '0.0062', ...RATE } });
    const journal = journalOf(map(reportInput([usd, yen])));
    assert.deepEqual(rows(journal), ['2110 - C18500', '6110 DE4110 D9200', '6140 DE4110 D9300']);
    assert.deepEqual(journal.conversions, [
      { lineId: 'L1', from: 'USD', to: 'EUR', rate: '0.92', source: 'ECB', date: '2026-05-03' },
      { lineId: 'L2', from: 'JPY', to: 'EUR', rate: '0.0062', source: 'ECB', date: '2026-05-03' },
    ]);
  });

  test('a rate sent on a line already in the report currency is ignored and not recorded', () => {
    const journal = journalOf(map(reportInput([line({ exchangeRate: { rate: '2', ...RATE } })])));
    assert.deepEqual(rows(journal), ['2110 - C12000', '6110 DE4110 D12000']);
    assert.deepEqual(journal.conversions, []);
  });

  test('an explicit tax amount is used as given (converted with the line when foreign)', () => {
    // Computed 19% of 120.00 would be 19.16; the receipt says 10.00.
    assert.deepEqual(rows(journalOf(map(reportInput([line({ tax: { code: 'DE19', amount: '10.00' } })])))), ['1410 - D1000', '2110 - C12000', '6110 DE4110 D11000']);
    // Partial reclaim applies to the given amount: 70% of 10.00.
    const ent = line({ category: 'ENTERTAINMENT', tax: { code: 'DE19-ENT', amount: '10.00' } });
    assert.deepEqual(rows(journalOf(map(reportInput([ent])))), ['1410 - D700', '2110 - C12000', '6180 DE4110 D11300']);
    // 15.97 USD at 0.92 = 14.6924 EUR -> 14.69.
    const usd = line({ amount: { value: '100.00', currency: 'USD' }, exchangeRate: { rate: '0.92', ...RATE }, tax: { code: 'DE19', amount: '15.97' } });
    assert.deepEqual(rows(journalOf(map(reportInput([usd])))), ['1410 - D1469', '2110 - C9200', '6110 DE4110 D7731']);
  });

  test('amount allocations split the net expense in proportion to the allocated amounts', () => {
    const byAmount = line({ amount: { value: '119.00', currency: 'EUR' }, tax: { code: 'DE19' }, allocations: [{ costCenter: 'DE4110', amount: '89.25' }, { costCenter: 'DE4120', amount: '29.75' }] });
    assert.deepEqual(rows(journalOf(map(reportInput([byAmount])))), ['1410 - D1900', '2110 - C11900', '6110 DE4110 D7500', '6110 DE4120 D2500']);
  });

  test('a zero line posts nothing for itself', () => {
    const journal = journalOf(map(reportInput([line(), line({ lineId: 'L2', amount: { value: '0', currency: 'EUR' }, tax: { code: 'DE19' } })])));
    assert.deepEqual(rows(journal), ['2110 - C12000', '6110 DE4110 D12000']);
  });
});

describe('buildJournal: refusals and totals', () => {
  test('an unmapped category is refused with MAP_CATEGORY_UNMAPPED naming it', () => {
    assert.deepEqual(map(reportInput([line(), line({ lineId: 'L2', category: 'YACHT' })])), {
      ok: false,
      code: 'MAP_CATEGORY_UNMAPPED',
      params: { category: 'YACHT', entity: 'DE01' },
    });
  });

  test('a tax code the mapping or master data does not know is refused with MD_TAX_CODE_UNKNOWN', () => {
    const result = map(reportInput([line({ tax: { code: 'VAT20' } })]));
    assert.deepEqual(result, { ok: false, code: 'MD_TAX_CODE_UNKNOWN', params: { taxCode: 'VAT20', entity: 'DE01' } });
    const noRate = map(reportInput([line({ tax: { code: 'DE19' } })]), DE01, () => undefined);
    assert.equal(noRate.ok ? 'ok' : noRate.code, 'MD_TAX_CODE_UNKNOWN');
  });

  test('a platform total within one minor unit per converted line posts the difference to the rounding account', () => {
    const usd = line({ amount: { value: '100.00', currency: 'USD' }, exchangeRate: { rate: '0.92', ...RATE } });
    const above = journalOf(map(reportInput([usd], { total: '92.01' })));
    assert.deepEqual(rows(above), ['2110 - C1', '2110 - C9200', '6110 DE4110 D9200', '7990 - D1']);
    const below = journalOf(map(reportInput([usd], { total: '91.99' })));
    assert.deepEqual(rows(below), ['2110 - C9200', '2110 - D1', '6110 DE4110 D9200', '7990 - C1']);
    const exact = journalOf(map(reportInput([usd], { total: '92.00' })));
    assert.deepEqual(rows(exact), ['2110 - C9200', '6110 DE4110 D9200']);
    const twoLines = journalOf(map(reportInput([usd, { ...usd, lineId: 'L2' }], { total: '184.02' })));
    assert.ok(rows(twoLines).includes('7990 - D2'));
  });

  test('a platform total beyond the tolerance is refused with REPORT_TOTAL_MISMATCH', () => {
    const usd = line({ amount: { value: '100.00', currency: 'USD' }, exchangeRate: { rate: '0.92', ...RATE } });
    assert.deepEqual(map(reportInput([usd], { total: '92.02' })), {
      ok: false,
      code: 'REPORT_TOTAL_MISMATCH',
      params: { expectedMinor: 9202, actualMinor: 9200, toleranceMinor: 1, currency: 'EUR' },
    });
    // Without a conversion there is nothing to round: the total must match exactly.
    assert.equal(journalOf(map(reportInput([line()], { total: '120.00' }))).lines.length, 2);
    const off = map(reportInput([line()], { total: '120.01' }));
    assert.equal(off.ok ? 'ok' : off.code, 'REPORT_TOTAL_MISMATCH');
  });

  test('accountsUsed names every account the journal posts to, including the payable that takes a rounding difference', () => {
    const card = line({ paymentType: 'company_card', amount: { value: '100.00', currency: 'USD' }, exchangeRate: { rate: '0.92', ...RATE } });
    const input = reportInput([card], { total: '92.01' });
    const mapper = createTableMapper(DE01);
    const journal = journalOf(mapper.mapReport(normalizeReport(input), sampleRateBp));
    const used = new Set(mapper.accountsUsed(normalizeReport(input)));
    for (const l of journal.lines) assert.ok(used.has(l.account), `${l.account} is posted but not in accountsUsed`);
  });
});

// ---------------------------------------------------------------------------------------------
// Generated reports.

/** A KWD entity (exponent 3), mapped like the sample DE01. */
const KW01: EntityMapping = { ...DE01, entity: 'KW01' };
const ENTITIES: readonly { mapping: EntityMapping; currency: string }[] = [
  { mapping: DE01, currency: 'EUR' },
  { mapping: mappingOf('JP01'), currency: 'JPY' },
  { mapping: KW01, currency: 'KWD' },
];
const LINE_CURRENCIES = ['EUR', 'JPY', 'KWD', 'USD', 'CLF'] as const;

/** Rates as sources send them, from 0.00000001 to 999.99999999. */
const rateArb = fc
  .tuple(fc.integer({ min: 0, max: 999 }), fc.stringMatching(/^\d{0,8}$/))
  .map(([whole, fraction]) => (fraction === '' ? String(whole) : `${whole}.${fraction}`))
  .filter((rate) => !/^0*(\.0*)?$/.test(rate));

const lineSpecArb = (mapping: EntityMapping) =>
  fc.record({
    currency: fc.option(fc.constantFrom(...LINE_CURRENCIES), { nil: undefined }),
    rate: rateArb,
    amountMinor: fc.oneof(fc.integer({ min: -100_000_000, max: 100_000_000 }), fc.integer({ min: -50, max: 50 })),
    category: fc.constantFrom(...Object.keys(mapping.categories)),
    paymentType: fc.constantFrom<PaymentType>(...PAYMENT_TYPES),
    personal: fc.boolean(),
    tax: fc.option(fc.record({ code: fc.constantFrom(...Object.keys(mapping.taxCodes)), percentOfLine: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }) }), { nil: undefined }),
    perDiemDays: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
    byAmount: fc.boolean(),
    weights: fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 4 }),
    costCenters: fc.array(fc.constantFrom('CC1', 'CC2', 'CC3', 'CC4', 'CC5'), { minLength: 4, maxLength: 4 }),
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
  const value = formatAmount(spec.amountMinor, currency);
  const costCenters = spec.weights.map((_, i) => spec.costCenters[i]);
  const parts = splitParts(spec.amountMinor, spec.weights);
  const allocations =
    spec.byAmount && parts.every((p) => p !== 0)
      ? costCenters.map((costCenter, i) => ({ costCenter, amount: formatAmount(parts[i], currency) }))
      : splitParts(10_000, spec.weights).map((bp, i) => ({ costCenter: costCenters[i], percent: `${Math.floor(bp / 100)}.${String(bp % 100).padStart(2, '0')}` }));
  return {
    lineId: `L${index + 1}`,
    date: '2026-05-04',
    category: spec.category,
    amount: { value, currency },
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
  };
}

const generatedArb = fc
  .constantFrom(...ENTITIES)
  .chain(({ mapping, currency }) =>
    fc.record({
      mapping: fc.constant(mapping),
      currency: fc.constant(currency),
      specs: fc.array(lineSpecArb(mapping), { minLength: 1, maxLength: 8 }),
      totalOffset: fc.option(fc.integer({ min: -3, max: 3 }), { nil: undefined }),
    }),
  );

/** What each line is worth in the report currency, computed independently of the mapper. */
function grossOf(report: ExpenseReport, index: number): number {
  const l = report.lines[index];
  if (l.amount.currency === report.currency) return l.amount.amountMinor;
  return convert(l.amount, report.currency, parseRate(l.exchangeRate?.rate ?? '')).amountMinor;
}

/** The net (debit - credit) each account should carry, from domain.md's rules. */
function expectedNets(report: ExpenseReport, mapping: EntityMapping, offset: number): Map<string, number> {
  const nets = new Map<string, number>();
  const add = (account: string, amount: number) => nets.set(account, (nets.get(account) ?? 0) + amount);
  report.lines.forEach((l, i) => {
    const gross = grossOf(report, i);
    add(mapping.paymentTypes[l.paymentType], -gross);
    if (l.personal) return add(mapping.employeeReceivableAccount, gross);
    let reclaim = 0;
    if (l.tax) {
      const tax = mapping.taxCodes[l.tax.code];
      const taxMinor = l.tax.amount
        ? l.amount.currency === report.currency
          ? l.tax.amount.amountMinor
          : convert(l.tax.amount, report.currency, parseRate(l.exchangeRate?.rate ?? '')).amountMinor
        : Number(divideRounded(BigInt(gross) * BigInt(sampleRateBp(l.tax.code) ?? 0), BigInt(10_000 + (sampleRateBp(l.tax.code) ?? 0))));
      reclaim = Number(divideRounded(BigInt(taxMinor) * BigInt(tax.reclaimBp), 10_000n));
      add(tax.inputTaxAccount, reclaim);
    }
    const category = mapping.categories[l.category];
    const expense = gross - reclaim;
    const limit = category.perDiem && l.perDiem ? category.perDiem.limitMinorPerDay * l.perDiem.days : undefined;
    const taxable = limit !== undefined && expense > limit ? expense - limit : 0;
    add(category.expenseAccount, expense - taxable);
    if (category.perDiem && taxable > 0) add(category.perDiem.taxableAccount, taxable);
  });
  if (offset !== 0) {
    add(mapping.paymentTypes.out_of_pocket, -offset);
    add(mapping.roundingAccount, offset);
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

describe('buildJournal: generated reports', () => {
  test('every journal built is balanced, well-formed, complete per account, reproducible and within accountsUsed', () => {
    let built = 0;
    let refusedTotals = 0;
    fc.assert(
      fc.property(generatedArb, ({ mapping, currency, specs, totalOffset }) => {
        const lines = specs.map((spec, i) => toLineInput(spec, i, currency));
        const base = normalizeReport(reportInput(lines, { entity: mapping.entity, currency }));
        const grossTotal = base.lines.reduce((sum, _, i) => sum + grossOf(base, i), 0);
        const input = reportInput(lines, {
          entity: mapping.entity,
          currency,
          ...(totalOffset !== undefined && { total: formatAmount(grossTotal + totalOffset, currency) }),
        });
        const report = normalizeReport(input);
        const mapper = createTableMapper(mapping);
        const result = mapper.mapReport(report, sampleRateBp);
        const converted = report.lines.filter((l) => l.amount.currency !== currency);

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
          // Nothing to post only when every line is worth zero in the report currency.
          assert.equal(grossTotal, 0);
          assert.ok(report.lines.every((_, i) => grossOf(report, i) === 0));
          return;
        }
        assert.ok(check.balanced, JSON.stringify(check));
        for (const l of journal.lines) {
          assert.ok(Number.isSafeInteger(l.debitMinor) && l.debitMinor >= 0);
          assert.ok(Number.isSafeInteger(l.creditMinor) && l.creditMinor >= 0);
          assert.ok((l.debitMinor === 0) !== (l.creditMinor === 0));
        }
        assert.deepEqual(sorted(actualNets(journal)), sorted(expectedNets(report, mapping, totalOffset ?? 0)));
        // Expense lines carry a cost center of one of the report's allocations; balance-sheet lines carry none.
        const expenseAccounts = new Set(Object.values(mapping.categories).flatMap((c) => [c.expenseAccount, ...(c.perDiem ? [c.perDiem.taxableAccount] : [])]));
        const costCenters = new Set(report.lines.flatMap((l) => l.allocations.map((a) => a.costCenter)));
        for (const l of journal.lines) {
          if (expenseAccounts.has(l.account)) assert.ok(l.costCenter && costCenters.has(l.costCenter), `${l.account} without a cost center`);
          else assert.equal(l.costCenter, undefined, `${l.account} carries a cost center`);
        }
        assert.deepEqual(
          journal.conversions.map((c) => [c.lineId, c.from, c.to, c.rate]),
          converted.map((l) => [l.lineId, l.amount.currency, currency, l.exchangeRate?.rate]),
        );
        const used = new Set(mapper.accountsUsed(report));
        for (const l of journal.lines) assert.ok(used.has(l.account), `${l.account} is posted but not in accountsUsed`);
        assert.deepEqual(createTableMapper(mapping).mapReport(normalizeReport(input), sampleRateBp), result);
      }),
      { numRuns: 400, ...FC_SEED },
    );
    // The generator must reach both outcomes, or the property proves little.
    assert.ok(built > 100, `only ${built} journals built`);
    assert.ok(refusedTotals > 0, 'no total was ever refused');
  });
});

test('the tax rate is taken as it was on each line\'s expense date, not on the approval date', () => {
  // A rate change on 2026-07-01 (19% before, 16% after); the report is approved after the change.
  const rateOn = (code: string, date: string) => (code === 'DE19' ? (date < '2026-07-01' ? 1900 : 1600) : sampleRateBp(code));
  const input = reportInput(
    [line({ date: '2026-06-30', amount: { value: '119.00', currency: 'EUR' }, tax: { code: 'DE19' } }), line({ lineId: 'L2', date: '2026-07-01', amount: { value: '116.00', currency: 'EUR' }, tax: { code: 'DE19' } })],
    { approvedAt: '2026-07-10T10:00:00.000Z' },
  );
  const journal = journalOf(createTableMapper(DE01).mapReport(normalizeReport(input), rateOn));
  const inputTax = journal.lines.filter((l) => l.account === '1410').map((l) => l.debitMinor);
  assert.deepEqual(inputTax, [1900, 1600]);
});
