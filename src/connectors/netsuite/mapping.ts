/**
 * NetSuite journalEntry bodies <-> our journals. Pure. Our money is integer minor units; NetSuite
 * takes decimal amounts, so every amount goes through `formatAmount`/`parseAmount` as a decimal
 * string and is never computed with float arithmetic.
 */
import type { PostingRequest } from '../contract.ts';
import type { JournalLine } from '../../domain/journal.ts';
import { formatAmount, isKnownCurrency, parseAmount } from '../../domain/money.ts';

/** NetSuite accepts only these characters in an external id; a pipe would be read as a multi-select delimiter. */
export const EXTERNAL_ID_PATTERN = /^[A-Za-z0-9_-]+$/;

/** A reference to another NetSuite record by internal id. */
export interface NetSuiteRef {
  readonly id: string;
}

export interface NetSuiteJournalLine {
  readonly account: NetSuiteRef;
  readonly debit?: number;
  readonly credit?: number;
  readonly memo: string;
  readonly department?: NetSuiteRef;
  /** The employee the line belongs to. */
  readonly entity?: NetSuiteRef;
  readonly taxCode?: NetSuiteRef;
}

export interface NetSuiteJournalBody {
  readonly externalId: string;
  readonly subsidiary: NetSuiteRef;
  readonly currency: { readonly refName: string };
  /** YYYY-MM-DD */
  readonly tranDate: string;
  readonly memo: string;
  readonly approved: true;
  readonly line: { readonly items: readonly NetSuiteJournalLine[] };
}

/** A journalEntry body read back into minor units, as the simulator stores it and the tests compare it. */
export interface NormalizedNetSuiteLine {
  readonly accountId: string;
  readonly debitMinor: number;
  readonly creditMinor: number;
  readonly departmentId?: string;
  readonly entityId?: string;
  readonly taxCodeId?: string;
  readonly memo: string;
}

export interface NormalizedNetSuiteJournal {
  readonly externalId: string;
  readonly subsidiaryId: string;
  readonly currency: string;
  readonly tranDate: string;
  readonly memo: string;
  readonly lines: readonly NormalizedNetSuiteLine[];
}

/** A body that does not have the journalEntry shape; `path` points into the body like NetSuite's o:errorPath. */
export class NetSuiteShapeError extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = 'NetSuiteShapeError';
  }
}

/** Builds the journalEntry body for an upsert. A reference missing from `request.references` is a programmer error. */
export function toNetSuiteJournal(request: PostingRequest): NetSuiteJournalBody {
  const { journal, references, externalKey } = request;
  return {
    externalId: externalKey,
    subsidiary: { id: references.subsidiaryId },
    currency: { refName: journal.currency },
    tranDate: journal.postingDate,
    memo: journal.memo,
    approved: true,
    line: { items: journal.lines.map((line, index) => toNetSuiteLine(request, line, index)) },
  };
}

function toNetSuiteLine(request: PostingRequest, line: JournalLine, index: number): NetSuiteJournalLine {
  const { references, journal } = request;
  if ((line.debitMinor > 0) === (line.creditMinor > 0)) {
    throw new Error(`Assertion failed: journal line ${index} must have exactly one positive side`);
  }
  const side = line.debitMinor > 0 ? { debit: toDecimalNumber(line.debitMinor, journal.currency) } : { credit: toDecimalNumber(line.creditMinor, journal.currency) };
  return {
    account: { id: resolveReference(references.accounts, line.account, 'account', index) },
    ...side,
    memo: line.memo,
    ...(line.costCenter !== undefined && { department: { id: resolveReference(references.costCenters, line.costCenter, 'cost center', index) } }),
    ...(line.employeeId !== undefined && { entity: { id: resolveReference(references.employees, line.employeeId, 'employee', index) } }),
    ...(line.taxCode !== undefined && { taxCode: { id: resolveReference(references.taxCodes, line.taxCode, 'tax code', index) } }),
  };
}

function resolveReference(table: Readonly<Record<string, string>>, key: string, what: string, index: number): string {
  const id = Object.hasOwn(table, key) ? table[key] : undefined;
  if (id === undefined) {
    throw new Error(`Assertion failed: no NetSuite internal id for ${what} ${key} (line ${index}); the pipeline resolves references before posting`);
  }
  return id;
}

/**
 * The JSON number for an amount in minor units. A decimal string of at most 15 significant digits
 * survives the trip through a double and back exactly (shortest round-trip printing), so the body
 * carries precisely the digits `formatAmount` wrote.
 */
function toDecimalNumber(amountMinor: number, currency: string): number {
  const decimal = formatAmount(amountMinor, currency);
  const significant = decimal.replace(/[-.]/g, '').replace(/^0+/, '');
  if (significant.length > 15) {
    throw new Error(`Assertion failed: amount ${decimal} ${currency} has more digits than a JSON number carries exactly`);
  }
  return Number(decimal);
}

/** Reads a journalEntry body (as sent to or returned by NetSuite) into minor units; throws NetSuiteShapeError. */
export function fromNetSuiteJournal(body: unknown): NormalizedNetSuiteJournal {
  const record = readObject(body, '');
  const currency = readString(readObject(record.currency, 'currency').refName, 'currency');
  if (!isKnownCurrency(currency)) throw new NetSuiteShapeError('currency', `Invalid value ${currency} for field currency`);
  const items = readObject(record.line, 'line').items;
  if (!Array.isArray(items) || items.length === 0) throw new NetSuiteShapeError('line.items', 'A journal needs at least one line');
  return {
    externalId: readString(record.externalId, 'externalId'),
    subsidiaryId: readRefId(record.subsidiary, 'subsidiary'),
    currency,
    tranDate: readDate(record.tranDate, 'tranDate'),
    memo: record.memo === undefined ? '' : readString(record.memo, 'memo'),
    lines: items.map((item, index) => fromNetSuiteLine(item, currency, `line.items[${index}]`)),
  };
}

function fromNetSuiteLine(item: unknown, currency: string, path: string): NormalizedNetSuiteLine {
  const line = readObject(item, path);
  const debitMinor = readAmountMinor(line.debit, currency, `${path}.debit`);
  const creditMinor = readAmountMinor(line.credit, currency, `${path}.credit`);
  if ((debitMinor > 0) === (creditMinor > 0)) {
    throw new NetSuiteShapeError(path, 'Each line needs exactly one of debit or credit, and it must be positive');
  }
  return {
    accountId: readRefId(line.account, `${path}.account`),
    debitMinor,
    creditMinor,
    ...(line.department !== undefined && { departmentId: readRefId(line.department, `${path}.department`) }),
    ...(line.entity !== undefined && { entityId: readRefId(line.entity, `${path}.entity`) }),
    ...(line.taxCode !== undefined && { taxCodeId: readRefId(line.taxCode, `${path}.taxCode`) }),
    memo: line.memo === undefined ? '' : readString(line.memo, `${path}.memo`),
  };
}

function readAmountMinor(value: unknown, currency: string, path: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new NetSuiteShapeError(path, `Invalid value ${String(value)} for field ${lastSegment(path)}`);
  }
  // String(number) prints the shortest decimal that round-trips, i.e. the digits the sender wrote.
  try {
    return parseAmount(String(value), currency, path).amountMinor;
  } catch {
    throw new NetSuiteShapeError(path, `Invalid value ${String(value)} for field ${lastSegment(path)}: not an amount in ${currency} (at most its minor-unit decimals)`);
  }
}

function readObject(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new NetSuiteShapeError(path || 'body', `Expected an object at ${path || 'the top level'}`);
  }
  return value as Record<string, unknown>;
}

function readString(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new NetSuiteShapeError(path, `Invalid value ${String(value)} for field ${lastSegment(path)}`);
  return value;
}

function readRefId(value: unknown, path: string): string {
  const id = readObject(value, path).id;
  if (typeof id !== 'string' || id === '') throw new NetSuiteShapeError(path, `Invalid value ${String(id)} for field ${lastSegment(path)}`);
  return id;
}

function readDate(value: unknown, path: string): string {
  const date = readString(value, path);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new NetSuiteShapeError(path, `Invalid value ${date} for field ${path}`);
  return date;
}

function lastSegment(path: string): string {
  return path.slice(path.lastIndexOf('.') + 1);
}
