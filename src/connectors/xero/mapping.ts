/**
 * Xero ManualJournal bodies <-> our journals. Pure. A journal line becomes one JournalLine whose
 * `LineAmount` is debit minus credit (Xero: debits positive, credits negative), written as a
 * JsonDecimal from `formatAmount`, so no float ever holds an amount (exact-json.ts). The external
 * key leads the Narration (`fs_…_r1: Expense report R-1001`): Xero has no reference field on a
 * manual journal, and `lookup` and `readBack` find our journals by that prefix.
 */
import type { PostingRequest } from '../contract.ts';
import type { JournalLine } from '../../domain/journal.ts';
import { DomainError } from '../../domain/domain-error.ts';
import { formatAmount, parseAmount } from '../../domain/money.ts';
import { JsonDecimal } from './exact-json.ts';

export const API_PREFIX = '/api.xro/2.0';
/** Xero's limit on the Idempotency-Key header (official description, `idempotencyKey` parameter). */
export const IDEMPOTENCY_KEY_LENGTH_MAX = 128;
/** Our keys (src/domain/keys.ts) use only these; nothing in them needs escaping inside a `where` string. */
export const EXTERNAL_KEY_PATTERN = /^[A-Za-z0-9_-]+$/;
/** What separates the key from the memo in a Narration; a key never contains it. */
const NARRATION_SEPARATOR = ': ';
/** Journals per page of a paged GET (official description, `page` parameter of getManualJournals). */
export const PAGE_SIZE_DEFAULT = 100;

export interface XeroTracking {
  readonly Name: string;
  readonly Option: string;
}

export interface XeroJournalLineBody {
  readonly LineAmount: JsonDecimal;
  readonly AccountCode: string;
  readonly Description: string;
  readonly TaxType?: string;
  readonly Tracking?: readonly XeroTracking[];
}

export interface XeroManualJournalBody {
  readonly Narration: string;
  /** YYYY-MM-DD */
  readonly Date: string;
  readonly Status: 'POSTED';
  /** Our lines are net amounts with tax on lines of its own, so Xero must not compute tax on top. */
  readonly LineAmountTypes: 'NoTax';
  readonly JournalLines: readonly XeroJournalLineBody[];
}

export interface XeroManualJournalsBody {
  readonly ManualJournals: readonly XeroManualJournalBody[];
}

export interface XeroMappingOptions {
  /** Name of the Xero tracking category that holds our cost centers as options, e.g. "Cost Center". */
  readonly costCenterCategory: string;
  /** Name of a second tracking category for projects; without it, projects are not sent. */
  readonly projectCategory?: string;
}

/**
 * Builds the PUT body for one journal. Accounts, cost centers and tax codes are translated through
 * `request.references` where it holds them (our code -> Xero's AccountCode, tracking option name,
 * TaxType) and sent as our own codes otherwise. A line without exactly one positive side is a
 * programmer error: checkBalance runs before any journal leaves the hub.
 */
export function toXeroManualJournals(request: PostingRequest, options: XeroMappingOptions): XeroManualJournalsBody {
  const { journal, externalKey } = request;
  return {
    ManualJournals: [
      {
        Narration: narrationFor(externalKey, journal.memo),
        Date: journal.postingDate,
        Status: 'POSTED',
        LineAmountTypes: 'NoTax',
        JournalLines: journal.lines.map((line, index) => toXeroLine(request, line, index, options)),
      },
    ],
  };
}

function toXeroLine(request: PostingRequest, line: JournalLine, index: number, options: XeroMappingOptions): XeroJournalLineBody {
  const { references, journal } = request;
  if ((line.debitMinor > 0) === (line.creditMinor > 0) || line.debitMinor < 0 || line.creditMinor < 0) {
    throw new Error(`Assertion failed: journal line ${index} must have exactly one positive side`);
  }
  const tracking: XeroTracking[] = [];
  if (line.costCenter !== undefined) tracking.push({ Name: options.costCenterCategory, Option: translate(references.costCenters, line.costCenter) });
  if (line.project !== undefined && options.projectCategory !== undefined) tracking.push({ Name: options.projectCategory, Option: line.project });
  return {
    LineAmount: toLineAmount(line.debitMinor - line.creditMinor, journal.currency),
    AccountCode: translate(references.accounts, line.account),
    Description: line.memo,
    ...(line.taxCode !== undefined && { TaxType: translate(references.taxCodes, line.taxCode) }),
    ...(tracking.length > 0 && { Tracking: tracking }),
  };
}

function translate(table: Readonly<Record<string, string>>, code: string): string {
  return Object.hasOwn(table, code) ? (table[code] as string) : code;
}

/** The exact JSON number for signed minor units: debit positive, credit negative. */
export function toLineAmount(amountMinor: number, currency: string): JsonDecimal {
  if (!Number.isSafeInteger(amountMinor)) throw new Error(`Assertion failed: ${amountMinor} is not a whole number of minor units`);
  return new JsonDecimal(formatAmount(amountMinor, currency));
}

export function narrationFor(externalKey: string, memo: string): string {
  assertExternalKey(externalKey);
  return `${externalKey}${NARRATION_SEPARATOR}${memo}`;
}

/** Our external key at the start of a Narration, or undefined when the journal is not one of ours. */
export function keyFromNarration(narration: string): string | undefined {
  const end = narration.indexOf(NARRATION_SEPARATOR);
  const key = end < 0 ? narration : narration.slice(0, end);
  return key.startsWith('fs_') && EXTERNAL_KEY_PATTERN.test(key) ? key : undefined;
}

export function assertExternalKey(externalKey: string): void {
  if (!EXTERNAL_KEY_PATTERN.test(externalKey) || externalKey.length > IDEMPOTENCY_KEY_LENGTH_MAX) {
    throw new Error(`Assertion failed: external key "${externalKey}" is not 1 to ${IDEMPOTENCY_KEY_LENGTH_MAX} letters, digits, _ or -`);
  }
}

/** The `where` filter that finds the journal of one key (the separator keeps `…_r1` from matching `…_r1_rev`). */
export function lookupWhere(externalKey: string): string {
  assertExternalKey(externalKey);
  return `Narration.StartsWith("${externalKey}${NARRATION_SEPARATOR}")`;
}

/** The `where` filter for the posted journals of ours dated in one `YYYY-MM` period. */
export function periodWhere(period: string): string {
  const match = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(period);
  if (!match) throw new Error(`Assertion failed: period ${period} is not YYYY-MM`);
  const year = Number(match[1]);
  const month = Number(match[2]);
  const next = month === 12 ? [year + 1, 1] : [year, month + 1];
  const day = (y: number, m: number) => `DateTime(${y}, ${String(m).padStart(2, '0')}, 01)`;
  return `Status=="POSTED" AND Date >= ${day(year, month)} AND Date < ${day(next[0], next[1])} AND Narration.StartsWith("fs_")`;
}

/** Xero's JSON dates: `/Date(1552521600000+0000)/` (milliseconds since the epoch, an offset that Xero sets to +0000). */
export function formatMsDate(ms: number, withOffset = true): string {
  return `/Date(${ms}${withOffset ? '+0000' : ''})/`;
}

/** A Xero date (`/Date(ms+0000)/` or `YYYY-MM-DD`, optionally with a time) as `YYYY-MM-DD`; undefined when unreadable. */
export function parseXeroDate(text: string): string | undefined {
  const ms = /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/.exec(text);
  if (ms) {
    const date = new Date(Number(ms[1]));
    return Number.isNaN(date.getTime()) ? undefined : date.toISOString().slice(0, 10);
  }
  const iso = /^(\d{4}-\d{2}-\d{2})(?:T\d{2}:\d{2}:\d{2}(?:\.\d+)?)?$/.exec(text);
  if (!iso || Number.isNaN(Date.parse(`${iso[1]}T00:00:00Z`))) return undefined;
  return iso[1];
}

/** A manual journal read from a request or an answer, amounts in minor units of the currency given. */
export interface NormalizedXeroJournal {
  readonly manualJournalId?: string;
  readonly narration: string;
  /** YYYY-MM-DD, or undefined when the body had no Date. */
  readonly date?: string;
  readonly status?: string;
  readonly lineAmountTypes?: string;
  readonly lines: readonly NormalizedXeroLine[];
  readonly validationErrors: readonly string[];
}

export interface NormalizedXeroLine {
  readonly accountCode: string;
  /** Signed: debit positive, credit negative. */
  readonly amountMinor: number;
  readonly description: string;
  readonly taxType?: string;
  readonly tracking: readonly { readonly name: string; readonly option: string }[];
}

/** A body that does not have the ManualJournal shape; `path` points into it (`ManualJournals[0].JournalLines[1].LineAmount`). */
export class XeroShapeError extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = 'XeroShapeError';
  }
}

/** Reads one ManualJournal parsed by parseJsonExact; amounts in `currency`. Throws XeroShapeError. */
export function readManualJournal(value: unknown, currency: string, path: string): NormalizedXeroJournal {
  const record = readObject(value, path);
  const lines = record.JournalLines === undefined ? [] : readArray(record.JournalLines, `${path}.JournalLines`);
  const date = optionalString(record.Date, `${path}.Date`);
  const parsedDate = date === undefined ? undefined : parseXeroDate(date);
  if (date !== undefined && parsedDate === undefined) throw new XeroShapeError(`${path}.Date`, `"${date}" is not a date`);
  const errors = record.ValidationErrors === undefined ? [] : readArray(record.ValidationErrors, `${path}.ValidationErrors`);
  const id = optionalString(record.ManualJournalID, `${path}.ManualJournalID`);
  const status = optionalString(record.Status, `${path}.Status`);
  const lineAmountTypes = optionalString(record.LineAmountTypes, `${path}.LineAmountTypes`);
  return {
    ...(id !== undefined && { manualJournalId: id }),
    narration: optionalString(record.Narration, `${path}.Narration`) ?? '',
    ...(parsedDate !== undefined && { date: parsedDate }),
    ...(status !== undefined && { status }),
    ...(lineAmountTypes !== undefined && { lineAmountTypes }),
    lines: lines.map((line, index) => readLine(line, currency, `${path}.JournalLines[${index}]`)),
    validationErrors: errors.map((error, index) => optionalString(readObject(error, `${path}.ValidationErrors[${index}]`).Message, `${path}.ValidationErrors[${index}].Message`) ?? ''),
  };
}

function readLine(value: unknown, currency: string, path: string): NormalizedXeroLine {
  const line = readObject(value, path);
  const tracking = line.Tracking === undefined ? [] : readArray(line.Tracking, `${path}.Tracking`);
  const taxType = optionalString(line.TaxType, `${path}.TaxType`);
  return {
    accountCode: optionalString(line.AccountCode, `${path}.AccountCode`) ?? '',
    amountMinor: readAmountMinor(line.LineAmount, currency, `${path}.LineAmount`),
    description: optionalString(line.Description, `${path}.Description`) ?? '',
    ...(taxType !== undefined && { taxType }),
    tracking: tracking.map((item, index) => {
      const entry = readObject(item, `${path}.Tracking[${index}]`);
      return { name: optionalString(entry.Name, `${path}.Tracking[${index}].Name`) ?? '', option: optionalString(entry.Option, `${path}.Tracking[${index}].Option`) ?? '' };
    }),
  };
}

/** Minor units of a LineAmount read by parseJsonExact: digits to money.ts, never through a double. */
export function readAmountMinor(value: unknown, currency: string, path: string): number {
  if (!(value instanceof JsonDecimal)) throw new XeroShapeError(path, `Expected a number, got ${describe(value)}`);
  try {
    return parseAmount(value.plain(), currency, path).amountMinor;
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    const why = error.code === 'AMOUNT_PRECISION' ? `has more decimals than ${currency} allows` : `is not an amount finsync can hold exactly`;
    throw new XeroShapeError(path, `${value.text} ${why}`);
  }
}

export function readObject(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof JsonDecimal) {
    throw new XeroShapeError(path || 'body', `Expected an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

export function readArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new XeroShapeError(path, `Expected an array, got ${describe(value)}`);
  return value;
}

export function optionalString(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new XeroShapeError(path, `Expected a string, got ${describe(value)}`);
  return value;
}

function describe(value: unknown): string {
  if (value instanceof JsonDecimal) return `the number ${value.text}`;
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : typeof value;
}
