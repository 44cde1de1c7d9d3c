/**
 * Reads an FIS expense document from Concur into our canonical ReportInput. Every field read is
 * checked, and bad input of any shape comes back as a list of problems naming the path in the
 * transaction (`document.expenseEntry[2].allocation[0].allocationPercentage`), never as an
 * exception. The result passes the ReportInput schema and `normalizeReport`; the rules and the
 * normalisations are listed in README.md ("Reading a document").
 */
import { Compile } from 'typebox/compile';
import { DomainError } from '../../domain/domain-error.ts';
import { allocate, convert, formatAmount, isKnownCurrency, parseAmount, parseRate } from '../../domain/money.ts';
import { normalizeReport, ReportInputSchema, type LineInput, type ReportInput } from '../../domain/report.ts';
import { FieldReader, ID, CODE, type FisProblem, type Fields } from './document-reader.ts';
import { paymentTypeOfCode, percentToBasisPoints, resolveLayout, type FisLayout } from './document-shape.ts';

export type { FisProblem } from './document-reader.ts';

export type FisParseResult =
  | { readonly ok: true; readonly docId: string; readonly report: ReportInput }
  | { readonly ok: false; readonly docId?: string; readonly problems: readonly FisProblem[] };

export interface FromFisOptions {
  readonly layout?: Partial<FisLayout>;
  /** Put before Concur's report id to make ours (README.md, "Report ids"); default none. */
  readonly reportIdPrefix?: string;
  /** Concur ledger code -> our entity. Without it, the ledger code is the entity. */
  readonly ledgerEntities?: Readonly<Record<string, string>>;
  /** The rate source of a foreign entry whose rate-source slot is empty; default "CONCUR". */
  readonly defaultRateSource?: string;
  /** When set, each line gets the custom field of this name holding its journal account code. */
  readonly journalAccountField?: string;
}

const checkReportInput = Compile(ReportInputSchema);
const PERCENT_2 = /^\d{1,3}(\.\d{1,2})?$/;
const PERCENT_FINE = /^\d{1,3}\.(\d{3,12})$/;
/** Percentages of a split by amount are weights with 12 decimals: 100% is 10^14. */
const FINE_HUNDRED = 100_000_000_000_000;
const FINE_TOLERANCE = 100_000_000; // 0.0001%

export function fromFisDocument(transaction: unknown, options: FromFisOptions = {}): FisParseResult {
  const layout = resolveLayout(options.layout);
  const r = new FieldReader();
  const tx = r.object(transaction, 'transaction');
  if (!tx) return { ok: false, problems: r.problems };
  const docId = r.string(tx, 'id', 'transaction', { pattern: /^[A-Za-z0-9_-]{1,64}$/ });
  const docType = r.string(tx, 'docType', 'transaction');
  if (docType !== undefined && docType !== 'expense') r.add('transaction.docType', `is "${docType}"; only expense documents become reports`);
  const document = parseDocument(r, tx.document);
  const report = document ? readReport(r, document, layout, options) : undefined;
  if (!report || docId === undefined) return { ok: false, ...(docId !== undefined && { docId }), problems: r.problems };
  const problems = checkCanonical(report);
  return problems.length > 0 ? { ok: false, docId, problems } : { ok: true, docId, report };
}

function parseDocument(r: FieldReader, value: unknown): Fields | undefined {
  if (typeof value !== 'string') return r.object(value, 'transaction.document');
  try {
    return r.object(JSON.parse(value), 'document');
  } catch (error) {
    r.add('transaction.document', `is not valid JSON (${(error as Error).message})`);
    return undefined;
  }
}

/** Reads the report; problems go to `r`. Returns the report only when nothing was wrong. */
function readReport(r: FieldReader, document: Fields, layout: FisLayout, options: FromFisOptions): ReportInput | undefined {
  const employee = r.object(document.employee, 'document.employee');
  const head = r.object(document.report, 'document.report');
  const entries = r.array(document.expenseEntry, 'document.expenseEntry', 1, 500);
  if (!employee || !head || !entries) return undefined;
  const at = 'document.report';
  const prefix = options.reportIdPrefix ?? '';
  const concurId = r.string(head, 'reportId', at, { pattern: ID, max: 64 - prefix.length });
  const entity = readEntity(r, head, options.ledgerEntities);
  const employeeId = r.string(employee, 'employeeId', 'document.employee', { pattern: CODE, max: 40, hint: 'finsync employee ids are letters, digits and _ . -' });
  const currency = r.currency(head, 'employeeCurrencyAlphaCode', at);
  const title = r.optionalString(head, 'reportName', at, { max: 200 });
  const submittedAt = r.optionalDateTime(head, 'reportSubmitDate', at);
  const approvedAt = r.dateTime(head, 'reportPaymentProcessingDate', at);
  const total = currency === undefined ? undefined : r.amount(head, 'totalApprovedAmount', at, currency);
  const customFields = r.customFields(head, 'reportCustom', layout.reportCustomFields, at);
  const lines: LineInput[] = [];
  entries.forEach((value, index) => {
    const entry = r.object(value, `document.expenseEntry[${index}]`);
    const line = entry && currency !== undefined ? readLine(r, entry, `document.expenseEntry[${index}]`, currency, layout, options) : undefined;
    if (line) lines.push(line);
  });
  if (r.problems.length > 0 || concurId === undefined || entity === undefined || employeeId === undefined || currency === undefined || approvedAt === undefined || total === undefined) return undefined;
  const report: ReportInput = { reportId: `${prefix}${concurId}`, revision: 1, entity, employeeId, currency } as ReportInput;
  if (title !== undefined) report.title = title;
  if (submittedAt !== undefined) report.submittedAt = submittedAt;
  report.approvedAt = approvedAt;
  report.total = formatAmount(total, currency);
  report.lines = lines;
  if (customFields !== undefined) report.customFields = customFields;
  return report;
}

function readEntity(r: FieldReader, head: Fields, table: Readonly<Record<string, string>> | undefined): string | undefined {
  if (table === undefined) return r.string(head, 'ledgerCode', 'document.report', { pattern: CODE, max: 40 });
  const ledger = r.string(head, 'ledgerCode', 'document.report', { max: 200 });
  if (ledger === undefined) return undefined;
  if (Object.hasOwn(table, ledger)) return table[ledger];
  r.add('document.report.ledgerCode', `is "${ledger}", which the connection's ledger table does not map to an entity: add it, then replay`);
  return undefined;
}

function readLine(r: FieldReader, entry: Fields, at: string, reportCurrency: string, layout: FisLayout, options: FromFisOptions): LineInput | undefined {
  const before = r.problems.length;
  const lineId = r.string(entry, 'entryId', at, { pattern: ID, max: 64 });
  const category = r.string(entry, 'expenseTypeCode', at, { pattern: CODE, max: 40 });
  const date = r.date(entry, 'entryDate', at);
  const currency = r.currency(entry, 'entryCurrAlphaCode', at);
  const rate = r.string(entry, 'entryExchangeRate', at, { pattern: /^\d{1,12}(\.\d{1,12})?$/, hint: 'a positive decimal string such as "1.0842"' });
  if (rate !== undefined && !r.attempt(`${at}.entryExchangeRate`, () => parseRate(rate))) return undefined;
  const direction = entry.entryExchangeRateDirection;
  if (direction !== undefined && direction !== null && direction !== 'M') r.add(`${at}.entryExchangeRateDirection`, 'must be "M" (multiply); finsync does not read divided rates');
  const claimed = currency === undefined ? undefined : r.amount(entry, 'reportEntryTransactionAmount', at, currency);
  const approved = r.amount(entry, 'entryApprovedAmount', at, reportCurrency);
  const patKey = r.string(entry, 'reportEntryPatKey', at);
  const paymentType = patKey === undefined ? undefined : paymentTypeOfCode(patKey);
  if (patKey !== undefined && paymentType === undefined) r.add(`${at}.reportEntryPatKey`, `is "${patKey}", a payment type finsync does not know (CASH, CBCP, IBIP, IBCP, CADV)`);
  const personal = r.oneOf(entry, 'entryIsPersonal', at, ['Y', 'N']);
  const merchant = r.optionalString(entry, 'entryVendorDescription', at, { max: 200 });
  const description = r.optionalString(entry, 'entryDescription', at, { max: 500 });
  const receiptType = r.optionalOneOf(entry, 'entryReceiptType', at, ['R', 'T', 'N']);
  const rateSource = r.optionalString(entry, `entryCustom${layout.rateSourceSlot}Code`, at, { min: 1, max: 40 });
  const rateDate = r.optionalDate(entry, `entryCustom${layout.rateDateSlot}Code`, at);
  const days = r.optionalString(entry, `entryCustom${layout.perDiemDaysSlot}Code`, at, { pattern: /^(?:[1-9]\d?|[12]\d\d|3[0-5]\d|36[0-6])$/, hint: 'per diem days, 1 to 366' });
  const customFields = r.customFields(entry, 'entryCustom', layout.entryCustomFields, at);
  const allocations = r.array(entry.allocation, `${at}.allocation`, 1, 50);
  if (r.problems.length > before || !lineId || !category || !date || !currency || !rate || claimed === undefined || approved === undefined || !paymentType || !personal || !allocations) return undefined;
  const foreign = currency !== reportCurrency;
  const amountMinor = foreign ? claimed : approved;
  if (foreign) {
    const converted = r.attempt(`${at}.reportEntryTransactionAmount`, () => convert({ amountMinor: claimed, currency }, reportCurrency, parseRate(rate)).amountMinor);
    if (converted === undefined) return undefined;
    if (Math.abs(converted - approved) > 1) {
      r.add(`${at}.entryApprovedAmount`, `is ${formatAmount(approved, reportCurrency)} ${reportCurrency}, but the claimed ${formatAmount(claimed, currency)} ${currency} at ${rate} is ${formatAmount(converted, reportCurrency)}: finsync cannot carry an approver's change to a foreign-currency entry`);
      return undefined;
    }
  }
  const split = readAllocations(r, allocations, `${at}.allocation`, amountMinor, currency, layout);
  const account = options.journalAccountField === undefined ? undefined : readAccount(r, allocations, `${at}.allocation`);
  if (!split || (options.journalAccountField !== undefined && account === undefined)) return undefined;
  const line = { lineId, date, category } as LineInput;
  if (merchant !== undefined) line.merchant = merchant;
  if (description !== undefined) line.description = description;
  line.amount = { value: formatAmount(amountMinor, currency), currency };
  if (foreign || rateSource !== undefined) {
    line.exchangeRate = { rate, source: rateSource ?? options.defaultRateSource ?? 'CONCUR', date: rateDate ?? date };
  }
  line.paymentType = paymentType;
  if (personal === 'Y') line.personal = true;
  if (split.tax) line.tax = split.tax;
  if (days !== undefined) line.perDiem = { days: Number(days) };
  if (receiptType !== undefined) line.receipt = receiptType !== 'N';
  line.allocations = split.allocations;
  const fields = { ...customFields, ...(account !== undefined && { [options.journalAccountField as string]: account }) };
  if (Object.keys(fields).length > 0) line.customFields = fields;
  return line;
}

interface Split {
  readonly allocations: LineInput['allocations'];
  readonly tax?: LineInput['tax'];
}

/**
 * Percentages of at most two decimals are a split by percent; finer ones are a split by amount,
 * divided from the entry amount with the largest remainder method (exact for the eight decimals
 * `toFisDocument` writes). All allocations must carry the same tax code, with or without amounts.
 */
function readAllocations(r: FieldReader, values: readonly unknown[], at: string, amountMinor: number, currency: string, layout: FisLayout): Split | undefined {
  const before = r.problems.length;
  const rows = values.map((value, i) => {
    const allocation = r.object(value, `${at}[${i}]`);
    if (!allocation) return undefined;
    const percent = r.string(allocation, 'allocationPercentage', `${at}[${i}]`, { pattern: /^\d{1,3}(\.\d{1,12})?$/, hint: 'a percentage string such as "60.00"' });
    const costCenter = r.string(allocation, `allocationCustom${layout.costCenterSlot}Code`, `${at}[${i}]`, { pattern: CODE, max: 40, hint: 'the cost center' });
    const project = r.optionalString(allocation, `allocationCustom${layout.projectSlot}Code`, `${at}[${i}]`, { pattern: CODE, max: 40, emptyIsAbsent: true });
    const taxes = r.array(allocation.tax ?? [], `${at}[${i}].tax`, 0, 1);
    const taxItem = taxes?.[0] === undefined ? undefined : r.object(taxes[0], `${at}[${i}].tax[0]`);
    const taxCode = taxItem && r.string(taxItem, 'taxCode', `${at}[${i}].tax[0]`, { pattern: CODE, max: 40 });
    const taxMinor = taxItem && r.optionalAmount(taxItem, 'taxTransactionAmount', `${at}[${i}].tax[0]`, currency);
    return { percent, costCenter, project, hasTax: taxItem !== undefined, taxCode, taxMinor };
  });
  if (r.problems.length > before) return undefined;
  const fine = rows.some((row) => !PERCENT_2.test(row?.percent ?? ''));
  const weights = rows.map((row) => (fine ? fineWeight(row?.percent ?? '') : percentToBasisPoints(row?.percent ?? '')));
  const sum = weights.reduce((a, b) => a + b, 0);
  if (fine ? Math.abs(sum - FINE_HUNDRED) > FINE_TOLERANCE || weights.some((w) => w <= 0) : sum !== 10_000 || weights.some((w) => w <= 0)) {
    r.add(at, `the allocation percentages add up to ${fine ? (sum / 1e12).toFixed(8) : (sum / 100).toFixed(2)}%; they must add up to 100 and each be above zero`);
    return undefined;
  }
  const parts = fine ? allocate(amountMinor, weights) : undefined;
  if (parts?.some((part) => part === 0)) {
    r.add(at, 'a split by amount leaves an allocation with nothing: send it as a split by percent');
    return undefined;
  }
  const allocations = rows.map((row, i) => {
    const { costCenter, project } = row as { costCenter: string; project?: string };
    const share = parts ? { amount: formatAmount(parts[i], currency) } : { percent: withTwoDecimals(row?.percent ?? '') };
    return project === undefined ? { costCenter, ...share } : { costCenter, project, ...share };
  });
  const tax = readTax(r, rows as readonly TaxRow[], at, currency);
  if (tax === null) return undefined;
  return tax === undefined ? { allocations } : { allocations, tax };
}

interface TaxRow {
  readonly hasTax: boolean;
  readonly taxCode?: string;
  readonly taxMinor?: number;
}

/** One tax per line: the same code on every allocation, amounts on all or none. Null when they disagree. */
function readTax(r: FieldReader, rows: readonly TaxRow[], at: string, currency: string): LineInput['tax'] | null {
  if (rows.every((row) => !row.hasTax)) return undefined;
  const code = rows[0].taxCode;
  if (code === undefined || rows.some((row) => !row.hasTax || row.taxCode !== code)) {
    r.add(at, 'the allocations carry different tax codes, or only some carry one: finsync keeps one tax code per line');
    return null;
  }
  const amounts = rows.map((row) => row.taxMinor);
  if (amounts.every((amount) => amount === undefined)) return { code };
  if (amounts.some((amount) => amount === undefined)) {
    r.add(at, 'only some allocations carry a tax amount: send the amount on all of them or on none');
    return null;
  }
  const sum = (amounts as number[]).reduce((a, b) => a + b, 0);
  if (!Number.isSafeInteger(sum)) {
    r.add(at, 'the tax amounts add up to more than finsync can count exactly');
    return null;
  }
  return { code, amount: formatAmount(sum, currency) };
}

/** The journal account of an entry: every journal of every allocation must name the same one. */
function readAccount(r: FieldReader, allocations: readonly unknown[], at: string): string | undefined {
  const accounts = new Set<string>();
  allocations.forEach((value, i) => {
    const journals = r.array((value as Fields).journal, `${at}[${i}].journal`, 1, 50) ?? [];
    journals.forEach((journal, j) => {
      const fields = r.object(journal, `${at}[${i}].journal[${j}]`);
      const account = fields && r.string(fields, 'journalAccountCode', `${at}[${i}].journal[${j}]`, { min: 1, max: 200 });
      if (account !== undefined) accounts.add(account);
    });
  });
  if (accounts.size === 1) return [...accounts][0];
  if (accounts.size > 1) r.add(at, `the journals name several accounts (${[...accounts].join(', ')}); finsync reads one account per line`);
  return undefined;
}

/** "50" -> "50.00", "12.5" -> "12.50": a percent split comes back with two decimals. */
function withTwoDecimals(percent: string): string {
  const [whole, fraction = ''] = percent.split('.');
  return `${whole}.${fraction.padEnd(2, '0')}`;
}

function fineWeight(percent: string): number {
  const [whole, fraction = ''] = percent.split('.');
  return Number(whole) * 1e12 + Number(fraction.padEnd(12, '0'));
}

/** The safety net: the finished report must pass the inbound schema and normalization. */
function checkCanonical(report: ReportInput): FisProblem[] {
  if (!checkReportInput.Check(report)) {
    return [...checkReportInput.Errors(report)].slice(0, 10).map((error) => ({ path: `report${error.instancePath.replaceAll('/', '.')}`, message: error.message }));
  }
  if (!isKnownCurrency(report.currency)) return [{ path: 'report.currency', message: `${report.currency} is not a currency finsync knows` }];
  try {
    normalizeReport(report, 'report');
    return [];
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return [{ path: String(error.params.path ?? 'report'), message: `${error.code}: ${String(error.params.detail ?? JSON.stringify(error.params))}` }];
  }
}
