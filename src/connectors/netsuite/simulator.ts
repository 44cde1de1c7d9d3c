/**
 * An offline NetSuite: a real HTTP server with its own journalEntry ledger, NetSuite's error
 * envelope and concurrency limit, and seeded faults (timeouts after commit, 429 bursts,
 * maintenance windows, rejected references). Same seed and same request order, same answers.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { formatAmount } from '../../domain/money.ts';
import { EXTERNAL_ID_PATTERN, fromNetSuiteJournal, NetSuiteShapeError, type NormalizedNetSuiteJournal } from './mapping.ts';

export interface Faults {
  /** Probability that a committed write is never answered: the socket is held, then destroyed after holdMs. */
  readonly timeoutAfterCommitRate?: number;
  readonly holdMs?: number;
  /** Probability that a request starts a burst of 429s (Retry-After: 1) lasting burstLength requests. */
  readonly rateLimitBurstRate?: number;
  readonly burstLength?: number;
  /** Epoch-ms windows during which every record request gets 503. */
  readonly maintenanceWindows?: readonly { readonly fromMs: number; readonly toMs: number }[];
  /** Probability that a journal is rejected naming one of its accounts; the same external id always gets the same verdict. */
  readonly invalidReferenceRate?: number;
}

export interface NetSuiteSimulatorOptions {
  /** 0 picks a free port. */
  readonly port?: number;
  readonly token: string;
  readonly seed: number;
  readonly concurrencyLimit?: number;
  readonly subsidiaries: readonly string[];
  readonly accounts: readonly string[];
  readonly departments: readonly string[];
  readonly employees: readonly string[];
  readonly inactive?: { readonly accounts?: readonly string[]; readonly departments?: readonly string[]; readonly employees?: readonly string[] };
  readonly faults?: Faults;
  readonly latencyMs?: number;
  /** The clock for maintenance windows; defaults to Date.now. */
  readonly now?: () => number;
}

export interface SimStats {
  readonly documents: number;
  readonly externalIds: number;
  /** External ids holding more than one document: duplicates a naive integration produced. */
  readonly duplicateExternalIds: number;
  readonly requests: number;
  /** Error answers by HTTP status. */
  readonly rejected: Readonly<Record<string, number>>;
}

export interface SimDocument extends Omit<NormalizedNetSuiteJournal, 'externalId'> {
  readonly id: string;
  readonly externalId: string | null;
}

export interface NetSuiteSimulator {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
  stats(): SimStats;
  setFaults(faults: Faults): void;
}

const RECORD_PREFIX = '/services/rest/record/v1';
const DEFAULT_CONCURRENCY_LIMIT = 15;
const DEFAULT_HOLD_MS = 30_000;
const DEFAULT_BURST_LENGTH = 5;

const STATUS_TITLES: Readonly<Record<number, readonly [string, string]>> = {
  400: ['Bad Request', 'https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.1'],
  401: ['Unauthorized', 'https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.2'],
  404: ['Not Found', 'https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.5'],
  405: ['Method Not Allowed', 'https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.6'],
  429: ['Too Many Requests', 'https://tools.ietf.org/html/rfc6585#section-4'],
  500: ['Internal Server Error', 'https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.5.1'],
  503: ['Service Unavailable', 'https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.5.4'],
};

/** A rejection the simulator answers with NetSuite's error envelope. */
interface Rejection {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly path?: string;
  readonly retryAfterSeconds?: number;
}

/** mulberry32: a tiny seeded PRNG, enough for reproducible fault injection. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A number in [0, 1) fixed by (seed, text): FNV-1a of the text, then one mulberry32 step. */
function hashUnit(seed: number, text: string): number {
  let hash = 0x811c9dc5 ^ seed;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return createRandom(hash)();
}

export function buildEnvelope(rejection: Rejection): object {
  const [title, type] = STATUS_TITLES[rejection.status] ?? ['Error', 'about:blank'];
  return {
    type,
    title,
    status: rejection.status,
    'o:errorDetails': [{ detail: rejection.detail, 'o:errorCode': rejection.code, ...(rejection.path !== undefined && { 'o:errorPath': rejection.path }) }],
  };
}

/** Renders a stored document as NetSuite returns it on GET (sublist expanded inline). */
function renderRecord(document: SimDocument): object {
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
        ...(line.debitMinor > 0 && { debit: Number(formatAmount(line.debitMinor, document.currency)) }),
        ...(line.creditMinor > 0 && { credit: Number(formatAmount(line.creditMinor, document.currency)) }),
        memo: line.memo,
        ...(line.departmentId !== undefined && { department: { id: line.departmentId } }),
        ...(line.entityId !== undefined && { entity: { id: line.entityId } }),
        ...(line.taxCodeId !== undefined && { taxCode: { id: line.taxCodeId } }),
      })),
    },
  };
}

export async function startNetSuiteSimulator(options: NetSuiteSimulatorOptions): Promise<NetSuiteSimulator> {
  const ledger = createLedger(options);
  const random = createRandom(options.seed);
  const now = options.now ?? Date.now;
  const concurrencyLimit = options.concurrencyLimit ?? DEFAULT_CONCURRENCY_LIMIT;
  const held = new Map<Socket, NodeJS.Timeout>();
  let faults: Faults = options.faults ?? {};
  let inFlight = 0;
  let burstLeft = 0;
  let requests = 0;
  const rejected: Record<string, number> = {};
  let url = '';

  function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    if (status >= 400) rejected[status] = (rejected[status] ?? 0) + 1;
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { ...(body !== undefined && { 'Content-Type': 'application/json' }), ...headers });
    res.end(text);
  }

  function reject(res: ServerResponse, rejection: Rejection): void {
    const headers: Record<string, string> = rejection.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(rejection.retryAfterSeconds) };
    send(res, rejection.status, buildEnvelope(rejection), headers);
  }

  /** Checks that apply to every record request, in the order NetSuite's front door would apply them. */
  function admit(req: IncomingMessage): Rejection | undefined {
    const nowMs = now();
    const window = (faults.maintenanceWindows ?? []).find((w) => nowMs >= w.fromMs && nowMs < w.toMs);
    if (window) {
      const retryAfterSeconds = Math.max(1, Math.ceil((window.toMs - nowMs) / 1000));
      return { status: 503, code: 'SERVICE_UNAVAILABLE', detail: 'NetSuite is down for scheduled maintenance.', retryAfterSeconds };
    }
    if (req.headers.authorization !== `Bearer ${options.token}`) {
      return { status: 401, code: 'INVALID_LOGIN', detail: 'Invalid login attempt. For more details, see the Login Audit Trail.' };
    }
    // NetSuite sends no Retry-After on a concurrency rejection (as far as anyone has documented).
    if (inFlight >= concurrencyLimit) {
      return { status: 429, code: 'CONCURRENCY_LIMIT_EXCEEDED', detail: `More than ${concurrencyLimit} requests are in flight for this account.` };
    }
    if (burstLeft === 0 && random() < (faults.rateLimitBurstRate ?? 0)) burstLeft = faults.burstLength ?? DEFAULT_BURST_LENGTH;
    if (burstLeft > 0) {
      burstLeft -= 1;
      return { status: 429, code: 'REQUEST_LIMIT_EXCEEDED', detail: 'Too many requests; try again later.', retryAfterSeconds: 1 };
    }
    return undefined;
  }

  function hold(req: IncomingMessage): void {
    const socket = req.socket;
    const timer = setTimeout(() => socket.destroy(), faults.holdMs ?? DEFAULT_HOLD_MS);
    held.set(socket, timer);
    socket.once('close', () => {
      clearTimeout(held.get(socket));
      held.delete(socket);
    });
  }

  async function handleRecord(req: IncomingMessage, res: ServerResponse, path: string, body: string): Promise<void> {
    requests += 1;
    const rejection = admit(req);
    if (rejection) return reject(res, rejection);
    inFlight += 1;
    res.once('close', () => (inFlight -= 1));
    if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
    const route = /^\/journalEntry(?:\/(eid:)?([^/]+))?$/.exec(path);
    if (!route) return reject(res, { status: 404, code: 'NONEXISTENT_ID', detail: `The record type or path ${path} does not exist.` });
    const [, eid, key] = route;
    if (req.method === 'GET' && key !== undefined) {
      const document = eid ? ledger.findByExternalId(key) : ledger.findById(key);
      if (!document) return reject(res, { status: 404, code: 'NONEXISTENT_ID', detail: `The record instance ${eid ?? ''}${key} does not exist.` });
      return send(res, 200, renderRecord(document));
    }
    const isUpsert = req.method === 'PUT' && eid !== undefined;
    const isCreate = req.method === 'POST' && key === undefined;
    if (!isUpsert && !isCreate) {
      return reject(res, { status: 405, code: 'METHOD_NOT_ALLOWED', detail: `${req.method} is not supported on ${path}; upsert only works with PUT and eid:.` });
    }
    const result = ledger.write(body, isUpsert ? key : undefined, faults.invalidReferenceRate ?? 0);
    if ('status' in result) return reject(res, result);
    if (random() < (faults.timeoutAfterCommitRate ?? 0)) return hold(req);
    send(res, 204, undefined, { Location: `${url}${RECORD_PREFIX}/journalEntry/${result.id}` });
  }

  async function handleAdmin(res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    if (path === '/__sim/stats') return send(res, 200, stats());
    if (path === '/__sim/documents') return send(res, 200, ledger.listByExternalId(query.get('externalId') ?? ''));
    if (path === '/__sim/ledger') return send(res, 200, ledger.list());
    send(res, 404, { error: `No simulator route ${path}` });
  }

  function stats(): SimStats {
    return { ...ledger.count(), requests, rejected: { ...rejected } };
  }

  const server = createServer((req, res) => {
    void readBody(req)
      .then((body) => {
        const parsed = new URL(req.url ?? '/', 'http://simulator');
        if (parsed.pathname.startsWith('/__sim/')) return handleAdmin(res, parsed.pathname, parsed.searchParams);
        if (!parsed.pathname.startsWith(`${RECORD_PREFIX}/`)) {
          return reject(res, { status: 404, code: 'NONEXISTENT_ID', detail: `The path ${parsed.pathname} does not exist.` });
        }
        return handleRecord(req, res, parsed.pathname.slice(RECORD_PREFIX.length), body);
      })
      .catch((error: unknown) => {
        if (!res.headersSent && !res.destroyed) send(res, 500, buildEnvelope({ status: 500, code: 'UNEXPECTED_ERROR', detail: String(error) }));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  url = `http://127.0.0.1:${port}`;

  async function close(): Promise<void> {
    for (const [socket, timer] of held) {
      clearTimeout(timer);
      socket.destroy();
    }
    held.clear();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  return { url, port, close, stats, setFaults: (next) => (faults = next) };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

interface Ledger {
  write(body: string, externalIdFromUrl: string | undefined, invalidReferenceRate: number): SimDocument | Rejection;
  findById(id: string): SimDocument | undefined;
  findByExternalId(externalId: string): SimDocument | undefined;
  listByExternalId(externalId: string): SimDocument[];
  list(): SimDocument[];
  count(): Pick<SimStats, 'documents' | 'externalIds' | 'duplicateExternalIds'>;
}

function createLedger(options: NetSuiteSimulatorOptions): Ledger {
  const documents = new Map<string, SimDocument>();
  const idsByExternalId = new Map<string, string[]>();
  let nextId = 1;
  const active = (all: readonly string[], inactive: readonly string[] = []) => new Set(all.filter((id) => !inactive.includes(id)));
  const subsidiaries = active(options.subsidiaries);
  const accounts = active(options.accounts, options.inactive?.accounts);
  const departments = active(options.departments, options.inactive?.departments);
  const employees = active(options.employees, options.inactive?.employees);

  function checkReferences(journal: NormalizedNetSuiteJournal): Rejection | undefined {
    const invalid = (id: string, field: string, path: string): Rejection => ({
      status: 400,
      code: 'INVALID_CONTENT',
      detail: `Invalid value ${id} for field ${field}`,
      path,
    });
    if (!subsidiaries.has(journal.subsidiaryId)) return invalid(journal.subsidiaryId, 'subsidiary', 'subsidiary');
    for (const [index, line] of journal.lines.entries()) {
      const path = `line.items[${index}]`;
      if (!accounts.has(line.accountId)) return invalid(line.accountId, 'account', `${path}.account`);
      if (line.departmentId !== undefined && !departments.has(line.departmentId)) return invalid(line.departmentId, 'department', `${path}.department`);
      if (line.entityId !== undefined && !employees.has(line.entityId)) return invalid(line.entityId, 'entity', `${path}.entity`);
    }
    return undefined;
  }

  function validate(body: string, externalIdFromUrl: string | undefined, invalidReferenceRate: number): NormalizedNetSuiteJournal | Rejection {
    const invalid = (detail: string, path?: string): Rejection => ({ status: 400, code: 'INVALID_CONTENT', detail, ...(path !== undefined && { path }) });
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return invalid('The request body is not valid JSON.');
    }
    if (typeof parsed !== 'object' || parsed === null) return invalid('The request body must be a JSON object.');
    const externalId = externalIdFromUrl ?? (parsed as { externalId?: unknown }).externalId ?? '';
    if (typeof externalId !== 'string' || (externalId !== '' && !EXTERNAL_ID_PATTERN.test(externalId))) {
      return invalid(`Invalid value ${String(externalId)} for field externalId: use only letters, digits, _ and -.`, 'externalId');
    }
    let journal: NormalizedNetSuiteJournal;
    try {
      journal = fromNetSuiteJournal({ ...parsed, externalId });
    } catch (error) {
      if (error instanceof NetSuiteShapeError) return invalid(error.detail, error.path);
      throw error;
    }
    const debitMinor = journal.lines.reduce((sum, line) => sum + BigInt(line.debitMinor), 0n);
    const creditMinor = journal.lines.reduce((sum, line) => sum + BigInt(line.creditMinor), 0n);
    if (debitMinor !== creditMinor) {
      const amounts = `debits ${formatAmount(Number(debitMinor), journal.currency)}, credits ${formatAmount(Number(creditMinor), journal.currency)}`;
      return invalid(`The transaction is out of balance (${amounts}).`, 'line.items');
    }
    const referenceRejection = checkReferences(journal);
    if (referenceRejection) return referenceRejection;
    if (externalId !== '' && hashUnit(options.seed, externalId) < invalidReferenceRate) {
      const index = Math.floor(hashUnit(options.seed + 1, externalId) * journal.lines.length);
      return invalid(`Invalid value ${journal.lines[index].accountId} for field account`, `line.items[${index}].account`);
    }
    return journal;
  }

  return {
    write(body, externalIdFromUrl, invalidReferenceRate) {
      const journal = validate(body, externalIdFromUrl, invalidReferenceRate);
      if ('status' in journal) return journal;
      const externalId = journal.externalId === '' ? null : journal.externalId;
      // Upsert updates the first document holding the external id; POST always adds one.
      const existingId = externalIdFromUrl === undefined || externalId === null ? undefined : idsByExternalId.get(externalId)?.[0];
      const id = existingId ?? String(nextId++);
      const document: SimDocument = { ...journal, id, externalId };
      documents.set(id, document);
      if (existingId === undefined && externalId !== null) idsByExternalId.set(externalId, [...(idsByExternalId.get(externalId) ?? []), id]);
      return document;
    },
    findById: (id) => documents.get(id),
    findByExternalId: (externalId) => documents.get(idsByExternalId.get(externalId)?.[0] ?? ''),
    listByExternalId: (externalId) => (idsByExternalId.get(externalId) ?? []).map((id) => documents.get(id) as SimDocument),
    list: () => [...documents.values()],
    count: () => ({
      documents: documents.size,
      externalIds: idsByExternalId.size,
      duplicateExternalIds: [...idsByExternalId.values()].filter((ids) => ids.length > 1).length,
    }),
  };
}
