/**
 * Line builders of the expense-platform simulator: realistic amounts per category and currency,
 * VAT with and without an explicit amount, foreign-currency lines with a rate, per diem, credits,
 * personal items on a company card, and allocations by percent or by amount. Every amount is
 * computed in integer minor units and written with `formatAmount`, never with float arithmetic.
 */
import { allocate, currencyExponent, divideRounded, formatAmount, parseAmount, toSafeNumber } from '../domain/money.ts';
import type { LineInput, PaymentType } from '../domain/report.ts';
import { costCenterCode, PER_DIEM_LIMIT_MINOR_PER_DAY, SAMPLE_COMPANY } from './sample-company.ts';
import type { Rng } from '../simulation/seeded-random.ts';

type AllocationInput = LineInput['allocations'][number];

/**
 * `LineInput['paymentType']` is inferred as `never` because report.ts builds the union with
 * `PAYMENT_TYPES.map(...)`, which loses the tuple type. This cast is the one place that papers over
 * it; it becomes a no-op once the schema lists the literals as a tuple.
 */
function toLinePaymentType(paymentType: PaymentType): LineInput['paymentType'] {
  return paymentType as LineInput['paymentType'];
}

/** What a line builder needs to know about its report. */
export interface LineContext {
  readonly rng: Rng;
  readonly entity: string;
  readonly currency: string;
  /** Picks an expense date (YYYY-MM-DD) for a new line. */
  readonly pickDate: () => string;
  /** Highest usable cost center number; the last one of every entity is closed. */
  readonly openCostCenters: number;
}

export const CATEGORIES = ['LODGING', 'AIRFARE', 'MEALS', 'TAXI', 'SUPPLIES', 'ENTERTAINMENT'] as const;
type Category = (typeof CATEGORIES)[number];

/** Typical gross amounts in whole USD; other currencies scale by `MAJOR_SCALE`. */
const RANGE_USD: Record<Category, readonly [number, number]> = {
  LODGING: [95, 420],
  AIRFARE: [140, 1200],
  MEALS: [9, 110],
  TAXI: [8, 80],
  SUPPLIES: [5, 140],
  ENTERTAINMENT: [60, 560],
};
const MAJOR_SCALE: Record<string, number> = { USD: 1, EUR: 1, GBP: 1, CHF: 1, JPY: 150 };

const MERCHANTS: Record<Category, readonly string[]> = {
  LODGING: ['Marriott', 'Hilton', 'Motel One', 'Toyoko Inn', 'Hyatt Regency', 'NH Hotels', 'Premier Inn'],
  AIRFARE: ['Lufthansa', 'United Airlines', 'ANA', 'Delta Air Lines', 'Japan Airlines', 'Eurowings'],
  MEALS: ['Starbucks', 'Vapiano', 'Yoshinoya', 'Chipotle', 'Pret A Manger', 'Hofbraeuhaus', 'Ichiran'],
  TAXI: ['Uber', 'FreeNow', 'Nihon Kotsu', 'Yellow Cab', 'Bolt', 'Taxi Berlin'],
  SUPPLIES: ['Staples', 'Amazon Business', 'Office Depot', 'Askul', 'Bueroshop24'],
  ENTERTAINMENT: ['The Capital Grille', 'Nobu', 'Borchardt', 'Ukai-tei', 'Ruth\'s Chris Steak House'],
};

/** Report-currency units per unit of the foreign currency, as an integer with `scale` decimals. */
interface RateQuote {
  readonly currency: string;
  readonly units: number;
  readonly scale: number;
  readonly source: string;
}
const FOREIGN_QUOTES: Record<string, readonly RateQuote[]> = {
  DE01: [
    { currency: 'USD', units: 9_223, scale: 4, source: 'ECB' },
    { currency: 'GBP', units: 11_712, scale: 4, source: 'ECB' },
    { currency: 'CHF', units: 10_654, scale: 4, source: 'ECB' },
  ],
  US01: [
    { currency: 'EUR', units: 10_842, scale: 4, source: 'FED' },
    { currency: 'JPY', units: 6_712, scale: 6, source: 'FED' },
    { currency: 'GBP', units: 12_705, scale: 4, source: 'FED' },
  ],
  JP01: [
    { currency: 'USD', units: 15_123, scale: 2, source: 'BOJ' },
    { currency: 'EUR', units: 16_394, scale: 2, source: 'BOJ' },
  ],
  GB01: [
    { currency: 'EUR', units: 8_538, scale: 4, source: 'BOE' },
    { currency: 'USD', units: 7_871, scale: 4, source: 'BOE' },
  ],
};

/** Per diem per day in minor units: at the statutory limit, above it, and a partial day below it. */
const PER_DIEM_ABOVE_MINOR: Record<string, number> = { US01: 9_500, DE01: 4_000, JP01: 6_500, GB01: 3_500 };
const PER_DIEM_PARTIAL_MINOR: Record<string, number> = { US01: 5_925, DE01: 1_400, JP01: 3_000, GB01: 1_250 };

const PERCENT_SPLITS: Record<number, readonly (readonly string[])[]> = {
  2: [['50', '50'], ['60', '40'], ['70', '30'], ['75', '25'], ['12.5', '87.5']],
  3: [['33.33', '33.33', '33.34'], ['50', '25', '25'], ['40', '40', '20']],
};

export function perDiemLimitMinorPerDay(entity: string): number {
  const limit = PER_DIEM_LIMIT_MINOR_PER_DAY[entity];
  if (limit === undefined) throw new Error(`Assertion failed: entity ${entity} has no per diem limit in the sample company`);
  return limit;
}

function taxRateBp(code: string): number {
  const tax = SAMPLE_COMPANY.taxCodes.find((t) => t.code === code);
  if (!tax) throw new Error(`Assertion failed: tax code ${code} is not in the sample company`);
  return tax.rateBp;
}

/** The tax included in a gross amount: round(gross * rate / (1 + rate)), half away from zero. */
export function computeIncludedTaxMinor(grossMinor: number, code: string): number {
  const rateBp = taxRateBp(code);
  return toSafeNumber(divideRounded(BigInt(grossMinor) * BigInt(rateBp), BigInt(10_000 + rateBp)), 'tax');
}

/** Minor units of one "dollar-sized" unit of a currency: 100 cents, or 150 yen. */
function majorScaleMinor(currency: string): number {
  return MAJOR_SCALE[currency] * 10 ** currencyExponent(currency);
}

/** A gross amount for a category in a currency, in minor units (whole yen rounded to tens). */
export function drawAmountMinor(rng: Rng, category: Category, currency: string): number {
  const [low, high] = RANGE_USD[category];
  const scale = majorScaleMinor(currency);
  const minor = rng.int(low * scale, high * scale);
  return currency === 'JPY' ? minor - (minor % 10) : minor;
}

function pickPaymentType(rng: Rng): PaymentType {
  const roll = rng.next();
  if (roll < 0.45) return 'out_of_pocket';
  if (roll < 0.8) return 'company_card';
  if (roll < 0.9) return 'individual_card';
  return 'cash_advance';
}

/** The tax code an entity's domestic line of this category carries, if any. */
function pickTaxCode(rng: Rng, entity: string, category: Category): string | undefined {
  if (entity === 'US01') return rng.chance(0.5) ? 'US-NT' : undefined;
  if (entity === 'JP01') return category === 'MEALS' && rng.chance(0.4) ? 'JP8' : 'JP10';
  // UK VAT: taxis carry none; domestic energy-like reduced rates do not occur; 5% on some hotel stays abroad is the sample's reduced rate.
  if (entity === 'GB01') return category === 'TAXI' ? undefined : category === 'LODGING' && rng.chance(0.2) ? 'GB5' : 'GB20';
  if (category === 'ENTERTAINMENT') return 'DE19-ENT';
  if (category === 'LODGING' || category === 'TAXI') return 'DE7';
  return 'DE19';
}

/** A tax object for a domestic line; the explicit amount is present about half of the time. */
function buildTax(rng: Rng, code: string | undefined, grossMinor: number, currency: string): LineInput['tax'] {
  if (code === undefined) return undefined;
  if (code === 'US-NT' || !rng.chance(0.5)) return { code };
  return { code, amount: formatAmount(computeIncludedTaxMinor(grossMinor, code), currency) };
}

function pickCostCenters(ctx: LineContext, count: number): string[] {
  const numbers = new Set<number>();
  while (numbers.size < count) numbers.add(ctx.rng.int(1, ctx.openCostCenters));
  return [...numbers].map((n) => costCenterCode(ctx.entity, n));
}

/** Splits a line across one to three cost centers, by percent or (about a third of the time) by amount. */
export function buildAllocations(ctx: LineContext, amountMinor: number, currency: string): AllocationInput[] {
  const roll = ctx.rng.next();
  const count = roll < 0.5 ? 1 : roll < 0.85 ? 2 : 3;
  const centers = pickCostCenters(ctx, count);
  if (ctx.rng.chance(0.3)) {
    const parts = allocate(amountMinor, centers.map(() => ctx.rng.int(1, 9)));
    if (parts.every((part) => part !== 0)) {
      return centers.map((costCenter, i) => ({ costCenter, amount: formatAmount(parts[i], currency) }));
    }
  }
  if (count === 1) return [{ costCenter: centers[0], percent: '100' }];
  const split = ctx.rng.pick(PERCENT_SPLITS[count]);
  return centers.map((costCenter, i) => ({ costCenter, percent: split[i] }));
}

/**
 * Rebuilds allocations for a new line amount, keeping the cost centers and the kind of split: a
 * percent split stays as it is, an amount split is re-divided in proportion to the old amounts.
 */
export function reallocate(allocations: readonly AllocationInput[], newMinor: number, currency: string): AllocationInput[] {
  if (allocations.every((a) => a.amount === undefined)) return allocations.map((a) => ({ ...a }));
  const weights = allocations.map((a) => Math.abs(parseAmount(a.amount ?? '0', currency).amountMinor));
  const parts = allocate(newMinor, weights);
  if (parts.some((part) => part === 0)) return [{ costCenter: allocations[0].costCenter, percent: '100' }];
  return allocations.map((a, i) => ({ ...a, amount: formatAmount(parts[i], currency) }));
}

function formatRate(units: number, scale: number): string {
  const digits = String(units).padStart(scale + 1, '0');
  return scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

/** An ordinary domestic line: report currency, tax per entity, sometimes a personal item on a company card. */
export function buildDomesticLine(ctx: LineContext, lineId: string, category: Category = pickCategory(ctx.rng)): LineInput {
  const { rng } = ctx;
  const amountMinor = drawAmountMinor(rng, category, ctx.currency);
  const paymentType = pickPaymentType(rng);
  const personal = paymentType === 'company_card' && category !== 'AIRFARE' && rng.chance(0.15);
  const tax = personal ? undefined : buildTax(rng, pickTaxCode(rng, ctx.entity, category), amountMinor, ctx.currency);
  return {
    lineId,
    date: ctx.pickDate(),
    category,
    merchant: rng.pick(MERCHANTS[category]),
    ...(personal && { description: 'Personal item, to be paid back by the employee' }),
    amount: { value: formatAmount(amountMinor, ctx.currency), currency: ctx.currency },
    paymentType: toLinePaymentType(paymentType),
    ...(personal && { personal: true }),
    ...(tax && { tax }),
    receipt: amountMinor > 25 * majorScaleMinor(ctx.currency) || rng.chance(0.6),
    allocations: buildAllocations(ctx, amountMinor, ctx.currency),
  };
}

/** A line paid abroad, in a foreign currency, with the rate that converts it to the report currency. */
export function buildForeignLine(ctx: LineContext, lineId: string): LineInput {
  const { rng } = ctx;
  const quote = rng.pick(FOREIGN_QUOTES[ctx.entity]);
  const category = rng.pick(['LODGING', 'MEALS', 'TAXI', 'AIRFARE'] as const);
  const amountMinor = drawAmountMinor(rng, category, quote.currency);
  const date = ctx.pickDate();
  const jitter = Math.floor(quote.units / 200);
  return {
    lineId,
    date,
    category,
    merchant: rng.pick(MERCHANTS[category]),
    description: `Paid in ${quote.currency}`,
    amount: { value: formatAmount(amountMinor, quote.currency), currency: quote.currency },
    exchangeRate: { rate: formatRate(quote.units + rng.int(-jitter, jitter), quote.scale), source: quote.source, date },
    paymentType: toLinePaymentType(rng.chance(0.6) ? 'company_card' : 'out_of_pocket'),
    receipt: true,
    allocations: buildAllocations(ctx, amountMinor, quote.currency),
  };
}

/** A per diem claim for one to five days; about 40% of them pay more than the statutory limit. */
export function buildPerDiemLine(ctx: LineContext, lineId: string): LineInput {
  const { rng } = ctx;
  const days = rng.int(1, 5);
  const roll = rng.next();
  const perDayMinor = roll < 0.4 ? PER_DIEM_ABOVE_MINOR[ctx.entity] : roll < 0.85 ? perDiemLimitMinorPerDay(ctx.entity) : PER_DIEM_PARTIAL_MINOR[ctx.entity];
  const amountMinor = days * perDayMinor;
  return {
    lineId,
    date: ctx.pickDate(),
    category: 'PERDIEM',
    description: `Per diem, ${days} day${days === 1 ? '' : 's'}`,
    amount: { value: formatAmount(amountMinor, ctx.currency), currency: ctx.currency },
    paymentType: toLinePaymentType('out_of_pocket'),
    perDiem: { days },
    receipt: false,
    allocations: buildAllocations(ctx, amountMinor, ctx.currency),
  };
}

/**
 * A refund in the report currency. Its size stays at most half of `positiveMinor` (what the
 * report's domestic lines add up to so far), so a report never nets to zero or below.
 */
export function buildCreditLine(ctx: LineContext, lineId: string, positiveMinor: number): LineInput | undefined {
  const { rng } = ctx;
  const category = rng.pick(['LODGING', 'AIRFARE', 'TAXI', 'SUPPLIES'] as const);
  const capMinor = Math.floor(positiveMinor / 2);
  const amountMinor = -Math.min(drawAmountMinor(rng, category, ctx.currency), capMinor);
  if (amountMinor > -10 * majorScaleMinor(ctx.currency)) return undefined;
  const tax = buildTax(rng, ctx.entity === 'US01' ? undefined : pickTaxCode(rng, ctx.entity, category), amountMinor, ctx.currency);
  return {
    lineId,
    date: ctx.pickDate(),
    category,
    merchant: rng.pick(MERCHANTS[category]),
    description: 'Refund',
    amount: { value: formatAmount(amountMinor, ctx.currency), currency: ctx.currency },
    paymentType: toLinePaymentType(rng.chance(0.5) ? 'company_card' : 'out_of_pocket'),
    ...(tax && { tax }),
    receipt: true,
    allocations: buildAllocations(ctx, amountMinor, ctx.currency),
  };
}

export function pickCategory(rng: Rng): Category {
  const roll = rng.next();
  if (roll < 0.2) return 'LODGING';
  if (roll < 0.3) return 'AIRFARE';
  if (roll < 0.55) return 'MEALS';
  if (roll < 0.78) return 'TAXI';
  if (roll < 0.88) return 'SUPPLIES';
  return 'ENTERTAINMENT';
}

/** Builds a new line of a random kind; `positiveMinor` bounds a credit, as in `buildCreditLine`. */
export function buildRandomLine(ctx: LineContext, lineId: string, positiveMinor: number): LineInput {
  const roll = ctx.rng.next();
  if (roll < 0.1) return buildCreditLine(ctx, lineId, positiveMinor) ?? buildDomesticLine(ctx, lineId);
  if (roll < 0.22) return buildPerDiemLine(ctx, lineId);
  if (roll < 0.36) return buildForeignLine(ctx, lineId);
  return buildDomesticLine(ctx, lineId);
}

/** The net of the lines in the report currency, in minor units (foreign lines are always positive). */
export function sumDomesticMinor(lines: readonly LineInput[], currency: string): number {
  return lines
    .filter((line) => line.amount.currency === currency)
    .reduce((total, line) => total + parseAmount(line.amount.value, currency).amountMinor, 0);
}
