/**
 * Canonical model v1 of an expense report: the public inbound contract (docs/events.md).
 *
 * Two shapes: `ReportInput` is what a source sends (amounts as decimal strings, so a float never
 * touches money and an amount with too many decimals can be refused), and `ExpenseReport` is the
 * normalized form every later step works on (integer minor units, basis points).
 */
import { Type, type Static } from 'typebox';
import { DomainError } from './domain-error.ts';
import { convert, currencyExponent, parseAmount, parseRate, type Money } from './money.ts';

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$' });
const Code = Type.String({ minLength: 1, maxLength: 40, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' });
const CurrencyCode = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 alphabetic code' });
const IsoDate = Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$', description: 'YYYY-MM-DD' });
const Decimal = Type.String({ pattern: '^-?\\d{1,15}(\\.\\d{1,20})?$', description: 'decimal amount, e.g. "-12.30"' });

export const PAYMENT_TYPES = ['out_of_pocket', 'company_card', 'individual_card', 'cash_advance'] as const;
export type PaymentType = (typeof PAYMENT_TYPES)[number];

export const MoneyInputSchema = Type.Object(
  { value: Decimal, currency: CurrencyCode },
  { additionalProperties: false },
);

export const AllocationInputSchema = Type.Object(
  {
    costCenter: Code,
    project: Type.Optional(Code),
    percent: Type.Optional(Type.String({ pattern: '^\\d{1,3}(\\.\\d{1,2})?$', description: 'share of the line, e.g. "33.33"' })),
    amount: Type.Optional(Decimal),
  },
  { additionalProperties: false },
);

export const LineInputSchema = Type.Object(
  {
    lineId: Id,
    date: IsoDate,
    category: Code,
    merchant: Type.Optional(Type.String({ maxLength: 200 })),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    amount: MoneyInputSchema,
    exchangeRate: Type.Optional(
      Type.Object(
        {
          rate: Type.String({ pattern: '^\\d{1,12}(\\.\\d{1,12})?$', description: 'report-currency units per transaction-currency unit' }),
          source: Type.String({ minLength: 1, maxLength: 40 }),
          date: IsoDate,
        },
        { additionalProperties: false },
      ),
    ),
    paymentType: Type.Union([Type.Literal('out_of_pocket'), Type.Literal('company_card'), Type.Literal('individual_card'), Type.Literal('cash_advance')]),
    personal: Type.Optional(Type.Boolean()),
    tax: Type.Optional(
      Type.Object(
        { code: Code, amount: Type.Optional(Decimal) },
        { additionalProperties: false },
      ),
    ),
    perDiem: Type.Optional(Type.Object({ days: Type.Integer({ minimum: 1, maximum: 366 }) }, { additionalProperties: false })),
    receipt: Type.Optional(Type.Boolean()),
    allocations: Type.Array(AllocationInputSchema, { minItems: 1, maxItems: 50 }),
  },
  { additionalProperties: false },
);

export const ReportInputSchema = Type.Object(
  {
    reportId: Id,
    revision: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    entity: Code,
    employeeId: Code,
    currency: CurrencyCode,
    title: Type.Optional(Type.String({ maxLength: 200 })),
    submittedAt: Type.Optional(Type.String({ format: 'date-time' })),
    approvedAt: Type.String({ format: 'date-time' }),
    total: Type.Optional(Decimal),
    lines: Type.Array(LineInputSchema, { minItems: 1, maxItems: 500 }),
  },
  { additionalProperties: false },
);

export type ReportInput = Static<typeof ReportInputSchema>;
export type LineInput = Static<typeof LineInputSchema>;

export interface Allocation {
  readonly costCenter: string;
  readonly project?: string;
  /** Share in basis points (10000 = 100%); present when the source allocated by percentage. */
  readonly shareBp?: number;
  /** Fixed part in minor units of the line currency; present when the source allocated by amount. */
  readonly amountMinor?: number;
}

export interface ExchangeRate {
  readonly rate: string;
  readonly source: string;
  readonly date: string;
}

export interface ExpenseLine {
  readonly lineId: string;
  readonly date: string;
  readonly category: string;
  readonly merchant?: string;
  readonly description?: string;
  readonly amount: Money;
  readonly exchangeRate?: ExchangeRate;
  readonly paymentType: PaymentType;
  readonly personal: boolean;
  readonly tax?: { readonly code: string; readonly amount?: Money };
  readonly perDiem?: { readonly days: number };
  readonly receipt: boolean;
  readonly allocations: readonly Allocation[];
}

export interface ExpenseReport {
  readonly reportId: string;
  readonly revision: number;
  readonly entity: string;
  readonly employeeId: string;
  readonly currency: string;
  readonly title?: string;
  readonly submittedAt?: string;
  readonly approvedAt: string;
  readonly total?: Money;
  readonly lines: readonly ExpenseLine[];
}

/**
 * Normalizes a schema-valid input: parses every amount against its currency's exponent and checks
 * the rules a schema cannot express (allocations sum to the whole, unique line ids, a rate for a
 * foreign-currency line). Throws DomainError naming the path of the first problem.
 */
export function normalizeReport(input: ReportInput, basePath = 'data'): ExpenseReport {
  currencyExponent(input.currency, `${basePath}.currency`);
  const seen = new Set<string>();
  const lines = input.lines.map((line, index) => {
    const path = `${basePath}.lines[${index}]`;
    if (seen.has(line.lineId)) {
      throw new DomainError('REPORT_INVALID', { path: `${path}.lineId`, detail: `line id ${line.lineId} appears twice in the report` });
    }
    seen.add(line.lineId);
    return normalizeLine(line, input.currency, path);
  });
  return {
    reportId: input.reportId,
    revision: input.revision,
    entity: input.entity,
    employeeId: input.employeeId,
    currency: input.currency,
    ...(input.title !== undefined && { title: input.title }),
    ...(input.submittedAt !== undefined && { submittedAt: input.submittedAt }),
    approvedAt: input.approvedAt,
    ...(input.total !== undefined && { total: parseAmount(input.total, input.currency, `${basePath}.total`) }),
    lines,
  };
}

function normalizeLine(line: LineInput, reportCurrency: string, path: string): ExpenseLine {
  const amount = parseAmount(line.amount.value, line.amount.currency, `${path}.amount`);
  if (amount.currency !== reportCurrency && !line.exchangeRate) {
    throw new DomainError('REPORT_INVALID', {
      path: `${path}.exchangeRate`,
      detail: `the line is in ${amount.currency} and the report in ${reportCurrency}, so an exchange rate is required`,
    });
  }
  const rate = line.exchangeRate && parseRate(line.exchangeRate.rate, `${path}.exchangeRate.rate`);
  // The mapper converts the line later; refuse now an amount whose conversion would not fit.
  if (rate && amount.currency !== reportCurrency) convert(amount, reportCurrency, rate, `${path}.amount`);
  const tax = line.tax && {
    code: line.tax.code,
    ...(line.tax.amount !== undefined && { amount: parseAmount(line.tax.amount, amount.currency, `${path}.tax.amount`) }),
  };
  if (tax?.amount && (Math.sign(tax.amount.amountMinor) * Math.sign(amount.amountMinor) < 0 || Math.abs(tax.amount.amountMinor) > Math.abs(amount.amountMinor))) {
    throw new DomainError('REPORT_INVALID', { path: `${path}.tax.amount`, detail: 'the tax must have the sign of the line amount and cannot exceed it' });
  }
  return {
    lineId: line.lineId,
    date: line.date,
    category: line.category,
    ...(line.merchant !== undefined && { merchant: line.merchant }),
    ...(line.description !== undefined && { description: line.description }),
    amount,
    ...(line.exchangeRate && { exchangeRate: { ...line.exchangeRate } }),
    paymentType: line.paymentType,
    personal: line.personal ?? false,
    ...(tax && { tax }),
    ...(line.perDiem && { perDiem: { days: line.perDiem.days } }),
    receipt: line.receipt ?? false,
    allocations: normalizeAllocations(line, amount, `${path}.allocations`),
  };
}

function normalizeAllocations(line: LineInput, amount: Money, path: string): Allocation[] {
  const byPercent = line.allocations.every((a) => a.percent !== undefined && a.amount === undefined);
  const byAmount = line.allocations.every((a) => a.amount !== undefined && a.percent === undefined);
  if (!byPercent && !byAmount) {
    throw new DomainError('ALLOCATION_INVALID', { path, detail: 'every allocation needs either a percent or an amount, all of the same kind' });
  }
  if (byPercent) {
    const allocations = line.allocations.map((a) => ({
      costCenter: a.costCenter,
      ...(a.project !== undefined && { project: a.project }),
      shareBp: percentToBasisPoints(a.percent as string),
    }));
    const sum = allocations.reduce((total, a) => total + a.shareBp, 0);
    if (sum !== 10_000 || allocations.some((a) => a.shareBp === 0)) {
      throw new DomainError('ALLOCATION_INVALID', { path, detail: `the percentages sum to ${(sum / 100).toFixed(2)}%, and each must be above zero` });
    }
    return allocations;
  }
  const allocations = line.allocations.map((a, index) => ({
    costCenter: a.costCenter,
    ...(a.project !== undefined && { project: a.project }),
    amountMinor: parseAmount(a.amount as string, amount.currency, `${path}[${index}].amount`).amountMinor,
  }));
  const sum = allocations.reduce((total, a) => total + a.amountMinor, 0);
  if (allocations.some((a) => a.amountMinor === 0 || Math.sign(a.amountMinor) !== Math.sign(amount.amountMinor))) {
    throw new DomainError('ALLOCATION_INVALID', { path, detail: 'each allocated amount must be non-zero and have the sign of the line amount' });
  }
  if (sum !== amount.amountMinor) {
    throw new DomainError('ALLOCATION_INVALID', { path, detail: `the allocated amounts sum to ${sum} minor units, the line holds ${amount.amountMinor}` });
  }
  return allocations;
}

function percentToBasisPoints(percent: string): number {
  const [whole, fraction = ''] = percent.split('.');
  return Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
}
