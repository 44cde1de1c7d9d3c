/**
 * Canonical model v1 of an expense report: the public inbound contract (docs/events.md).
 *
 * Two shapes: `ReportInput` is what a source sends (amounts as decimal strings, so a float never
 * touches money and an amount with too many decimals can be refused), and `ExpenseReport` is the
 * normalized form every later step works on (integer minor units, basis points).
 */
import { Type, type Static } from 'typebox';
import { DomainError } from './domain-error.ts';
import { convert, currencyExponent, isKnownCurrency, parseAmount, parseRate, type Money } from './money.ts';

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$' });
const Code = Type.String({ minLength: 1, maxLength: 40, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' });
const CurrencyCode = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 alphabetic code' });
const IsoDate = Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$', description: 'YYYY-MM-DD' });
const Decimal = Type.String({ pattern: '^-?\\d{1,15}(\\.\\d{1,20})?$', description: 'decimal amount, e.g. "-12.30"' });
/** Fields the expense platform holds beyond the model (a project code, a trip purpose): mapping rules can read them. */
const CustomFields = Type.Record(Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]{0,39}$' }), Type.String({ maxLength: 200 }), {
  maxProperties: 20,
  description: 'custom fields of the expense platform, by name; mapping rules can match on them and read them',
});

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
    customFields: Type.Optional(CustomFields),
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
    customFields: Type.Optional(CustomFields),
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
  readonly customFields?: Readonly<Record<string, string>>;
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
  readonly customFields?: Readonly<Record<string, string>>;
}

/**
 * Normalizes a schema-valid input: parses every amount against its currency's exponent and checks
 * the rules a schema cannot express (allocations sum to the whole, unique line ids, a rate for a
 * foreign-currency line). Throws DomainError naming the path of the first problem.
 */
export function normalizeReport(input: ReportInput, basePath = 'data'): ExpenseReport {
  // The validation API's hot path (docs/benchmarks.md): plain loops, and optional fields set one by
  // one in the order of the type, because spreading `...(x && { x })` into a literal cost more than
  // the parsing. A field that is undefined in the input stays absent in the result.
  if (!isKnownCurrency(input.currency)) currencyExponent(input.currency, `${basePath}.currency`); // throws CURRENCY_UNKNOWN
  // Few lines are compared with each other directly; a Set costs more than that below about 16.
  const seen = input.lines.length > 16 ? new Set<string>() : undefined;
  const lines: ExpenseLine[] = [];
  for (let index = 0; index < input.lines.length; index++) {
    const line = input.lines[index];
    if (seen ? seen.has(line.lineId) : appearsBefore(input.lines, index)) {
      throw new DomainError('REPORT_INVALID', { path: `${basePath}.lines[${index}].lineId`, detail: `line id ${line.lineId} appears twice in the report` });
    }
    seen?.add(line.lineId);
    try {
      lines.push(normalizeLine(line, input.currency));
    } catch (error) {
      throw within(error, `${basePath}.lines[${index}]`);
    }
  }
  const report: Mutable<ExpenseReport> = { reportId: input.reportId, revision: input.revision, entity: input.entity, employeeId: input.employeeId, currency: input.currency } as Mutable<ExpenseReport>;
  if (input.title !== undefined) report.title = input.title;
  if (input.submittedAt !== undefined) report.submittedAt = input.submittedAt;
  report.approvedAt = input.approvedAt;
  if (input.total !== undefined) report.total = parseAmount(input.total, input.currency, `${basePath}.total`);
  report.lines = lines;
  if (input.customFields !== undefined) report.customFields = { ...input.customFields };
  return report;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * A line is normalized with paths relative to it ("amount", "allocations[1].amount"), made absolute
 * here when a DomainError leaves it: writing the path of every field of every line up front cost
 * more than parsing its amounts.
 */
function within(error: unknown, prefix: string): unknown {
  if (!(error instanceof DomainError) || typeof error.params.path !== 'string') return error;
  return new DomainError(error.code, { ...error.params, path: `${prefix}.${error.params.path}` });
}

function appearsBefore(lines: readonly LineInput[], index: number): boolean {
  const lineId = lines[index].lineId;
  for (let j = 0; j < index; j++) if (lines[j].lineId === lineId) return true;
  return false;
}

/** Paths in errors are relative to the line (see `within`). */
function normalizeLine(line: LineInput, reportCurrency: string): ExpenseLine {
  const amount = parseAmount(line.amount.value, line.amount.currency, 'amount');
  if (amount.currency !== reportCurrency && !line.exchangeRate) {
    throw new DomainError('REPORT_INVALID', {
      path: 'exchangeRate',
      detail: `the line is in ${amount.currency} and the report in ${reportCurrency}, so an exchange rate is required`,
    });
  }
  const rate = line.exchangeRate && parseRate(line.exchangeRate.rate, 'exchangeRate.rate');
  // The mapper converts the line later; refuse now an amount whose conversion would not fit.
  if (rate && amount.currency !== reportCurrency) convert(amount, reportCurrency, rate, 'amount');
  let tax: ExpenseLine['tax'];
  if (line.tax) {
    tax = line.tax.amount === undefined ? { code: line.tax.code } : { code: line.tax.code, amount: parseAmount(line.tax.amount, amount.currency, 'tax.amount') };
  }
  if (tax?.amount && (Math.sign(tax.amount.amountMinor) * Math.sign(amount.amountMinor) < 0 || Math.abs(tax.amount.amountMinor) > Math.abs(amount.amountMinor))) {
    throw new DomainError('REPORT_INVALID', { path: 'tax.amount', detail: 'the tax must have the sign of the line amount and cannot exceed it' });
  }
  const out: Mutable<ExpenseLine> = { lineId: line.lineId, date: line.date, category: line.category } as Mutable<ExpenseLine>;
  if (line.merchant !== undefined) out.merchant = line.merchant;
  if (line.description !== undefined) out.description = line.description;
  out.amount = amount;
  if (line.exchangeRate) out.exchangeRate = { ...line.exchangeRate };
  out.paymentType = line.paymentType;
  out.personal = line.personal ?? false;
  if (tax) out.tax = tax;
  if (line.perDiem) out.perDiem = { days: line.perDiem.days };
  out.receipt = line.receipt ?? false;
  out.allocations = normalizeAllocations(line, amount);
  if (line.customFields !== undefined) out.customFields = { ...line.customFields };
  return out;
}

function normalizeAllocations(line: LineInput, amount: Money): Allocation[] {
  const path = 'allocations';
  const inputs = line.allocations;
  let byPercent = true;
  let byAmount = true;
  for (const a of inputs) {
    if (a.percent === undefined || a.amount !== undefined) byPercent = false;
    if (a.amount === undefined || a.percent !== undefined) byAmount = false;
  }
  if (!byPercent && !byAmount) {
    throw new DomainError('ALLOCATION_INVALID', { path, detail: 'every allocation needs either a percent or an amount, all of the same kind' });
  }
  const allocations: Allocation[] = [];
  let sum = 0;
  if (byPercent) {
    let zeroShare = false;
    for (const a of inputs) {
      const shareBp = percentToBasisPoints(a.percent as string);
      allocations.push(a.project === undefined ? { costCenter: a.costCenter, shareBp } : { costCenter: a.costCenter, project: a.project, shareBp });
      sum += shareBp;
      if (shareBp === 0) zeroShare = true;
    }
    if (sum !== 10_000 || zeroShare) {
      throw new DomainError('ALLOCATION_INVALID', { path, detail: `the percentages sum to ${(sum / 100).toFixed(2)}%, and each must be above zero` });
    }
    return allocations;
  }
  let wrongSign = false;
  for (let index = 0; index < inputs.length; index++) {
    const a = inputs[index];
    let amountMinor: number;
    try {
      amountMinor = parseAmount(a.amount as string, amount.currency, 'amount').amountMinor;
    } catch (error) {
      throw within(error, `${path}[${index}]`);
    }
    allocations.push(a.project === undefined ? { costCenter: a.costCenter, amountMinor } : { costCenter: a.costCenter, project: a.project, amountMinor });
    sum += amountMinor;
    if (amountMinor === 0 || Math.sign(amountMinor) !== Math.sign(amount.amountMinor)) wrongSign = true;
  }
  if (wrongSign) {
    throw new DomainError('ALLOCATION_INVALID', { path, detail: 'each allocated amount must be non-zero and have the sign of the line amount' });
  }
  if (sum !== amount.amountMinor) {
    throw new DomainError('ALLOCATION_INVALID', { path, detail: `the allocated amounts sum to ${sum} minor units, the line holds ${amount.amountMinor}` });
  }
  return allocations;
}

/** A schema-valid percent ("33.33", "50", "12.5") in basis points, read digit by digit. */
function percentToBasisPoints(percent: string): number {
  let bp = 0;
  let i = 0;
  for (; i < percent.length && percent.charCodeAt(i) !== 46; i++) bp = bp * 10 + (percent.charCodeAt(i) - 48);
  bp *= 100;
  if (i + 1 < percent.length) bp += (percent.charCodeAt(i + 1) - 48) * 10;
  if (i + 2 < percent.length) bp += percent.charCodeAt(i + 2) - 48;
  return bp;
}

/** The date a report is booked on, and the date its rule sets and GL accounts are taken as of: its approval date. */
export function postingDateOf(report: Pick<ExpenseReport, 'approvedAt'>): string {
  return report.approvedAt.slice(0, 10);
}
