/**
 * The simulator's ledger: company codes with their master data (G/L accounts, cost centers, tax
 * codes, closed periods; some blocked), document numbers per company code and fiscal year, the
 * checks S/4HANA runs before it posts a document, and the duplicate-message behaviour the contract
 * leaves open [U]. Each document is answered as a confirmation: the posted document with an
 * information message, or no document and severity-3 messages. The message texts are ours,
 * modelled on S/4HANA's message classes (RW accounting interface, F5 FI posting, KI CO account
 * assignment, FF tax, MC locks); the class and number pairs are not verified (README).
 */
import { formatAmount } from '../../domain/money.ts';
import type { ConfirmationInput, LogItem } from './confirmation.ts';
import { documentIdOf } from './confirmation.ts';
import type { S4RequestEntry, S4RequestJournal } from './mapping.ts';

export interface S4CompanyCode {
  readonly code: string;
  readonly glAccounts: readonly string[];
  /** Accounts that exist but are blocked for posting. */
  readonly blockedGlAccounts?: readonly string[];
  readonly costCenters?: readonly string[];
  /** Cost centers that exist but are blocked for primary postings. */
  readonly blockedCostCenters?: readonly string[];
  readonly taxCodes?: readonly string[];
  /** Posting periods (`YYYY-MM`) that are closed. */
  readonly closedPeriods?: readonly string[];
  /** Shown in cost center messages; default A000. */
  readonly controllingArea?: string;
}

/**
 * What S/4HANA does with a repeated message [U]:
 * - `accept`: every message is processed; a resend posts a second document.
 * - `reject-message-id`: a document whose MessageHeader ID already posted one is refused (severity 3).
 * - `drop-repeated-async`: an async bulk message whose ID was seen before is acknowledged and
 *   silently discarded, as the SOAP runtime's exactly-once delivery would [M]; sync calls and
 *   new messages are processed as under `accept`.
 */
export type DuplicateHandling = 'accept' | 'reject-message-id' | 'drop-repeated-async';

export interface S4SimItem {
  readonly item: string;
  readonly glAccount: string;
  /** Debit positive, credit negative. */
  readonly amountMinor: number;
  readonly debitCreditCode: string;
  readonly itemText: string;
  readonly assignmentReference: string;
  readonly costCenter?: string;
  readonly taxCode?: string;
}

export interface S4SimDocument {
  /** `<CompanyCode>/<AccountingDocument>/<FiscalYear>`. */
  readonly documentId: string;
  readonly companyCode: string;
  readonly accountingDocument: string;
  readonly fiscalYear: string;
  /** The request document's MessageHeader ID. */
  readonly messageId: string;
  readonly documentReferenceId: string;
  readonly headerText: string;
  readonly documentType: string;
  readonly documentDate: string;
  readonly postingDate: string;
  readonly currency: string;
  readonly items: readonly S4SimItem[];
}

const error = (typeId: string, note: string): LogItem => ({ typeId, severityCode: '3', note });

/** The simulator's message texts (our words), used by the ledger and the fixtures. */
export const SIM_MESSAGES = {
  posted: (d: { accountingDocument: string; companyCode: string; fiscalYear: string }): LogItem => ({ typeId: '605(RW)', severityCode: '1', note: `Document ${d.accountingDocument} was posted in company code ${d.companyCode}, fiscal year ${d.fiscalYear}` }),
  notPosted: (reference: string): LogItem => error('609(RW)', `Document BKPFF ${reference} could not be posted; the following messages say why`),
  malformed: (path: string, problem: string) => error('021(RW)', `Field ${path} is invalid: ${problem}`),
  companyCodeUnknown: (code: string) => error('165(F5)', `Company code ${code} is not defined`),
  periodClosed: (period: string, code: string) => error('201(F5)', `Posting period ${period.slice(5).padStart(3, '0')} ${period.slice(0, 4)} is not open for company code ${code}`),
  signMismatch: (item: number, amount: string, code: string) => error('019(RW)', `Item ${item}: amount ${amount} does not match debit/credit code ${code}`),
  glAccountUnknown: (account: string, code: string) => error('153(F5)', `G/L account ${account} does not exist in company code ${code}`),
  glAccountBlocked: (account: string, code: string) => error('351(F5)', `G/L account ${account} is blocked for posting in company code ${code}`),
  costCenterUnknown: (area: string, costCenter: string, date: string) => error('248(KI)', `Cost center ${area}/${costCenter} does not exist on ${date}`),
  costCenterBlocked: (area: string, costCenter: string, date: string) => error('235(KI)', `Cost center ${area}/${costCenter} is blocked for primary postings on ${date}`),
  taxCodeUnknown: (taxCode: string, code: string) => error('704(FF)', `Tax code ${taxCode} is not defined for company code ${code}`),
  unbalanced: (currency: string, balance: string) => error('702(F5)', `Balance in transaction currency ${currency} is ${balance}; debits and credits must net to zero`),
  duplicateMessage: (messageId: string, documentId: string) => error('012(FINS_JE_API)', `Message ${messageId} has already been processed (document ${documentId}); a message ID is processed once`),
  locked: (code: string) => error('601(MC)', `Company code ${code} is currently locked by user BATCH_CLOSE; try again later`),
} as const;

export class S4SimLedger {
  private readonly companyCodes: ReadonlyMap<string, S4CompanyCode>;
  private readonly documents = new Map<string, S4SimDocument>();
  /** Message IDs that posted a document, for `reject-message-id`. */
  private readonly postedMessages = new Map<string, string>();
  private readonly numbers = new Map<string, number>();
  duplicateHandling: DuplicateHandling;

  constructor(companyCodes: readonly S4CompanyCode[], duplicateHandling: DuplicateHandling) {
    this.companyCodes = new Map(companyCodes.map((c) => [c.code, c]));
    this.duplicateHandling = duplicateHandling;
  }

  /** Checks one document and posts it, or refuses it; `locked` injects a lock conflict. */
  process(entry: S4RequestEntry, locked: boolean): ConfirmationInput {
    const refuse = (reference: string, companyCode: string, items: readonly LogItem[]): ConfirmationInput => ({
      referenceId: entry.messageId,
      accountingDocument: '',
      companyCode,
      fiscalYear: '0000',
      items: [SIM_MESSAGES.notPosted(reference), ...items],
    });
    const { journal } = entry;
    if ('problem' in journal) return refuse('', '', [SIM_MESSAGES.malformed(journal.path, journal.problem)]);
    // The message log outlives the document: a removed document does not free its message ID.
    const earlier = this.postedMessages.get(entry.messageId);
    if (this.duplicateHandling === 'reject-message-id' && earlier !== undefined) {
      return refuse(journal.documentReferenceId, journal.companyCode, [SIM_MESSAGES.duplicateMessage(entry.messageId, earlier)]);
    }
    if (locked) return refuse(journal.documentReferenceId, journal.companyCode, [SIM_MESSAGES.locked(journal.companyCode)]);
    const problems = this.check(journal);
    if (problems.length > 0) return refuse(journal.documentReferenceId, journal.companyCode, problems);
    const document = this.post(entry.messageId, journal);
    return { referenceId: entry.messageId, accountingDocument: document.accountingDocument, companyCode: document.companyCode, fiscalYear: document.fiscalYear, items: [SIM_MESSAGES.posted(document)] };
  }

  /** Every document the ledger holds, in the order they were posted. */
  list(): S4SimDocument[] {
    return [...this.documents.values()];
  }

  /** Takes a document out of the ledger, as if it had never been posted (tests inject breaks with it). */
  remove(documentId: string): boolean {
    return this.documents.delete(documentId);
  }

  private check(journal: S4RequestJournal): LogItem[] {
    const company = this.companyCodes.get(journal.companyCode);
    if (!company) return [SIM_MESSAGES.companyCodeUnknown(journal.companyCode)];
    const problems: LogItem[] = [];
    const period = journal.postingDate.slice(0, 7);
    if (company.closedPeriods?.includes(period)) problems.push(SIM_MESSAGES.periodClosed(period, company.code));
    const area = company.controllingArea ?? 'A000';
    journal.items.forEach((item, index) => {
      const amount = formatAmount(item.amountMinor, journal.currency);
      if ((item.debitCreditCode === 'S' && item.amountMinor < 0) || (item.debitCreditCode === 'H' && item.amountMinor > 0) || (item.debitCreditCode !== 'S' && item.debitCreditCode !== 'H')) {
        problems.push(SIM_MESSAGES.signMismatch(index + 1, amount, item.debitCreditCode || '(none)'));
      }
      const account = normalizeAccount(item.glAccount);
      if (!company.glAccounts.some((a) => normalizeAccount(a) === account)) problems.push(SIM_MESSAGES.glAccountUnknown(item.glAccount, company.code));
      else if (company.blockedGlAccounts?.some((a) => normalizeAccount(a) === account)) problems.push(SIM_MESSAGES.glAccountBlocked(item.glAccount, company.code));
      if (item.costCenter !== undefined) {
        if (!company.costCenters?.includes(item.costCenter)) problems.push(SIM_MESSAGES.costCenterUnknown(area, item.costCenter, journal.postingDate));
        else if (company.blockedCostCenters?.includes(item.costCenter)) problems.push(SIM_MESSAGES.costCenterBlocked(area, item.costCenter, journal.postingDate));
      }
      if (item.taxCode !== undefined && !company.taxCodes?.includes(item.taxCode)) problems.push(SIM_MESSAGES.taxCodeUnknown(item.taxCode, company.code));
    });
    const balance = journal.items.reduce((sum, item) => sum + BigInt(item.amountMinor), 0n);
    if (balance !== 0n) problems.push(SIM_MESSAGES.unbalanced(journal.currency, formatAmount(Number(balance), journal.currency)));
    // One message per problem, as S/4HANA reports an account used on two items once.
    return problems.filter((item, index) => problems.findIndex((other) => other.note === item.note) === index);
  }

  private post(messageId: string, journal: S4RequestJournal): S4SimDocument {
    // Fiscal year variant K4 (the calendar year) [M].
    const fiscalYear = journal.postingDate.slice(0, 4);
    const range = `${journal.companyCode}/${fiscalYear}`;
    const next = (this.numbers.get(range) ?? 0) + 1;
    this.numbers.set(range, next);
    const accountingDocument = String(100_000_000 + next).padStart(10, '0');
    const document: S4SimDocument = {
      documentId: documentIdOf(journal.companyCode, accountingDocument, fiscalYear),
      companyCode: journal.companyCode,
      accountingDocument,
      fiscalYear,
      messageId,
      documentReferenceId: journal.documentReferenceId,
      headerText: journal.headerText,
      documentType: journal.documentType,
      documentDate: journal.documentDate,
      postingDate: journal.postingDate,
      currency: journal.currency,
      items: journal.items.map((item, index) => ({ item: String(index + 1).padStart(3, '0'), ...item })),
    };
    this.documents.set(document.documentId, document);
    this.postedMessages.set(messageId, document.documentId);
    return document;
  }
}

/** S/4HANA reads a numeric account with or without leading zeros as the same account (ALPHA conversion). */
function normalizeAccount(account: string): string {
  return /^\d+$/.test(account) ? account.replace(/^0+(?=\d)/, '') : account;
}
