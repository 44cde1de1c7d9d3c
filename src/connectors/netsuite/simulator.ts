/**
 * An offline NetSuite: a real HTTP server with its own journalEntry ledger, NetSuite's error
 * envelope and concurrency limit, and seeded faults (timeouts after commit, 429 bursts,
 * maintenance windows, rejected references). Same seed and same request order, same answers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { formatAmount } from '../../domain/money.ts';
import { createRandom } from '../../simulation/seeded-random.ts';
import type { NormalizedNetSuiteJournal } from './mapping.ts';
import { SimulatorLedger, type DocumentLineChange, type LedgerCounts, type Rejection, type SimDocument } from './simulator-ledger.ts';
import { ledgerTableRows } from './simulator-suiteql-ledger.ts';
import { MasterDataTables, SUITEQL_PATH, type MasterData, type MasterRow, type SuiteQlTable } from './simulator-suiteql.ts';
import { closeServer, listenLocal } from '../../simulation/http-server.ts';

export type { DocumentLineChange, SimDocument } from './simulator-ledger.ts';
export type { MasterData, MasterRow, SuiteQlTable } from './simulator-suiteql.ts';

export interface Faults {
  /** Probability that a committed write is never answered: the socket is held, then destroyed after holdMs. */
  readonly timeoutAfterCommitRate?: number;
  readonly holdMs?: number;
  /** Probability that a request starts a burst of 429s (Retry-After: 1) lasting burstLength requests. */
  readonly rateLimitBurstRate?: number;
  readonly burstLength?: number;
  /** Epoch-ms windows during which every record and SuiteQL request gets 503. */
  readonly maintenanceWindows?: readonly { readonly fromMs: number; readonly toMs: number }[];
  /** Probability that a journal is rejected naming one of its accounts; the same external id always gets the same verdict. */
  readonly invalidReferenceRate?: number;
}

export interface NetSuiteSimulatorOptions {
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  readonly token: string;
  readonly seed: number;
  /** Requests in flight before NetSuite answers 429; default 15, the base account limit. */
  readonly concurrencyLimit?: number;
  /** Internal ids journals may refer to. Ids in `masterData` count too, and there its isinactive decides. */
  readonly subsidiaries?: readonly string[];
  readonly accounts?: readonly string[];
  readonly departments?: readonly string[];
  readonly employees?: readonly string[];
  readonly inactive?: { readonly accounts?: readonly string[]; readonly departments?: readonly string[]; readonly employees?: readonly string[] };
  readonly faults?: Faults;
  readonly latencyMs?: number;
  /** The clock for maintenance windows and lastmodifieddate stamps; defaults to Date.now. */
  readonly now?: () => number;
  /** Master-data rows answered by SuiteQL; see simulator-suiteql.ts for the tables and columns. */
  readonly masterData?: MasterData;
  /** Results per SuiteQL query before the rest is cut off; default 100,000 as in NetSuite. Tests lower it. */
  readonly suiteQlResultsMax?: number;
}

export interface SimStats extends LedgerCounts {
  readonly requests: number;
  /** Error answers by HTTP status. */
  readonly rejected: Readonly<Record<string, number>>;
}

export interface NetSuiteSimulator {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
  stats(): SimStats;
  setFaults(faults: Faults): void;
  /**
   * Creates a master-data row, or updates the columns given when the id exists (null clears one),
   * and stamps lastmodifieddate with the simulator clock. Returns the row's internal id.
   */
  upsertMasterRecord(table: SuiteQlTable, row: MasterRow): string;
  /** Marks a row inactive (closes a department, terminates an employee, blocks an account), or active again. */
  setInactive(table: SuiteQlTable, id: string, inactive?: boolean): void;
  /** Every journal document the simulator holds, in the order they were made. */
  documents(): SimDocument[];
  /**
   * Adds a journal document as another integration would through POST (a foreign document, or a
   * duplicate of an external id we posted). NetSuite's checks apply: a journal it would refuse
   * throws. Returns the document's internal id.
   */
  insertDocument(journal: NormalizedNetSuiteJournal): string;
  /** Deletes a journal document by internal id, as a user deleting it in NetSuite; false when there is none. */
  removeDocument(id: string): boolean;
  /** Changes one line's account or amounts in place, skipping NetSuite's checks (a tampered ledger for reconciliation tests). */
  changeDocumentLine(id: string, line: number, change: DocumentLineChange): void;
}

const RECORD_PREFIX = '/services/rest/record/v1';
const DEFAULT_CONCURRENCY_LIMIT = 15;
const DEFAULT_HOLD_MS = 30_000;
const DEFAULT_BURST_LENGTH = 5;
const RFC2616 = 'https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html';

const STATUS_TITLES: Readonly<Record<number, readonly [string, string]>> = {
  400: ['Bad Request', `${RFC2616}#sec10.4.1`],
  401: ['Unauthorized', `${RFC2616}#sec10.4.2`],
  404: ['Not Found', `${RFC2616}#sec10.4.5`],
  405: ['Method Not Allowed', `${RFC2616}#sec10.4.6`],
  429: ['Too Many Requests', 'https://tools.ietf.org/html/rfc6585#section-4'],
  500: ['Internal Server Error', `${RFC2616}#sec10.5.1`],
  503: ['Service Unavailable', `${RFC2616}#sec10.5.4`],
};

export function buildEnvelope(rejection: Rejection): object {
  const [title, type] = STATUS_TITLES[rejection.status] ?? ['Error', 'about:blank'];
  const detail = {
    detail: rejection.detail,
    ...(rejection.queryParam !== undefined && { 'o:errorQueryParam': rejection.queryParam }),
    'o:errorCode': rejection.code,
    ...(rejection.path !== undefined && { 'o:errorPath': rejection.path }),
  };
  return { type, title, status: rejection.status, 'o:errorDetails': [detail] };
}

/** Renders a stored document as NetSuite returns it on GET (sublist expanded inline). */
function renderRecord(document: SimDocument): object {
  const amount = (minor: number) => Number(formatAmount(minor, document.currency));
  return {
    links: [],
    id: document.id,
    ...(document.externalId !== null && { externalId: document.externalId }),
    subsidiary: { id: document.subsidiaryId },
    currency: { refName: document.currency },
    tranDate: document.tranDate,
    memo: document.memo,
    approved: true,
    line: {
      items: document.lines.map((line, index) => ({
        line: index,
        account: { id: line.accountId },
        ...(line.debitMinor > 0 && { debit: amount(line.debitMinor) }),
        ...(line.creditMinor > 0 && { credit: amount(line.creditMinor) }),
        memo: line.memo,
        ...(line.departmentId !== undefined && { department: { id: line.departmentId } }),
        ...(line.entityId !== undefined && { entity: { id: line.entityId } }),
        ...(line.taxCodeId !== undefined && { taxCode: { id: line.taxCodeId } }),
      })),
    },
  };
}

export async function startNetSuiteSimulator(options: NetSuiteSimulatorOptions): Promise<NetSuiteSimulator> {
  const simulator = new SimulatorServer(options);
  const port = await simulator.listen(options.port ?? 0);
  return {
    url: simulator.url,
    port,
    close: () => simulator.close(),
    stats: () => simulator.stats(),
    setFaults: (faults) => simulator.setFaults(faults),
    upsertMasterRecord: (table, row) => simulator.masterData.upsert(table, row),
    setInactive: (table, id, inactive) => simulator.masterData.setInactive(table, id, inactive),
    documents: () => simulator.ledger.list(),
    insertDocument(journal) {
      const result = simulator.ledger.insert(journal);
      if ('status' in result) throw new Error(`Assertion failed: NetSuite would refuse this journal: ${result.detail}${result.path === undefined ? '' : ` (${result.path})`}`);
      return result.id;
    },
    removeDocument: (id) => simulator.ledger.remove(id),
    changeDocumentLine: (id, line, change) => void simulator.ledger.changeLine(id, line, change),
  };
}

class SimulatorServer {
  url = '';
  readonly masterData: MasterDataTables;
  readonly ledger: SimulatorLedger;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly concurrencyLimit: number;
  private readonly held = new Map<Socket, NodeJS.Timeout>();
  private readonly rejected: Record<string, number> = {};
  private readonly server: Server;
  private faults: Faults;
  private inFlight = 0;
  private burstLeft = 0;
  private requests = 0;

  constructor(private readonly options: NetSuiteSimulatorOptions) {
    this.now = options.now ?? Date.now;
    // The journal tables of SuiteQL are the ledger itself, read at query time (simulator-suiteql-ledger.ts).
    this.masterData = new MasterDataTables(options.masterData, this.now, options.suiteQlResultsMax, () => ledgerTableRows(this.ledger.list(), (code) => this.masterData.currencyIdOf(code)));
    this.ledger = new SimulatorLedger({
      seed: options.seed,
      subsidiaries: options.subsidiaries ?? [],
      accounts: options.accounts ?? [],
      departments: options.departments ?? [],
      employees: options.employees ?? [],
      ...(options.inactive && { inactive: options.inactive }),
      referenceStatus: (table, id) => this.masterData.referenceStatus(table, id),
    });
    this.random = createRandom(options.seed);
    this.concurrencyLimit = options.concurrencyLimit ?? DEFAULT_CONCURRENCY_LIMIT;
    this.faults = options.faults ?? {};
    this.server = createServer((req, res) => {
      this.dispatch(req, res).catch((error: unknown) => {
        if (!res.headersSent && !res.destroyed) this.reject(res, { status: 500, code: 'UNEXPECTED_ERROR', detail: String(error) });
      });
    });
  }

  async listen(port: number): Promise<number> {
    const bound = await listenLocal(this.server, port);
    this.url = bound.url;
    return bound.port;
  }

  async close(): Promise<void> {
    await closeServer(this.server, this.held);
  }

  stats(): SimStats {
    return { ...this.ledger.count(), requests: this.requests, rejected: { ...this.rejected } };
  }

  setFaults(faults: Faults): void {
    this.faults = faults;
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const { pathname, searchParams } = new URL(req.url ?? '/', 'http://simulator');
    if (pathname === '/__sim/stats') return this.send(res, 200, this.stats());
    if (pathname === '/__sim/documents') return this.send(res, 200, this.ledger.listByExternalId(searchParams.get('externalId') ?? ''));
    if (pathname === '/__sim/ledger') return this.send(res, 200, this.ledger.list());
    const isQuery = pathname === SUITEQL_PATH;
    if (!isQuery && !pathname.startsWith(`${RECORD_PREFIX}/`)) {
      return this.reject(res, { status: 404, code: 'NONEXISTENT_ID', detail: `The path ${pathname} does not exist.` });
    }
    this.requests += 1;
    const rejection = this.admit(req);
    if (rejection) return this.reject(res, rejection);
    this.inFlight += 1;
    res.once('close', () => (this.inFlight -= 1));
    if (this.options.latencyMs) await new Promise((resolve) => setTimeout(resolve, this.options.latencyMs));
    if (isQuery) return this.handleQuery(req, res, searchParams, body);
    return this.handleRecord(req, res, pathname.slice(RECORD_PREFIX.length), body);
  }

  /** Checks that apply to every record and SuiteQL request, in the order NetSuite's front door would apply them. */
  private admit(req: IncomingMessage): Rejection | undefined {
    const nowMs = this.now();
    const window = (this.faults.maintenanceWindows ?? []).find((w) => nowMs >= w.fromMs && nowMs < w.toMs);
    if (window) {
      const retryAfterSeconds = Math.max(1, Math.ceil((window.toMs - nowMs) / 1000));
      return { status: 503, code: 'SERVICE_UNAVAILABLE', detail: 'NetSuite is down for scheduled maintenance.', retryAfterSeconds };
    }
    if (req.headers.authorization !== `Bearer ${this.options.token}`) {
      return { status: 401, code: 'INVALID_LOGIN', detail: 'Invalid login attempt. For more details, see the Login Audit Trail.' };
    }
    // No Retry-After here: nobody has documented NetSuite sending one on a concurrency rejection.
    if (this.inFlight >= this.concurrencyLimit) {
      return { status: 429, code: 'CONCURRENCY_LIMIT_EXCEEDED', detail: `More than ${this.concurrencyLimit} requests are in flight for this account.` };
    }
    if (this.burstLeft === 0 && this.random() < (this.faults.rateLimitBurstRate ?? 0)) {
      this.burstLeft = this.faults.burstLength ?? DEFAULT_BURST_LENGTH;
    }
    if (this.burstLeft > 0) {
      this.burstLeft -= 1;
      return { status: 429, code: 'REQUEST_LIMIT_EXCEEDED', detail: 'Too many requests; try again later.', retryAfterSeconds: 1 };
    }
    return undefined;
  }

  private handleRecord(req: IncomingMessage, res: ServerResponse, path: string, body: string): void {
    const route = /^\/journalEntry(?:\/(eid:)?([^/]+))?$/.exec(path);
    if (!route) return this.reject(res, { status: 404, code: 'NONEXISTENT_ID', detail: `The record type or path ${path} does not exist.` });
    const [, eid, key] = route;
    if (req.method === 'GET' && key !== undefined) {
      const document = eid ? this.ledger.findByExternalId(key) : this.ledger.findById(key);
      if (!document) return this.reject(res, { status: 404, code: 'NONEXISTENT_ID', detail: `The record instance ${eid ?? ''}${key} does not exist.` });
      return this.send(res, 200, renderRecord(document));
    }
    const isUpsert = req.method === 'PUT' && eid !== undefined;
    const isCreate = req.method === 'POST' && key === undefined;
    if (!isUpsert && !isCreate) {
      return this.reject(res, { status: 405, code: 'METHOD_NOT_ALLOWED', detail: `${req.method} is not supported on ${path}; upsert only works with PUT and eid:.` });
    }
    const result = this.ledger.write(body, isUpsert ? key : undefined, this.faults.invalidReferenceRate ?? 0);
    if ('status' in result) return this.reject(res, result);
    if (this.random() < (this.faults.timeoutAfterCommitRate ?? 0)) return this.hold(req.socket);
    this.send(res, 204, undefined, { Location: `${this.url}${RECORD_PREFIX}/journalEntry/${result.id}` });
  }

  private handleQuery(req: IncomingMessage, res: ServerResponse, searchParams: URLSearchParams, body: string): void {
    if (req.method !== 'POST') return this.reject(res, { status: 405, code: 'METHOD_NOT_ALLOWED', detail: `${req.method} is not supported on ${SUITEQL_PATH}; send the query with POST.` });
    const prefer = req.headers.prefer;
    const answer = this.masterData.answer({ body, searchParams, prefer: Array.isArray(prefer) ? prefer.join(', ') : prefer, baseUrl: this.url });
    if ('code' in answer) return this.reject(res, answer);
    this.send(res, 200, answer.body);
  }

  /** The journal is committed but the answer never comes: the client times out or sees the socket cut. */
  private hold(socket: Socket): void {
    const timer = setTimeout(() => socket.destroy(), this.faults.holdMs ?? DEFAULT_HOLD_MS);
    this.held.set(socket, timer);
    socket.once('close', () => {
      clearTimeout(this.held.get(socket));
      this.held.delete(socket);
    });
  }

  private send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    if (status >= 400) this.rejected[status] = (this.rejected[status] ?? 0) + 1;
    res.writeHead(status, { ...(body !== undefined && { 'Content-Type': 'application/json' }), ...headers });
    res.end(body === undefined ? '' : JSON.stringify(body));
  }

  private reject(res: ServerResponse, rejection: Rejection): void {
    const headers: Record<string, string> = rejection.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(rejection.retryAfterSeconds) };
    this.send(res, rejection.status, buildEnvelope(rejection), headers);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
