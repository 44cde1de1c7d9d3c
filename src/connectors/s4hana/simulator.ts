/**
 * An offline SAP S/4HANA Cloud: a real HTTP server (127.0.0.1, port 0 by default) with the two
 * inbound Journal Entry SOAP services (sync: the confirmation is the answer; async: HTTP 202, the
 * confirmation is POSTed to a callback URL later), the OData read service of journal entry items,
 * basic auth for one communication user, a ledger with master data per company code
 * (simulator-ledger.ts), the duplicate behaviours the contract leaves open [U], and seeded faults:
 * timeouts after commit, 500s, 429 bursts, maintenance windows (503), lock conflicts, lost
 * confirmations and a logon page answered instead of SOAP. Same seed and same request order, same
 * answers. A programmatic API lets tests inspect and change it.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createRandom } from '../../simulation/seeded-random.ts';
import { buildBulkConfirmation } from './confirmation.ts';
import { ASYNC_PATH, parseBulkRequestContent, SYNC_PATH, type S4BulkRequest } from './mapping.ts';
import { JOURNAL_ITEM_ENTITY_SET, JOURNAL_ITEM_SERVICE_PATH } from './odata.ts';
import { AsyncDelivery, type DeliveryStats } from './simulator-async.ts';
import { S4SimLedger, type DuplicateHandling, type S4CompanyCode, type S4SimDocument } from './simulator-ledger.ts';
import { answerQuery, documentRows, odataError, type ODataAnswer } from './simulator-odata.ts';
import { readSoapBody, renderXml, SFIN_NAMESPACE, SOAP_ENVELOPE_NAMESPACE } from './xml.ts';
import { closeServer, listenLocal } from '../../simulation/http-server.ts';

export type { DuplicateHandling, S4CompanyCode, S4SimDocument, S4SimItem } from './simulator-ledger.ts';
export { SIM_MESSAGES } from './simulator-ledger.ts';

export interface MaintenanceWindow {
  readonly fromMs: number;
  readonly toMs: number;
}

export interface S4Faults {
  /** Sync: probability that committed documents are never answered: the socket is held, then destroyed after holdMs. */
  readonly timeoutAfterCommitRate?: number;
  readonly holdMs?: number;
  /** Probability of an HTTP 500 SOAP Server fault before anything is committed. */
  readonly serverErrorRate?: number;
  /** Probability that a request starts a burst of 429s (Retry-After: 1) lasting burstLength requests [U]. */
  readonly rateLimitBurstRate?: number;
  readonly burstLength?: number;
  /** Epoch-ms windows during which every request gets 503 with Retry-After. */
  readonly maintenanceWindows?: readonly MaintenanceWindow[];
  /** Probability that a document is refused with a lock conflict (severity 3, nothing posted). */
  readonly lockedRate?: number;
  /** Async: probability that a processed message's confirmation is never sent. */
  readonly confirmationLossRate?: number;
  /** Probability of an HTTP 200 HTML logon page instead of SOAP (a proxy in front of S/4HANA), nothing processed. */
  readonly logonPageRate?: number;
}

export interface S4HanaSimulatorOptions {
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  readonly user: string;
  readonly password: string;
  /** What the communication user may not do: 403 on posting or on reading. */
  readonly forbidden?: readonly ('post' | 'read')[];
  readonly companyCodes: readonly S4CompanyCode[];
  readonly seed?: number;
  /** Default `accept` (README: the [U] choices). */
  readonly duplicateHandling?: DuplicateHandling;
  /** Where async confirmations are POSTed; without one they are never sent. */
  readonly callbackUrl?: string;
  /** Attempts per confirmation before giving up; default 5. */
  readonly callbackAttemptsMax?: number;
  readonly callbackRetryDelayMs?: number;
  /** Delay between the acknowledgement and processing; default 5 ms. */
  readonly asyncProcessingDelayMs?: number;
  readonly faults?: S4Faults;
  /** The clock for maintenance windows and message timestamps; default Date.now. */
  readonly now?: () => number;
  readonly syncPath?: string;
  readonly asyncPath?: string;
  /** Ledgers every item is recorded in (OData rows per ledger); default ['0L']. */
  readonly ledgers?: readonly string[];
  /** OData prints numeric G/L accounts with leading zeros (10 digits) [U]; default false. */
  readonly glAccountLeadingZeros?: boolean;
  /** Rows per OData answer before the server cuts the page and sends __next; default 1000 [M]. */
  readonly odataPageSizeMax?: number;
}

export interface S4SimStats extends DeliveryStats {
  readonly requests: number;
  readonly documents: number;
  /** References (DocumentReferenceID + AssignmentReference) holding more than one document. */
  readonly duplicateReferences: number;
  /** Async messages discarded as repeats (drop-repeated-async). */
  readonly droppedMessages: number;
  /** Error answers by HTTP status. */
  readonly rejected: Readonly<Record<string, number>>;
}

export interface S4HanaSimulator {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
  stats(): S4SimStats;
  setFaults(faults: S4Faults): void;
  /** Starts (a window) or ends (null) a maintenance window. */
  setMaintenance(window: MaintenanceWindow | null): void;
  setDuplicateHandling(handling: DuplicateHandling): void;
  /** Every document posted, in posting order. */
  documents(): S4SimDocument[];
  /** Removes a document by `<CompanyCode>/<AccountingDocument>/<FiscalYear>`; false when there is none. */
  removeDocument(documentId: string): boolean;
  /** Holds accepted async messages in the inbound queue until resumeAsync(). */
  pauseAsync(): void;
  resumeAsync(): void;
  /** Resolves when no async message is being processed or its confirmation delivered. */
  settled(): Promise<void>;
}

const DEFAULT_HOLD_MS = 30_000;

export async function startS4HanaSimulator(options: S4HanaSimulatorOptions): Promise<S4HanaSimulator> {
  const simulator = new SimulatorServer(options);
  const port = await simulator.listen(options.port ?? 0);
  return {
    url: simulator.url,
    port,
    close: () => simulator.close(),
    stats: () => simulator.stats(),
    setFaults: (faults) => void (simulator.faults = faults),
    setMaintenance: (window) => void (simulator.faults = { ...simulator.faults, maintenanceWindows: window === null ? [] : [window] }),
    setDuplicateHandling: (handling) => void (simulator.ledger.duplicateHandling = handling),
    documents: () => simulator.ledger.list(),
    removeDocument: (documentId) => simulator.ledger.remove(documentId),
    pauseAsync: () => simulator.delivery.pause(),
    resumeAsync: () => simulator.delivery.resume(),
    settled: () => simulator.delivery.settled(),
  };
}

class SimulatorServer {
  url = '';
  faults: S4Faults;
  readonly ledger: S4SimLedger;
  readonly delivery: AsyncDelivery;
  private readonly server: Server;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly held = new Map<Socket, NodeJS.Timeout>();
  private readonly seenAsyncMessages = new Set<string>();
  private readonly rejected: Record<string, number> = {};
  private readonly odataPath: string;
  private requests = 0;
  private dropped = 0;
  private burstLeft = 0;

  constructor(private readonly options: S4HanaSimulatorOptions) {
    this.faults = options.faults ?? {};
    this.now = options.now ?? Date.now;
    this.random = createRandom(options.seed ?? 1);
    this.ledger = new S4SimLedger(options.companyCodes, options.duplicateHandling ?? 'accept');
    this.delivery = new AsyncDelivery({ callbackUrl: options.callbackUrl, processingDelayMs: options.asyncProcessingDelayMs ?? 5, attemptsMax: options.callbackAttemptsMax ?? 5, retryDelayMs: options.callbackRetryDelayMs ?? 20 });
    this.odataPath = `${JOURNAL_ITEM_SERVICE_PATH}/${JOURNAL_ITEM_ENTITY_SET}`;
    this.server = createServer((req, res) => {
      this.dispatch(req, res).catch((error: unknown) => {
        if (!res.headersSent && !res.destroyed) this.soapFault(res, 'Server', `Internal error in the simulator: ${String(error)}`);
      });
    });
  }

  async listen(port: number): Promise<number> {
    const bound = await listenLocal(this.server, port);
    this.url = bound.url;
    return bound.port;
  }

  async close(): Promise<void> {
    this.delivery.close();
    await closeServer(this.server, this.held);
  }

  stats(): S4SimStats {
    const documents = this.ledger.list();
    const byReference = new Map<string, number>();
    for (const document of documents) {
      const reference = `${document.documentReferenceId}${document.items[0]?.assignmentReference ?? ''}`;
      byReference.set(reference, (byReference.get(reference) ?? 0) + 1);
    }
    return {
      ...this.delivery.counts(),
      requests: this.requests,
      documents: documents.length,
      duplicateReferences: [...byReference.values()].filter((count) => count > 1).length,
      droppedMessages: this.dropped,
      rejected: { ...this.rejected },
    };
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', this.url);
    this.requests++;
    const soapPaths = [this.options.syncPath ?? SYNC_PATH, this.options.asyncPath ?? ASYNC_PATH];
    const isSoap = soapPaths.includes(url.pathname);
    const isRead = url.pathname === this.odataPath;
    if (!isSoap && !isRead) return this.html(res, 404, 'Not Found', `The requested resource ${url.pathname} does not exist on this server.`);
    if (this.rejectAtTheDoor(req, res, isSoap ? 'post' : 'read')) return;
    if (isRead) {
      if (req.method !== 'GET') return this.json(res, odataError(405, '/IWBEP/CM_MGW_RT/020', `${req.method} is not allowed on ${JOURNAL_ITEM_ENTITY_SET}; the entity set is read-only`));
      const rows = documentRows(this.ledger.list(), { ledgers: this.options.ledgers ?? ['0L'], glAccountLeadingZeros: this.options.glAccountLeadingZeros ?? false });
      return this.json(res, answerQuery(rows, url, this.options.odataPageSizeMax ?? 1000));
    }
    if (req.method !== 'POST') return this.soapFault(res, 'Client', `${req.method} is not supported; send the SOAP message with POST`);
    this.handleSoap(req, res, body, url.pathname === (this.options.asyncPath ?? ASYNC_PATH));
  }

  /** The checks in front of every service, in the order a gateway and the ICM apply them; true when it answered. */
  private rejectAtTheDoor(req: IncomingMessage, res: ServerResponse, action: 'post' | 'read'): boolean {
    const nowMs = this.now();
    const window = (this.faults.maintenanceWindows ?? []).find((w) => nowMs >= w.fromMs && nowMs < w.toMs);
    if (window) {
      this.html(res, 503, 'Service Unavailable', 'The system is down for planned maintenance. Please try again later.', { 'Retry-After': String(Math.max(1, Math.ceil((window.toMs - nowMs) / 1000))) });
      return true;
    }
    const expected = `Basic ${Buffer.from(`${this.options.user}:${this.options.password}`).toString('base64')}`;
    if (req.headers.authorization !== expected) {
      this.html(res, 401, 'Unauthorized', 'Logon failed: the user or password is not correct.', { 'WWW-Authenticate': 'Basic realm="SAP NetWeaver Application Server"' });
      return true;
    }
    if (this.options.forbidden?.includes(action)) {
      this.html(res, 403, 'Forbidden', `User ${this.options.user} is not authorized for this service (communication arrangement).`);
      return true;
    }
    if (this.burstLeft === 0 && this.random() < (this.faults.rateLimitBurstRate ?? 0)) this.burstLeft = this.faults.burstLength ?? 3;
    if (this.burstLeft > 0) {
      this.burstLeft--;
      this.html(res, 429, 'Too Many Requests', 'Too many requests; try again later.', { 'Retry-After': '1' });
      return true;
    }
    if (this.random() < (this.faults.logonPageRate ?? 0)) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end('<html><head><title>Logon</title></head><body><form method="post"><input name="j_username"/><input name="j_password" type="password"/></form></body></html>');
      return true;
    }
    return false;
  }

  private handleSoap(req: IncomingMessage, res: ServerResponse, body: string, isAsync: boolean): void {
    const soap = readSoapBody(body);
    if (typeof soap === 'string') return this.soapFault(res, 'Client', `The request cannot be read: ${soap}`);
    if (soap.name !== 'JournalEntryBulkCreateRequest' || soap.namespace !== SFIN_NAMESPACE) {
      return this.soapFault(res, 'Client', `No operation takes {${soap.namespace ?? ''}}${soap.name}`);
    }
    const request = parseBulkRequestContent(soap.element);
    if (typeof request === 'string') return this.soapFault(res, 'Client', `The request cannot be read: ${request}`);
    if (this.random() < (this.faults.serverErrorRate ?? 0)) return this.soapFault(res, 'Server', 'The application aborted (runtime error); nothing was posted');
    if (isAsync) return this.acceptAsync(res, request);
    const confirmation = this.process(request);
    if (this.random() < (this.faults.timeoutAfterCommitRate ?? 0)) return this.hold(req.socket);
    res.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' });
    res.end(confirmation);
  }

  private acceptAsync(res: ServerResponse, request: S4BulkRequest): void {
    const repeated = this.seenAsyncMessages.has(request.messageId);
    this.seenAsyncMessages.add(request.messageId);
    if (repeated && this.ledger.duplicateHandling === 'drop-repeated-async') {
      this.dropped++;
    } else {
      // Draw the loss now, so the fate of a message depends on the request order only.
      const lost = this.random() < (this.faults.confirmationLossRate ?? 0);
      this.delivery.enqueue(() => {
        const confirmation = this.process(request);
        return lost ? undefined : confirmation;
      });
    }
    res.writeHead(202);
    res.end();
  }

  /** Processes every document of a request and answers the confirmation XML. */
  private process(request: S4BulkRequest): string {
    const documents = request.entries.map((entry) => this.ledger.process(entry, this.random() < (this.faults.lockedRate ?? 0)));
    return buildBulkConfirmation({ referenceId: request.messageId, creationDateTime: new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'), documents, uuidOf });
  }

  /** The documents are committed but the answer never comes: the client times out or sees the socket cut. */
  private hold(socket: Socket): void {
    const timer = setTimeout(() => socket.destroy(), this.faults.holdMs ?? DEFAULT_HOLD_MS);
    this.held.set(socket, timer);
    socket.once('close', () => {
      clearTimeout(this.held.get(socket));
      this.held.delete(socket);
    });
  }

  private count(status: number): void {
    if (status >= 400) this.rejected[status] = (this.rejected[status] ?? 0) + 1;
  }

  private soapFault(res: ServerResponse, code: 'Client' | 'Server', detail: string): void {
    this.count(500);
    const stamp = new Date(this.now()).toISOString().replace(/\D/g, '').slice(0, 14);
    const faultstring = `Web service processing error; details are in the provider's web service error log (UTC timestamp ${stamp}; ${detail})`;
    res.writeHead(500, { 'Content-Type': 'text/xml; charset=utf-8' });
    res.end(renderXml({ 'soap-env:Envelope': { '@_xmlns:soap-env': SOAP_ENVELOPE_NAMESPACE, 'soap-env:Header': '', 'soap-env:Body': { 'soap-env:Fault': { faultcode: `soap-env:${code}`, faultstring: { '#text': faultstring, '@_xml:lang': 'en' }, detail: '' } } } }));
  }

  private html(res: ServerResponse, status: number, title: string, text: string, headers: Record<string, string> = {}): void {
    this.count(status);
    res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', ...headers });
    res.end(`<html><head><title>${status} ${title}</title></head><body><h1>${title}</h1><p>${text}</p></body></html>`);
  }

  private json(res: ServerResponse, answer: ODataAnswer): void {
    this.count(answer.status);
    res.writeHead(answer.status, { 'Content-Type': 'application/json; charset=utf-8', DataServiceVersion: '2.0' });
    res.end(JSON.stringify(answer.body));
  }
}

function uuidOf(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
