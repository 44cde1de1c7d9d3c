/**
 * An offline Xero Accounting API for manual journals: a real HTTP server (127.0.0.1, port 0 by
 * default) with one organisation, its master data and journals (simulator-ledger.ts), OAuth bearer
 * and `xero-tenant-id` checks, Idempotency-Key replay (simulator-idempotency.ts), Xero's limits
 * with their headers (simulator-limits.ts), and seeded faults: 500s, 503s, maintenance windows
 * and timeouts after commit. Same seed and request order, same answers. Tests drive it through the
 * returned object: documents(), setFaults(), hold(), traffic(), and the `now` clock.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createRandom } from '../../simulation/seeded-random.ts';
import { parseJsonExact, stringifyJson } from './exact-json.ts';
import { IDEMPOTENCY_KEY_LENGTH_MAX, type NormalizedXeroLine } from './mapping.ts';
import { DEFAULT_IDEMPOTENCY, fingerprintOf, IdempotencyStore, type IdempotencySettings } from './simulator-idempotency.ts';
import { randomUuid, SimulatorLedger, type Draft, type MasterStatus, type SimJournal, type XeroAccountData, type XeroTrackingCategoryData } from './simulator-ledger.ts';
import { DEFAULT_LIMITS, RateLimiter, type XeroLimits } from './simulator-limits.ts';
import { errorAnswer, MANUAL_JOURNAL_ROUTE, readJournals, validationAnswer, writeJournals, XERO_ERRORS, type RouteContext, type SimAnswer } from './simulator-routes.ts';
import { closeServer, listenLocal } from '../../simulation/http-server.ts';

export type { SimJournal, SimJournalLine, XeroAccountData, XeroTrackingCategoryData, MasterStatus } from './simulator-ledger.ts';
export type { XeroLimits } from './simulator-limits.ts';
export type { IdempotencySettings } from './simulator-idempotency.ts';

export interface XeroFaults {
  /** Share of admitted requests answered 500 before anything is done. */
  readonly serverErrorRate?: number;
  /** Share of admitted requests answered 503 (Retry-After: retryAfterSeconds) before anything is done. */
  readonly unavailableRate?: number;
  readonly retryAfterSeconds?: number;
  /** Epoch-ms windows during which every API request gets 503 with Retry-After = the seconds left, before authentication. */
  readonly maintenanceWindows?: readonly { readonly fromMs: number; readonly toMs: number }[];
  /** Share of writes that commit (and store their Idempotency-Key answer) but are never answered. */
  readonly timeoutAfterCommitRate?: number;
  /** How long such a socket is held before it is cut; default 30 s; 0 cuts it at once. */
  readonly holdMs?: number;
  /** The next `count` admitted requests get this status (500, or 503 with Retry-After), whatever the rates say: a deterministic fault for tests. */
  readonly failNext?: { readonly count: number; readonly status: 500 | 503 };
}

export interface XeroSimulatorOptions {
  readonly port?: number;
  readonly seed: number;
  /** The one bearer token the organisation accepts. */
  readonly accessToken: string;
  /** After this instant (simulator clock) the token is refused as expired; Xero's tokens live 30 minutes [S]. */
  readonly tokenExpiresAtMs?: number;
  readonly tenantId: string;
  readonly baseCurrency: string;
  readonly accounts: readonly XeroAccountData[];
  readonly trackingCategories?: readonly XeroTrackingCategoryData[];
  /** Default ['NONE']. */
  readonly taxTypes?: readonly string[];
  readonly periodLockDate?: string;
  readonly limits?: Partial<XeroLimits>;
  readonly idempotency?: Partial<IdempotencySettings>;
  /** What a write without `summarizeErrors` gets; default true (one 400 for the request) [M]. */
  readonly summarizeErrorsDefault?: boolean;
  readonly faults?: XeroFaults;
  /** The clock for the limit windows, key retention, maintenance and dates; default Date.now. */
  readonly now?: () => number;
  /** Keep every request and answer for traffic(); default false. */
  readonly recordTraffic?: boolean;
  readonly providerName?: string;
}

export interface RecordedExchange {
  readonly request: { readonly method: string; readonly url: string; readonly headers: Readonly<Record<string, string>>; readonly body: string };
  /** Absent when the answer was never sent (a held socket). */
  readonly response?: { readonly status: number; readonly headers: Readonly<Record<string, string>>; readonly body: string };
}

export interface XeroSimulatorStats {
  readonly requests: number;
  /** Answers by HTTP status. */
  readonly answers: Readonly<Record<string, number>>;
  readonly idempotentReplays: number;
  readonly journals: number;
}

export interface XeroSimulator {
  readonly url: string;
  readonly port: number;
  /** Every manual journal the organisation holds, in the order they were made. */
  documents(): SimJournal[];
  setFaults(faults: XeroFaults): void;
  /** Adds an account or changes its status. */
  setAccount(code: string, status: MasterStatus): void;
  setTrackingOption(category: string, option: string, status: MasterStatus): void;
  /** Stores a journal without Xero's checks (a foreign or duplicate journal); returns its ManualJournalID. */
  insertJournal(journal: Omit<Draft, 'lines'> & { readonly lines: readonly NormalizedXeroLine[] }): string;
  /** Changes one line in place, without checks (a tampered ledger for reconciliation tests). */
  changeJournalLine(id: string, line: number, change: { readonly accountCode?: string; readonly amountMinor?: number }): void;
  /** Admitted requests wait (in flight) until the returned function is called. */
  hold(): () => void;
  inFlight(): number;
  /** Resolves once at least `count` requests are in flight. */
  waitForInFlight(count: number): Promise<void>;
  traffic(): RecordedExchange[];
  stats(): XeroSimulatorStats;
  close(): Promise<void>;
}

export async function startXeroSimulator(options: XeroSimulatorOptions): Promise<XeroSimulator> {
  const server = new XeroServer(options);
  const port = await server.listen(options.port ?? 0);
  const { ledger } = server;
  return {
    url: server.url,
    port,
    documents: () => ledger.list(),
    setFaults: (faults) => server.setFaults(faults),
    setAccount: (code, status) => ledger.setAccount(code, status),
    setTrackingOption: (category, option, status) => ledger.setTrackingOption(category, option, status),
    insertJournal: (journal) => ledger.insert(journal).id,
    changeJournalLine: (id, line, change) => ledger.changeLine(id, line, change),
    hold: () => server.hold(),
    inFlight: () => server.limiter.inFlight,
    waitForInFlight: (count) => server.waitForInFlight(count),
    traffic: () => [...server.recorded],
    stats: () => server.stats(),
    close: () => server.close(),
  };
}

interface Call {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly body: string;
  readonly record: RecordedExchange['request'];
}

class XeroServer {
  url = '';
  faults: XeroFaults;
  readonly ledger: SimulatorLedger;
  readonly limiter: RateLimiter;
  readonly recorded: RecordedExchange[] = [];
  private readonly idempotency: IdempotencyStore;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly routes: RouteContext;
  private readonly server: Server;
  private readonly held = new Map<Socket, NodeJS.Timeout>();
  private readonly inFlightWaiters: { count: number; resolve: () => void }[] = [];
  private readonly answers: Record<string, number> = {};
  private gate: Promise<void> | undefined;
  private failuresLeft = 0;
  private requests = 0;
  private replays = 0;

  constructor(private readonly options: XeroSimulatorOptions) {
    this.now = options.now ?? Date.now;
    this.random = createRandom(options.seed);
    this.faults = {};
    this.setFaults(options.faults ?? {});
    this.ledger = new SimulatorLedger({
      baseCurrency: options.baseCurrency,
      accounts: options.accounts,
      trackingCategories: options.trackingCategories ?? [],
      taxTypes: options.taxTypes ?? ['NONE'],
      ...(options.periodLockDate !== undefined && { periodLockDate: options.periodLockDate }),
      random: this.random,
      now: this.now,
    });
    this.limiter = new RateLimiter({ ...DEFAULT_LIMITS, ...options.limits });
    this.idempotency = new IdempotencyStore({ ...DEFAULT_IDEMPOTENCY, ...options.idempotency });
    this.routes = { ledger: this.ledger, random: this.random, now: this.now, providerName: options.providerName ?? 'finsync Xero simulator', summarizeErrorsDefault: options.summarizeErrorsDefault ?? true };
    this.server = createServer((req, res) => {
      this.dispatch(req, res).catch((error: unknown) => {
        if (!res.headersSent && !res.destroyed) res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`The simulator failed: ${String(error)}`);
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

  setFaults(faults: XeroFaults): void {
    this.faults = faults;
    this.failuresLeft = faults.failNext?.count ?? 0;
  }

  hold(): () => void {
    let release!: () => void;
    this.gate = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.gate = undefined;
      release();
    };
  }

  waitForInFlight(count: number): Promise<void> {
    if (this.limiter.inFlight >= count) return Promise.resolve();
    return new Promise((resolve) => this.inFlightWaiters.push({ count, resolve }));
  }

  stats(): XeroSimulatorStats {
    return { requests: this.requests, answers: { ...this.answers }, idempotentReplays: this.replays, journals: this.ledger.list().length };
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://simulator');
    const headers = Object.fromEntries(Object.entries(req.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : (value ?? '')]));
    const call: Call = { req, res, url, body, record: { method: req.method ?? '', url: `${url.pathname}${url.search}`, headers, body } };
    this.requests += 1;
    const route = MANUAL_JOURNAL_ROUTE.exec(url.pathname);
    if (!url.pathname.startsWith('/api.xro/2.0/')) return this.send(call, errorAnswer(404, { ...XERO_ERRORS.notFound }));
    const nowMs = this.now();
    const window = (this.faults.maintenanceWindows ?? []).find((w) => nowMs >= w.fromMs && nowMs < w.toMs);
    if (window) return this.send(call, errorAnswer(503, { ...XERO_ERRORS.unavailable }), { 'Retry-After': String(Math.max(1, Math.ceil((window.toMs - nowMs) / 1000))) });
    const refusal = this.authenticate(req, nowMs);
    if (refusal) return this.send(call, refusal);
    const admission = this.limiter.admit(nowMs);
    if (!admission.ok) {
      return this.send(call, { status: 429 }, { 'Retry-After': String(admission.retryAfterSeconds), 'X-Rate-Limit-Problem': admission.problem, ...this.limitHeaders() });
    }
    this.enterFlight(res);
    const roll = this.random();
    const serverErrorRate = this.faults.serverErrorRate ?? 0;
    const forced = this.failuresLeft > 0 ? this.faults.failNext?.status : undefined;
    if (forced !== undefined) this.failuresLeft -= 1;
    if (forced === 500 || (forced === undefined && roll < serverErrorRate)) return this.send(call, errorAnswer(500, { ...XERO_ERRORS.internal }), this.limitHeaders());
    if (forced === 503 || (forced === undefined && roll < serverErrorRate + (this.faults.unavailableRate ?? 0))) {
      return this.send(call, errorAnswer(503, { ...XERO_ERRORS.unavailable }), { 'Retry-After': String(this.faults.retryAfterSeconds ?? 1), ...this.limitHeaders() });
    }
    if (this.gate) await this.gate;
    if (!route) return this.send(call, errorAnswer(404, { ...XERO_ERRORS.notFound }), this.limitHeaders());
    const [, id] = route;
    if (req.method === 'GET') {
      const ifModifiedSince = typeof req.headers['if-modified-since'] === 'string' ? req.headers['if-modified-since'] : undefined;
      return this.send(call, readJournals(this.routes, id === undefined ? undefined : decodeURIComponent(id), url.searchParams, ifModifiedSince), this.limitHeaders());
    }
    if ((req.method === 'PUT' || req.method === 'POST') && id === undefined) return this.write(call, req.method);
    return this.send(call, errorAnswer(501, { ...XERO_ERRORS.notImplemented }), this.limitHeaders());
  }

  /** 401 for a missing, wrong or expired token, 403 for a missing or unknown tenant: the identity layer's problem bodies [S]. */
  private authenticate(req: IncomingMessage, nowMs: number): SimAnswer | undefined {
    const problem = (status: number, detail: string) => ({ status, body: { Type: null, Title: status === 401 ? 'Unauthorized' : 'Forbidden', Status: status, Detail: detail, Instance: randomUuid(this.random), Extensions: {} } });
    if (req.headers.authorization !== `Bearer ${this.options.accessToken}`) return problem(401, 'AuthenticationUnsuccessful');
    if (this.options.tokenExpiresAtMs !== undefined && nowMs >= this.options.tokenExpiresAtMs) {
      return problem(401, `TokenExpired: token expired at ${new Date(this.options.tokenExpiresAtMs).toISOString()}`);
    }
    if (req.headers['xero-tenant-id'] !== this.options.tenantId) return problem(403, 'AuthenticationUnsuccessful');
    return undefined;
  }

  private async write(call: Call, method: 'PUT' | 'POST'): Promise<void> {
    const key = typeof call.req.headers['idempotency-key'] === 'string' ? call.req.headers['idempotency-key'] : undefined;
    if (key === undefined) return this.deliver(call, writeJournals(this.routes, method, call.url.searchParams, call.body, undefined));
    if (key.length > IDEMPOTENCY_KEY_LENGTH_MAX) {
      return this.send(call, validationAnswer([`The Idempotency-Key header must be at most ${IDEMPOTENCY_KEY_LENGTH_MAX} characters.`]), this.limitHeaders());
    }
    const release = await this.idempotency.acquire(key);
    try {
      const fingerprint = fingerprintOf(method, call.url.pathname, call.url.searchParams, tryParse(call.body));
      const recall = this.idempotency.recall(key, fingerprint, this.now());
      const mode = this.idempotency.settings.onBodyMismatch;
      if (recall.kind === 'replay' || (recall.kind === 'mismatch' && mode === 'replay')) {
        this.replays += 1;
        return this.sendText(call, recall.answer.status, recall.answer.body, this.limitHeaders());
      }
      if (recall.kind === 'mismatch' && mode === 'reject') {
        return this.send(call, validationAnswer([`Idempotency-Key '${key}' was already used with a different request. Send a new request with a new key.`]), this.limitHeaders());
      }
      const answer = writeJournals(this.routes, method, call.url.searchParams, call.body, key);
      this.idempotency.remember(key, fingerprint, { status: answer.status, body: stringifyJson(answer.body) }, this.now());
      this.deliver(call, answer);
    } finally {
      release();
    }
  }

  /** Sends a write's answer, unless a timeout-after-commit fault keeps it. */
  private deliver(call: Call, answer: SimAnswer): void {
    if (answer.committed && this.random() < (this.faults.timeoutAfterCommitRate ?? 0)) {
      if (this.options.recordTraffic) this.recorded.push({ request: call.record });
      return this.holdSocket(call.req.socket);
    }
    this.send(call, answer, this.limitHeaders());
  }

  private limitHeaders(): Record<string, string> {
    const remaining = this.limiter.remaining(this.now());
    return { 'X-DayLimit-Remaining': String(remaining.day), 'X-MinLimit-Remaining': String(remaining.minute), 'X-AppMinLimit-Remaining': String(remaining.appMinute) };
  }

  private enterFlight(res: ServerResponse): void {
    this.limiter.inFlight += 1;
    res.once('close', () => (this.limiter.inFlight -= 1));
    for (let i = this.inFlightWaiters.length - 1; i >= 0; i--) {
      const waiter = this.inFlightWaiters[i];
      if (this.limiter.inFlight >= waiter.count) {
        this.inFlightWaiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  private holdSocket(socket: Socket): void {
    const holdMs = this.faults.holdMs ?? 30_000;
    if (holdMs <= 0) {
      socket.destroy();
      return;
    }
    const timer = setTimeout(() => socket.destroy(), holdMs);
    this.held.set(socket, timer);
    socket.once('close', () => {
      clearTimeout(this.held.get(socket));
      this.held.delete(socket);
    });
  }

  private send(call: Call, answer: SimAnswer, headers: Record<string, string> = {}): void {
    this.sendText(call, answer.status, answer.body === undefined ? '' : stringifyJson(answer.body), headers);
  }

  private sendText(call: Call, status: number, text: string, headers: Record<string, string>): void {
    const all = { ...(text !== '' && { 'Content-Type': 'application/json; charset=utf-8' }), ...headers };
    this.answers[status] = (this.answers[status] ?? 0) + 1;
    if (this.options.recordTraffic) this.recorded.push({ request: call.record, response: { status, headers: lowerKeys(all), body: text } });
    if (call.res.destroyed) return;
    call.res.writeHead(status, all);
    call.res.end(text);
  }
}

function tryParse(text: string): unknown {
  try {
    return parseJsonExact(text);
  } catch {
    return text;
  }
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
