/**
 * A running reference scenario for pipeline tests: NetSuite simulator + hub on a fresh store,
 * with helpers to send events and to await conditions. Waiting re-checks its condition whenever a
 * posting ends (the lane's onPostingEnd signal), with a slow poll as a safety net.
 */
import { loadConfig, type Config } from '../../src/config.ts';
import type { TargetConnector } from '../../src/connectors/contract.ts';
import type { Faults } from '../../src/connectors/netsuite/simulator.ts';
import { startDemoEnvironment, type DemoEnvironment } from '../../src/demo/demo-environment.ts';
import { createTestStorage, type StoreKind } from './stores.ts';

export interface Harness extends DemoEnvironment {
  send(events: object | object[]): Promise<{ status: number; body: any }>;
  waitUntil(what: string, check: () => Promise<boolean>, timeoutMs?: number): Promise<void>;
  simDocuments(externalId: string): Promise<unknown[]>;
  simStats(): Promise<{ documents: number; duplicateExternalIds: number; externalIds: number }>;
}

export const FAST_CONFIG: Partial<Config> = {
  logLevel: 'silent',
  pollIntervalMs: 10,
  retryDelayMs: 20,
  retryDelayMsMax: 300,
  requestTimeoutMs: 1_000,
  leaseMs: 3_000,
  breakerHalfOpenAfterMs: 200,
  netsuiteConcurrency: 8,
};

export async function startHarness(kind: StoreKind, options: { seed?: number; faults?: Faults; config?: Partial<Config>; wrapConnector?: (c: TargetConnector) => TargetConnector; concurEntities?: readonly string[]; extraConnectors?: readonly TargetConnector[] } = {}): Promise<Harness> {
  const storage = createTestStorage(kind);
  const listeners = new Set<() => void>();
  const env = await startDemoEnvironment({
    config: loadConfig({}, { ...FAST_CONFIG, ...options.config }),
    seed: options.seed ?? 1,
    storage: storage.options,
    ...(options.faults && { faults: options.faults }),
    ...(options.wrapConnector && { wrapConnector: options.wrapConnector }),
    ...(options.concurEntities && { concurEntities: options.concurEntities }),
    ...(options.extraConnectors && { extraConnectors: options.extraConnectors }),
    onPostingEnd: () => listeners.forEach((l) => l()),
  });
  const close = env.close.bind(env);
  return {
    ...env,
    async close() {
      await close();
      await storage.cleanup();
    },
    async send(events) {
      const response = await fetch(`${env.apiUrl}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${env.apiKey}` },
        body: JSON.stringify(events),
      });
      return { status: response.status, body: await response.json() };
    },
    async waitUntil(what, check, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, 100);
          function done() {
            clearTimeout(timer);
            listeners.delete(done);
            resolve();
          }
          listeners.add(done);
        });
      }
    },
    async simDocuments(externalId) {
      return (await (await fetch(`${env.simulator.url}/__sim/documents?externalId=${encodeURIComponent(externalId)}`)).json()) as unknown[];
    },
    async simStats() {
      return (await (await fetch(`${env.simulator.url}/__sim/stats`)).json()) as { documents: number; duplicateExternalIds: number; externalIds: number };
    },
  };
}

/** The latest revision's state of a report, or undefined. */
export async function reportState(h: Harness, reportId: string): Promise<string | undefined> {
  const row = await h.hub.store.db
    .selectFrom('reports')
    .innerJoin('revisions', (j) => j.onRef('revisions.report_id', '=', 'reports.report_id').onRef('revisions.revision', '=', 'reports.latest_revision'))
    .select('revisions.state')
    .where('reports.report_id', '=', reportId)
    .executeTakeFirst();
  return row?.state;
}

export async function openPostings(h: Harness): Promise<number> {
  const row = await h.hub.store.db.selectFrom('postings').select((eb) => eb.fn.countAll<number>().as('n')).where('state', 'in', ['queued', 'posting']).executeTakeFirst();
  return Number(row?.n ?? 0);
}
