/**
 * Money: an integer count of minor units plus an ISO 4217 code. The exponent comes from the
 * maintained `currency-codes` data package (JPY 0, EUR 2, KWD 3). Never floats: decimal strings
 * are parsed digit by digit, and arithmetic is exact integer arithmetic, in plain numbers only
 * where every intermediate value provably stays a safe integer (the fast paths of parseAmount and
 * convert, which the validation API calls several times per request) and on BigInt otherwise.
 * Property tests hold each fast path to its BigInt path.
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
  const exponent = tryCurrencyExponent(currency);
  if (exponent === undefined) throw new DomainError('CURRENCY_UNKNOWN', { path: `${path}.currency`, currency });
  const minor = parseMinorSafe(value, exponent);
  if (minor !== undefined) return { amountMinor: minor, currency };
  return { amountMinor: parseMinorExact(value, currency, exponent, path), currency };
}

/** 10^n for the digits a currency exponent can add (ISO 4217 has at most 4). */
const POWERS_OF_TEN = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];

/** At most this many digits: below 10^15, every step of the digit loop is an exact integer in a double. */
const SAFE_DIGITS = 15;

/**
 * The fast path of parseAmount: the minor units of a well-formed amount whose whole digits plus the
 * exponent are at most 15 (so the value is below 10^15 < 2^53 and every step is exact), computed
 * in plain numbers. Undefined for everything else (too many digits, too many decimals, malformed),
 * which the exact path then parses or refuses with its error. Agrees with parseMinorExact wherever it
 * answers (a property test in test/domain/money.test.ts).
 */
export function parseMinorSafe(value: string, exponent: number): number | undefined {
  const length = value.length;
  const negative = length > 0 && value.charCodeAt(0) === 45; // '-'
  let i = negative ? 1 : 0;
  const wholeStart = i;
  let minor = 0;
  for (; i < length; i++) {
    const digit = value.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) break;
    minor = minor * 10 + digit;
  }
  const wholeDigits = i - wholeStart;
  if (wholeDigits === 0 || wholeDigits + exponent > SAFE_DIGITS || exponent >= POWERS_OF_TEN.length) return undefined;
  let scale = exponent;
  if (i < length) {
    if (value.charCodeAt(i) !== 46) return undefined; // '.'
    const fractionStart = i + 1;
    if (fractionStart === length || length - fractionStart > 20) return undefined;
    let significantEnd = fractionStart;
    for (let j = fractionStart; j < length; j++) {
      const digit = value.charCodeAt(j) - 48;
      if (digit < 0 || digit > 9) return undefined;
      if (digit !== 0) significantEnd = j + 1;
    }
    if (significantEnd - fractionStart > exponent) return undefined;
    for (let j = fractionStart; j < significantEnd; j++) {
      minor = minor * 10 + (value.charCodeAt(j) - 48);
      scale--;
    }
  }
  minor *= POWERS_OF_TEN[scale];
  // 0 - 0 is 0: "-0.00" is zero, never -0.
  return negative ? 0 - minor : minor;
}

/**
 * The exact path of parseAmount, on BigInt: any amount the format admits, and every refusal
 * (malformed, too many decimals, beyond the safe integers). Exported for the property test that
 * holds the fast path to it.
 */
export function parseMinorExact(value: string, currency: string, exponent: number, path: string): number {
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
  return toSafeNumber(sign ? -minor : minor, path);
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

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

export function toSafeNumber(value: bigint, path: string): number {
  if (value > MAX_SAFE || value < MIN_SAFE) {
    throw new DomainError('AMOUNT_INVALID', { path, detail: 'the amount is too large' });
  }
  return Number(value);
}

/** A positive decimal parsed exactly: value = numerator / denominator. */
export interface Ratio {
  readonly numerator: bigint;
  readonly denominator: bigint;
}

/** 10^0 … 10^20 as BigInt, made once: rates have at most 12 decimals, exponents differ by at most 4. */
const BIG_POWERS_OF_TEN: readonly bigint[] = Array.from({ length: 21 }, (_, n) => 10n ** BigInt(n));

function bigPowerOfTen(n: number): bigint {
  return BIG_POWERS_OF_TEN[n] ?? 10n ** BigInt(n);
}

/**
 * Parses a positive decimal rate ("1.0842": 1 to 12 digits, optionally a point and 1 to 12 more,
 * not zero) exactly, read digit by digit; refuses anything else with AMOUNT_INVALID.
 */
export function parseRate(value: string, path = 'rate'): Ratio {
  const length = value.length;
  let numerator = 0;
  let nonZero = false;
  let i = 0;
  for (; i < length; i++) {
    const digit = value.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) break;
    numerator = numerator * 10 + digit;
    if (digit !== 0) nonZero = true;
  }
  const wholeDigits = i;
  let fractionDigits = 0;
  let valid = wholeDigits >= 1 && wholeDigits <= 12;
  if (valid && i < length) {
    valid = value.charCodeAt(i) === 46; // '.'
    for (i++; valid && i < length; i++) {
      const digit = value.charCodeAt(i) - 48;
      if (digit < 0 || digit > 9) valid = false;
      numerator = numerator * 10 + digit;
      if (digit !== 0) nonZero = true;
      fractionDigits++;
    }
    valid &&= fractionDigits >= 1 && fractionDigits <= 12;
  }
  if (!valid || !nonZero) {
    throw new DomainError('AMOUNT_INVALID', { path, detail: `"${value}" is not a positive decimal rate such as "1.0842"` });
  }
  // Up to 15 digits the number above is exact (below 10^15 < 2^53); longer ones are read as text.
  const exact = wholeDigits + fractionDigits <= SAFE_DIGITS ? BigInt(numerator) : BigInt(fractionDigits === 0 ? value : value.slice(0, wholeDigits) + value.slice(wholeDigits + 1));
  return { numerator: exact, denominator: bigPowerOfTen(fractionDigits) };
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
  const safe = convertSafe(amount.amountMinor, fromExponent, toExponent, rate);
  if (safe !== undefined) return { amountMinor: safe, currency: to };
  let numerator = BigInt(amount.amountMinor) * rate.numerator;
  let denominator = rate.denominator;
  if (toExponent > fromExponent) numerator *= bigPowerOfTen(toExponent - fromExponent);
  else if (toExponent < fromExponent) denominator *= bigPowerOfTen(fromExponent - toExponent);
  return { amountMinor: toSafeNumber(divideRounded(numerator, denominator), path), currency: to };
}

/**
 * The fast path of convert: the same exact result in plain numbers, when every intermediate value
 * is an integer of at most 2^53 - 1 (a product of integers that fits is computed exactly, and one
 * that does not comes out at 2^53 or more, so the check below sees it). Undefined otherwise, and
 * convert then computes on BigInt.
 */
function convertSafe(amountMinor: number, fromExponent: number, toExponent: number, rate: Ratio): number | undefined {
  if (!Number.isSafeInteger(amountMinor) || rate.numerator < 0n || rate.numerator > MAX_SAFE || rate.denominator <= 0n || rate.denominator > MAX_SAFE) return undefined;
  const up = toExponent > fromExponent ? POWERS_OF_TEN[toExponent - fromExponent] : 1;
  const down = toExponent < fromExponent ? POWERS_OF_TEN[fromExponent - toExponent] : 1;
  if (up === undefined || down === undefined) return undefined;
  const numerator = Math.abs(amountMinor) * Number(rate.numerator) * up;
  const denominator = Number(rate.denominator) * down;
  // Half away from zero, as divideRounded: floor((2n + d) / 2d), where every term is a safe integer.
  const twice = 2 * numerator + denominator;
  const divisor = 2 * denominator;
  if (!(twice <= Number.MAX_SAFE_INTEGER && divisor <= Number.MAX_SAFE_INTEGER)) return undefined;
  const quotient = (twice - (twice % divisor)) / divisor;
  return amountMinor < 0 && quotient !== 0 ? -quotient : quotient;
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
