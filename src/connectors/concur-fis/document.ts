/**
 * The SAP Concur FIS expense financial document (the JSON inside `content[].document`) and the
 * mapping from our canonical report to it. The reverse mapping, which validates a document from
 * Concur, is in document-parse.ts and re-exported here.
 *
 * Amounts, rates and percentages are decimal strings in this document, never JSON numbers (the
 * hub's money rule; see README.md, "Amounts are strings", for how this differs from Concur's own
 * samples). Every amount is computed in integer minor units and written with `formatAmount`.
 */
import { allocate, convert, divideRounded, formatAmount, parseAmount, parseRate, type Money } from '../../domain/money.ts';
import type { LineInput, ReportInput } from '../../domain/report.ts';
import { PAYMENT_TYPE_CODES, percentToBasisPoints, resolveLayout, type FisAllocation, type FisExpenseDocument, type FisExpenseEntry, type FisJournal, type FisLayout, type FisReport, type FisTax } from './document-shape.ts';

export * from './document-shape.ts';
export { fromFisDocument, type FisParseResult, type FisProblem, type FromFisOptions } from './document-parse.ts';

/** Who pays whom in the journal of an entry, by payment code; a personal entry is always owed by the employee. */
function payerAndPayee(code: string, personal: boolean): readonly [string, string] {
  if (personal) return ['EMPL', 'COMP'];
  return code === 'CBCP' ? ['COMP', 'CARD'] : ['COMP', 'EMPL'];
}

export interface ToFisOptions {
  /** The journal account of a line; default its category (the expense type code). */
  readonly accountOf?: (line: LineInput) => string;
  readonly layout?: Partial<FisLayout>;
  /** Stripped from our report id to give Concur's (see README.md, "Report ids"). */
  readonly reportIdPrefix?: string;
  readonly employeeName?: { readonly first: string; readonly last: string };
  /** Concur's internal report number; default a stable hash of the report id. */
  readonly reportKey?: number;
}

/**
 * Builds the FIS expense document Concur would publish for a report. The simulator publishes these;
 * `fromFisDocument` reads them back (the round trip is a property test). Revision is not carried:
 * FIS publishes one document per report.
 */
export function toFisDocument(report: ReportInput, options: ToFisOptions = {}): FisExpenseDocument {
  const layout = resolveLayout(options.layout);
  const prefix = options.reportIdPrefix ?? '';
  const concurReportId = prefix !== '' && report.reportId.startsWith(prefix) ? report.reportId.slice(prefix.length) : report.reportId;
  const accountOf = options.accountOf ?? ((line: LineInput) => line.category);
  const total = report.total ?? formatAmount(report.lines.reduce((sum, line) => sum + toReportMinor(line, report.currency), 0), report.currency);
  const fisReport: Record<string, unknown> = {
    reportKey: options.reportKey ?? hashToKey(concurReportId),
    reportId: concurReportId,
    reportName: report.title ?? null,
    ledgerCode: report.entity,
    totalApprovedAmount: total,
    employeeCurrencyAlphaCode: report.currency,
    reportSubmitDate: report.submittedAt ?? null,
    reportPaymentProcessingDate: report.approvedAt,
    reportCreationDate: report.submittedAt ?? report.approvedAt,
    isTest: 'N',
    revisionNumber: '1',
  };
  writeCustomFields(fisReport, 'reportCustom', layout.reportCustomFields, report.customFields);
  return {
    employee: { employeeId: report.employeeId, employeeFirstName: options.employeeName?.first ?? null, employeeLastName: options.employeeName?.last ?? null },
    report: fisReport as unknown as FisReport,
    expenseEntry: report.lines.map((line, index) => toEntry(line, index, report.currency, layout, accountOf)),
    cashAdvanceApplication: [],
  };
}

function toEntry(line: LineInput, index: number, reportCurrency: string, layout: FisLayout, accountOf: (line: LineInput) => string): FisExpenseEntry {
  const code = PAYMENT_TYPE_CODES[line.paymentType];
  const personal = line.personal === true;
  const entry: Record<string, unknown> = {
    entryId: line.lineId,
    legacyEntryId: index + 1,
    expenseTypeCode: line.category,
    expenseTypeName: line.category,
    entryDate: `${line.date}T00:00:00.000Z`,
    entryCurrAlphaCode: line.amount.currency,
    entryExchangeRate: line.exchangeRate?.rate ?? '1',
    entryExchangeRateDirection: 'M',
    reportEntryTransactionAmount: line.amount.value,
    entryApprovedAmount: formatAmount(toReportMinor(line, reportCurrency), reportCurrency),
    reportEntryPatKey: code,
    entryIsPersonal: personal ? 'Y' : 'N',
    entryVendorDescription: line.merchant ?? null,
    entryDescription: line.description ?? null,
    entryReceiptType: line.receipt === undefined ? null : line.receipt ? 'R' : 'N',
  };
  if (line.exchangeRate) {
    entry[`entryCustom${layout.rateSourceSlot}Code`] = line.exchangeRate.source;
    entry[`entryCustom${layout.rateDateSlot}Code`] = line.exchangeRate.date;
  }
  if (line.perDiem) entry[`entryCustom${layout.perDiemDaysSlot}Code`] = String(line.perDiem.days);
  writeCustomFields(entry, 'entryCustom', layout.entryCustomFields, line.customFields);
  entry.allocation = toAllocations(line, reportCurrency, layout, accountOf(line), payerAndPayee(code, personal));
  return entry as unknown as FisExpenseEntry;
}

/**
 * One allocation per split, each with one journal line. The line's amount, tax and converted amount
 * are divided by the split's weights (basis points, or the fixed amounts) with the largest
 * remainder method, so the allocations always add up to the entry exactly.
 */
function toAllocations(line: LineInput, reportCurrency: string, layout: FisLayout, account: string, [payer, payee]: readonly [string, string]): FisAllocation[] {
  const currency = line.amount.currency;
  const amountMinor = parseAmount(line.amount.value, currency).amountMinor;
  const byAmount = line.allocations.every((a) => a.amount !== undefined);
  const weights = line.allocations.map((a) => (byAmount ? Math.abs(parseAmount(a.amount as string, currency).amountMinor) : percentToBasisPoints(a.percent as string)));
  const weightSum = weights.reduce((sum, weight) => sum + weight, 0);
  const percentages = byAmount ? weights.map((weight) => formatPercent8(weight, weightSum)) : weights.map(formatPercent2);
  const split = (minor: number): number[] => (weightSum === 0 ? weights.map(() => 0) : allocate(minor, weights));
  const grossParts = split(toReportMinor(line, reportCurrency));
  const taxMinor = line.tax?.amount === undefined ? undefined : parseAmount(line.tax.amount, currency).amountMinor;
  const taxParts = taxMinor === undefined ? undefined : split(taxMinor);
  const rate = line.exchangeRate === undefined || currency === reportCurrency ? undefined : parseRate(line.exchangeRate.rate);
  const posted = (minor: number): number => (rate === undefined ? minor : convert({ amountMinor: minor, currency }, reportCurrency, rate).amountMinor);
  return line.allocations.map((allocation, i) => {
    const taxPostedMinor = taxParts === undefined ? 0 : posted(taxParts[i]);
    const net = formatAmount(grossParts[i] - taxPostedMinor, reportCurrency);
    const taxGuid = `${line.lineId}-T${i + 1}`;
    const tax: FisTax[] = line.tax
      ? [{ taxGuid, taxCode: line.tax.code, taxTransactionAmount: taxParts ? formatAmount(taxParts[i], currency) : null, taxPostedAmount: taxParts ? formatAmount(taxPostedMinor, reportCurrency) : null }]
      : [];
    const journal: FisJournal = {
      journalAccountCode: account,
      journalPayer: payer,
      journalPayee: payee,
      amountGross: formatAmount(grossParts[i], reportCurrency),
      amountNetOfTax: net,
      amountNetOfReclaim: net,
      taxGuid: tax.map((t) => t.taxGuid),
    };
    return {
      allocationId: `${line.lineId}-A${i + 1}`,
      allocationPercentage: percentages[i],
      [`allocationCustom${layout.costCenterSlot}Code`]: allocation.costCenter,
      [`allocationCustom${layout.projectSlot}Code`]: allocation.project ?? null,
      journal: [journal],
      tax,
    } as FisAllocation;
  });
}

function writeCustomFields(target: Record<string, unknown>, prefix: string, slots: Readonly<Record<string, number>>, fields: Readonly<Record<string, string>> | undefined): void {
  for (const [name, value] of Object.entries(fields ?? {})) {
    const slot = slots[name];
    if (slot === undefined) throw new Error(`Assertion failed: custom field ${name} has no ${prefix} slot in the FIS layout`);
    target[`${prefix}${slot}Code`] = value;
  }
}

/** The line in report-currency minor units, converted with its own rate as the mapping engine does. */
function toReportMinor(line: LineInput, reportCurrency: string): number {
  const amount: Money = parseAmount(line.amount.value, line.amount.currency);
  if (amount.currency === reportCurrency) return amount.amountMinor;
  if (!line.exchangeRate) throw new Error(`Assertion failed: line ${line.lineId} in ${amount.currency} has no exchange rate`);
  return convert(amount, reportCurrency, parseRate(line.exchangeRate.rate)).amountMinor;
}

function formatPercent2(bp: number): string {
  return `${Math.floor(bp / 100)}.${String(bp % 100).padStart(2, '0')}`;
}

/** weight / sum as a percentage with eight decimals, rounded half away from zero, computed exactly. */
function formatPercent8(weight: number, sum: number): string {
  const units = divideRounded(BigInt(weight) * 10_000_000_000n, BigInt(sum));
  const digits = units.toString().padStart(9, '0');
  return `${digits.slice(0, -8)}.${digits.slice(-8)}`;
}

/** FNV-1a of the report id: a stable positive integer standing in for Concur's report key. */
function hashToKey(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % 2_000_000_000 + 1;
}
