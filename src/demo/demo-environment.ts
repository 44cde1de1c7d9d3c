/**
 * Starts the reference scenario on one machine: a NetSuite simulator and an SAP Concur FIS
 * simulator on their own ports, the hub (store, workers, HTTP API on a random port) wired to both
 * (NetSuite as the ERP; Concur FIS as the source of the entities in `concurEntities`, pulled,
 * acknowledged and confirmed), and an API key for the CloudEvents expense-platform simulator. Used
 * by `finsync demo`, the simulation tests and the pipeline benchmark.
 *
 * Given `simulators`, it uses those instead of starting new ones and leaves them running on close:
 * a test restarts the hub on the same store and simulators, as after a crash.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { Logger } from 'pino';
import pino from 'pino';
import { createHub, type Hub, type HubOptions } from '../compose.ts';
import type { Config } from '../config.ts';
import { createNetSuiteConnector } from '../connectors/netsuite/client.ts';
import type { TargetConnector } from '../connectors/contract.ts';
import { startNetSuiteSimulator, type Faults, type NetSuiteSimulator } from '../connectors/netsuite/simulator.ts';
import { createConcurFisClient } from '../connectors/concur-fis/client.ts';
import { startConcurFisSimulator, type ConcurFisSimulator } from '../connectors/concur-fis/simulator.ts';
import type { FinishedPosting } from '../pipeline/finish-posting.ts';
import { dropPostgresSchema, openStore, type Store } from '../store/db.ts';
import { createApiKey } from '../store/api-keys.ts';
import { netsuiteMasterDataFromCompany } from '../connectors/netsuite/simulator-suiteql.ts';
import { seedCompany } from '../masterdata/hub.ts';
import { runSync, type SourceDefinition, type SyncResult } from '../masterdata/sources.ts';
import { SAMPLE_COMPANY, SAMPLE_TARGET } from './sample-company.ts';
import { sampleRuleFiles } from './sample-rules.ts';

/** The demo's master-data source: the NetSuite simulator's reference data, read through SuiteQL. */
export const DEMO_NETSUITE_SOURCE = 'netsuite';

export interface DemoSimulators {
  readonly netsuite: NetSuiteSimulator;
  readonly netsuiteToken: string;
  readonly concur: ConcurFisSimulator;
  readonly concurToken: string;
}

/** The systemId the demo's Concur connection sends. */
export const DEMO_CONCUR_SYSTEM_ID = 'finsync-demo';

export async function startDemoSimulators(seed: number, faults?: Faults): Promise<DemoSimulators> {
  const netsuiteToken = randomBytes(16).toString('hex');
  const concurToken = randomBytes(16).toString('hex');
  const netsuite = await startNetSuiteSimulator({
    port: 0,
    token: netsuiteToken,
    seed,
    concurrencyLimit: 15,
    // The ERP holds the company's reference data; the hub pulls it through SuiteQL.
    masterData: netsuiteMasterDataFromCompany(SAMPLE_COMPANY),
    ...(faults && { faults }),
  });
  const concur = await startConcurFisSimulator({ seed, tokens: { [concurToken]: ['FISVC', 'expense.report.read'] }, systemId: DEMO_CONCUR_SYSTEM_ID });
  return { netsuite, netsuiteToken, concur, concurToken };
}

export interface DemoEnvironment {
  readonly hub: Hub;
  readonly simulator: NetSuiteSimulator;
  readonly concur: ConcurFisSimulator;
  /** The token the hub's Concur connection uses (FISVC and expense report read). */
  readonly concurToken: string;
  readonly apiUrl: string;
  readonly apiKey: string;
  /** The connector the hub posts through (as wrapped, if a wrapper was given). */
  readonly connector: TargetConnector;
  /** Runs the NetSuite master-data source once (the hub also ran it at start). */
  syncMasterData(): Promise<SyncResult>;
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
  /** Simulators already running (a restart on the same store); they stay running on close. */
  readonly simulators?: DemoSimulators;
  /** Entities whose reports come through Concur FIS; default none (every report comes as CloudEvents). */
  readonly concurEntities?: readonly string[];
  /** More target connections beside the NetSuite simulator's (tests of routing and isolation). */
  readonly extraConnectors?: readonly TargetConnector[];
  readonly targetSettings?: HubOptions['targetSettings'];
}

export async function startDemoEnvironment(options: EnvironmentOptions): Promise<DemoEnvironment> {
  const company = SAMPLE_COMPANY;
  const simulators = options.simulators ?? (await startDemoSimulators(options.seed, options.faults));
  const { netsuite: simulator, netsuiteToken: token } = simulators;
  const closeSimulators = async () => {
    if (options.simulators) return;
    await simulator.close();
    await simulators.concur.close();
  };
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
  const sources: SourceDefinition[] = [
    { name: DEMO_NETSUITE_SOURCE, type: 'netsuite', url: simulator.url, subsidiaries: Object.fromEntries(company.entities.map((e) => [e.erpSubsidiaryId, e.code])) },
  ];
  const hub = await createHub({
    config: { ...options.config, netsuiteToken: token },
    company,
    sources,
    connectors: [connector, ...(options.extraConnectors ?? [])],
    ...(options.targetSettings && { targetSettings: options.targetSettings }),
    store,
    logger: options.logger ?? pino({ level: 'silent' }),
    ...(options.onPostingEnd && { onPostingEnd: options.onPostingEnd }),
    concurFis: {
      client: createConcurFisClient({ baseUrl: simulators.concur.url, token: simulators.concurToken, systemId: DEMO_CONCUR_SYSTEM_ID, requestTimeoutMs: options.config.requestTimeoutMs }),
      source: 'concur-fis',
      entities: options.concurEntities ?? [],
      pollIntervalMs: Math.max(options.config.pollIntervalMs, 50),
    },
  });
  let apiUrl: string;
  try {
    // finsync's own data (the expense policies) is loaded from the sample company; everything the
    // ERP holds comes from the ERP.
    await seedCompany(hub.masterData, { ...company, employees: [], costCenters: [], glAccounts: [], taxCodes: [], categories: [] });
    await runSync(hub.sync, DEMO_NETSUITE_SOURCE);
    // The sample company's rule sets (src/demo/rules/), installed once the accounts they name are known.
    await hub.governance.bootstrap(sampleRuleFiles(), 'finsync-demo');
    apiUrl = await hub.app.listen({ port: 0, host: '127.0.0.1' });
  } catch (error) {
    await hub.close();
    await store.close();
    await closeSimulators();
    throw error;
  }
  hub.startWorkers();
  const { key } = await createApiKey(store.db, 'demo', Date.now());
  return {
    hub,
    simulator,
    concur: simulators.concur,
    concurToken: simulators.concurToken,
    apiUrl,
    apiKey: key,
    connector,
    syncMasterData: () => runSync(hub.sync, DEMO_NETSUITE_SOURCE),
    async close() {
      await hub.close();
      await store.close();
      await closeSimulators();
      if (options.keep) return;
      if (options.storage.kind === 'sqlite') {
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${options.storage.file}${suffix}`, { force: true });
      } else {
        await dropPostgresSchema(options.storage.url, options.storage.schema);
      }
    },
  };
}
