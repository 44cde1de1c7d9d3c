/**
 * The expense-platform simulator: generates approved expense reports from a seed, later revisions
 * of them, and the CloudEvents 1.0 (structured JSON) a platform would send for them. The same seed
 * always gives the same reports (only `approvedAt` and event times follow the clock passed in), so
 * a failing simulation seed can be replayed.
 *
 * About `invalidShare` of the reports are deliberately invalid against the sample master data
 * (terminated employee, closed or unknown cost center, unknown category) while still passing the
 * schema and `normalizeReport`: validation and quarantine have something to catch.
 */
import { CloudEvent } from 'cloudevents';
import { EVENT_TYPES } from '../domain/events.ts';
import { formatAmount, parseAmount } from '../domain/money.ts';
import type { LineInput, ReportInput } from '../domain/report.ts';
import {
  buildAllocations,
  buildDomesticLine,
  buildRandomLine,
  computeIncludedTaxMinor,
  reallocate,
  sumDomesticMinor,
  type LineContext,
} from './expense-platform-lines.ts';
import { CLOSED_COST_CENTER_SINCE, COST_CENTERS_PER_ENTITY, costCenterCode, EMPLOYEES_PER_ENTITY, employeeId, ORIGINAL_ENTITIES, SAMPLE_COMPANY } from './sample-company.ts';
import type { LegalEntity } from '../masterdata/company.ts';

export { EVENT_TYPES };

// ---------------------------------------------------------------------------------------------
// Seeded randomness

import { createRng, type Rng } from '../simulation/seeded-random.ts';
import { addDays } from '../masterdata/records.ts';

export { createRng, type Rng };

/** One independent stream per report, so report n is the same whatever `count` is. */
function mixSeed(seed: number, n: number): number {
  // The murmur3 finalizer spreads neighbouring seeds and report numbers over the whole state space.
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(n + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Dates

const DAY_MS = 86_400_000;
const HISTORY_DAYS = 60;

function toIsoDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function daysBetween(fromIsoDate: string, toIsoDateValue: string): number {
  return Math.round((Date.parse(`${toIsoDateValue}T00:00:00Z`) - Date.parse(`${fromIsoDate}T00:00:00Z`)) / DAY_MS);
}

/**
 * Picks expense dates in the 60 days before `approvedOn`; with `earliest`, only on or after that
 * day. Returns undefined when no such day exists.
 */
function createDatePicker(rng: Rng, approvedOn: Date, earliest?: string): (() => string) | undefined {
  const maxBack = earliest === undefined ? HISTORY_DAYS : Math.min(HISTORY_DAYS, daysBetween(earliest, toIsoDate(approvedOn)));
  if (maxBack < 0) return undefined;
  const minBack = Math.min(1, maxBack);
  return () => toIsoDate(new Date(approvedOn.getTime() - rng.int(minBack, maxBack) * DAY_MS));
}

// ---------------------------------------------------------------------------------------------
// Reports

export interface GenerateOptions {
  readonly count: number;
  readonly seed: number;
  /** The approval instant of every report; expense dates fall in the 60 days before. Default: now. */
  readonly approvedOn?: Date;
  /** Share of reports that are invalid against master data (0..1). Default 0.03. */
  readonly invalidShare?: number;
  /** The entities reports are drawn from; default US01, DE01 and JP01 (the same reports for a seed as before GB01 joined). */
  readonly entities?: readonly string[];
}

export const INVALID_KINDS = ['terminated_employee', 'closed_cost_center', 'unknown_cost_center', 'unknown_category', 'new_hire'] as const;
export type InvalidKind = (typeof INVALID_KINDS)[number];

/** A category with no mapping in any sample entity. */
export const UNKNOWN_CATEGORY = 'GIFTS';

const TERMINATED_EMPLOYEE = EMPLOYEES_PER_ENTITY;
const CLOSED_COST_CENTER = COST_CENTERS_PER_ENTITY;
const UNKNOWN_EMPLOYEE = 9_999;
/** New hires: in the expense platform already, in the ERP only once its team adds them (the demo does, late). */
export const NEW_HIRES = [EMPLOYEES_PER_ENTITY + 1, EMPLOYEES_PER_ENTITY + 2, EMPLOYEES_PER_ENTITY + 3] as const;

const PURPOSES = ['Customer visit', 'Trade fair', 'Team offsite', 'Conference', 'Sales trip', 'Supplier audit', 'Training'];
const CITIES: Record<string, readonly string[]> = {
  US01: ['New York', 'Chicago', 'Austin', 'San Francisco'],
  DE01: ['Berlin', 'Munich', 'Hamburg', 'Frankfurt'],
  JP01: ['Tokyo', 'Osaka', 'Nagoya', 'Fukuoka'],
  GB01: ['London', 'Manchester', 'Edinburgh', 'Bristol'],
};

/** Generates `count` approved reports, deterministic for a seed (ids `RPT-{seed}-{n}`, n from 1). */
export function generateReports(options: GenerateOptions): ReportInput[] {
  const approvedOn = options.approvedOn ?? new Date();
  const invalidShare = options.invalidShare ?? 0.03;
  if (!Number.isInteger(options.count) || options.count < 0) throw new Error('Assertion failed: count must be a non-negative integer');
  if (!(invalidShare >= 0 && invalidShare <= 1)) throw new Error('Assertion failed: invalidShare must be between 0 and 1');
  const entities = options.entities === undefined ? ORIGINAL_ENTITIES : options.entities.map((code) => SAMPLE_COMPANY.entities.find((e) => e.code === code) ?? assertNever(code));
  return Array.from({ length: options.count }, (_, i) => generateReport(options.seed, i + 1, approvedOn, invalidShare, entities));
}

function assertNever(code: string): never {
  throw new Error(`Assertion failed: ${code} is not an entity of the sample company`);
}

/** The day after a record's last valid day: the first date on which using it is invalid. */
function firstInvalidDay(kind: 'terminated_employee' | 'closed_cost_center'): string {
  if (kind === 'closed_cost_center') return addDays(CLOSED_COST_CENTER_SINCE, 1);
  const validTo = SAMPLE_COMPANY.employees.find((e) => e.employeeId === employeeId('US01', TERMINATED_EMPLOYEE))?.validTo;
  if (validTo === undefined) throw new Error('Assertion failed: the terminated sample employee has no validTo');
  return addDays(validTo, 1);
}

interface ReportPlan {
  readonly employee: number;
  readonly pickDate: () => string;
  readonly invalid?: InvalidKind;
}

/**
 * Decides employee, dates and the kind of invalidity. A terminated employee or a closed cost
 * center is only invalid on dates after it ended; when `approvedOn` leaves no such date, the
 * report uses an unknown employee or an unknown cost center instead.
 */
function planReport(rng: Rng, approvedOn: Date, invalid: InvalidKind | undefined): ReportPlan {
  const normalDates = createDatePicker(rng, approvedOn) as () => string;
  const normal = { employee: rng.int(1, TERMINATED_EMPLOYEE - 1), pickDate: normalDates };
  if (invalid === 'terminated_employee' || invalid === 'closed_cost_center') {
    const pickDate = createDatePicker(rng, approvedOn, firstInvalidDay(invalid));
    if (pickDate) return { ...normal, pickDate, invalid, ...(invalid === 'terminated_employee' && { employee: TERMINATED_EMPLOYEE }) };
    if (invalid === 'terminated_employee') return { ...normal, employee: UNKNOWN_EMPLOYEE, invalid };
    return { ...normal, invalid: 'unknown_cost_center' };
  }
  if (invalid === 'new_hire') return { ...normal, employee: rng.pick(NEW_HIRES), invalid };
  return { ...normal, ...(invalid && { invalid }) };
}

function generateReport(seed: number, n: number, approvedOn: Date, invalidShare: number, entities: readonly LegalEntity[]): ReportInput {
  const rng = createRng(mixSeed(seed, n));
  const entity = rng.pick(entities);
  const plan = planReport(rng, approvedOn, rng.chance(invalidShare) ? rng.pick(INVALID_KINDS) : undefined);
  const ctx: LineContext = { rng, entity: entity.code, currency: entity.currency, pickDate: plan.pickDate, openCostCenters: CLOSED_COST_CENTER - 1 };
  const lines = buildLines(ctx, rng.int(1, 6));
  const submittedAt = new Date(approvedOn.getTime() - rng.int(1, 72) * 3_600_000);
  return {
    reportId: `RPT-${seed}-${n}`,
    revision: 1,
    entity: entity.code,
    employeeId: employeeId(entity.code, plan.employee),
    currency: entity.currency,
    title: `${rng.pick(PURPOSES)} ${rng.pick(CITIES[entity.code])}`,
    submittedAt: submittedAt.toISOString(),
    approvedAt: approvedOn.toISOString(),
    lines: plan.invalid ? spoilLines(lines, entity.code, plan.invalid) : lines,
  };
}

/** The first line is always a positive domestic one, so credits later can never net the report to zero. */
function buildLines(ctx: LineContext, count: number): LineInput[] {
  const lines = [buildDomesticLine(ctx, 'L1')];
  for (let i = 2; i <= count; i++) lines.push(buildRandomLine(ctx, `L${i}`, sumDomesticMinor(lines, ctx.currency)));
  return lines;
}

/** Makes the first line business-invalid in the planned way (the employee was handled by the plan). */
function spoilLines(lines: LineInput[], entity: string, invalid: InvalidKind): LineInput[] {
  const [first, ...rest] = lines;
  const withCostCenter = (costCenter: string): LineInput => ({
    ...first,
    allocations: first.allocations.map((a, i) => (i === 0 ? { ...a, costCenter } : a)),
  });
  switch (invalid) {
    case 'terminated_employee':
    case 'new_hire':
      return lines;
    case 'closed_cost_center':
      return [withCostCenter(costCenterCode(entity, CLOSED_COST_CENTER)), ...rest];
    case 'unknown_cost_center':
      return [withCostCenter(`${entity.slice(0, 2)}9999`), ...rest];
    case 'unknown_category':
      return [{ ...first, category: UNKNOWN_CATEGORY, merchant: 'Gift shop' }, ...rest];
  }
}

// ---------------------------------------------------------------------------------------------
// Revisions

type Change = (ctx: LineContext, lines: LineInput[]) => LineInput[] | undefined;

/**
 * A later revision of a report: the same report, employee and entity, revision + 1, with one
 * change (an amount, an added or removed line, or an allocation). New lines reuse the report's
 * existing expense dates, so a valid report stays valid. `approvedAt` is `approvedOn` (default
 * now), but at least a minute after the previous approval.
 */
export function reviseReport(report: ReportInput, seed: number, approvedOn: Date = new Date()): ReportInput {
  const rng = createRng(mixSeed(seed, report.revision + 1_000_003));
  const dates = report.lines.map((line) => line.date);
  const ctx: LineContext = {
    rng,
    entity: report.entity,
    currency: report.currency,
    pickDate: () => rng.pick(dates),
    openCostCenters: CLOSED_COST_CENTER - 1,
  };
  const lines = structuredClone(report.lines) as LineInput[];
  const changes: Change[] = [changeAmount, addLine, removeLine, changeAllocation];
  const first = rng.int(0, changes.length - 1);
  const ordered = [...changes.slice(first), ...changes.slice(0, first)];
  const revised = ordered.reduce<LineInput[] | undefined>((done, change) => done ?? change(ctx, lines), undefined);
  const notBefore = Date.parse(report.approvedAt) + 60_000;
  return {
    ...structuredClone(report),
    revision: report.revision + 1,
    approvedAt: new Date(Math.max(approvedOn.getTime(), notBefore)).toISOString(),
    lines: revised ?? lines,
  };
}

/** Raises or lowers a positive, non-per-diem line by 5-25%, keeping tax and amount splits exact. */
function changeAmount(ctx: LineContext, lines: LineInput[]): LineInput[] | undefined {
  const candidates = lines.map((line, i) => ({ line, i })).filter(({ line }) => !line.perDiem && !line.amount.value.startsWith('-'));
  if (candidates.length === 0) return undefined;
  const { line, i } = ctx.rng.pick(candidates);
  const currency = line.amount.currency;
  const oldMinor = parseAmount(line.amount.value, currency).amountMinor;
  const deltaMinor = Math.max(1, Math.floor((oldMinor * ctx.rng.int(5, 25)) / 100));
  const tryAmount = (newMinor: number): LineInput[] | undefined => {
    if (newMinor <= 0) return undefined;
    const changed: LineInput = {
      ...line,
      amount: { value: formatAmount(newMinor, currency), currency },
      ...(line.tax?.amount !== undefined && { tax: { code: line.tax.code, amount: formatAmount(computeIncludedTaxMinor(newMinor, line.tax.code), currency) } }),
      allocations: reallocate(line.allocations, newMinor, currency),
    };
    const next = lines.map((l, j) => (j === i ? changed : l));
    return sumDomesticMinor(next, ctx.currency) > 0 ? next : undefined;
  };
  return ctx.rng.chance(0.5) ? (tryAmount(oldMinor - deltaMinor) ?? tryAmount(oldMinor + deltaMinor)) : tryAmount(oldMinor + deltaMinor);
}

function addLine(ctx: LineContext, lines: LineInput[]): LineInput[] | undefined {
  if (lines.length >= 500) return undefined;
  const used = new Set(lines.map((line) => line.lineId));
  let n = lines.length + 1;
  while (used.has(`L${n}`)) n++;
  return [...lines, buildRandomLine(ctx, `L${n}`, sumDomesticMinor(lines, ctx.currency))];
}

/** Removes one line, never the last one and never one whose removal would net the report to zero or below. */
function removeLine(ctx: LineContext, lines: LineInput[]): LineInput[] | undefined {
  if (lines.length < 2) return undefined;
  const keepsPositive = (rest: LineInput[]): boolean =>
    sumDomesticMinor(rest, ctx.currency) > 0 || rest.every((line) => line.amount.currency !== ctx.currency);
  const candidates = lines.map((_, i) => lines.filter((__, j) => j !== i)).filter(keepsPositive);
  return candidates.length === 0 ? undefined : ctx.rng.pick(candidates);
}

function changeAllocation(ctx: LineContext, lines: LineInput[]): LineInput[] | undefined {
  const i = ctx.rng.int(0, lines.length - 1);
  const line = lines[i];
  const amountMinor = parseAmount(line.amount.value, line.amount.currency).amountMinor;
  for (let attempt = 0; attempt < 8; attempt++) {
    const allocations = buildAllocations(ctx, amountMinor, line.amount.currency);
    if (JSON.stringify(allocations) !== JSON.stringify(line.allocations)) {
      return lines.map((l, j) => (j === i ? { ...line, allocations } : l));
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// CloudEvents

export const DEFAULT_EVENT_SOURCE = 'urn:finsync:sim:expense-platform';

/** A CloudEvent 1.0 in structured JSON mode, as the platform sends it over HTTP or a broker. */
export interface SimulatedCloudEvent<T> {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject: string;
  readonly time: string;
  readonly datacontenttype: 'application/json';
  readonly data: T;
}

export interface ReportEventOptions {
  readonly type: 'approved' | 'updated';
  readonly source?: string;
  /** Default `${reportId}-r${revision}-${type}`: a redelivery of the same event has the same id. */
  readonly id?: string;
  /** The event time; default now. */
  readonly time?: Date;
}

/** Builds through the SDK, which validates the envelope, then returns the plain structured JSON. */
function buildCloudEvent<T extends object>(fields: { id: string; source: string; type: string; subject: string; time: Date; data: T }): SimulatedCloudEvent<T> {
  const event = new CloudEvent<T>({
    specversion: '1.0',
    id: fields.id,
    source: fields.source,
    type: fields.type,
    subject: fields.subject,
    time: fields.time.toISOString(),
    datacontenttype: 'application/json',
    data: fields.data,
  });
  return JSON.parse(JSON.stringify(event)) as SimulatedCloudEvent<T>;
}

export function toCloudEvent(report: ReportInput, options: ReportEventOptions): SimulatedCloudEvent<ReportInput> {
  return buildCloudEvent({
    id: options.id ?? `${report.reportId}-r${report.revision}-${options.type}`,
    source: options.source ?? DEFAULT_EVENT_SOURCE,
    type: EVENT_TYPES[options.type],
    subject: report.reportId,
    time: options.time ?? new Date(),
    data: report,
  });
}

export interface RecallEventData {
  readonly reportId: string;
  readonly revision: number;
  readonly reason: string;
}

export function toRecallEvent(reportId: string, revision: number, reason: string, source: string = DEFAULT_EVENT_SOURCE): SimulatedCloudEvent<RecallEventData> {
  return buildCloudEvent({
    id: `${reportId}-r${revision}-recalled`,
    source,
    type: EVENT_TYPES.recalled,
    subject: reportId,
    time: new Date(),
    data: { reportId, revision, reason },
  });
}
