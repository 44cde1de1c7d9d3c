/**
 * Mapping v0: per-entity tables that say how an expense is coded. Governed, versioned rule sets
 * replace these tables in a later issue behind the same `Mapper` interface.
 */
import type { ExpenseReport, PaymentType } from '../domain/report.ts';
import type { JournalEntry } from '../domain/journal.ts';
import type { ErrorCode } from '../errors.ts';
import { hashJson } from '../domain/keys.ts';

export interface CategoryMapping {
  readonly expenseAccount: string;
  /** Per diem: the statutory tax-free amount per day in the report currency, and where the excess goes. */
  readonly perDiem?: { readonly limitMinorPerDay: number; readonly taxableAccount: string };
}

export interface TaxMapping {
  readonly inputTaxAccount: string;
  /** Share of the tax that may be reclaimed, in basis points: 10000 = all, 5000 = half, 0 = none. */
  readonly reclaimBp: number;
}

export interface EntityMapping {
  readonly entity: string;
  readonly categories: Readonly<Record<string, CategoryMapping>>;
  readonly paymentTypes: Readonly<Record<PaymentType, string>>;
  readonly taxCodes: Readonly<Record<string, TaxMapping>>;
  /** Debited for personal items charged to a company-billed card: the employee owes them back. */
  readonly employeeReceivableAccount: string;
  /** Takes unavoidable rounding differences, never silently. */
  readonly roundingAccount: string;
}

export type MapResult =
  | { readonly ok: true; readonly journal: JournalEntry; readonly mappingVersion: string }
  | { readonly ok: false; readonly code: ErrorCode; readonly params: Record<string, string | number> };

/** Turns a validated report into a journal for its entity. */
export interface Mapper {
  /** `taxRateBp` gives a tax code's rate as it was on a date (the line's expense date). */
  mapReport(report: ExpenseReport, taxRateBp: (code: string, date: string) => number | undefined): MapResult;
  /** Every GL account a mapping refers to, so validation can check it exists and is postable. */
  accountsUsed(report: ExpenseReport): readonly string[];
}

export function mappingVersion(mapping: EntityMapping): string {
  return `v0-${mapping.entity}-${hashJson(mapping).slice(0, 12)}`;
}
