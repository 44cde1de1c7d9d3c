/**
 * Checked reads from untrusted JSON: each read either returns a value of the right type and form
 * or records a problem under the field's path and returns undefined. Nothing here throws on input.
 */
import { DomainError } from '../../domain/domain-error.ts';
import { currencyExponent, isKnownCurrency, parseAmount } from '../../domain/money.ts';

export interface FisProblem {
  /** Where in the transaction: `document.expenseEntry[0].entryApprovedAmount`. */
  readonly path: string;
  readonly message: string;
}

export type Fields = Readonly<Record<string, unknown>>;

/** The ReportInput id and code patterns (src/domain/report.ts). */
export const ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
export const CODE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const DATE_OR_MIDNIGHT = /^(\d{4}-\d{2}-\d{2})(?:T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z?)?$/;
/** Enough to fix a document; a broken one with 500 entries would otherwise list thousands. */
const PROBLEMS_MAX = 50;

export interface StringRule {
  readonly pattern?: RegExp;
  readonly min?: number;
  readonly max?: number;
  /** Said after a pattern mismatch: what the field should hold. */
  readonly hint?: string;
  /** An empty string reads as absent (optional fields only). */
  readonly emptyIsAbsent?: boolean;
}

export class FieldReader {
  readonly problems: FisProblem[] = [];

  add(path: string, message: string): void {
    if (this.problems.length < PROBLEMS_MAX) this.problems.push({ path, message });
  }

  object(value: unknown, path: string): Fields | undefined {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Fields;
    this.add(path, value === undefined || value === null ? 'is required' : `must be an object, not ${describe(value)}`);
    return undefined;
  }

  array(value: unknown, path: string, min: number, max: number): readonly unknown[] | undefined {
    if (!Array.isArray(value)) {
      this.add(path, value === undefined || value === null ? 'is required' : `must be an array, not ${describe(value)}`);
      return undefined;
    }
    if (value.length < min || value.length > max) {
      this.add(path, `has ${value.length} items; finsync reads ${min} to ${max}`);
      return undefined;
    }
    return value;
  }

  string(fields: Fields, key: string, at: string, rule: StringRule = {}): string | undefined {
    const value = fields[key];
    if (value === undefined || value === null) {
      this.add(`${at}.${key}`, 'is required');
      return undefined;
    }
    return this.checkString(value, `${at}.${key}`, rule);
  }

  optionalString(fields: Fields, key: string, at: string, rule: StringRule = {}): string | undefined {
    const value = fields[key];
    if (value === undefined || value === null || (value === '' && rule.emptyIsAbsent)) return undefined;
    return this.checkString(value, `${at}.${key}`, rule);
  }

  oneOf<T extends string>(fields: Fields, key: string, at: string, allowed: readonly T[]): T | undefined {
    const value = this.string(fields, key, at);
    if (value === undefined) return undefined;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.add(`${at}.${key}`, `is "${truncate(value)}"; expected one of ${allowed.join(', ')}`);
    return undefined;
  }

  optionalOneOf<T extends string>(fields: Fields, key: string, at: string, allowed: readonly T[]): T | undefined {
    const value = fields[key];
    return value === undefined || value === null ? undefined : this.oneOf(fields, key, at, allowed);
  }

  currency(fields: Fields, key: string, at: string): string | undefined {
    const code = this.string(fields, key, at, { pattern: /^[A-Z]{3}$/, hint: 'an ISO 4217 code such as EUR' });
    if (code === undefined) return undefined;
    if (isKnownCurrency(code)) return code;
    this.add(`${at}.${key}`, `is ${code}, which is not a currency finsync can post`);
    return undefined;
  }

  /** A decimal string in `currency`, as minor units. */
  amount(fields: Fields, key: string, at: string, currency: string): number | undefined {
    const value = fields[key];
    const path = `${at}.${key}`;
    if (value === undefined || value === null) {
      this.add(path, 'is required');
      return undefined;
    }
    if (typeof value === 'number') {
      this.add(path, 'is a JSON number; FIS amounts are read as decimal strings only, so that no float touches money');
      return undefined;
    }
    if (typeof value !== 'string') {
      this.add(path, `must be a decimal string, not ${describe(value)}`);
      return undefined;
    }
    try {
      return parseAmount(value, currency, path).amountMinor;
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      const message = error.code === 'AMOUNT_PRECISION'
        ? `is "${truncate(value)}", which has more decimals than ${currency} allows (${currencyExponent(currency)})`
        : `is "${truncate(value)}", which is not a decimal amount finsync can count exactly`;
      this.add(path, message);
      return undefined;
    }
  }

  optionalAmount(fields: Fields, key: string, at: string, currency: string): number | undefined {
    const value = fields[key];
    return value === undefined || value === null ? undefined : this.amount(fields, key, at, currency);
  }

  /** YYYY-MM-DD, or Concur's midnight timestamp of that day ("2026-04-10T00:00:00.000Z"). */
  date(fields: Fields, key: string, at: string): string | undefined {
    const value = this.string(fields, key, at);
    return value === undefined ? undefined : this.checkDate(value, `${at}.${key}`);
  }

  optionalDate(fields: Fields, key: string, at: string): string | undefined {
    const value = this.optionalString(fields, key, at, { emptyIsAbsent: true });
    return value === undefined ? undefined : this.checkDate(value, `${at}.${key}`);
  }

  dateTime(fields: Fields, key: string, at: string): string | undefined {
    const value = this.string(fields, key, at);
    return value === undefined ? undefined : this.checkDateTime(value, `${at}.${key}`);
  }

  optionalDateTime(fields: Fields, key: string, at: string): string | undefined {
    const value = this.optionalString(fields, key, at);
    return value === undefined ? undefined : this.checkDateTime(value, `${at}.${key}`);
  }

  /** Custom fields by name from the numbered slots `${prefix}${n}Code`; empty slots are absent. */
  customFields(fields: Fields, prefix: string, slots: Readonly<Record<string, number>>, at: string): Record<string, string> | undefined {
    const found: Record<string, string> = {};
    for (const [name, slot] of Object.entries(slots)) {
      const value = this.optionalString(fields, `${prefix}${slot}Code`, at, { max: 200, emptyIsAbsent: true });
      if (value !== undefined) found[name] = value;
    }
    return Object.keys(found).length > 0 ? found : undefined;
  }

  /** Runs a domain computation that may refuse its input; a DomainError becomes a problem at `path`. */
  attempt<T>(path: string, compute: () => T): T | undefined {
    try {
      return compute();
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      this.add(path, `${error.code}: ${String(error.params.detail ?? 'the value cannot be used')}`);
      return undefined;
    }
  }

  private checkString(value: unknown, path: string, rule: StringRule): string | undefined {
    if (typeof value !== 'string') {
      this.add(path, `must be a string, not ${describe(value)}`);
      return undefined;
    }
    if (value.length < (rule.min ?? 0) || value.length > (rule.max ?? 10_000)) {
      this.add(path, `has ${value.length} characters; finsync reads ${rule.min ?? 0} to ${rule.max ?? 10_000}`);
      return undefined;
    }
    if (rule.pattern && !rule.pattern.test(value)) {
      this.add(path, `is "${truncate(value)}", which is not ${rule.hint ?? `of the form ${rule.pattern.source}`}`);
      return undefined;
    }
    return value;
  }

  private checkDate(value: string, path: string): string | undefined {
    const day = DATE_OR_MIDNIGHT.exec(value)?.[1];
    if (day !== undefined && isCalendarDay(day)) return day;
    this.add(path, `is "${truncate(value)}", which is not a date (YYYY-MM-DD)`);
    return undefined;
  }

  private checkDateTime(value: string, path: string): string | undefined {
    if (DATE_TIME.test(value) && isCalendarDay(value.slice(0, 10)) && isClockTime(value.slice(11, 19))) return value;
    this.add(path, `is "${truncate(value)}", which is not an RFC 3339 date-time`);
    return undefined;
  }
}

function isCalendarDay(day: string): boolean {
  const ms = Date.parse(`${day}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === day;
}

function isClockTime(time: string): boolean {
  const [hours, minutes, seconds] = time.split(':').map(Number);
  return hours < 24 && minutes < 60 && seconds < 60;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function truncate(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
