// Proves that money is exact: currency exponents come from ISO 4217 and refuse unknown codes, decimal strings parse into minor units (and refuse too many decimals, garbage and overflow), formatting round-trips, allocation always sums to the whole in fair, reproducible parts, and conversion rounds once, half away from zero, symmetrically in sign; and that the fast paths (parseAmount and convert in safe integers, parseRate digit by digit) give exactly what the BigInt and regular-expression paths give, value or error, on every input.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DomainError, type DomainErrorCode } from '../../src/domain/domain-error.ts';
import { allocate, convert, currencyExponent, divideRounded, formatAmount, parseAmount, parseMinorExact, parseMinorSafe, parseRate, type Ratio } from '../../src/domain/money.ts';

/** Run properties with a random seed (fast-check prints it on failure); FC_SEED=<n> replays one. */
const FC_SEED = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };

function assertDomainError(fn: () => unknown, code: DomainErrorCode, params: Record<string, string | number> = {}): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof DomainError, `expected a DomainError, got ${String(error)}`);
    assert.equal(error.code, code);
    for (const [key, value] of Object.entries(params)) assert.equal(error.params[key], value, `params.${key}`);
    return true;
  });
}

/** One currency per exponent we post in. */
const CURRENCIES_BY_EXPONENT: readonly [string, number][] = [
  ['JPY', 0],
  ['EUR', 2],
  ['USD', 2],
  ['KWD', 3],
  ['CLF', 4],
];
const currencyArb = fc.constantFrom(...CURRENCIES_BY_EXPONENT.map(([code]) => code));

/** Positive decimal rate strings as sources send them ("0.0049", "161.235", "1"). */
const rateStringArb = fc
  .tuple(fc.integer({ min: 0, max: 9_999 }), fc.stringMatching(/^\d{0,8}$/))
  .map(([whole, fraction]) => (fraction === '' ? String(whole) : `${whole}.${fraction}`))
  .filter((rate) => !/^0*(\.0*)?$/.test(rate));

describe('currencyExponent', () => {
  test('knows the ISO 4217 exponents of currencies with 0, 2, 3 and 4 minor digits', () => {
    assert.equal(currencyExponent('JPY'), 0);
    assert.equal(currencyExponent('EUR'), 2);
    assert.equal(currencyExponent('KWD'), 3);
    assert.equal(currencyExponent('CLF'), 4);
  });

  test('refuses unknown, lower-case, malformed and non-monetary codes with CURRENCY_UNKNOWN naming the path', () => {
    for (const code of ['ABC', 'eur', 'Eur', 'XAU', 'XXX', 'XTS', 'EURO', 'EU', '']) {
      assertDomainError(() => currencyExponent(code, 'data.currency'), 'CURRENCY_UNKNOWN', { path: 'data.currency', currency: code });
    }
  });
});

describe('parseAmount', () => {
  test('parses decimals into minor units of the currency', () => {
    assert.deepEqual(parseAmount('12.30', 'EUR'), { amountMinor: 1230, currency: 'EUR' });
    assert.deepEqual(parseAmount('12.3', 'EUR'), { amountMinor: 1230, currency: 'EUR' });
    assert.deepEqual(parseAmount('12', 'EUR'), { amountMinor: 1200, currency: 'EUR' });
    assert.deepEqual(parseAmount('0.01', 'EUR'), { amountMinor: 1, currency: 'EUR' });
    assert.deepEqual(parseAmount('1500', 'JPY'), { amountMinor: 1500, currency: 'JPY' });
    assert.deepEqual(parseAmount('0.001', 'KWD'), { amountMinor: 1, currency: 'KWD' });
    assert.deepEqual(parseAmount('1.2345', 'CLF'), { amountMinor: 12345, currency: 'CLF' });
    assert.deepEqual(parseAmount('007.50', 'EUR'), { amountMinor: 750, currency: 'EUR' });
  });

  test('parses negative amounts (credits)', () => {
    assert.deepEqual(parseAmount('-12.30', 'EUR'), { amountMinor: -1230, currency: 'EUR' });
    assert.deepEqual(parseAmount('-1', 'JPY'), { amountMinor: -1, currency: 'JPY' });
    assert.deepEqual(parseAmount('-0.001', 'KWD'), { amountMinor: -1, currency: 'KWD' });
    // Negative zero is zero, never -0.
    assert.ok(Object.is(parseAmount('-0.00', 'EUR').amountMinor, 0));
  });

  test('accepts trailing zeros beyond the exponent', () => {
    assert.equal(parseAmount('5.00', 'JPY').amountMinor, 5);
    assert.equal(parseAmount('5.000000', 'EUR').amountMinor, 500);
    assert.equal(parseAmount('1.2340', 'KWD').amountMinor, 1234);
  });

  test('refuses significant decimals beyond the exponent with AMOUNT_PRECISION', () => {
    assertDomainError(() => parseAmount('1.5', 'JPY', 'x.amount'), 'AMOUNT_PRECISION', { path: 'x.amount', value: '1.5', currency: 'JPY', exponent: 0 });
    assertDomainError(() => parseAmount('1.234', 'EUR'), 'AMOUNT_PRECISION', { currency: 'EUR', exponent: 2 });
    assertDomainError(() => parseAmount('0.0001', 'KWD'), 'AMOUNT_PRECISION', { exponent: 3 });
    assertDomainError(() => parseAmount('-0.00001', 'CLF'), 'AMOUNT_PRECISION', { exponent: 4 });
  });

  test('refuses what is not a plain decimal with AMOUNT_INVALID', () => {
    for (const value of ['1e3', '', ' 1', '1 ', '1.', '.5', '--1', '+1', '1,00', 'abc', '0x10', 'NaN', 'Infinity', '1.2.3', '-', '١٢']) {
      assertDomainError(() => parseAmount(value, 'EUR', 'p'), 'AMOUNT_INVALID', { path: 'p' });
    }
  });

  test('refuses amounts beyond the safe integer range with AMOUNT_INVALID', () => {
    assert.equal(parseAmount('90071992547409.91', 'EUR').amountMinor, Number.MAX_SAFE_INTEGER);
    assert.equal(parseAmount('-90071992547409.91', 'EUR').amountMinor, -Number.MAX_SAFE_INTEGER);
    assertDomainError(() => parseAmount('90071992547409.92', 'EUR'), 'AMOUNT_INVALID');
    assertDomainError(() => parseAmount('-90071992547409.92', 'EUR'), 'AMOUNT_INVALID');
    assertDomainError(() => parseAmount('999999999999999', 'KWD'), 'AMOUNT_INVALID');
    // More than 15 integer digits is refused by the format itself.
    assertDomainError(() => parseAmount('1000000000000000', 'JPY'), 'AMOUNT_INVALID');
  });

  test('refuses an unknown currency with CURRENCY_UNKNOWN at the currency path', () => {
    assertDomainError(() => parseAmount('1.00', 'ABC', 'line.amount'), 'CURRENCY_UNKNOWN', { path: 'line.amount.currency' });
  });
});

describe('formatAmount and parseAmount', () => {
  test('format with exactly the exponent digits', () => {
    assert.equal(formatAmount(1230, 'EUR'), '12.30');
    assert.equal(formatAmount(-5, 'EUR'), '-0.05');
    assert.equal(formatAmount(0, 'EUR'), '0.00');
    assert.equal(formatAmount(1500, 'JPY'), '1500');
    assert.equal(formatAmount(-1, 'KWD'), '-0.001');
    assert.equal(formatAmount(12345, 'CLF'), '1.2345');
  });

  for (const [currency, exponent] of CURRENCIES_BY_EXPONENT) {
    // The input format holds at most 15 integer digits, which bounds JPY below the safe range.
    const max = Math.min(Number.MAX_SAFE_INTEGER, 10 ** (15 + exponent) - 1);

    test(`parse(format(x)) is x for every ${currency} amount (exponent ${exponent})`, () => {
      fc.assert(
        fc.property(fc.integer({ min: -max, max }), (amountMinor) => {
          const text = formatAmount(amountMinor, currency);
          assert.match(text, exponent === 0 ? /^-?\d+$/ : new RegExp(`^-?\\d+\\.\\d{${exponent}}$`));
          assert.equal(parseAmount(text, currency).amountMinor, amountMinor);
        }),
        { numRuns: 300, ...FC_SEED },
      );
    });

    test(`parse(s) is the exact value of every ${currency} decimal string, and format gives it back`, () => {
      const decimal = fc
        .tuple(fc.boolean(), fc.stringMatching(/^\d{1,11}$/), fc.stringMatching(new RegExp(`^\\d{0,${exponent}}$`)), fc.nat({ max: 3 }))
        .map(([negative, whole, fraction, zeros]) => {
          const digits = fraction + '0'.repeat(zeros);
          return `${negative ? '-' : ''}${whole}${digits ? `.${digits}` : ''}`;
        });
      fc.assert(
        fc.property(decimal, (text) => {
          const parsed = parseAmount(text, currency);
          const formatted = formatAmount(parsed.amountMinor, currency);
          assert.equal(parseAmount(formatted, currency).amountMinor, parsed.amountMinor);
          // Same value as exact decimal arithmetic on the string.
          const [, sign, whole, fraction = ''] = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text) as RegExpExecArray;
          const scaled = BigInt(whole + fraction.slice(0, exponent).padEnd(exponent, '0'));
          assert.equal(BigInt(parsed.amountMinor), sign ? -scaled : scaled);
        }),
        { numRuns: 300, ...FC_SEED },
      );
    });
  }
});

/** What a call returns or throws, as comparable data: the value, or the error's class, code, params and message. */
function outcome(fn: () => unknown): unknown {
  try {
    return { value: fn() };
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return { error: error.name, code: error.code, params: error.params, message: error.message };
  }
}

/** Decimal-looking strings around every boundary of the format: digits, zeros, signs, points, lengths. */
const decimalLikeArb = fc.oneof(
  fc.stringMatching(/^-?\d{1,17}(\.\d{0,22})?$/),
  fc.tuple(fc.constantFrom('', '-', '--', '+', ' '), fc.stringMatching(/^0{0,3}[1-9]?\d{0,15}$/), fc.constantFrom('', '.', '.0', '.00', '.000000', '.5', '.05', '.0001', '.10', '.1234', '.12345', '.x', '..1'), fc.constantFrom('', '0', '00', ' ', 'e3')).map((parts) => parts.join('')),
  fc.string({ maxLength: 24 }),
);

describe('parseAmount: the safe-integer fast path', () => {
  test('agrees with the BigInt path on every decimal-looking string and every exponent (value, or the same error)', () => {
    fc.assert(
      fc.property(decimalLikeArb, fc.constantFrom(...CURRENCIES_BY_EXPONENT), (text, [currency, exponent]) => {
        const exact = outcome(() => parseMinorExact(text, currency, exponent, 'p'));
        const fast = parseMinorSafe(text, exponent);
        if (fast !== undefined) {
          assert.deepEqual({ value: fast }, exact, `fast path on ${JSON.stringify(text)} (exponent ${exponent})`);
          assert.ok(Number.isSafeInteger(fast) && !Object.is(fast, -0));
        }
        assert.deepEqual(outcome(() => parseAmount(text, currency, 'p').amountMinor), exact, `parseAmount(${JSON.stringify(text)}, ${currency})`);
      }),
      { numRuns: 20_000, ...FC_SEED },
    );
  });

  test('answers only while whole digits and the exponent fit 15 digits, and leaves the rest to the BigInt path', () => {
    assert.equal(parseMinorSafe('9999999999999.99', 2), 999_999_999_999_999);
    assert.equal(parseMinorSafe('-999999999999999', 0), -999_999_999_999_999);
    assert.equal(parseMinorSafe('90071992547409.91', 2), undefined);
    assert.equal(parseAmount('90071992547409.91', 'EUR').amountMinor, Number.MAX_SAFE_INTEGER);
    assert.equal(parseMinorSafe('99999999999999.99', 2), undefined);
    assertDomainError(() => parseAmount('99999999999999.99', 'EUR', 'p'), 'AMOUNT_INVALID', { path: 'p' });
    // Malformed input and too many decimals are never answered by the fast path.
    for (const text of ['1.', '.5', '-', '', '1.234', '1e3', '0x10']) assert.equal(parseMinorSafe(text, 2), undefined, text);
    assert.ok(Object.is(parseMinorSafe('-0.000', 2), 0));
  });
});

describe('allocate', () => {
  const totalArb = fc.maxSafeInteger();
  const weightsArb = fc.array(fc.nat({ max: 1_000_000 }), { minLength: 1, maxLength: 20 }).filter((w) => w.some((x) => x > 0));

  test('parts sum exactly to the total, negative totals included', () => {
    fc.assert(
      fc.property(totalArb, weightsArb, (total, weights) => {
        const parts = allocate(total, weights);
        assert.equal(parts.length, weights.length);
        assert.equal(parts.reduce((a, b) => a + BigInt(b), 0n), BigInt(total));
        for (const part of parts) assert.ok(Number.isSafeInteger(part));
      }),
      { numRuns: 500, ...FC_SEED },
    );
  });

  test('each part is within one minor unit of its exact proportional share', () => {
    fc.assert(
      fc.property(totalArb, weightsArb, (total, weights) => {
        const sum = weights.reduce((a, b) => a + BigInt(b), 0n);
        allocate(total, weights).forEach((part, i) => {
          // |part - total * w / sum| < 1, in integers.
          const gap = BigInt(part) * sum - BigInt(total) * BigInt(weights[i]);
          assert.ok((gap < 0n ? -gap : gap) < sum, `part ${i} = ${part} is not within 1 of ${total}*${weights[i]}/${sum}`);
        });
      }),
      { numRuns: 500, ...FC_SEED },
    );
  });

  test('is deterministic, gives zero weights zero (never -0) and negates a negated total', () => {
    fc.assert(
      fc.property(totalArb, weightsArb, (total, weights) => {
        const parts = allocate(total, weights);
        assert.deepEqual(allocate(total, [...weights]), parts);
        weights.forEach((w, i) => {
          if (w === 0) assert.ok(Object.is(parts[i], 0), `zero weight ${i} got ${parts[i]}`);
        });
        assert.deepEqual(allocate(-total, weights), parts.map((p) => (p === 0 ? 0 : -p)));
      }),
      { numRuns: 300, ...FC_SEED },
    );
  });

  test('is proportional: weights scaled by k give the same parts', () => {
    fc.assert(
      fc.property(totalArb, weightsArb, fc.integer({ min: 2, max: 1000 }), (total, weights, k) => {
        assert.deepEqual(allocate(total, weights.map((w) => w * k)), allocate(total, weights));
      }),
      { numRuns: 300, ...FC_SEED },
    );
  });

  test('splits by largest remainder, ties to the earlier part', () => {
    assert.deepEqual(allocate(100, [1, 1, 1]), [34, 33, 33]);
    assert.deepEqual(allocate(-100, [1, 1, 1]), [-34, -33, -33]);
    assert.deepEqual(allocate(2, [1, 1, 1]), [1, 1, 0]);
    assert.deepEqual(allocate(10, [3333, 3333, 3334]), [3, 3, 4]);
    assert.deepEqual(allocate(0, [1, 2]), [0, 0]);
    assert.deepEqual(allocate(12000, [5000, 5000]), [6000, 6000]);
  });

  test('treats bad weights as programmer errors (assertions)', () => {
    for (const weights of [[], [0], [0, 0], [1, -1], [1.5], [Number.NaN], [2 ** 60]]) {
      assert.throws(() => allocate(100, weights), /Assertion failed/, JSON.stringify(weights));
    }
  });
});

describe('parseRate', () => {
  test('parses positive decimal rates exactly', () => {
    assert.deepEqual(parseRate('1.0842'), { numerator: 10842n, denominator: 10000n });
    assert.deepEqual(parseRate('161'), { numerator: 161n, denominator: 1n });
    assert.deepEqual(parseRate('0.000000000001'), { numerator: 1n, denominator: 10n ** 12n });
  });

  test('refuses zero, negative and non-decimal rates with AMOUNT_INVALID', () => {
    for (const rate of ['0', '0.0', '00.000', '-1', 'abc', '', '1.', '.5', '1e3', ' 1', '1/2']) {
      assertDomainError(() => parseRate(rate, 'line.exchangeRate.rate'), 'AMOUNT_INVALID', { path: 'line.exchangeRate.rate' });
    }
  });
});

/** parseRate as it was written first, with regular expressions: the reference for the digit-by-digit version. */
function referenceParseRate(value: string, path: string): Ratio {
  const match = /^(\d{1,12})(?:\.(\d{1,12}))?$/.exec(value);
  if (!match || /^0*(\.0*)?$/.test(value)) {
    throw new DomainError('AMOUNT_INVALID', { path, detail: `"${value}" is not a positive decimal rate such as "1.0842"` });
  }
  const [, whole, fraction = ''] = match;
  return { numerator: BigInt(whole + fraction), denominator: 10n ** BigInt(fraction.length) };
}

describe('parseRate read digit by digit', () => {
  test('agrees with the regular-expression reference on every string (value, or the same error)', () => {
    const rateLikeArb = fc.oneof(fc.stringMatching(/^\d{0,14}(\.\d{0,14})?$/), fc.tuple(fc.constantFrom('', '-', '0', '00', ' '), fc.stringMatching(/^\d{0,13}$/), fc.constantFrom('', '.', '.0', '.5', '..', '.1234567890123', 'x', '/2')).map((parts) => parts.join('')), fc.string({ maxLength: 30 }));
    fc.assert(
      fc.property(rateLikeArb, (text) => {
        assert.deepEqual(outcome(() => parseRate(text, 'r')), outcome(() => referenceParseRate(text, 'r')), JSON.stringify(text));
      }),
      { numRuns: 20_000, ...FC_SEED },
    );
  });
});

/** convert as it was written first, all on BigInt: the reference for its safe-integer fast path. */
function referenceConvert(amountMinor: number, from: string, to: string, rate: Ratio): number {
  let numerator = BigInt(amountMinor) * rate.numerator;
  let denominator = rate.denominator;
  const shift = currencyExponent(to) - currencyExponent(from);
  if (shift >= 0) numerator *= 10n ** BigInt(shift);
  else denominator *= 10n ** BigInt(-shift);
  return Number(divideRounded(numerator, denominator));
}

describe('convert: the safe-integer fast path', () => {
  test('agrees with the BigInt reference at every magnitude, both sides of 2^53 included', () => {
    const magnitudeArb = fc.oneof(fc.integer({ min: -1e6, max: 1e6 }), fc.maxSafeInteger(), fc.integer({ min: 2 ** 40, max: 2 ** 52 }).map((n) => n * (n % 2 === 0 ? 1 : -1)));
    fc.assert(
      fc.property(magnitudeArb, currencyArb, currencyArb, fc.oneof(rateStringArb, fc.stringMatching(/^[1-9]\d{0,11}\.\d{1,12}$/)), (amountMinor, from, to, rateText) => {
        const rate = parseRate(rateText);
        const expected = outcome(() => {
          const value = referenceConvert(amountMinor, from, to, rate);
          if (!Number.isSafeInteger(value)) throw new DomainError('AMOUNT_INVALID', { path: 'amount', detail: 'the amount is too large' });
          return value;
        });
        assert.deepEqual(outcome(() => convert({ amountMinor, currency: from }, to, rate).amountMinor), expected, `${amountMinor} ${from}->${to} @${rateText}`);
      }),
      { numRuns: 5_000, ...FC_SEED },
    );
  });
});

describe('convert', () => {
  const money = (amountMinor: number, currency: string) => ({ amountMinor, currency });

  test('rounds half away from zero, once, at the end', () => {
    // 1 JPY at 0.005 EUR/JPY is 0.005 EUR = 0.5 cent: rounds up to 1 cent, and -1 JPY to -1 cent.
    assert.deepEqual(convert(money(1, 'JPY'), 'EUR', parseRate('0.005')), money(1, 'EUR'));
    assert.deepEqual(convert(money(-1, 'JPY'), 'EUR', parseRate('0.005')), money(-1, 'EUR'));
    // 0.49 cent rounds down to zero.
    assert.deepEqual(convert(money(1, 'JPY'), 'EUR', parseRate('0.0049')), money(0, 'EUR'));
    // 3 JPY at 0.005 = 1.5 cents -> 2 cents (not 2 * round(0.5)).
    assert.deepEqual(convert(money(3, 'JPY'), 'EUR', parseRate('0.005')), money(2, 'EUR'));
    // 10.05 USD at 1.1 = 11.055 EUR -> 11.06 EUR.
    assert.deepEqual(convert(money(1005, 'USD'), 'EUR', parseRate('1.1')), money(1106, 'EUR'));
  });

  test('applies the exponent change between currencies', () => {
    // 1.00 EUR at 161.235 JPY/EUR = 161.235 JPY -> 161 JPY.
    assert.deepEqual(convert(money(100, 'EUR'), 'JPY', parseRate('161.235')), money(161, 'JPY'));
    // 0.01 EUR at 150 = 1.5 JPY -> 2 JPY; -0.01 EUR -> -2 JPY.
    assert.deepEqual(convert(money(1, 'EUR'), 'JPY', parseRate('150')), money(2, 'JPY'));
    assert.deepEqual(convert(money(-1, 'EUR'), 'JPY', parseRate('150')), money(-2, 'JPY'));
    // 1.000 KWD at 2.9995 EUR/KWD = 2.9995 EUR = 299.95 cents -> 3.00 EUR.
    assert.deepEqual(convert(money(1000, 'KWD'), 'EUR', parseRate('2.9995')), money(300, 'EUR'));
    // 0.001 KWD at 3 = 0.3 cent -> 0.
    assert.deepEqual(convert(money(1, 'KWD'), 'EUR', parseRate('3')), money(0, 'EUR'));
    // 150 JPY at 0.0062 = 0.93 EUR; at the same rate into KWD-like exponent 3 = 0.930.
    assert.deepEqual(convert(money(150, 'JPY'), 'EUR', parseRate('0.0062')), money(93, 'EUR'));
    assert.deepEqual(convert(money(150, 'JPY'), 'KWD', parseRate('0.0062')), money(930, 'KWD'));
  });

  test('is the identity at rate 1 between currencies of the same exponent', () => {
    const max = 10 ** 15;
    fc.assert(
      fc.property(fc.integer({ min: -max, max }), fc.constantFrom('1', '1.0', '1.000000'), (amountMinor, rate) => {
        assert.equal(convert(money(amountMinor, 'EUR'), 'USD', parseRate(rate)).amountMinor, amountMinor);
        assert.equal(convert(money(amountMinor, 'USD'), 'EUR', parseRate(rate)).amountMinor, amountMinor);
        assert.equal(convert(money(amountMinor, 'JPY'), 'JPY', parseRate(rate)).amountMinor, amountMinor);
      }),
      { numRuns: 200, ...FC_SEED },
    );
  });

  test('is the exact product rounded half away from zero, and symmetric in sign', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e7, max: 1e7 }), currencyArb, currencyArb, rateStringArb, (amountMinor, from, to, rateText) => {
        const rate: Ratio = parseRate(rateText);
        const result = convert(money(amountMinor, from), to, rate).amountMinor;
        const shift = currencyExponent(to) - currencyExponent(from);
        const numerator = BigInt(amountMinor) * rate.numerator * (shift > 0 ? 10n ** BigInt(shift) : 1n);
        const denominator = rate.denominator * (shift < 0 ? 10n ** BigInt(-shift) : 1n);
        // |result - exact| <= 1/2, and on a tie the result lies further from zero than the exact value.
        const twiceGap = 2n * (BigInt(result) * denominator - numerator);
        const absGap = twiceGap < 0n ? -twiceGap : twiceGap;
        assert.ok(absGap <= denominator, `${amountMinor} ${from}->${to} @${rateText} gave ${result}`);
        if (absGap === denominator) assert.equal(twiceGap > 0n, numerator > 0n, 'a tie rounds away from zero');
        const negated = convert(money(-amountMinor, from), to, rate).amountMinor;
        assert.equal(negated + result, 0, `convert(-x) = -convert(x) for ${amountMinor} @${rateText}`);
        assert.ok(!Object.is(result, -0) && !Object.is(negated, -0));
      }),
      { numRuns: 500, ...FC_SEED },
    );
  });

  test('refuses a result beyond the safe integer range with AMOUNT_INVALID', () => {
    assertDomainError(() => convert(money(1e15, 'JPY'), 'KWD', parseRate('100'), 'lines[0].amount'), 'AMOUNT_INVALID', { path: 'lines[0].amount' });
  });

  test('divideRounded rounds half away from zero for either sign of the denominator', () => {
    assert.equal(divideRounded(5n, 2n), 3n);
    assert.equal(divideRounded(-5n, 2n), -3n);
    assert.equal(divideRounded(5n, -2n), -3n);
    assert.equal(divideRounded(-5n, -2n), 3n);
    assert.equal(divideRounded(4n, 3n), 1n);
    assert.equal(divideRounded(-4n, 3n), -1n);
    assert.equal(divideRounded(0n, 7n), 0n);
  });
});
