// Proves that the expense-policy rules read the entity's policy as it was on each line's date and flag exactly what is above a limit (an amount exactly at a limit passes), in the report currency with exact conversion at the line's own rate: allowed currencies, category limits per line and per day (summing only this report's lines of that category and day), receipts, the taxable part of per diem (the same amount the mapping posts), duplicate suspicion within and outside the window and within one report, weekend and holiday flags, and the duplicate index's revision, self and eviction rules.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeReport, type ExpenseReport, type LineInput, type ReportInput } from '../../src/domain/report.ts';
import { createReferenceData, type CompanyDefinition } from '../../src/masterdata/company.ts';
import type { Policy } from '../../src/masterdata/records.ts';
import { SAMPLE_COMPANY, employeeId } from '../../src/demo/sample-company.ts';
import { sampleMapping } from '../support/sample-mapping.ts';
import { DuplicateIndex, normalizeMerchant } from '../../src/validation/duplicates.ts';
import { evaluatePolicy } from '../../src/validation/policy-rules.ts';
import { createValidator } from '../../src/validation/validator.ts';
import type { Finding } from '../../src/validation/validate-report.ts';
import { sampleLine } from '../support/report-fixtures.ts';

/** DE01's policy until 2026-05-31 … */
const POLICY_MAY: Policy = {
  allowedCurrencies: ['EUR', 'USD'],
  categoryLimits: { MEALS: { perLine: '50.00', perDay: '80.00' }, LODGING: { perLine: '200.00', severity: 'error' } },
  receiptRequiredAbove: '25.00',
  perDiem: { PERDIEM: { dailyLimit: '28.00' } },
  duplicateWindowDays: 30,
  flagWeekends: true,
  holidays: ['2026-05-01'],
};
/** … and from 2026-06-01: a lower meal limit, receipts as errors, no weekend flags. */
const POLICY_JUNE: Policy = { ...POLICY_MAY, categoryLimits: { MEALS: { perLine: '30.00' } }, receiptSeverity: 'error', flagWeekends: false };

const COMPANY: CompanyDefinition = {
  ...SAMPLE_COMPANY,
  policies: [
    { entity: 'DE01', policy: POLICY_MAY },
    { entity: 'DE01', policy: POLICY_JUNE, validFrom: '2026-06-01' },
  ],
};
const reference = createReferenceData(COMPANY);
const EMPLOYEE = employeeId('DE01', 1);
// 2026-05-04 is a Monday; 05-01 a Friday and a holiday; 05-02 a Saturday; 05-03 a Sunday.
const MONDAY = '2026-05-04';

function line(overrides: Partial<LineInput> = {}): LineInput {
  return sampleLine({ date: MONDAY, receipt: true, merchant: 'Motel One', ...overrides });
}

function report(lines: LineInput[], overrides: Partial<ReportInput> = {}): ExpenseReport {
  return normalizeReport({
    reportId: 'R-1',
    revision: 1,
    entity: 'DE01',
    employeeId: EMPLOYEE,
    currency: 'EUR',
    approvedAt: '2026-05-10T08:00:00.000Z',
    lines: lines.map((l, i) => ({ ...l, lineId: `L${i + 1}` })),
    ...overrides,
  });
}

const emptyIndex = () => new DuplicateIndex({ retentionDays: () => 365, now: () => Date.parse('2026-06-30T00:00:00Z') });

function evaluate(r: ExpenseReport, duplicates = emptyIndex()): Finding[] {
  return evaluatePolicy(r, reference, duplicates);
}

type Brief = [code: string, severity: string, path: string];
const brief = (findings: Finding[]): Brief[] => findings.map((f) => [f.code, f.severity, f.path]);

const meals = (value: string, overrides: Partial<LineInput> = {}) => line({ category: 'MEALS', amount: { value, currency: 'EUR' }, ...overrides });

describe('evaluatePolicy: no policy', () => {
  test('an entity without a policy gets no policy findings, whatever the report holds', () => {
    const noPolicy = createReferenceData({ ...SAMPLE_COMPANY, policies: [] });
    const r = report([meals('999.00', { receipt: false, date: '2026-05-02', amount: { value: '999.00', currency: 'GBP' }, exchangeRate: { rate: '1.17', source: 'ECB', date: '2026-05-02' } })]);
    assert.deepEqual(evaluatePolicy(r, noPolicy, emptyIndex()), []);
  });

  test('a clean report has no findings', () => {
    assert.deepEqual(evaluate(report([line(), meals('12.50')])), []);
  });
});

describe('evaluatePolicy: allowed currencies', () => {
  test('a line in a currency outside the list is an error naming the currency field', () => {
    const gbp = line({ amount: { value: '10.00', currency: 'GBP' }, exchangeRate: { rate: '1.17', source: 'ECB', date: MONDAY } });
    const [found, ...rest] = evaluate(report([line(), gbp]));
    assert.deepEqual(rest, []);
    assert.deepEqual([found.code, found.severity, found.path], ['POLICY_CURRENCY_NOT_ALLOWED', 'error', 'lines[1].amount.currency']);
    assert.deepEqual(found.params, { lineId: 'L2', currency: 'GBP', entity: 'DE01', allowed: 'EUR, USD' });
    assert.match(found.message, /GBP/);
  });

  test('a line in an allowed foreign currency passes', () => {
    assert.deepEqual(evaluate(report([line({ amount: { value: '10.00', currency: 'USD' }, exchangeRate: { rate: '0.92', source: 'ECB', date: MONDAY } })])), []);
  });
});

describe('evaluatePolicy: category limit per line', () => {
  test('exactly at the limit passes, one cent above is a warning with formatted amounts', () => {
    assert.deepEqual(evaluate(report([meals('50.00')])), []);
    const [found] = evaluate(report([meals('50.01')]));
    assert.deepEqual([found.code, found.severity, found.path], ['POLICY_LINE_LIMIT', 'warning', 'lines[0].amount']);
    assert.deepEqual(found.params, { lineId: 'L1', category: 'MEALS', amount: '50.01', currency: 'EUR', limit: '50.00', entity: 'DE01' });
    assert.match(found.message, /50\.01 EUR, above the per-line limit of 50\.00 EUR/);
  });

  test('a category can make its limit an error', () => {
    assert.deepEqual(evaluate(report([line({ amount: { value: '200.00', currency: 'EUR' } })])), []);
    assert.deepEqual(brief(evaluate(report([line({ amount: { value: '200.01', currency: 'EUR' } })]))), [['POLICY_LINE_LIMIT', 'error', 'lines[0].amount']]);
  });

  test('a credit never exceeds a limit', () => {
    assert.deepEqual(evaluate(report([meals('70.00'), meals('-60.00')])).filter((f) => f.code === 'POLICY_LINE_LIMIT').map((f) => f.params.lineId), ['L1']);
  });
});

describe('evaluatePolicy: currency conversion at the line rate, exactly', () => {
  const usdMeal = (value: string, rate: string) => line({ category: 'MEALS', amount: { value, currency: 'USD' }, exchangeRate: { rate, source: 'ECB', date: MONDAY } });

  test('40.00 USD at 1.25 is exactly 50.00 EUR and passes; 40.01 USD is 50.0125, rounded to 50.01 EUR, and is above', () => {
    assert.deepEqual(evaluate(report([usdMeal('40.00', '1.25')])), []);
    const [found] = evaluate(report([usdMeal('40.01', '1.25')]));
    assert.equal(found.code, 'POLICY_LINE_LIMIT');
    assert.deepEqual([found.params.amount, found.params.currency], ['50.01', 'EUR']);
  });

  test('a rate with many decimals converts without float error: 0.1 + 0.2 style amounts stay exact', () => {
    // 16.67 USD × 2.999400119976 = 49.99999... → 50.00 EUR (half away from zero), at the limit.
    assert.deepEqual(evaluate(report([usdMeal('16.67', '2.999400119976')])), []);
    assert.deepEqual(evaluate(report([usdMeal('16.68', '2.999400119976')])).map((f) => f.params.amount), ['50.03']);
  });
});

describe('evaluatePolicy: category limit per employee and day', () => {
  test('the lines of one category on one day add up; exactly at the limit passes', () => {
    assert.deepEqual(evaluate(report([meals('40.00'), meals('40.00', { merchant: 'Pret' })])), []);
    const [found, ...rest] = evaluate(report([meals('40.00'), meals('40.01')]));
    assert.deepEqual(rest, []);
    assert.deepEqual([found.code, found.severity, found.path], ['POLICY_DAILY_LIMIT', 'warning', 'lines[1].amount']);
    assert.deepEqual(found.params, { category: 'MEALS', employeeId: EMPLOYEE, date: MONDAY, amount: '80.01', currency: 'EUR', limit: '80.00', entity: 'DE01', lineIds: 'L1, L2' });
  });

  test('other days, other categories and credits are not added on top', () => {
    assert.deepEqual(evaluate(report([meals('45.00'), meals('45.00', { date: '2026-05-05' }), line({ amount: { value: '45.00', currency: 'EUR' }, merchant: 'Hilton' })])), []);
    assert.deepEqual(evaluate(report([meals('45.00'), meals('45.00', { merchant: 'Pret' }), meals('-10.00')])), []);
  });

  test('one line above both limits is reported once, by the per-line finding', () => {
    const codes = evaluate(report([meals('90.00')])).map((f) => f.code);
    assert.deepEqual(codes, ['POLICY_LINE_LIMIT']);
  });

  test('only the report counts: the same day in another report is not summed', () => {
    const duplicates = emptyIndex();
    duplicates.add(report([meals('45.00', { merchant: 'Cafe A' })], { reportId: 'R-OTHER' }));
    assert.deepEqual(evaluate(report([meals('45.00', { merchant: 'Cafe B' })]), duplicates), []);
  });
});

describe('evaluatePolicy: receipts', () => {
  test('no receipt at exactly the amount passes; one cent above is a warning on the receipt field', () => {
    assert.deepEqual(evaluate(report([line({ amount: { value: '25.00', currency: 'EUR' }, receipt: false })])), []);
    const [found] = evaluate(report([line({ amount: { value: '25.01', currency: 'EUR' }, receipt: false })]));
    assert.deepEqual([found.code, found.severity, found.path], ['POLICY_RECEIPT_REQUIRED', 'warning', 'lines[0].receipt']);
    assert.deepEqual(found.params, { lineId: 'L1', amount: '25.01', currency: 'EUR', limit: '25.00' });
  });

  test('a receipt, or a per diem line (a computed amount), needs nothing', () => {
    assert.deepEqual(evaluate(report([line({ amount: { value: '99.00', currency: 'EUR' } })])), []);
    const perDiem = line({ category: 'PERDIEM', merchant: undefined, amount: { value: '28.00', currency: 'EUR' }, perDiem: { days: 1 }, receipt: false });
    assert.deepEqual(evaluate(report([perDiem])), []);
  });

  test('the policy can make a missing receipt an error (June version)', () => {
    assert.deepEqual(brief(evaluate(report([line({ date: '2026-06-02', amount: { value: '25.01', currency: 'EUR' }, receipt: false })]))), [['POLICY_RECEIPT_REQUIRED', 'error', 'lines[0].receipt']]);
  });
});

describe('evaluatePolicy: per diem above the statutory limit', () => {
  const perDiem = (value: string, days: number) => line({ category: 'PERDIEM', merchant: undefined, amount: { value, currency: 'EUR' }, perDiem: { days }, receipt: false });

  test('28.00 a day for 3 days is 84.00: exactly that passes, 84.01 shows a taxable 0.01 as info', () => {
    assert.deepEqual(evaluate(report([perDiem('84.00', 3)])), []);
    const [found] = evaluate(report([perDiem('84.01', 3)]));
    assert.deepEqual([found.code, found.severity, found.path], ['POLICY_PER_DIEM_TAXABLE', 'info', 'lines[0].amount']);
    assert.deepEqual(found.params, { lineId: 'L1', amount: '84.01', currency: 'EUR', days: 3, limit: '84.00', dailyLimit: '28.00', taxableAmount: '0.01' });
  });

  test('the taxable part is the amount the sample rules post to the taxable per diem account', async () => {
    const r = report([perDiem('120.00', 3)]);
    const [found] = evaluate(r);
    assert.equal(found.params.taxableAmount, '36.00');
    const mapped = await sampleMapping(reference).mapReport(r);
    assert.ok(mapped.ok);
    const taxable = mapped.journal.lines.filter((l) => l.account === '6155').reduce((sum, l) => sum + l.debitMinor, 0);
    assert.equal(taxable, 3600);
  });
});

describe('evaluatePolicy: duplicate suspicion', () => {
  const original = report([meals('30.00', { merchant: 'Motel One' })], { reportId: 'R-A', approvedAt: '2026-05-10T08:00:00.000Z' });
  const withOriginal = () => {
    const duplicates = emptyIndex();
    duplicates.add(original);
    return duplicates;
  };
  const candidate = (approvedAt: string, overrides: Partial<LineInput> = {}, reportOverrides: Partial<ReportInput> = {}) =>
    report([line({ merchant: 'Taxi Berlin', amount: { value: '12.00', currency: 'EUR' } }), meals('30.00', { merchant: ' motel  ONE', ...overrides })], { reportId: 'R-B', approvedAt, ...reportOverrides });

  test('the same employee, amount, currency, date and merchant (case and spaces ignored) in another report within the window is a warning naming it', () => {
    const [found, ...rest] = evaluate(candidate('2026-06-09T12:00:00.000Z'), withOriginal());
    assert.deepEqual(rest, []);
    assert.deepEqual([found.code, found.severity, found.path], ['POLICY_DUPLICATE_SUSPECTED', 'warning', 'lines[1]']);
    assert.deepEqual([found.params.otherReportId, found.params.otherLineId, found.params.amount, found.params.currency], ['R-A', 'L1', '30.00', 'EUR']);
  });

  test('outside the window (31 days apart, window 30) nothing is suspected; 30 days apart still is', () => {
    assert.deepEqual(evaluate(candidate('2026-06-10T08:00:00.000Z'), withOriginal()), []);
    assert.deepEqual(evaluate(candidate('2026-04-10T08:00:00.000Z'), withOriginal()).map((f) => f.code), ['POLICY_DUPLICATE_SUSPECTED']);
  });

  test('another amount, merchant, date or employee is no duplicate', () => {
    const at = '2026-05-12T08:00:00.000Z';
    assert.deepEqual(evaluate(candidate(at, { amount: { value: '30.01', currency: 'EUR' } }), withOriginal()), []);
    assert.deepEqual(evaluate(candidate(at, { merchant: 'Motel Two' }), withOriginal()), []);
    assert.deepEqual(evaluate(candidate(at, { date: '2026-05-05' }), withOriginal()), []);
    assert.deepEqual(evaluate(candidate(at, {}, { employeeId: employeeId('DE01', 2) }), withOriginal()), []);
  });

  test('a report is never its own duplicate: a new revision of it is not suspected', () => {
    const revision2 = report([meals('30.00', { merchant: 'Motel One' })], { reportId: 'R-A', revision: 2, approvedAt: '2026-05-11T08:00:00.000Z' });
    assert.deepEqual(evaluate(revision2, withOriginal()), []);
  });

  test('the same expense twice in one report is a warning on the second line, naming the first', () => {
    const [found, ...rest] = evaluate(report([meals('30.00'), line({ merchant: 'Uber', amount: { value: '9.00', currency: 'EUR' } }), meals('30.00', { merchant: 'MOTEL ONE' })]));
    assert.deepEqual(rest, []);
    assert.deepEqual([found.code, found.path, found.params.otherLineId, found.params.otherReportId], ['POLICY_DUPLICATE_SUSPECTED', 'lines[2]', 'L1', 'R-1 (this report)']);
  });

  test('merchants compare without case and whitespace', () => {
    assert.equal(normalizeMerchant(' Motel\tOne '), normalizeMerchant('motelone'));
    assert.notEqual(normalizeMerchant('Motel One'), normalizeMerchant('Motel-One'));
  });
});

describe('duplicate index: revisions and eviction', () => {
  const query = { entity: 'DE01', employeeId: EMPLOYEE, reportId: 'R-Q', approvedAt: '2026-05-12T08:00:00.000Z', windowDays: 30 };
  const mealLine = report([meals('30.00')]).lines[0];

  test('a newer revision replaces the lines of the older one; an older revision arriving late changes nothing', () => {
    const index = emptyIndex();
    index.add(report([meals('30.00')], { reportId: 'R-A', revision: 1 }));
    assert.equal(index.suspects({ ...query, line: mealLine }).length, 1);
    index.add(report([meals('31.00')], { reportId: 'R-A', revision: 2 }));
    assert.deepEqual(index.suspects({ ...query, line: mealLine }), []);
    index.add(report([meals('30.00')], { reportId: 'R-A', revision: 1 }));
    assert.deepEqual(index.suspects({ ...query, line: mealLine }), []);
    assert.equal(index.reports, 1);
  });

  test('reports approved before the longest window are evicted', () => {
    let now = Date.parse('2026-05-20T00:00:00Z');
    const index = new DuplicateIndex({ retentionDays: () => 30, now: () => now });
    index.add(report([meals('30.00')], { reportId: 'R-OLD', approvedAt: '2026-05-10T08:00:00.000Z' }));
    index.add(report([meals('30.00')], { reportId: 'R-NEW', approvedAt: '2026-06-05T08:00:00.000Z' }));
    assert.equal(index.evict(), 0);
    now = Date.parse('2026-06-10T00:00:00Z');
    assert.equal(index.evict(), 1);
    assert.deepEqual(index.suspects({ ...query, approvedAt: '2026-06-06T08:00:00.000Z', line: mealLine }).map((s) => s.reportId), ['R-NEW']);
  });
});

describe('evaluatePolicy: weekends and holidays', () => {
  test('Saturday and Sunday lines are flagged as info; a Monday is not', () => {
    const findings = evaluate(report([line({ date: '2026-05-02' }), line({ date: '2026-05-03', merchant: 'Hilton' }), line({ merchant: 'NH' })]));
    assert.deepEqual(brief(findings), [
      ['POLICY_WEEKEND', 'info', 'lines[0].date'],
      ['POLICY_WEEKEND', 'info', 'lines[1].date'],
    ]);
    assert.deepEqual(findings.map((f) => f.params.weekday), ['Saturday', 'Sunday']);
  });

  test('a holiday of the policy is flagged as info', () => {
    const [found, ...rest] = evaluate(report([line({ date: '2026-05-01' })]));
    assert.deepEqual(rest, []);
    assert.deepEqual([found.code, found.severity, found.path, found.params.date], ['POLICY_HOLIDAY', 'info', 'lines[0].date', '2026-05-01']);
  });
});

describe('evaluatePolicy: effective dating', () => {
  test('the June policy applies to lines dated on or after 2026-06-01, the May policy before', () => {
    // 2026-05-29 is a Friday, 2026-06-01 a Monday.
    assert.deepEqual(evaluate(report([meals('40.00', { date: '2026-05-29' })])), []);
    const [found, ...rest] = evaluate(report([meals('40.00', { date: '2026-06-01' })]));
    assert.deepEqual(rest, []);
    assert.deepEqual([found.code, found.params.limit], ['POLICY_LINE_LIMIT', '30.00']);
  });

  test('lines of one report are judged by the version in force on each one’s date', () => {
    const findings = evaluate(report([meals('40.00', { date: '2026-05-30' }), meals('40.00', { date: '2026-06-06', merchant: 'Pret' })]));
    // The Saturday in May is flagged (weekend flags on), the Saturday in June is not, and only June's line is over its limit.
    assert.deepEqual(brief(findings), [
      ['POLICY_WEEKEND', 'info', 'lines[0].date'],
      ['POLICY_LINE_LIMIT', 'warning', 'lines[1].amount'],
    ]);
  });
});

describe('validator: the pipeline step records the report; a draft does not', () => {
  test('validateReport adds the report to the duplicate index, validateDraft leaves it unchanged', () => {
    const duplicates = emptyIndex();
    const validator = createValidator({ reference, duplicates, clock: { now: () => Date.parse('2026-05-12T08:00:00Z') } });
    const mappers = sampleMapping(reference);
    const draftBody = { report: { entity: 'DE01', employeeId: EMPLOYEE, currency: 'EUR', lines: [{ ...meals('30.00'), lineId: 'L1' }] } };
    assert.deepEqual(validator.validateDraft(draftBody, mappers).findings, []);
    assert.deepEqual(validator.validateDraft(draftBody, mappers).findings, [], 'a draft is not remembered');
    const submitted = report([meals('30.00')], { reportId: 'R-SUBMITTED' });
    assert.deepEqual(validator.validateReport(submitted, []).filter((f) => f.code.startsWith('POLICY_')), []);
    assert.deepEqual(validator.validateDraft(draftBody, mappers).findings.map((f) => [f.code, f.path, f.params.otherReportId]), [['POLICY_DUPLICATE_SUSPECTED', 'report.lines[0]', 'R-SUBMITTED']]);
  });
});
