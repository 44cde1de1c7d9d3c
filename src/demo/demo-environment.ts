/**
 * Starts the reference scenario on one machine: a NetSuite simulator on its own port, the hub
 * (store, workers, HTTP API on a random port) wired to it, and an API key for the expense-platform
 * simulator. Used by `finsync demo`, the simulation tests and the pipeline benchmark.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { Logger } from 'pino';
import pino from 'pino';
import { createHub, type Hub } from '../compose.ts';
import type { Config } from '../config.ts';
import { createNetSuiteConnector } from '../connectors/netsuite/client.ts';
import type { TargetConnector } from '../connectors/contract.ts';
import { startNetSuiteSimulator, type Faults, type NetSuiteSimulator } from '../connectors/netsuite/simulator.ts';
import type { FinishedPosting } from '../pipeline/finish-posting.ts';
import { dropPostgresSchema, openStore, type Store } from '../store/db.ts';
import { createApiKey } from '../store/api-keys.ts';
import { SAMPLE_COMPANY, SAMPLE_MAPPINGS, SAMPLE_TARGET } from './sample-company.ts';

export interface DemoEnvironment {
  readonly hub: Hub;
  readonly simulator: NetSuiteSimulator;
  readonly apiUrl: string;
  readonly apiKey: string;
  /** The connector the hub posts through (as wrapped, if a wrapper was given). */
  readonly connector: TargetConnector;
  close(): Promise<void>;
}

export interface EnvironmentOptions {
  readonly config: Config;
  readonly seed: number;
  readonly faults?: Faults;
  /** Where the data goes: a fresh SQLite file or a fresh PostgreSQL schema, removed on close unless kept. */
  readonly storage: { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string; schema: string };
  readonly keep?: boolean;
  readonly logger?: Logger;
  readonly connectorConcurrency?: number;
  readonly onPostingEnd?: (end: FinishedPosting) => void;
  /** Lets simulations put a fault-injecting decorator around the connector (e.g. a worker crash after send). */
  readonly wrapConnector?: (connector: TargetConnector) => TargetConnector;
}

export async function startDemoEnvironment(options: EnvironmentOptions): Promise<DemoEnvironment> {
  const token = randomBytes(16).toString('hex');
  const company = SAMPLE_COMPANY;
  const simulator = await startNetSuiteSimulator({
    port: 0,
    token,
    seed: options.seed,
    concurrencyLimit: 15,
    subsidiaries: company.entities.map((e) => e.erpSubsidiaryId),
    accounts: company.glAccounts.map((a) => a.erpId),
    departments: company.costCenters.map((c) => c.erpId),
    employees: company.employees.map((e) => e.erpId),
    ...(options.faults && { faults: options.faults }),
  });
  const store: Store =
    options.storage.kind === 'sqlite'
      ? await openStore({ kind: 'sqlite', file: options.storage.file })
      : await openStore({ kind: 'postgres', url: options.storage.url, schema: options.storage.schema, poolSize: 10 });
  const plainConnector = createNetSuiteConnector({
    target: SAMPLE_TARGET,
    baseUrl: simulator.url,
    token,
    maxConcurrency: options.connectorConcurrency ?? options.config.netsuiteConcurrency,
    requestTimeoutMs: options.config.requestTimeoutMs,
  });
  const connector = options.wrapConnector ? options.wrapConnector(plainConnector) : plainConnector;
  const hub = await createHub({
    config: options.config,
    company,
    seedMasterData: true,
    mappings: SAMPLE_MAPPINGS,
    connectors: [connector],
    store,
    logger: options.logger ?? pino({ level: 'silent' }),
    ...(options.onPostingEnd && { onPostingEnd: options.onPostingEnd }),
  });
  const apiUrl = await hub.app.listen({ port: 0, host: '127.0.0.1' });
  hub.startWorkers();
  const { key } = await createApiKey(store.db, 'demo', Date.now());
  return {
    hub,
    simulator,
    apiUrl,
    apiKey: key,
    connector,
    async close() {
      await hub.close();
      await store.close();
      await simulator.close();
      if (options.keep) return;
      if (options.storage.kind === 'sqlite') {
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${options.storage.file}${suffix}`, { force: true });
      } else {
        await dropPostgresSchema(options.storage.url, options.storage.schema);
      }
    },
  };
}
