/**
 * An offline SAP Concur Financial Integration Service (FIS v4) with a minimal Expense Report v4
 * read: a real HTTP server holding financial documents in memory, with bearer tokens and scopes,
 * Concur's per-document service codes and state machine, and seeded faults (500/503 answers,
 * 429 with Retry-After, per-document 199, maintenance). Same seed and request order, same answers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ReportInput } from '../../domain/report.ts';
import { createRandom } from '../../simulation/seeded-random.ts';
import { FIS_DOC_TYPES, type FisExpenseDocument } from './document.ts';
import { acknowledge, confirmPayments, confirmPostings, type WriteAnswer, type WriteContext } from './simulator-confirmations.ts';
import { DocumentStore, renderReport, type PublishOptions, type SimDocumentView, type StoredDocument } from './simulator-state.ts';
import { closeServer, listenLocal } from '../../simulation/http-server.ts';

export type { PostingRecord, PaymentRecord, PublishOptions, SimDocumentView } from './simulator-state.ts';

export interface FisFaults {
  /** Share of admitted requests answered 500 (first half of the share) or 503 (second half). */
  readonly serverErrorRate?: number;
  /** Share of admitted requests answered 429 with Retry-After. Concur's limits are not documented [U]. */
  readonly rateLimitRate?: number;
  /** Share of documents in a write call answered 199 (unknown error, retry later). */
  readonly documentErrorRate?: number;
  /** Maintenance: every API request gets 503 with Retry-After, before authentication. */
  readonly down?: boolean;
  /** Retry-After on 429 and 503 answers; default 1. */
  readonly retryAfterSeconds?: number;
}

export interface ConcurFisSimulatorOptions {
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  readonly seed: number;
  /** Bearer tokens and their scopes: FIS needs FISVC, the Expense v4 read needs expense.report.read. */
  readonly tokens: Readonly<Record<string, readonly string[]>>;
  /** The company's configured ERP system id; when set, write calls naming another one get 99. */
  readonly systemId?: string;
  readonly companyId?: string;
  readonly entityId?: string;
  readonly companyUuid?: string;
  readonly faults?: FisFaults;
  /** The clock for error timestamps; default Date.now. */
  readonly now?: () => number;
}

export interface ConcurFisSimulator {
  readonly url: string;
  readonly port: number;
  /** Publishes a report (built with toFisDocument), a ready-made document, or raw text (for malformed ones); returns the docId. */
  publish(input: ReportInput | FisExpenseDocument | string, options?: PublishOptions): string;
  /** The report is recalled (or sent back): the document leaves the queue, ack answers 102, posting 112. */
  recall(docId: string, approvalStatusId?: string): void;
  /** Makes a document published with `ready: false` ready. */
  release(docId: string): void;
  /** Changes a published document's content (break injection); its stored text must still be JSON. */
  amend(docId: string, change: (document: FisExpenseDocument) => FisExpenseDocument | string): void;
  documents(): SimDocumentView[];
  setFaults(faults: FisFaults): void;
  /** Requests the server has received, all routes. */
  requestCount(): number;
  close(): Promise<void>;
}

export const FIS_PATH = '/financialintegration/fi/v4/companies/transactiontypes';
const FIS_ROUTE = /^\/financialintegration\/fi\/v4\/companies\/transactiontypes\/([^/]+)\/transactions(?:\/(acknowledgements|postingconfirmations|paymentconfirmations))?\/?$/;
const REPORT_ROUTE = /^\/expensereports\/v4\/users\/([^/]+)\/context\/(TRAVELER|PROXY)\/reports\/([^/]+)\/?$/;
const LIMIT_MAX = 1000;

interface Rejection {
  readonly status: number;
  readonly message: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export async function startConcurFisSimulator(options: ConcurFisSimulatorOptions): Promise<ConcurFisSimulator> {
  const server = new FisServer(options);
  const port = await server.listen(options.port ?? 0);
  const store = server.store;
  return {
    url: server.url,
    port,
    publish: (input, publishOptions) => store.publish(input, publishOptions),
    recall: (docId, approvalStatusId) => store.recall(docId, approvalStatusId),
    release: (docId) => store.release(docId),
    amend: (docId, change) => store.amend(docId, change),
    documents: () => store.views(),
    setFaults: (faults) => server.setFaults(faults),
    requestCount: () => server.requests,
    close: () => server.close(),
  };
}

class FisServer {
  url = '';
  requests = 0;
  readonly store: DocumentStore;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly server: Server;
  private faults: FisFaults;

  constructor(private readonly options: ConcurFisSimulatorOptions) {
    this.store = new DocumentStore(options.seed);
    this.random = createRandom(options.seed);
    this.now = options.now ?? Date.now;
    this.faults = options.faults ?? {};
    this.server = createServer((req, res) => {
      this.dispatch(req, res).catch((error: unknown) => {
        if (!res.headersSent && !res.destroyed) this.reject(res, req, { status: 500, message: `The simulator failed: ${String(error)}` });
      });
    });
  }

  async listen(port: number): Promise<number> {
    const bound = await listenLocal(this.server, port);
    this.url = bound.url;
    return bound.port;
  }

  async close(): Promise<void> {
    await closeServer(this.server);
  }

  setFaults(faults: FisFaults): void {
    this.faults = faults;
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    this.requests += 1;
    // Every answer carries a correlation id, from the seed and the request number so runs repeat exactly.
    res.setHeader('concur-correlationid', correlationId(this.options.seed, this.requests));
    const { pathname, searchParams } = new URL(req.url ?? '/', 'http://simulator');
    const fis = FIS_ROUTE.exec(pathname);
    const report = fis ? null : REPORT_ROUTE.exec(pathname);
    if (!fis && !report) return this.reject(res, req, { status: 404, message: `No resource at ${pathname}.` });
    const rejection = this.admit(req, fis ? 'FISVC' : 'expense.report.read');
    if (rejection) return this.reject(res, req, rejection);
    if (report) {
      if (req.method !== 'GET') return this.reject(res, req, { status: 405, message: `${req.method} is not supported here.` });
      const found = this.store.findReport(decodeURIComponent(report[1]), decodeURIComponent(report[3]));
      if (!found) return this.reject(res, req, { status: 404, message: `Report ${report[3]} was not found for user ${report[1]}.` });
      return this.send(res, 200, renderReport(found));
    }
    const [, docType, action] = fis as RegExpExecArray;
    if (!(FIS_DOC_TYPES as readonly string[]).includes(docType)) {
      return this.reject(res, req, { status: 400, message: `docType must be one of ${FIS_DOC_TYPES.join(', ')}.` });
    }
    const expected = action === undefined ? 'GET' : 'POST';
    if (req.method !== expected) return this.reject(res, req, { status: 405, message: `${req.method} is not supported here; use ${expected}.` });
    if (action === undefined) return this.pull(req, res, docType, searchParams);
    const ctx: WriteContext = {
      store: this.store,
      docType,
      ...(this.options.systemId !== undefined && { systemId: this.options.systemId }),
      drawFault: () => this.random() < (this.faults.documentErrorRate ?? 0),
    };
    const write = action === 'acknowledgements' ? acknowledge : action === 'postingconfirmations' ? confirmPostings : confirmPayments;
    const answer: WriteAnswer = write(ctx, body);
    if (answer.status === 400) return this.reject(res, req, { status: 400, message: answer.message });
    this.send(res, 200, answer.results);
  }

  /** The front door: maintenance, then the token and its scope, then the seeded 429/500/503 faults. */
  private admit(req: IncomingMessage, scope: string): Rejection | undefined {
    const retryAfter = { 'Retry-After': String(this.faults.retryAfterSeconds ?? 1) };
    if (this.faults.down) return { status: 503, message: 'The service is down for maintenance.', headers: retryAfter };
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const scopes = token !== undefined && Object.hasOwn(this.options.tokens, token) ? this.options.tokens[token] : undefined;
    if (scopes === undefined) return { status: 401, message: 'The access token is missing, invalid or expired.', headers: { 'WWW-Authenticate': 'Bearer' } };
    if (!scopes.includes(scope)) return { status: 403, message: `The access token lacks the ${scope} scope.` };
    // One draw per admitted request whatever the rates, so changing a rate does not shift later draws.
    const draw = this.random();
    const limited = this.faults.rateLimitRate ?? 0;
    const failed = this.faults.serverErrorRate ?? 0;
    if (draw < limited) return { status: 429, message: 'Too many requests.', headers: retryAfter };
    if (draw < limited + failed / 2) return { status: 500, message: 'An unexpected error occurred.' };
    if (draw < limited + failed) return { status: 503, message: 'The service is temporarily unavailable.', headers: retryAfter };
    return undefined;
  }

  private pull(req: IncomingMessage, res: ServerResponse, docType: string, params: URLSearchParams): void {
    const query = readPullQuery(params, req.headers.documentformatas);
    if (typeof query === 'string') return this.reject(res, req, { status: 400, message: query });
    const all = this.store.list({ docType, ignoreStatus: query.ignoreStatus, ...(query.docId !== undefined && { docId: query.docId }), ...(query.systemId !== undefined && { systemId: query.systemId }) });
    const { page, limit } = query;
    const totalPages = Math.ceil(all.length / limit);
    const link = (rel: string, number: number) => {
      const next = new URLSearchParams(params);
      next.set('limit', String(limit));
      next.set('page', String(number));
      return { rel, href: `${this.url}${FIS_PATH}/${docType}/transactions?${next}`, hreflang: null, media: null, title: null, type: null, deprecation: null };
    };
    const links = [link('first', 0), link('self', page)];
    if (page > 0) links.push(link('prev', page - 1));
    if (page + 1 < totalPages) links.push(link('next', page + 1));
    links.push(link('last', Math.max(0, totalPages - 1)));
    const content = all.slice(page * limit, (page + 1) * limit).map((d) => this.renderItem(d, query.asJson));
    this.send(res, 200, { links, content, page: { size: limit, totalElements: all.length, totalPages, number: page } });
  }

  private renderItem(document: StoredDocument, asJson: boolean): object {
    let rendered: unknown = document.text;
    if (asJson) {
      try {
        rendered = JSON.parse(document.text);
      } catch {
        rendered = document.text; // A broken document a test injected cannot be embedded; it stays text.
      }
    }
    return {
      id: document.id,
      docType: document.docType,
      companyId: this.options.companyId ?? 'SIMCOMPANY',
      entityId: this.options.entityId ?? 'p0000000sim',
      companyUuid: this.options.companyUuid ?? '00000000-0000-4000-8000-000000000001',
      erpSystemId: document.erpSystemId,
      document: rendered,
      docStatus: document.status,
      links: [],
    };
  }

  private send(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  /** The v4 error body [U]: {errorId, errorMessage, httpStatus, path, timestamp}. */
  private reject(res: ServerResponse, req: IncomingMessage, rejection: Rejection): void {
    const body = {
      errorId: correlationId(this.options.seed ^ 0x5eed, this.requests),
      errorMessage: rejection.message,
      httpStatus: rejection.status,
      path: new URL(req.url ?? '/', 'http://simulator').pathname,
      timestamp: new Date(this.now()).toISOString(),
    };
    this.send(res, rejection.status, body, rejection.headers);
  }
}

interface PullQuery {
  readonly page: number;
  readonly limit: number;
  readonly ignoreStatus: boolean;
  readonly docId?: string;
  readonly systemId?: string;
  readonly asJson: boolean;
}

/** The query of a pull, or why it is refused (400). Limits outside 1..1000 are our choice [U]. */
function readPullQuery(params: URLSearchParams, formatHeader: string | string[] | undefined): PullQuery | string {
  const integer = (name: string, fallback: number, min: number, max: number): number | string => {
    const raw = params.get(name);
    if (raw === null) return fallback;
    const value = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
    return value >= min && value <= max ? value : `${name} must be an integer from ${min} to ${max}.`;
  };
  const page = integer('page', 0, 0, 1_000_000);
  const limit = integer('limit', 25, 1, LIMIT_MAX);
  if (typeof page === 'string') return page;
  if (typeof limit === 'string') return limit;
  const ignore = params.get('ignoreDocumentStatus') ?? 'no';
  if (ignore !== 'yes' && ignore !== 'no') return 'ignoreDocumentStatus must be yes or no.';
  const systemId = params.get('systemId') ?? undefined;
  if (systemId !== undefined && systemId.length > 50) return 'systemId must be at most 50 characters.';
  const format = (Array.isArray(formatHeader) ? formatHeader[0] : formatHeader)?.toLowerCase() ?? 'text';
  if (format !== 'text' && format !== 'json') return 'DocumentFormatAs must be text or json.';
  const docId = params.get('docId') ?? undefined;
  return { page, limit, ignoreStatus: ignore === 'yes', asJson: format === 'json', ...(docId !== undefined && { docId }), ...(systemId !== undefined && { systemId }) };
}

/** A UUID-shaped id from a seed and a counter. */
function correlationId(seed: number, n: number): string {
  const hex = (value: number, width: number) => (value >>> 0).toString(16).padStart(width, '0').slice(-width);
  return `${hex(seed, 8)}-${hex(n >>> 16, 4)}-4${hex(n, 3)}-8${hex(seed >>> 8, 3)}-${hex(0, 4)}${hex(n, 8)}`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
