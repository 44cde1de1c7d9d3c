/**
 * Money: an integer count of minor units plus an ISO 4217 code. The exponent comes from the
 * maintained `currency-codes` data package (JPY 0, EUR 2, KWD 3). Never floats: decimal strings
 * are parsed digit by digit and every multiplication runs on BigInt.
 */
import currencyCodes from 'currency-codes';
import { DomainError } from './domain-error.ts';

export interface Money {
  readonly amountMinor: number;
  readonly currency: string;
}

/** Codes that ISO 4217 lists without minor units (metals, funds, testing): not money we post. */
const NON_MONETARY = new Set(['XAU', 'XAG', 'XPD', 'XPT', 'XTS', 'XXX', 'XBA', 'XBB', 'XBC', 'XBD', 'XDR', 'XSU', 'XUA']);

const exponentCache = new Map<string, number>();

export function isKnownCurrency(code: string): boolean {
  return tryCurrencyExponent(code) !== undefined;
}

function tryCurrencyExponent(code: string): number | undefined {
  const cached = exponentCache.get(code);
  if (cached !== undefined) return cached;
  if (!/^[A-Z]{3}$/.test(code) || NON_MONETARY.has(code)) return undefined;
  const entry = currencyCodes.code(code);
  if (!entry) return undefined;
  exponentCache.set(code, entry.digits);
  return entry.digits;
}

/** The ISO 4217 exponent (number of minor-unit digits) of a currency. */
export function currencyExponent(code: string, path = 'currency'): number {
  const exponent = tryCurrencyExponent(code);
  if (exponent === undefined) throw new DomainError('CURRENCY_UNKNOWN', { path, currency: code });
  return exponent;
}

const DECIMAL = /^(-)?(\d{1,15})(?:\.(\d{1,20}))?$/;

/**
 * Parses a decimal string ("-12.30") into minor units of the currency. More decimals than the
 * currency allows is an error (trailing zeros beyond the exponent are accepted: "5.00" JPY is 5).
 */
export function parseAmount(value: string, currency: string, path = 'amount'): Money {
  const exponent = currencyExponent(currency, `${path}.currency`);
  const match = DECIMAL.exec(value);
  if (!match) {
    throw new DomainError('AMOUNT_INVALID', { path, detail: `"${value}" is not a decimal amount such as "12.30"` });
  }
  const [, sign, whole, fractionRaw = ''] = match;
  const fraction = fractionRaw.replace(/0+$/, '');
  if (fraction.length > exponent) {
    throw new DomainError('AMOUNT_PRECISION', { path, value, currency, exponent });
  }
  const minor = BigInt(whole + fraction.padEnd(exponent, '0'));
  return { amountMinor: toSafeNumber(sign ? -minor : minor, path), currency };
}

/** Formats minor units as a plain decimal string with exactly the currency's exponent digits. */
export function formatAmount(amountMinor: number, currency: string): string {
  const exponent = currencyExponent(currency);
  const negative = amountMinor < 0;
  const digits = Math.abs(amountMinor).toString().padStart(exponent + 1, '0');
  const whole = exponent === 0 ? digits : digits.slice(0, -exponent);
  const fraction = exponent === 0 ? '' : `.${digits.slice(-exponent)}`;
  return `${negative ? '-' : ''}${whole}${fraction}`;
}

export function toSafeNumber(value: bigint, path: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new DomainError('AMOUNT_INVALID', { path, detail: 'the amount is too large' });
  }
  return Number(value);
}

/** A positive decimal parsed exactly: value = numerator / denominator. */
export interface Ratio {
  readonly numerator: bigint;
  readonly denominator: bigint;
}

const RATE = /^(\d{1,12})(?:\.(\d{1,12}))?$/;

export function parseRate(value: string, path = 'rate'): Ratio {
  const match = RATE.exec(value);
  if (!match || /^0*(\.0*)?$/.test(value)) {
    throw new DomainError('AMOUNT_INVALID', { path, detail: `"${value}" is not a positive decimal rate such as "1.0842"` });
  }
  const [, whole, fraction = ''] = match;
  return { numerator: BigInt(whole + fraction), denominator: 10n ** BigInt(fraction.length) };
}

/** Divides and rounds half away from zero: the commercial rounding finance teams expect. */
export function divideRounded(numerator: bigint, denominator: bigint): bigint {
  if (denominator < 0n) return divideRounded(-numerator, -denominator);
  const negative = numerator < 0n;
  const abs = negative ? -numerator : numerator;
  const quotient = (abs * 2n + denominator) / (denominator * 2n);
  return negative ? -quotient : quotient;
}

/**
 * Converts minor units of one currency into another at a decimal rate (units of `to` per unit
 * of `from`), rounding half away from zero once, at the end.
 */
export function convert(amount: Money, to: string, rate: Ratio, path = 'amount'): Money {
  const fromExponent = currencyExponent(amount.currency);
  const toExponent = currencyExponent(to);
  let numerator = BigInt(amount.amountMinor) * rate.numerator;
  let denominator = rate.denominator;
  if (toExponent >= fromExponent) numerator *= 10n ** BigInt(toExponent - fromExponent);
  else denominator *= 10n ** BigInt(fromExponent - toExponent);
  return { amountMinor: toSafeNumber(divideRounded(numerator, denominator), path), currency: to };
}

/**
 * Splits `totalMinor` in proportion to non-negative integer weights so that the parts sum to the
 * whole exactly (largest remainder method; ties go to the earlier part, so the result is
 * reproducible). A negative total is split as its absolute value and every part negated.
 */
export function allocate(totalMinor: number, weights: readonly number[]): number[] {
  if (weights.length === 0) throw new Error('Assertion failed: allocate needs at least one weight');
  // Check the weights before BigInt() sees them: it throws a bare RangeError on 1.5 or NaN.
  const valid = weights.every((w) => Number.isSafeInteger(w) && w >= 0);
  const sum = valid ? weights.reduce((a, b) => a + BigInt(b), 0n) : 0n;
  if (sum <= 0n) {
    throw new Error('Assertion failed: allocate needs non-negative integer weights with a positive sum');
  }
  const total = BigInt(Math.abs(totalMinor));
  const sign = totalMinor < 0 ? -1 : 1;
  const floors = weights.map((w) => (total * BigInt(w)) / sum);
  const remainders = weights.map((w, index) => ({ index, remainder: (total * BigInt(w)) % sum }));
  let left = total - floors.reduce((a, b) => a + b, 0n);
  remainders.sort((a, b) => (a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1));
  for (const { index } of remainders) {
    if (left === 0n) break;
    floors[index] += 1n;
    left -= 1n;
  }
  return floors.map((part) => (part === 0n ? 0 : sign * Number(part)));
}
