/**
 * An API-only hub for HTTP tests: a fresh store, no connectors, no workers, requests through
 * `app.inject()` (never listens). Postings stay queued, which is all the API tests need.
 */
import pino from 'pino';
import { createHub, type Hub } from '../../src/compose.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { generateReports, toCloudEvent, type SimulatedCloudEvent } from '../../src/demo/expense-platform.ts';
import { SAMPLE_COMPANY } from '../../src/demo/sample-company.ts';
import { sampleRuleFiles } from '../../src/demo/sample-rules.ts';
import type { ReportInput } from '../../src/domain/report.ts';
import type { RuleFileSource } from '../../src/mapping/rule-set.ts';
import { sql, type Store } from '../../src/store/db.ts';
import { createApiKey } from '../../src/store/api-keys.ts';
import { createTestStorage, type StoreKind, type TestStorage } from './stores.ts';

export const APPROVED_ON = new Date('2026-08-15T09:30:00.000Z');
export const EVENT_TIME = new Date('2026-08-15T09:31:00.000Z');

/** Tables an accepted event writes to; a refused request must leave every count unchanged. */
export const COUNTED_TABLES = ['inbox', 'event_log', 'reports', 'revisions', 'outbox', 'postings'] as const;
export type TableCounts = Record<(typeof COUNTED_TABLES)[number], number>;

export interface ApiResponse {
  readonly status: number;
  readonly body: any;
  readonly text: string;
  readonly headers: Record<string, unknown>;
}

export interface ApiHarness {
  readonly hub: Hub;
  readonly store: Store;
  readonly key: string;
  /** POST /v1/events with the key; a string or Buffer payload is sent as is, anything else as JSON. */
  postEvents(payload: unknown, options?: { contentType?: string; headers?: Record<string, string> }): Promise<ApiResponse>;
  get(url: string, options?: { key?: boolean }): Promise<ApiResponse>;
  /** POST a JSON body to any route, with the key unless `key: false`. */
  post(url: string, body: unknown, options?: { key?: boolean }): Promise<ApiResponse>;
  counts(): Promise<TableCounts>;
  close(): Promise<void>;
}

export interface ApiHarnessOptions {
  /** Rule sets installed as version 1 of their scopes; default: the sample company's (src/demo/rules/). */
  readonly ruleSets?: readonly RuleFileSource[];
}

export async function startApiHarness(kind: StoreKind, config: Partial<Config> = {}, options: ApiHarnessOptions = {}): Promise<ApiHarness> {
  const storage: TestStorage = createTestStorage(kind);
  const store = await storage.open();
  let hub: Hub | undefined;
  try {
    hub = await createHub({
      config: loadConfig({}, { logLevel: 'silent', pollIntervalMs: 10, ...config }),
      company: SAMPLE_COMPANY,
      seedMasterData: true,
      ruleSets: options.ruleSets ?? sampleRuleFiles(),
      connectors: [],
      store,
      logger: pino({ level: 'silent' }),
    });
  } catch (error) {
    await store.close();
    await storage.cleanup();
    throw error;
  }
  const { key } = await createApiKey(store.db, 'test', Date.now());
  const app = hub.app;
  const toResponse = (r: { statusCode: number; body: string; headers: Record<string, unknown> }): ApiResponse => {
    let body: unknown;
    try {
      body = JSON.parse(r.body);
    } catch {
      body = undefined;
    }
    return { status: r.statusCode, body, text: r.body, headers: r.headers };
  };
  const h: ApiHarness = {
    hub,
    store,
    key,
    async postEvents(payload, options = {}) {
      const raw = typeof payload === 'string' || Buffer.isBuffer(payload);
      const response = await app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: { 'content-type': options.contentType ?? 'application/json', authorization: `Bearer ${key}`, ...options.headers },
        payload: raw ? (payload as string | Buffer) : JSON.stringify(payload),
      });
      return toResponse(response);
    },
    async get(url, options = {}) {
      const response = await app.inject({ method: 'GET', url, headers: options.key === false ? {} : { authorization: `Bearer ${key}` } });
      return toResponse(response);
    },
    async post(url, body, options = {}) {
      const response = await app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json', ...(options.key === false ? {} : { authorization: `Bearer ${key}` }) },
        payload: JSON.stringify(body),
      });
      return toResponse(response);
    },
    async counts() {
      // One round trip: the fuzz tests count before and after every request.
      const query = `SELECT ${COUNTED_TABLES.map((t) => `(SELECT COUNT(*) FROM ${t}) AS ${t}`).join(', ')}`;
      const { rows } = await sql.raw<Record<string, number | string>>(query).execute(store.db);
      return Object.fromEntries(COUNTED_TABLES.map((t) => [t, Number(rows[0][t])])) as TableCounts;
    },
    async close() {
      try {
        await hub?.close();
      } finally {
        await store.close();
        await storage.cleanup();
      }
    },
  };
  return h;
}

/** One valid report (valid against the sample master data too), deterministic per seed. */
export function validReport(seed: number): ReportInput {
  const [report] = generateReports({ count: 1, seed, approvedOn: APPROVED_ON, invalidShare: 0 });
  return report;
}

/** The approved event of `validReport(seed)`, with a fixed event time so a resend is byte-identical. */
export function approvedEvent(seed: number, options: { source?: string; id?: string } = {}): SimulatedCloudEvent<ReportInput> {
  return toCloudEvent(validReport(seed), { type: 'approved', time: EVENT_TIME, ...options });
}

/** A deep copy that tests may mutate freely. */
export function clone<T>(value: T): T {
  return structuredClone(value);
}
