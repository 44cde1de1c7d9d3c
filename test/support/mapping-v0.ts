/**
 * Mapping v0, kept as a test oracle: the per-entity tables and journal builder the pipeline used
 * before governed rule sets replaced them (ADR 0006). test/mapping/engine.test.ts checks that the
 * sample rule files (src/demo/rules/) still code every generated report exactly as these tables did.
 * Not used by finsync itself.
 */
import { allocate, convert, divideRounded, parseRate, toSafeNumber, type Money } from '../../src/domain/money.ts';
import type { ExpenseLine, ExpenseReport, PaymentType } from '../../src/domain/report.ts';
import type { JournalEntry, JournalLine } from '../../src/domain/journal.ts';
import { hashJson } from '../../src/domain/keys.ts';
import { PER_DIEM_LIMIT_MINOR_PER_DAY, SAMPLE_COMPANY } from '../../src/demo/sample-company.ts';

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
  | { readonly ok: false; readonly code: string; readonly params: Record<string, string | number> };

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

interface SignedEntry {
  account: string;
  amountMinor: number;
  costCenter?: string;
  project?: string;
  employeeId?: string;
  taxCode?: string;
  memo: string;
}

export function createTableMapper(mapping: EntityMapping): Mapper {
  const version = mappingVersion(mapping);
  return {
    accountsUsed: (report) => accountsUsed(mapping, report),
    mapReport: (report, taxRateBp) => buildJournal(mapping, version, report, taxRateBp),
  };
}

function accountsUsed(mapping: EntityMapping, report: ExpenseReport): string[] {
  const accounts = new Set<string>();
  for (const line of report.lines) {
    const category = mapping.categories[line.category];
    if (category) accounts.add(category.expenseAccount);
    if (category?.perDiem && line.perDiem) accounts.add(category.perDiem.taxableAccount);
    accounts.add(mapping.paymentTypes[line.paymentType]);
    if (line.personal) accounts.add(mapping.employeeReceivableAccount);
    const tax = line.tax && mapping.taxCodes[line.tax.code];
    if (tax && tax.reclaimBp > 0) accounts.add(tax.inputTaxAccount);
  }
  // A rounding difference is booked against the rounding account and the employee payable.
  if (report.total) accounts.add(mapping.roundingAccount).add(mapping.paymentTypes.out_of_pocket);
  return [...accounts].filter(Boolean);
}

function buildJournal(
  mapping: EntityMapping,
  version: string,
  report: ExpenseReport,
  taxRateBp: (code: string, date: string) => number | undefined,
): MapResult {
  const entries: SignedEntry[] = [];
  const credits = new Map<string, number>();
  const conversions: JournalEntry['conversions'][number][] = [];
  let grossTotal = 0;
  for (const line of report.lines) {
    const category = mapping.categories[line.category];
    if (!category) return { ok: false, code: 'MAP_CATEGORY_UNMAPPED', params: { category: line.category, entity: report.entity } };
    const creditAccount = mapping.paymentTypes[line.paymentType];
    if (!creditAccount) return { ok: false, code: 'MAP_PAYMENT_TYPE_UNMAPPED', params: { paymentType: line.paymentType, entity: report.entity } };
    const gross = toReportCurrency(line.amount, line, report.currency);
    if (line.exchangeRate && line.amount.currency !== report.currency) {
      conversions.push({ lineId: line.lineId, from: line.amount.currency, to: report.currency, ...line.exchangeRate });
    }
    grossTotal += gross;
    credits.set(creditAccount, (credits.get(creditAccount) ?? 0) - gross);
    const memo = `${report.reportId} r${report.revision} ${line.category}${line.merchant ? ` ${line.merchant}` : ''}`;
    if (line.personal) {
      entries.push({ account: mapping.employeeReceivableAccount, amountMinor: gross, employeeId: report.employeeId, memo: `${memo} (personal)` });
      continue;
    }
    const reclaim = reclaimableTax(mapping, line, gross, report.currency, taxRateBp);
    if ('code' in reclaim) return { ok: false, ...reclaim };
    if (reclaim.amountMinor !== 0) {
      entries.push({ account: reclaim.account, amountMinor: reclaim.amountMinor, taxCode: line.tax?.code, memo: `${memo} input tax` });
    }
    const expense = gross - reclaim.amountMinor;
    const perDiemLimit = category.perDiem && line.perDiem ? category.perDiem.limitMinorPerDay * line.perDiem.days : undefined;
    const taxable = perDiemLimit !== undefined && expense > perDiemLimit ? expense - perDiemLimit : 0;
    entries.push(...allocateLine(line, expense - taxable, category.expenseAccount, memo));
    if (taxable > 0 && category.perDiem) {
      entries.push(...allocateLine(line, taxable, category.perDiem.taxableAccount, `${memo} per diem above statutory limit`));
    }
  }
  for (const [account, amountMinor] of credits) {
    entries.push({ account, amountMinor, employeeId: report.employeeId, memo: `${report.reportId} r${report.revision} ${account === mapping.paymentTypes.company_card ? 'card' : 'employee'}` });
  }
  if (report.total) {
    const gap = report.total.amountMinor - grossTotal;
    const tolerance = Math.max(conversions.length, 0);
    if (Math.abs(gap) > tolerance) {
      return { ok: false, code: 'REPORT_TOTAL_MISMATCH', params: { expectedMinor: report.total.amountMinor, actualMinor: grossTotal, toleranceMinor: tolerance, currency: report.currency } };
    }
    if (gap !== 0) {
      const payable = mapping.paymentTypes.out_of_pocket;
      entries.push({ account: payable, amountMinor: -gap, employeeId: report.employeeId, memo: `${report.reportId} r${report.revision} rounding to platform total` });
      entries.push({ account: mapping.roundingAccount, amountMinor: gap, memo: `${report.reportId} r${report.revision} rounding` });
    }
  }
  return {
    ok: true,
    mappingVersion: version,
    journal: {
      kind: 'journal',
      reportId: report.reportId,
      revision: report.revision,
      entity: report.entity,
      currency: report.currency,
      postingDate: report.approvedAt.slice(0, 10),
      memo: `Expense report ${report.reportId} revision ${report.revision}${report.title ? `: ${report.title}` : ''}`,
      lines: entries.filter((e) => e.amountMinor !== 0).map(toJournalLine),
      conversions,
    },
  };
}

function toReportCurrency(amount: Money, line: ExpenseLine, reportCurrency: string): number {
  if (amount.currency === reportCurrency) return amount.amountMinor;
  if (!line.exchangeRate) throw new Error(`Assertion failed: line ${line.lineId} in ${amount.currency} has no rate (normalization checks this)`);
  return convert(amount, reportCurrency, parseRate(line.exchangeRate.rate)).amountMinor;
}

function reclaimableTax(
  mapping: EntityMapping,
  line: ExpenseLine,
  grossMinor: number,
  reportCurrency: string,
  taxRateBp: (code: string, date: string) => number | undefined,
): { account: string; amountMinor: number } | { code: 'MD_TAX_CODE_UNKNOWN'; params: Record<string, string> } {
  if (!line.tax) return { account: '', amountMinor: 0 };
  const tax = mapping.taxCodes[line.tax.code];
  const rateBp = taxRateBp(line.tax.code, line.date);
  if (!tax || rateBp === undefined) return { code: 'MD_TAX_CODE_UNKNOWN', params: { taxCode: line.tax.code, entity: mapping.entity } };
  const taxMinor = line.tax.amount
    ? toReportCurrency(line.tax.amount, line, reportCurrency)
    : toSafeNumber(divideRounded(BigInt(grossMinor) * BigInt(rateBp), BigInt(10_000 + rateBp)), 'tax');
  const reclaimMinor = toSafeNumber(divideRounded(BigInt(taxMinor) * BigInt(tax.reclaimBp), 10_000n), 'tax');
  return { account: tax.inputTaxAccount, amountMinor: reclaimMinor };
}

function allocateLine(line: ExpenseLine, amountMinor: number, account: string, memo: string): SignedEntry[] {
  const weights = line.allocations.map((a) => a.shareBp ?? Math.abs(a.amountMinor ?? 0));
  const parts = allocate(amountMinor, weights);
  return line.allocations.map((a, index) => ({
    account,
    amountMinor: parts[index],
    costCenter: a.costCenter,
    ...(a.project !== undefined && { project: a.project }),
    taxCode: line.tax?.code,
    memo,
  }));
}

function toJournalLine(entry: SignedEntry): JournalLine {
  return {
    account: entry.account,
    debitMinor: entry.amountMinor > 0 ? entry.amountMinor : 0,
    creditMinor: entry.amountMinor < 0 ? -entry.amountMinor : 0,
    ...(entry.costCenter !== undefined && { costCenter: entry.costCenter }),
    ...(entry.project !== undefined && { project: entry.project }),
    ...(entry.employeeId !== undefined && { employeeId: entry.employeeId }),
    ...(entry.taxCode !== undefined && { taxCode: entry.taxCode }),
    memo: entry.memo,
  };
}

function buildMapping(entity: string): EntityMapping {
  return {
    entity,
    categories: {
      LODGING: { expenseAccount: '6110' },
      AIRFARE: { expenseAccount: '6120' },
      MEALS: { expenseAccount: '6130' },
      TAXI: { expenseAccount: '6140' },
      PERDIEM: { expenseAccount: '6150', perDiem: { limitMinorPerDay: PER_DIEM_LIMIT_MINOR_PER_DAY[entity], taxableAccount: '6155' } },
      SUPPLIES: { expenseAccount: '6170' },
      ENTERTAINMENT: { expenseAccount: '6180' },
    },
    paymentTypes: { out_of_pocket: '2110', individual_card: '2110', company_card: '2120', cash_advance: '1260' },
    taxCodes: {
      DE19: { inputTaxAccount: '1410', reclaimBp: 10_000 },
      DE7: { inputTaxAccount: '1410', reclaimBp: 10_000 },
      // Entertainment: only part of the input tax may be reclaimed.
      'DE19-ENT': { inputTaxAccount: '1410', reclaimBp: 7_000 },
      DE16: { inputTaxAccount: '1410', reclaimBp: 10_000 },
      JP10: { inputTaxAccount: '1410', reclaimBp: 10_000 },
      JP8: { inputTaxAccount: '1410', reclaimBp: 10_000 },
      'US-NT': { inputTaxAccount: '1410', reclaimBp: 0 },
      GB20: { inputTaxAccount: '1410', reclaimBp: 10_000 },
      GB5: { inputTaxAccount: '1410', reclaimBp: 10_000 },
    },
    employeeReceivableAccount: '1250',
    roundingAccount: '7990',
  };
}

export const SAMPLE_MAPPINGS: readonly EntityMapping[] = SAMPLE_COMPANY.entities.map((e) => buildMapping(e.code));
