/**
 * Master-data records: what every source (ERP pull, HR feed, push API) delivers and what the hub
 * stores. A record is one system's view of one thing (an employee, a cost center, …) in one legal
 * entity, valid over a date range. The wire form (`RecordInput`) is checked by a TypeBox schema per
 * kind; `normalizeRecord` turns it into a `RecordVersion` with closed date bounds and parsed
 * attributes (rates in basis points), or explains exactly which field is wrong.
 */
import { Type, type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { currencyExponent } from '../domain/money.ts';
import { DomainError } from '../domain/domain-error.ts';

export const KINDS = ['employee', 'cost_center', 'project', 'gl_account', 'tax_code', 'supplier', 'category', 'currency', 'fx_rate', 'policy'] as const;
export type Kind = (typeof KINDS)[number];

/**
 * Whose view a record is. `erp` is what the ledger accepts, so validation reads it (and `finsync`
 * for data finsync owns itself: the expense policy). `hr` and `expense` are compared with `erp` by
 * the drift report.
 */
export const SYSTEMS = ['erp', 'hr', 'expense', 'finsync'] as const;
export type System = (typeof SYSTEMS)[number];

/** The system whose records validation and posting use, per kind. */
export const AUTHORITY: Readonly<Record<Kind, System>> = {
  employee: 'erp',
  cost_center: 'erp',
  project: 'erp',
  gl_account: 'erp',
  tax_code: 'erp',
  supplier: 'erp',
  category: 'erp',
  currency: 'erp',
  fx_rate: 'erp',
  policy: 'finsync',
};

/** The open ends of a validity range, so every stored range is closed and compares as text. */
export const OPEN_FROM = '0001-01-01';
export const OPEN_TO = '9999-12-31';

const IsoDate = Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$', description: 'YYYY-MM-DD' });
const Name = Type.String({ minLength: 1, maxLength: 200 });
const ErpId = Type.String({ minLength: 1, maxLength: 64 });
const Percent = Type.String({ pattern: '^\\d{1,3}(\\.\\d{1,2})?$', description: 'percent with up to two decimals, e.g. "19" or "7.7"' });
const Decimal = Type.String({ pattern: '^\\d{1,15}(\\.\\d{1,20})?$', description: 'non-negative decimal amount, e.g. "75.00"' });
const Code = Type.String({ minLength: 1, maxLength: 40, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' });
const CurrencyCode = Type.String({ pattern: '^[A-Z]{3}$' });
const Severity = Type.Union([Type.Literal('error'), Type.Literal('warning')]);

const obj = <P extends Record<string, TSchema>>(properties: P) => Type.Object(properties, { additionalProperties: false });

export const PolicySchema = obj({
  allowedCurrencies: Type.Optional(Type.Array(CurrencyCode, { minItems: 1, maxItems: 200, description: 'transaction currencies a line may be in' })),
  categoryLimits: Type.Optional(
    Type.Record(Code, obj({ perLine: Type.Optional(Decimal), perDay: Type.Optional(Decimal), severity: Type.Optional(Severity) }), {
      description: 'limits in the entity currency per category: per line, and per employee and day',
    }),
  ),
  receiptRequiredAbove: Type.Optional(Decimal),
  receiptSeverity: Type.Optional(Severity),
  perDiem: Type.Optional(
    Type.Record(Code, obj({ dailyLimit: Decimal }), { description: 'statutory tax-free amount per day, per per-diem category; the excess is a taxable part' }),
  ),
  duplicateWindowDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 365 })),
  flagWeekends: Type.Optional(Type.Boolean()),
  holidays: Type.Optional(Type.Array(IsoDate, { maxItems: 1000 })),
});
export type Policy = Static<typeof PolicySchema>;

export const ATTRIBUTE_SCHEMAS = {
  employee: obj({ name: Name, email: Type.Optional(Type.String({ maxLength: 320 })), erpId: Type.Optional(ErpId), hrId: Type.Optional(ErpId), expenseId: Type.Optional(ErpId), costCenter: Type.Optional(Code) }),
  cost_center: obj({ name: Name, erpId: Type.Optional(ErpId) }),
  project: obj({ name: Name, erpId: Type.Optional(ErpId), costCenter: Type.Optional(Code) }),
  gl_account: obj({ name: Name, postable: Type.Boolean(), erpId: Type.Optional(ErpId) }),
  tax_code: obj({ jurisdiction: Type.String({ minLength: 2, maxLength: 40 }), rate: Percent, reclaim: Type.Optional(Percent), erpId: Type.Optional(ErpId) }),
  supplier: obj({ name: Name, erpId: Type.Optional(ErpId), taxId: Type.Optional(Type.String({ maxLength: 40 })) }),
  category: obj({ name: Name, erpId: Type.Optional(ErpId) }),
  currency: obj({ name: Type.Optional(Name), erpId: Type.Optional(ErpId) }),
  fx_rate: obj({ rate: Type.String({ pattern: '^\\d{1,12}(\\.\\d{1,12})?$', description: 'units of the second currency per unit of the first' }), source: Type.String({ minLength: 1, maxLength: 40 }) }),
  policy: PolicySchema,
} as const satisfies Record<Kind, TSchema>;

export type Attributes<K extends Kind> = Static<(typeof ATTRIBUTE_SCHEMAS)[K]>;

/** The key of each kind: an employee id, a cost-center code, an account number, `USD/EUR` for a rate, `expense` for the policy. */
const KEY_PATTERNS: Readonly<Record<Kind, RegExp>> = {
  employee: /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/,
  cost_center: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/,
  project: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/,
  gl_account: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/,
  tax_code: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/,
  supplier: /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/,
  category: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/,
  currency: /^[A-Z]{3}$/,
  fx_rate: /^[A-Z]{3}\/[A-Z]{3}$/,
  policy: /^expense$/,
};

/** One record as a source sends it. Attributes are checked against the kind's schema. */
export const RecordInputSchema = obj({
  kind: Type.Union(KINDS.map((k) => Type.Literal(k))),
  entity: Code,
  key: Type.String({ minLength: 1, maxLength: 64 }),
  validFrom: Type.Optional(IsoDate),
  validTo: Type.Optional(IsoDate),
  active: Type.Optional(Type.Boolean({ description: 'false: the record exists but is closed, terminated or blocked over this range' })),
  attributes: Type.Record(Type.String(), Type.Unknown()),
});
export type RecordInput = Omit<Static<typeof RecordInputSchema>, 'kind'> & { kind: Kind };

/** A stored version: one system's view of one record over a closed date range. */
export interface RecordVersion {
  readonly system: System;
  readonly kind: Kind;
  readonly entity: string;
  readonly key: string;
  readonly validFrom: string;
  readonly validTo: string;
  readonly active: boolean;
  /** Attributes as sent, after the kind's schema accepted them. */
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** What the incoming record says, before the hub decides where an open start begins. */
export interface IncomingVersion extends Omit<RecordVersion, 'validFrom' | 'validTo'> {
  /** Undefined when the source did not say: the hub then picks the start (see temporal.ts). */
  readonly validFrom?: string;
  readonly validTo: string;
}

const checkInput = Compile(RecordInputSchema);
const checkAttributes = Object.fromEntries(KINDS.map((k) => [k, Compile(ATTRIBUTE_SCHEMAS[k])])) as unknown as Record<Kind, ReturnType<typeof Compile>>;

export function isKind(value: string): value is Kind {
  return (KINDS as readonly string[]).includes(value);
}

export function isSystem(value: string): value is System {
  return (SYSTEMS as readonly string[]).includes(value);
}

/** A real calendar date (the pattern lets 2026-02-30 through). */
export function isCalendarDate(date: string): boolean {
  const d = new Date(`${date}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === date;
}

export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** Percent string ("7.7") to basis points (770), exactly. */
export function percentToBp(percent: string): number {
  const [whole, fraction = ''] = percent.split('.');
  return Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
}

/**
 * Checks one record from `system` and returns its normalized form. Throws DomainError
 * (MD_RECORD_INVALID) naming the field, relative to `path`, e.g. `records[3].attributes.rate`.
 */
export function normalizeRecord(system: System, input: unknown, path: string): IncomingVersion {
  const fail = (field: string, detail: string): never => {
    throw new DomainError('MD_RECORD_INVALID', { path: field ? `${path}.${field}` : path, detail });
  };
  if (!checkInput.Check(input)) {
    const first = [...checkInput.Errors(input)][0];
    fail(first?.instancePath.replace(/^\//, '').replaceAll('/', '.') ?? '', first?.message ?? 'is not a master-data record');
  }
  const record = input as RecordInput;
  const kind = record.kind as Kind;
  if (!KEY_PATTERNS[kind].test(record.key)) fail('key', `"${record.key}" is not a valid ${kind} key`);
  for (const field of ['validFrom', 'validTo'] as const) {
    const date = record[field];
    if (date !== undefined && !isCalendarDate(date)) fail(field, `${date} is not a calendar date`);
  }
  if (record.validFrom !== undefined && record.validTo !== undefined && record.validFrom > record.validTo) {
    fail('validTo', `validTo ${record.validTo} is before validFrom ${record.validFrom}; dates are out of order`);
  }
  const check = checkAttributes[kind];
  if (!check.Check(record.attributes)) {
    const first = [...check.Errors(record.attributes)][0];
    const field = first?.instancePath.replace(/^\//, '').replaceAll('/', '.');
    const missing = (first?.params as { requiredProperties?: string[] } | undefined)?.requiredProperties?.[0];
    const additional = (first?.params as { additionalProperties?: string[] } | undefined)?.additionalProperties?.[0];
    const name = [field, missing ?? additional].filter(Boolean).join('.');
    fail(`attributes${name ? `.${name}` : ''}`, first?.message ?? `is not valid for a ${kind}`);
  }
  checkKindRules(kind, record, fail);
  return {
    system,
    kind,
    entity: record.entity,
    key: record.key,
    ...(record.validFrom !== undefined && { validFrom: record.validFrom }),
    validTo: record.validTo ?? OPEN_TO,
    active: record.active ?? true,
    attributes: record.attributes,
  };
}

function checkKindRules(kind: Kind, record: RecordInput, fail: (field: string, detail: string) => never): void {
  const a = record.attributes as Record<string, unknown>;
  const currency = (code: string, field: string) => {
    try {
      currencyExponent(code, field);
    } catch {
      fail(field, `${code} is not an ISO 4217 currency code`);
    }
  };
  if (kind === 'currency') currency(record.key, 'key');
  if (kind === 'fx_rate') {
    const [from, to] = record.key.split('/');
    currency(from, 'key');
    currency(to, 'key');
    if (from === to) fail('key', `a rate from ${from} to itself is always 1; send rates between two currencies`);
    if (/^0+(\.0+)?$/.test(a.rate as string)) fail('attributes.rate', 'a rate must be greater than zero');
  }
  if (kind === 'tax_code') {
    if (percentToBp(a.rate as string) > 10_000) fail('attributes.rate', `${a.rate as string}% is more than 100%`);
    if (a.reclaim !== undefined && percentToBp(a.reclaim as string) > 10_000) fail('attributes.reclaim', `${a.reclaim as string}% is more than 100%`);
  }
  if (kind === 'policy') {
    const policy = a as Policy;
    for (const [i, code] of (policy.allowedCurrencies ?? []).entries()) currency(code, `attributes.allowedCurrencies[${i}]`);
    for (const [i, date] of (policy.holidays ?? []).entries()) if (!isCalendarDate(date)) fail(`attributes.holidays[${i}]`, `${date} is not a calendar date`);
  }
}

/** Identity of a record across versions. */
export function recordId(r: { readonly system: string; readonly kind: string; readonly entity: string; readonly key: string }): string {
  return `${r.system}\u0000${r.kind}\u0000${r.entity}\u0000${r.key}`;
}
