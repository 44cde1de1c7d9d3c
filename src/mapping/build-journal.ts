/**
 * Builds the journal of a report from an entity's mapping tables (mapping v0). Pure.
 *
 * Per line, in the report currency: the gross amount is converted at the line's rate; the
 * reclaimable part of the tax goes to the input-tax account and the rest stays in the expense; the
 * expense is split across the allocations by largest remainder; per diem above the statutory limit
 * goes to its own (taxable) account; the payment type picks the credit account. Credits (negative
 * lines) flip sides by sign. A platform total that differs from the converted lines by at most one
 * minor unit per converted line is balanced on the rounding account; a larger gap is refused.
 */
import { allocate, convert, divideRounded, parseRate, toSafeNumber, type Money } from '../domain/money.ts';
import type { ExpenseLine, ExpenseReport } from '../domain/report.ts';
import type { JournalEntry, JournalLine } from '../domain/journal.ts';
import { mappingVersion, type EntityMapping, type MapResult, type Mapper } from './entity-mapping.ts';

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
