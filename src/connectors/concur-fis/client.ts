/**
 * A thin typed client for SAP Concur FIS v4 (pull, acknowledge, posting and payment
 * confirmations) and the Expense Report v4 read. HTTP only: every call returns an outcome value
 * and never throws for an HTTP or network failure; every answer is checked against the shape the
 * contract promises, and one that does not match is an `invalid` error carrying the raw body.
 */
import { Type, type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import type { ConnectorError } from '../contract.ts';
import { FIS_DOC_STATUSES, type FisDocType, type FisTransaction } from './document.ts';
import { classifyConcurHttpError, classifyNetworkError, classifyServiceCode, malformedAnswer, serviceCodeError, type ServiceOutcome } from './errors.ts';

export interface ConcurFisClientOptions {
  /** e.g. https://us.api.concursolutions.com, without a trailing slash. */
  readonly baseUrl: string;
  /** A company-level access token with the FISVC scope (and expense.report.read for getReport). */
  readonly token: string;
  /** This ERP connection's system id, at most 50 characters; sent with every write. */
  readonly systemId: string;
  readonly docType?: FisDocType;
  readonly requestTimeoutMs: number;
  /** The DocumentFormatAs header; default text (the document arrives as a string). */
  readonly documentFormat?: 'text' | 'json';
  /** The clock for Retry-After dates; default Date.now. */
  readonly now?: () => number;
}

export type Outcome<T> = ({ readonly ok: true } & T) | { readonly ok: false; readonly error: ConnectorError };

export interface PullQuery {
  readonly page?: number;
  readonly limit?: number;
  readonly docId?: string;
  readonly ignoreDocumentStatus?: boolean;
}

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const NullableString = Nullable(Type.String());
const Count = Type.Integer({ minimum: 0 });

const TransactionSchema = Type.Object({
  id: Type.String({ minLength: 1 }),
  docType: Type.String(),
  companyId: Type.Optional(NullableString),
  entityId: Type.Optional(NullableString),
  companyUuid: Type.Optional(NullableString),
  erpSystemId: Type.Optional(NullableString),
  document: Type.Union([Type.String(), Type.Object({})]),
  docStatus: Type.Union(FIS_DOC_STATUSES.map((status) => Type.Literal(status))),
});
const PullAnswerSchema = Type.Object({
  links: Type.Array(Type.Object({ rel: Type.String(), href: Type.String() })),
  content: Type.Array(TransactionSchema),
  page: Type.Object({ size: Count, totalElements: Count, totalPages: Count, number: Count }),
});
const ResultSchema = Type.Object({
  code: Type.Integer(),
  docId: NullableString,
  systemId: Type.Optional(NullableString),
  acknowledgeResult: Type.Optional(NullableString),
  postingConfirmationResult: Type.Optional(NullableString),
  paymentConfirmationResult: Type.Optional(NullableString),
  errorMessage: Type.Optional(NullableString),
  detailMessage: Type.Optional(NullableString),
  paymentRef: Type.Optional(NullableString),
});
const AmountSchema = Type.Object({ value: Type.String({ pattern: '^-?\\d{1,15}(\\.\\d{1,20})?$' }), currencyCode: Type.String() });
const ReportSchema = Type.Object({
  reportId: Type.String(),
  name: Type.String(),
  userId: Type.String(),
  ledger: Type.String(),
  currencyCode: Type.String(),
  submitDate: Type.Optional(NullableString),
  approvalStatus: Type.String(),
  approvalStatusId: Type.String(),
  paymentStatus: Type.String(),
  paymentStatusId: Type.String(),
  approvedAmount: AmountSchema,
  reportTotal: AmountSchema,
});

export type FisPage = Static<typeof PullAnswerSchema> & { readonly content: readonly FisTransaction[] };
export type ConcurReport = Static<typeof ReportSchema>;

/** One document's answer to a write call, classified. */
export interface DocumentResult {
  readonly docId: string;
  readonly code: number;
  /** SUCCESS, FAILURE, NOOP, ... as Concur wrote it. */
  readonly result: string | null;
  readonly outcome: ServiceOutcome;
  readonly errorMessage: string | null;
  readonly detailMessage: string | null;
  readonly paymentRef?: string | null;
  /** Present unless the outcome is `ok` or `already_done`. */
  readonly error?: ConnectorError;
}

export interface FisPostingConfirmation {
  readonly docId: string;
  readonly overallPostingStatusCode: 'success' | 'error';
  readonly postingDocs: readonly { readonly companyId: string; readonly documentNumber?: string; readonly fiscalYear?: number; readonly postingDate?: string; readonly paymentRelevantLineItems?: readonly unknown[] }[];
  readonly systemMessages: readonly { readonly concurTransactionLineItemId?: string; readonly messageId?: string; readonly messageLanguage?: string; readonly messageShortText: string; readonly messageLongText?: string }[];
}

export interface FisPaymentConfirmation {
  readonly docId: string;
  readonly processingStatusCode: 'CP' | 'PP' | 'RE' | 'OB';
  readonly additionalMessage?: string;
  readonly clearingDetails?: readonly {
    readonly clearingDate: string;
    /** A decimal string: we never send money as a float (README.md). */
    readonly clearingAmount: string;
    readonly clearingCurrency: string;
    readonly receiver?: { readonly receiverId: string; readonly receiverName: string; readonly receiverType: string };
    readonly clearingReference?: { readonly companyCode?: string; readonly financialDocumentId?: string; readonly fiscalYear?: string; readonly paymentRef?: string; readonly paymentMethod?: 'E' | 'C' };
  }[];
}

export interface ConcurFisClient {
  pull(query?: PullQuery): Promise<Outcome<{ readonly page: FisPage }>>;
  /** Walks the pages from `page` (default 0) to the last; yields each page's outcome and stops after an error. */
  pages(query?: PullQuery): AsyncGenerator<Outcome<{ readonly page: FisPage }>>;
  acknowledge(ids: readonly string[]): Promise<Outcome<{ readonly results: readonly DocumentResult[] }>>;
  confirmPosting(entries: readonly FisPostingConfirmation[]): Promise<Outcome<{ readonly results: readonly DocumentResult[] }>>;
  confirmPayment(entries: readonly FisPaymentConfirmation[]): Promise<Outcome<{ readonly results: readonly DocumentResult[] }>>;
  getReport(userId: string, reportId: string): Promise<Outcome<{ readonly report: ConcurReport }>>;
}

const checkPull = Compile(PullAnswerSchema);
const checkResults = Compile(Type.Array(ResultSchema));
const checkReport = Compile(ReportSchema);

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

export function createConcurFisClient(options: ConcurFisClientOptions): ConcurFisClient {
  if (options.systemId.length > 50) throw new Error('Assertion failed: a Concur systemId has at most 50 characters');
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const transactionsUrl = `${baseUrl}/financialintegration/fi/v4/companies/transactiontypes/${options.docType ?? 'expense'}/transactions`;
  const headers = { Authorization: `Bearer ${options.token}`, Accept: 'application/json' };
  const now = options.now ?? Date.now;

  async function exchange(url: string, init: RequestInit): Promise<Answer | ConnectorError> {
    try {
      const response = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(options.requestTimeoutMs) });
      return { status: response.status, headers: response.headers, text: await response.text() };
    } catch (error) {
      return classifyNetworkError(error);
    }
  }

  /** Sends, then checks the status and the JSON shape; the value or the error. */
  async function call<T>(what: string, url: string, init: RequestInit, check: { Check(value: unknown): boolean; Errors(value: unknown): Iterable<{ instancePath: string; message: string }> }): Promise<{ value: T; text: string } | ConnectorError> {
    const answer = await exchange(url, init);
    if ('kind' in answer) return answer;
    if (answer.status !== 200) return classifyConcurHttpError(answer.status, answer.text, answer.headers, now());
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.text);
    } catch {
      return malformedAnswer(what, answer.status, answer.text, 'the body is not JSON');
    }
    if (!check.Check(parsed)) {
      const [first] = check.Errors(parsed);
      return malformedAnswer(what, answer.status, answer.text, first ? `${first.instancePath || '(root)'} ${first.message}` : 'unexpected shape');
    }
    return { value: parsed as T, text: answer.text };
  }

  async function pull(query: PullQuery = {}): Promise<Outcome<{ page: FisPage }>> {
    const params = new URLSearchParams();
    if (query.page !== undefined) params.set('page', String(query.page));
    params.set('limit', String(query.limit ?? 25));
    if (query.docId !== undefined) params.set('docId', query.docId);
    if (query.ignoreDocumentStatus !== undefined) params.set('ignoreDocumentStatus', query.ignoreDocumentStatus ? 'yes' : 'no');
    params.set('systemId', options.systemId);
    const init = { method: 'GET', headers: { ...headers, DocumentFormatAs: options.documentFormat ?? 'text' } };
    const answer = await call<FisPage>('a pull', `${transactionsUrl}?${params}`, init, checkPull);
    return 'kind' in answer ? { ok: false, error: answer } : { ok: true, page: answer.value };
  }

  async function* pages(query: PullQuery = {}): AsyncGenerator<Outcome<{ page: FisPage }>> {
    for (let page = query.page ?? 0; ; page++) {
      const outcome = await pull({ ...query, page });
      yield outcome;
      if (!outcome.ok || outcome.page.content.length === 0 || page + 1 >= outcome.page.page.totalPages) return;
    }
  }

  /** Posts a write call and checks that every document sent is answered exactly once. */
  async function write(action: string, docIds: readonly string[], body: object): Promise<Outcome<{ results: readonly DocumentResult[] }>> {
    if (docIds.length === 0) return { ok: true, results: [] };
    const init = { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
    const answer = await call<Static<typeof ResultSchema>[]>(`the ${action} call`, `${transactionsUrl}/${action}`, init, checkResults);
    if ('kind' in answer) return { ok: false, error: answer };
    const answered = answer.value.map((item) => item.docId ?? '').sort();
    const sent = [...docIds].sort();
    if (answered.length !== sent.length || answered.some((id, i) => id !== sent[i])) {
      return { ok: false, error: malformedAnswer(`the ${action} call`, 200, answer.text, `it answered for ${answered.length} documents, not exactly for the ${sent.length} sent`) };
    }
    return { ok: true, results: answer.value.map((item) => toResult(item, answer.text)) };
  }

  return {
    pull,
    pages,
    acknowledge: (ids) => {
      const unique = [...new Set(ids)];
      return write('acknowledgements', unique, { ids: unique, systemId: options.systemId });
    },
    confirmPosting: (entries) => write('postingconfirmations', entries.map((e) => e.docId), { systemId: options.systemId, postingConfirmations: entries }),
    confirmPayment: (entries) => write('paymentconfirmations', entries.map((e) => e.docId), { systemId: options.systemId, processingConfirmation: entries }),
    getReport: async (userId, reportId) => {
      const url = `${baseUrl}/expensereports/v4/users/${encodeURIComponent(userId)}/context/TRAVELER/reports/${encodeURIComponent(reportId)}`;
      const answer = await call<ConcurReport>('a report read', url, { method: 'GET', headers }, checkReport);
      return 'kind' in answer ? { ok: false, error: answer } : { ok: true, report: answer.value };
    },
  };
}

function toResult(item: Static<typeof ResultSchema>, raw: string): DocumentResult {
  const docId = item.docId ?? '';
  const errorMessage = item.errorMessage ?? null;
  const error = serviceCodeError(item.code, docId, errorMessage, raw);
  return {
    docId,
    code: item.code,
    result: item.acknowledgeResult ?? item.postingConfirmationResult ?? item.paymentConfirmationResult ?? null,
    outcome: classifyServiceCode(item.code).outcome,
    errorMessage,
    detailMessage: item.detailMessage ?? null,
    ...(item.paymentRef !== undefined && { paymentRef: item.paymentRef }),
    ...(error && { error }),
  };
}
