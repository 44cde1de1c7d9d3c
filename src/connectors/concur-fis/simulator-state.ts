/**
 * The simulator's documents: what Concur holds for each published report, the queue a pull reads,
 * and the Expense Report v4 view of the same report. The confirmation calls that move a document
 * through its states are in simulator-confirmations.ts.
 */
import { formatAmount, parseAmount } from '../../domain/money.ts';
import type { ReportInput } from '../../domain/report.ts';
import { toFisDocument, type FisDocStatus, type FisDocType, type FisExpenseDocument, type ToFisOptions } from './document.ts';

export interface PostingRecord {
  /** The service code Concur answered. */
  readonly code: number;
  readonly overallPostingStatusCode: string;
  readonly documentNumbers: readonly string[];
  /** messageShortText of each system message sent. */
  readonly messages: readonly string[];
}

export interface PaymentRecord {
  readonly code: number;
  readonly processingStatusCode: string;
  readonly paymentRef: string | null;
}

export interface StoredDocument {
  readonly id: string;
  readonly docType: FisDocType;
  text: string;
  status: FisDocStatus;
  /** False until `release`: Concur has not finished building the document (ack answers 103). */
  ready: boolean;
  recalled: boolean;
  /** The systemId of the acknowledgement that took the document; "" when it named none. */
  erpSystemId: string | null;
  reportId: string;
  userId: string;
  approvalStatusId: string;
  paymentStatusId: string;
  acknowledgements: { successful: number; repeats: number; refused: number };
  readonly postings: PostingRecord[];
  readonly payments: PaymentRecord[];
  /** paymentRef (or status code) of each accepted payment confirmation, for the 298 NOOP answer. */
  readonly paymentKeys: Set<string>;
}

/** What a test or the demo sees of a document. */
export interface SimDocumentView {
  readonly docId: string;
  readonly docType: FisDocType;
  readonly status: FisDocStatus;
  readonly ready: boolean;
  readonly recalled: boolean;
  readonly reportId: string;
  readonly userId: string;
  readonly erpSystemId: string | null;
  readonly approvalStatusId: string;
  readonly paymentStatusId: string;
  readonly acknowledgements: { readonly successful: number; readonly repeats: number; readonly refused: number };
  readonly postingConfirmations: readonly PostingRecord[];
  readonly paymentConfirmations: readonly PaymentRecord[];
}

export interface PublishOptions {
  readonly docType?: FisDocType;
  /** False publishes a document that is not ready yet (ack 103) until `release`. Default true. */
  readonly ready?: boolean;
  readonly toFis?: ToFisOptions;
}

/** Expense v4 status ids and names the simulator uses; names follow Concur's UI texts [M]. */
export const APPROVAL_STATUSES: Readonly<Record<string, string>> = { A_APPR: 'Approved', A_RESU: 'Sent Back to Employee', A_NOTF: 'Not Submitted' };
export const PAYMENT_STATUSES: Readonly<Record<string, string>> = { P_NOTP: 'Not Paid', P_PROC: 'Payment Processing', P_PAID: 'Paid' };

export class DocumentStore {
  private readonly documents = new Map<string, StoredDocument>();
  private published = 0;

  constructor(private readonly seed: number) {}

  publish(input: ReportInput | FisExpenseDocument | string, options: PublishOptions = {}): string {
    this.published += 1;
    // 32 hex characters like Concur's ids, from the seed and a counter: the same run gives the same ids.
    const id = `${(this.seed >>> 0).toString(16).padStart(8, '0')}${this.published.toString(16).padStart(24, '0')}`;
    const text = typeof input === 'string' ? input : JSON.stringify(isReportInput(input) ? toFisDocument(input, options.toFis) : input);
    const document: StoredDocument = {
      id,
      docType: options.docType ?? 'expense',
      text,
      status: 'READY',
      ready: options.ready ?? true,
      recalled: false,
      erpSystemId: null,
      reportId: '',
      userId: '',
      approvalStatusId: 'A_APPR',
      paymentStatusId: 'P_NOTP',
      acknowledgements: { successful: 0, repeats: 0, refused: 0 },
      postings: [],
      payments: [],
      paymentKeys: new Set(),
    };
    readIdentity(document);
    this.documents.set(id, document);
    return id;
  }

  get(docId: string): StoredDocument | undefined {
    return this.documents.get(docId);
  }

  /** A test's reference to a document that must exist. */
  require(docId: string): StoredDocument {
    const document = this.documents.get(docId);
    if (!document) throw new Error(`Assertion failed: the simulator holds no document ${docId}`);
    return document;
  }

  /** The employee recalls the report (or an approver sends it back): it leaves the queue, and its v4 status changes. */
  recall(docId: string, approvalStatusId = 'A_RESU'): void {
    const document = this.require(docId);
    document.recalled = true;
    document.approvalStatusId = approvalStatusId;
  }

  release(docId: string): void {
    this.require(docId).ready = true;
  }

  amend(docId: string, change: (document: FisExpenseDocument) => FisExpenseDocument | string): void {
    const document = this.require(docId);
    const changed = change(JSON.parse(document.text) as FisExpenseDocument);
    document.text = typeof changed === 'string' ? changed : JSON.stringify(changed);
    readIdentity(document);
  }

  views(): SimDocumentView[] {
    return [...this.documents.values()].map((d) => ({
      docId: d.id,
      docType: d.docType,
      status: d.status,
      ready: d.ready,
      recalled: d.recalled,
      reportId: d.reportId,
      userId: d.userId,
      erpSystemId: d.erpSystemId,
      approvalStatusId: d.approvalStatusId,
      paymentStatusId: d.paymentStatusId,
      acknowledgements: { ...d.acknowledgements },
      postingConfirmations: d.postings.map((p) => ({ ...p })),
      paymentConfirmations: d.payments.map((p) => ({ ...p })),
    }));
  }

  /**
   * The documents a pull lists, in publishing order. By default only those still waiting
   * (READY and not recalled); with `ignoreStatus` every document, recalled ones included. A
   * document that is not ready is never listed. With `systemId`, documents another system took are left out.
   */
  list(query: { docType: string; ignoreStatus: boolean; docId?: string; systemId?: string }): StoredDocument[] {
    return [...this.documents.values()].filter(
      (d) =>
        d.docType === query.docType &&
        d.ready &&
        (query.ignoreStatus || (d.status === 'READY' && !d.recalled)) &&
        (query.docId === undefined || d.id === query.docId) &&
        (query.systemId === undefined || d.erpSystemId === null || d.erpSystemId === query.systemId),
    );
  }

  /** The Expense v4 report of the latest document with this report id, seen by its owner. */
  findReport(userId: string, reportId: string): StoredDocument | undefined {
    let found: StoredDocument | undefined;
    for (const d of this.documents.values()) if (d.reportId === reportId && d.userId === userId && d.reportId !== '') found = d;
    return found;
  }
}

function isReportInput(input: ReportInput | FisExpenseDocument): input is ReportInput {
  return 'lines' in input && 'reportId' in input;
}

/** Report id and owner from the document text; empty when it does not parse (a break a test injected). */
function readIdentity(document: StoredDocument): void {
  const parsed = tryParse(document.text);
  document.reportId = typeof parsed?.report?.reportId === 'string' ? parsed.report.reportId : '';
  document.userId = typeof parsed?.employee?.employeeId === 'string' ? parsed.employee.employeeId : '';
}

interface LooseDocument {
  readonly employee?: { readonly employeeId?: unknown };
  readonly report?: Readonly<Record<string, unknown>>;
  readonly expenseEntry?: readonly Readonly<Record<string, unknown>>[];
}

function tryParse(text: string): LooseDocument | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as LooseDocument) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The Expense Report v4 body for a document. Amounts are decimal strings like everything in this
 * simulator (Concur sends JSON numbers [M]); the sums are computed in minor units.
 */
export function renderReport(document: StoredDocument): object {
  const parsed = tryParse(document.text);
  const head = parsed?.report ?? {};
  const currency = typeof head.employeeCurrencyAlphaCode === 'string' ? head.employeeCurrencyAlphaCode : 'USD';
  const money = (minor: number) => ({ value: safeFormat(minor, currency), currencyCode: currency });
  const total = minorOf(head.totalApprovedAmount, currency);
  let dueEmployee = 0;
  let dueCard = 0;
  for (const entry of Array.isArray(parsed?.expenseEntry) ? parsed.expenseEntry : []) {
    const approved = minorOf(entry?.entryApprovedAmount, currency);
    if (entry?.entryIsPersonal === 'Y') dueEmployee -= approved;
    else if (entry?.reportEntryPatKey === 'CBCP' || entry?.reportEntryPatKey === 'IBCP') dueCard += approved;
    else dueEmployee += approved;
  }
  const submitDate = typeof head.reportSubmitDate === 'string' ? head.reportSubmitDate : null;
  return {
    reportId: document.reportId,
    name: typeof head.reportName === 'string' ? head.reportName : '',
    reportDate: (submitDate ?? (typeof head.reportPaymentProcessingDate === 'string' ? head.reportPaymentProcessingDate : '')).slice(0, 10),
    userId: document.userId,
    policyId: 'SIM-POLICY',
    ledger: typeof head.ledgerCode === 'string' ? head.ledgerCode : '',
    currencyCode: currency,
    submitDate,
    approvalStatus: APPROVAL_STATUSES[document.approvalStatusId] ?? document.approvalStatusId,
    approvalStatusId: document.approvalStatusId,
    paymentStatus: PAYMENT_STATUSES[document.paymentStatusId] ?? document.paymentStatusId,
    paymentStatusId: document.paymentStatusId,
    approvedAmount: money(total),
    claimedAmount: money(total),
    reportTotal: money(total),
    amountDueEmployee: money(dueEmployee),
    amountDueCompanyCard: money(dueCard),
    customData: [],
    isFinancialIntegrationEnabled: true,
  };
}

function minorOf(value: unknown, currency: string): number {
  if (typeof value !== 'string') return 0;
  try {
    return parseAmount(value, currency).amountMinor;
  } catch {
    return 0;
  }
}

function safeFormat(minor: number, currency: string): string {
  try {
    return formatAmount(minor, currency);
  } catch {
    return String(minor);
  }
}
