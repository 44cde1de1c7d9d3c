// Proves that normalizeReport turns a schema-valid report into minor units with each currency's own exponent, and refuses, with a DomainError whose path names the offending line, everything a schema cannot express: allocations that do not sum to exactly 100.00% or to the line, mixed allocation kinds, duplicate line ids, foreign lines without a usable rate, and tax larger than its line or of the opposite sign.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Compile } from 'typebox/compile';
import { DomainError, type DomainErrorCode } from '../../src/domain/domain-error.ts';
import { allocate } from '../../src/domain/money.ts';
import { normalizeReport, ReportInputSchema, type LineInput, type ReportInput } from '../../src/domain/report.ts';
import { sampleLine } from '../support/report-fixtures.ts';

/** Run properties with a random seed (fast-check prints it on failure); FC_SEED=<n> replays one. */
const FC_SEED = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };

const checkSchema = Compile(ReportInputSchema);

function assertDomainError(fn: () => unknown, code: DomainErrorCode, path: string | RegExp): DomainError {
  let caught: DomainError | undefined;
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof DomainError, `expected a DomainError, got ${String(error)}`);
    assert.equal(error.code, code, JSON.stringify(error.params));
    if (typeof path === 'string') assert.equal(error.params.path, path);
    else assert.match(String(error.params.path), path);
    caught = error;
    return true;
  });
  return caught as DomainError;
}

function line(overrides: Partial<LineInput> = {}): LineInput {
  return sampleLine(overrides);
}

function report(lines: LineInput[], overrides: Partial<ReportInput> = {}): ReportInput {
  const input: ReportInput = {
    reportId: 'R-1',
    revision: 1,
    entity: 'DE01',
    employeeId: 'DE01-E0001',
    currency: 'EUR',
    approvedAt: '2026-05-06T10:00:00.000Z',
    lines,
    ...overrides,
  };
  // Every case below is schema-valid: what fails, fails for a rule only normalization knows.
  assert.ok(checkSchema.Check(input), JSON.stringify([...checkSchema.Errors(input)].slice(0, 2)));
  return input;
}

const percents = (...values: string[]) => values.map((percent, i) => ({ costCenter: `DE41${i}0`, percent }));
const amounts = (...values: string[]) => values.map((amount, i) => ({ costCenter: `DE41${i}0`, amount }));

describe('normalizeReport: allocations by percent', () => {
  test('accept percentages that sum to exactly 100.00 and store basis points', () => {
    const normalized = normalizeReport(report([line({ allocations: percents('33.33', '33.33', '33.34') })]));
    assert.deepEqual(normalized.lines[0].allocations.map((a) => a.shareBp), [3333, 3333, 3334]);
    assert.deepEqual(normalizeReport(report([line({ allocations: percents('100.00') })])).lines[0].allocations[0].shareBp, 10_000);
    assert.deepEqual(normalizeReport(report([line({ allocations: percents('50', '50.0') })])).lines[0].allocations.map((a) => a.shareBp), [5000, 5000]);
  });

  test('refuse percentages that miss 100.00 by any amount, or a zero share', () => {
    for (const split of [['33.33', '33.33', '33.33'], ['50', '50.01'], ['99.99'], ['100', '0'], ['0', '100'], ['100.01']]) {
      assertDomainError(() => normalizeReport(report([line({ allocations: percents(...split) })])), 'ALLOCATION_INVALID', 'data.lines[0].allocations');
    }
  });

  test('any split into positive basis points is accepted as is, and any one-point change is refused', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 20 }), fc.nat(), fc.boolean(), (weights, pick, up) => {
        const bp = allocate(10_000, weights);
        fc.pre(bp.every((b) => b > 0));
        const asPercent = (b: number) => `${Math.floor(b / 100)}.${String(b % 100).padStart(2, '0')}`;
        const normalized = normalizeReport(report([line({ allocations: percents(...bp.map(asPercent)) })]));
        assert.deepEqual(normalized.lines[0].allocations.map((a) => a.shareBp), bp);
        const changed = [...bp];
        const index = pick % changed.length;
        changed[index] += up ? 1 : -1;
        if (changed[index] === 0) changed[index] = 2;
        assert.throws(() => normalizeReport(report([line({ allocations: percents(...changed.map(asPercent)) })])), (e: unknown) => e instanceof DomainError && e.code === 'ALLOCATION_INVALID');
      }),
      { numRuns: 200, ...FC_SEED },
    );
  });
});

describe('normalizeReport: allocations by amount', () => {
  test('accept amounts that sum to the line in the line currency', () => {
    const normalized = normalizeReport(report([line({ allocations: amounts('70.00', '50') })]));
    assert.deepEqual(normalized.lines[0].allocations.map((a) => a.amountMinor), [7000, 5000]);
    const credit = normalizeReport(report([line({ amount: { value: '-120.00', currency: 'EUR' }, allocations: amounts('-100', '-20') })]));
    assert.deepEqual(credit.lines[0].allocations.map((a) => a.amountMinor), [-10000, -2000]);
  });

  test('refuse amounts that do not sum to the line, are zero, or have the other sign', () => {
    for (const split of [['70.00', '49.99'], ['120.00', '0'], ['130.00', '-10.00'], ['120.01']]) {
      assertDomainError(() => normalizeReport(report([line({ allocations: amounts(...split) })])), 'ALLOCATION_INVALID', 'data.lines[0].allocations');
    }
    assertDomainError(
      () => normalizeReport(report([line({ amount: { value: '-120.00', currency: 'EUR' }, allocations: amounts('120.00') })])),
      'ALLOCATION_INVALID',
      'data.lines[0].allocations',
    );
  });

  test('parse allocated amounts with the exponent of the line currency and name the allocation', () => {
    const jpy = normalizeReport(report([line({ amount: { value: '15000', currency: 'JPY' }, exchangeRate: { rate: '0.0062', source: 'ECB', date: '2026-05-03' }, allocations: amounts('10000', '5000') })]));
    assert.deepEqual(jpy.lines[0].allocations.map((a) => a.amountMinor), [10000, 5000]);
    assertDomainError(() => normalizeReport(report([line({ allocations: amounts('60.001', '59.999') })])), 'AMOUNT_PRECISION', 'data.lines[0].allocations[0].amount');
  });

  test('refuse a mix of percent and amount allocations, or an allocation with both', () => {
    const mixed = [{ costCenter: 'DE4110', percent: '50' }, { costCenter: 'DE4120', amount: '60.00' }];
    assertDomainError(() => normalizeReport(report([line({ allocations: mixed })])), 'ALLOCATION_INVALID', 'data.lines[0].allocations');
    const both = [{ costCenter: 'DE4110', percent: '100', amount: '120.00' }];
    assertDomainError(() => normalizeReport(report([line({ allocations: both })])), 'ALLOCATION_INVALID', 'data.lines[0].allocations');
    const neither = [{ costCenter: 'DE4110' }];
    assertDomainError(() => normalizeReport(report([line({ allocations: neither })])), 'ALLOCATION_INVALID', 'data.lines[0].allocations');
  });
});

describe('normalizeReport: lines', () => {
  test('refuses a duplicate line id, naming the second line', () => {
    const error = assertDomainError(() => normalizeReport(report([line(), line({ lineId: 'L2' }), line()])), 'REPORT_INVALID', 'data.lines[2].lineId');
    assert.match(String(error.params.detail), /L1/);
  });

  test('refuses a foreign-currency line without a rate, or with a zero rate', () => {
    const usd = { value: '100.00', currency: 'USD' };
    assertDomainError(() => normalizeReport(report([line(), line({ lineId: 'L2', amount: usd })])), 'REPORT_INVALID', 'data.lines[1].exchangeRate');
    assertDomainError(
      () => normalizeReport(report([line({ amount: usd, exchangeRate: { rate: '0.000', source: 'ECB', date: '2026-05-03' } })])),
      'AMOUNT_INVALID',
      'data.lines[0].exchangeRate.rate',
    );
    const ok = normalizeReport(report([line({ amount: usd, exchangeRate: { rate: '0.92', source: 'ECB', date: '2026-05-03' } })]));
    assert.deepEqual(ok.lines[0].amount, { amountMinor: 10000, currency: 'USD' });
    assert.deepEqual(ok.lines[0].exchangeRate, { rate: '0.92', source: 'ECB', date: '2026-05-03' });
  });

  test('refuses a foreign-currency line whose converted amount is beyond the safe integer range', () => {
    const huge = { value: '900000000000000', currency: 'JPY' };
    assertDomainError(
      () => normalizeReport(report([line({ amount: huge, exchangeRate: { rate: '1000', source: 'ECB', date: '2026-05-03' }, allocations: percents('100') })])),
      'AMOUNT_INVALID',
      'data.lines[0].amount',
    );
  });

  test('refuses a tax amount larger than the line or of the opposite sign, naming the tax', () => {
    for (const [value, tax] of [['120.00', '120.01'], ['120.00', '-1.00'], ['-120.00', '1.00'], ['-120.00', '-120.01'], ['0', '0.01']]) {
      const allocations = percents('100');
      assertDomainError(
        () => normalizeReport(report([line(), line({ lineId: 'L2', amount: { value, currency: 'EUR' }, tax: { code: 'DE19', amount: tax }, allocations })])),
        'REPORT_INVALID',
        'data.lines[1].tax.amount',
      );
    }
  });

  test('accepts a tax amount up to the whole line, zero tax, and a tax code without an amount', () => {
    const normalized = normalizeReport(
      report([
        line({ tax: { code: 'DE19', amount: '120.00' } }),
        line({ lineId: 'L2', amount: { value: '-119.00', currency: 'EUR' }, tax: { code: 'DE19', amount: '-19.00' } }),
        line({ lineId: 'L3', tax: { code: 'DE19', amount: '0' } }),
        line({ lineId: 'L4', tax: { code: 'DE19' } }),
      ]),
    );
    assert.deepEqual(normalized.lines.map((l) => l.tax), [
      { code: 'DE19', amount: { amountMinor: 12000, currency: 'EUR' } },
      { code: 'DE19', amount: { amountMinor: -1900, currency: 'EUR' } },
      { code: 'DE19', amount: { amountMinor: 0, currency: 'EUR' } },
      { code: 'DE19' },
    ]);
  });
});

describe('normalizeReport: currencies', () => {
  test('applies each currency exponent to every amount: line, tax, allocation and total', () => {
    const normalized = normalizeReport(
      report(
        [
          line({ amount: { value: '1.234', currency: 'KWD' }, exchangeRate: { rate: '2.99', source: 'ECB', date: '2026-05-03' }, tax: { code: 'X', amount: '0.2' }, allocations: amounts('1', '0.234') }),
          line({ lineId: 'L2', amount: { value: '1500', currency: 'JPY' }, exchangeRate: { rate: '0.0062', source: 'ECB', date: '2026-05-03' }, tax: { code: 'JP10', amount: '136' } }),
          line({ lineId: 'L3', amount: { value: '12.5', currency: 'EUR' }, allocations: amounts('12.50') }),
        ],
        { total: '24.39' },
      ),
    );
    assert.deepEqual(normalized.lines[0].amount, { amountMinor: 1234, currency: 'KWD' });
    assert.deepEqual(normalized.lines[0].tax?.amount, { amountMinor: 200, currency: 'KWD' });
    assert.deepEqual(normalized.lines[0].allocations.map((a) => a.amountMinor), [1000, 234]);
    assert.deepEqual(normalized.lines[1].amount, { amountMinor: 1500, currency: 'JPY' });
    assert.deepEqual(normalized.lines[1].tax?.amount, { amountMinor: 136, currency: 'JPY' });
    assert.deepEqual(normalized.lines[2].amount, { amountMinor: 1250, currency: 'EUR' });
    assert.deepEqual(normalized.total, { amountMinor: 2439, currency: 'EUR' });
  });

  test('names the amount that has more decimals than its currency allows', () => {
    const rate = { rate: '0.0062', source: 'ECB', date: '2026-05-03' };
    assertDomainError(() => normalizeReport(report([line(), line({ lineId: 'L2', amount: { value: '1.5', currency: 'JPY' }, exchangeRate: rate })])), 'AMOUNT_PRECISION', 'data.lines[1].amount');
    assertDomainError(() => normalizeReport(report([line({ amount: { value: '15', currency: 'JPY' }, exchangeRate: rate, tax: { code: 'JP10', amount: '1.4' } })])), 'AMOUNT_PRECISION', 'data.lines[0].tax.amount');
    assertDomainError(() => normalizeReport(report([line()], { total: '120.001' })), 'AMOUNT_PRECISION', 'data.total');
    const yen = line({ amount: { value: '120', currency: 'JPY' } });
    assertDomainError(() => normalizeReport(report([yen], { currency: 'JPY', total: '120.5' })), 'AMOUNT_PRECISION', 'data.total');
  });

  test('refuses unknown currencies at their path', () => {
    assertDomainError(() => normalizeReport(report([line()], { currency: 'ABC' })), 'CURRENCY_UNKNOWN', 'data.currency');
    assertDomainError(() => normalizeReport(report([line({ amount: { value: '1', currency: 'XAU' } })])), 'CURRENCY_UNKNOWN', 'data.lines[0].amount.currency');
  });

  test('uses the base path given by the caller', () => {
    assertDomainError(() => normalizeReport(report([line(), line()]), 'events[3].data'), 'REPORT_INVALID', 'events[3].data.lines[1].lineId');
  });
});

describe('normalizeReport: the normalized shape', () => {
  test('defaults flags, keeps optional fields only when sent, and leaves the input untouched', () => {
    const input = report([line({ merchant: 'Hotel Adlon', perDiem: undefined })], { title: 'Berlin', total: '120' });
    const before = structuredClone(input);
    const normalized = normalizeReport(input);
    assert.deepEqual(input, before);
    assert.equal(normalized.title, 'Berlin');
    assert.ok(!('submittedAt' in normalized));
    assert.equal(normalized.lines[0].personal, false);
    assert.equal(normalized.lines[0].receipt, false);
    assert.equal(normalized.lines[0].merchant, 'Hotel Adlon');
    assert.ok(!('perDiem' in normalized.lines[0]));
    assert.ok(!('tax' in normalized.lines[0]));
    assert.ok(!('exchangeRate' in normalized.lines[0]));
    assert.deepEqual(normalized.total, { amountMinor: 12000, currency: 'EUR' });
  });

  test('accepts amounts by percent on a zero line (nothing to split) and keeps projects', () => {
    const normalized = normalizeReport(report([line({ amount: { value: '0.00', currency: 'EUR' }, allocations: [{ costCenter: 'DE4110', project: 'P-7', percent: '100' }] })]));
    assert.deepEqual(normalized.lines[0].allocations, [{ costCenter: 'DE4110', project: 'P-7', shareBp: 10_000 }]);
  });
});

