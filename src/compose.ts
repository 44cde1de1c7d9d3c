/**
 * Wires config → store → connectors → pipeline → API. The CLI, the demo, the tests and the
 * benchmarks all build the hub here, so they run the same code path.
 */
import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './api/app.ts';
import type { Config } from './config.ts';
import type { TargetConnector } from './connectors/contract.ts';
import type { ReplayDeps } from './exceptions/replay.ts';
import { createGovernance, type Governance } from './mapping/governance.ts';
import { createMappingService, type MappingService } from './mapping/mapping-service.ts';
import { createMappingRegistry } from './mapping/registry.ts';
import type { RuleFileSource } from './mapping/rule-set.ts';
import type { CompanyDefinition } from './masterdata/company.ts';
import { createMasterDataHub, seedCompany, type MasterDataHub } from './masterdata/hub.ts';
import { loadSourcesFile, netsuiteDefaults, startSchedules, type SourceDefinition, type SyncContext } from './masterdata/sources.ts';
import { DuplicateIndex, loadRecentRevisions, longestWindowDays } from './validation/duplicates.ts';
import { createValidator } from './validation/validator.ts';
import { validateMasterData } from './validation/validate-report.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';
import { createOutboxBroker, type Broker } from './pipeline/broker.ts';
import { systemClock, type Clock } from './pipeline/clock.ts';
import type { FinishedPosting } from './pipeline/finish-posting.ts';
import { createPostingLane, type PostingLane } from './pipeline/posting-lane.ts';
import { processRevision, type ProcessDeps } from './pipeline/process-revision.ts';
import { recallReport } from './pipeline/recall-report.ts';
import { TOPICS } from './pipeline/topics.ts';
import { openStore, type Store } from './store/db.ts';
import { ingestEvents } from './pipeline/ingest.ts';
import { parseEventBody } from './pipeline/parse-events.ts';
import { AppError } from './errors.ts';
import type { ReconcileDeps } from './reconcile/run.ts';
import { startReconcileSchedules } from './reconcile/schedule.ts';
import { MaintenanceCalendar } from './routing/maintenance.ts';
import { createRoutingService, type RoutingService } from './routing/routing.ts';
import { hubSideProviders, type PlatformConnection } from './reconcile/sides.ts';
import { createConcurFisSource, type ConcurFisSource, type ConcurFisSourceOptions } from './sources/concur-fis.ts';
import { STATUS_BACK_TOPICS } from './sources/status-back.ts';
import { migrate } from './store/migrate.ts';

export interface Hub {
  readonly store: Store;
  readonly broker: Broker;
  readonly lanes: ReadonlyMap<string, PostingLane>;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly app: FastifyInstance;
  readonly masterData: MasterDataHub;
  /** Master-data sources: run one with runSync(hub.sync, name). */
  readonly sync: SyncContext;
  /** The mapping rule sets in force, and their four-eyes workflow. */
  readonly mapping: MappingService;
  readonly governance: Governance;
  /** What a replay of the exception queue needs (replayExceptions). */
  readonly replay: ReplayDeps;
  /** What a reconciliation run needs (runReconciliation); the schedules start with the workers. */
  readonly reconciliation: ReconcileDeps;
  /** The routing in force (entity → target, cutovers, shadows) and the maintenance calendars of the targets. */
  readonly routing: RoutingService;
  readonly maintenance: MaintenanceCalendar;
  /** SAP Concur FIS as a source, when configured (HubOptions.concurFis). */
  readonly concurFis: ConcurFisSource | undefined;
  /** Takes CloudEvents in as POST /v1/events does, all in one transaction (one at a time when one is refused): a refused one is reported, the others are stored. */
  ingest(events: readonly object[]): Promise<{ refused: { id: string; code: string; message: string }[] }>;
  /** Starts the broker and the lanes (the workers). The API is started by whoever listens. */
  startWorkers(): void;
  stopWorkers(): Promise<void>;
  close(): Promise<void>;
}

export interface HubOptions {
  readonly config: Config;
  /** The legal entities; its reference data is loaded into the hub when `seedMasterData` is set. */
  readonly company: CompanyDefinition;
  readonly seedMasterData?: boolean;
  /** Master-data sources; default: the file named by FINSYNC_MASTER_DATA_SOURCES, or none. */
  readonly sources?: readonly SourceDefinition[];
  /**
   * Rule sets installed as approved version 1 of their scopes when the store holds no version yet (a new installation,
   * the demo, tests). Later versions go through the four-eyes workflow.
   */
  readonly ruleSets?: readonly RuleFileSource[];
  readonly connectors: readonly TargetConnector[];
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly store?: Store;
  readonly onPostingEnd?: (end: FinishedPosting) => void;
  /** Source connections with a read-back (the platform side of reconciliation) other than Concur FIS. */
  readonly platforms?: readonly PlatformConnection[];
  /** SAP Concur FIS as a source: pulled and acknowledged while the workers run; posting and payment confirmations sent back. */
  readonly concurFis?: ConcurFisSourceOptions;
  /** Per target connection: ordering (`entity`: one posting of an entity at a time) and a concurrency cap below the connector's. */
  readonly targetSettings?: Readonly<Record<string, { readonly ordering?: 'report' | 'entity'; readonly concurrency?: number }>>;
}

export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({ level: config.logLevel, base: { service: 'finsync' }, redact: ['req.headers.authorization', 'req.headers["x-api-key"]', '*.token', '*.netsuiteToken'] });
}

export async function openConfiguredStore(config: Config): Promise<Store> {
  return config.databaseUrl
    ? openStore({ kind: 'postgres', url: config.databaseUrl, ...(config.databaseSchema && { schema: config.databaseSchema }) })
    : openStore({ kind: 'sqlite', file: config.sqliteFile });
}

export async function createHub(options: HubOptions): Promise<Hub> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config);
  const store = options.store ?? (await openConfiguredStore(config));
  await migrate(store, clock.now).catch(async (error: unknown) => {
    if (!options.store) await store.close();
    throw error;
  });
  const metrics = createMetrics({ defaultMetrics: true });
  const lanes = new Map<string, PostingLane>();
  const laneSettings = {
    pollIntervalMs: config.pollIntervalMs,
    leaseMs: config.leaseMs,
    maxClaims: config.maxPostingClaims,
    inProcessAttempts: config.inProcessAttempts,
    retryDelayMs: config.retryDelayMs,
    retryDelayMsMax: config.retryDelayMsMax,
    breakerFailures: config.breakerFailures,
    breakerHalfOpenAfterMs: config.breakerHalfOpenAfterMs,
  };
  // Read at most once a second: a window added through this process's API applies at once, another process's within the second.
  const maintenance = new MaintenanceCalendar(store.db, Math.max(config.pollIntervalMs, 1_000));
  for (const connector of options.connectors) {
    const own = options.targetSettings?.[connector.target] ?? {};
    lanes.set(connector.target, createPostingLane(connector, { store, clock, metrics, logger, maintenance, ...(options.onPostingEnd && { onPostingEnd: options.onPostingEnd }) }, { ...laneSettings, ...own }));
  }
  const routing = createRoutingService();
  await routing.refresh(store.db);
  let wakeBroker = () => {};
  const onResumed = (count: number) => {
    metrics.revisionsResumed.inc(count);
    wakeBroker();
  };
  const masterData = await createMasterDataHub({ store, clock, entities: options.company.entities, pollIntervalMs: config.masterDataPollMs, logger, onResumed });
  if (options.seedMasterData) await seedCompany(masterData, options.company);
  const reference = masterData.index;
  const today = () => new Date(clock.now()).toISOString().slice(0, 10);
  const duplicates = new DuplicateIndex({ retentionDays: () => longestWindowDays(reference, today()), now: () => clock.now() });
  await loadRecentRevisions(store.db, duplicates, clock.now() - (longestWindowDays(reference, today()) + 1) * 86_400_000);
  const validator = createValidator({ reference, duplicates, clock });
  const entityCodes = options.company.entities.map((e) => e.code);
  const mapping = createMappingService(createMappingRegistry(), reference);
  await mapping.refresh(store.db);
  const governance = createGovernance({
    store,
    clock,
    reference,
    mapping,
    entities: () => entityCodes,
    accountProblem: (report, journal) => {
      const accounts = [...new Set(journal.lines.map((l) => l.account))];
      const found = validateMasterData(report, reference, accounts).find((f) => f.severity === 'error' && f.record?.kind === 'gl_account');
      return found && { code: found.code, params: found.params };
    },
    onReplayed: (entity, count) => {
      metrics.revisionsReplayed.inc({ entity }, count);
      wakeBroker();
    },
  });
  if (options.ruleSets) await governance.bootstrap(options.ruleSets, 'finsync-bootstrap');
  const sync: SyncContext = {
    store,
    hub: masterData,
    clock,
    logger,
    metrics,
    sources: options.sources ?? (config.masterDataSourcesFile ? loadSourcesFile(config.masterDataSourcesFile, entityCodes) : []),
    netsuite: netsuiteDefaults(config),
  };
  let schedules: { stop(): void } | undefined;
  let reconcileSchedules: { stop(): void } | undefined;
  const processDeps: ProcessDeps = {
    store,
    clock,
    reference,
    validate: (report, accountsUsed) => validator.validateReport(report, accountsUsed),
    refreshReference: () => masterData.feed.refresh(),
    mapping,
    metrics,
    notifyLane: (target) => lanes.get(target)?.notify(),
    routing,
  };
  const broker = createOutboxBroker(store, clock, logger, {
    pollIntervalMs: config.pollIntervalMs,
    batchSize: 100,
    concurrency: store.caps.parallelTransactions,
    leaseMs: config.leaseMs,
    redeliveryDelayMs: config.retryDelayMs,
    redeliveryDelayMsMax: config.retryDelayMsMax,
  });
  wakeBroker = () => broker.notify();
  broker.subscribe(TOPICS.processRevision, async (m, completeIn) => {
    const { reportId, revision } = m.payload as { reportId: string; revision: number };
    await processRevision(processDeps, reportId, revision, completeIn);
  });
  broker.subscribe(TOPICS.recallReport, async (m) => {
    const { reportId, reason } = m.payload as { reportId: string; reason: string | null };
    await recallReport(processDeps, reportId, reason);
  });
  const entityTargets = Object.fromEntries(options.company.entities.map((e) => [e.code, e.target]));
  const replay: ReplayDeps = { store, clock, entityTargets: () => entityTargets, notifyLane: (target) => lanes.get(target)?.notify(), wakeBroker: () => broker.notify() };
  const ingest = async (events: readonly object[]) => {
    const refused: { id: string; code: string; message: string }[] = [];
    const refuse = (event: object, error: unknown) => {
      if (!(error instanceof AppError)) throw error;
      refused.push({ id: String((event as { id?: unknown }).id), code: error.code, message: error.message });
    };
    const parsed: { event: object; checked: ReturnType<typeof parseEventBody> }[] = [];
    for (const event of events) {
      try {
        parsed.push({ event, checked: parseEventBody(event) });
      } catch (error) {
        refuse(event, error);
      }
    }
    try {
      // One transaction for all; should one be refused at ingest (a conflict), each is tried alone.
      await ingestEvents(store, parsed.flatMap((p) => p.checked), clock.now());
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      for (const { event, checked } of parsed) await ingestEvents(store, checked, clock.now()).catch((e: unknown) => refuse(event, e));
    }
    broker.notify();
    return { refused };
  };
  const concurFis: ConcurFisSource | undefined = options.concurFis && createConcurFisSource({ store, clock, logger, ingest }, options.concurFis);
  if (concurFis) {
    broker.subscribe(STATUS_BACK_TOPICS.fisPosting, (m) => concurFis.confirmPosting(m));
    broker.subscribe(STATUS_BACK_TOPICS.fisPayment, (m) => concurFis.confirmPayment(m));
  }
  const platforms = [...(concurFis ? [concurFis.platform] : []), ...(options.platforms ?? [])];
  const reconciliation: ReconcileDeps = {
    store,
    clock,
    logger,
    entities: () => options.company.entities,
    mapping,
    route: (entity, q) => routing.route(entity, q),
    sides: hubSideProviders({ db: store.db, reference, connectors: options.connectors, platforms: () => platforms, targetsOf: (entity, from, to) => routing.targetsOf(entity, from, to) }),
    ingest,
    notifyLane: (target) => lanes.get(target)?.notify(),
    metrics,
  };
  const app = await buildApp({ store, clock, broker, metrics, logger, bodyLimitBytes: config.bodyLimitBytes, masterData, sync, validator, mapping, governance, replay, reconcile: reconciliation, routingApi: { store, clock, routing, maintenance, entities: () => options.company.entities, targets: () => [...lanes.keys()], notifyLane: (target) => lanes.get(target)?.notify() } });
  let workersRunning = false;
  const hub: Hub = {
    store,
    broker,
    lanes,
    metrics,
    logger,
    app,
    masterData,
    sync,
    mapping,
    governance,
    replay,
    reconciliation,
    routing,
    maintenance,
    concurFis,
    ingest,
    startWorkers() {
      workersRunning = true;
      masterData.feed.start();
      mapping.start(store.db, config.masterDataPollMs, (error) => logger.error({ err: error }, 'mapping rule sets: refresh failed'));
      schedules = startSchedules(sync);
      reconcileSchedules = startReconcileSchedules(reconciliation);
      concurFis?.start();
      broker.start();
      for (const lane of lanes.values()) lane.start();
    },
    async stopWorkers() {
      if (!workersRunning) return;
      workersRunning = false;
      schedules?.stop();
      reconcileSchedules?.stop();
      await concurFis?.stop();
      mapping.stop();
      await masterData.feed.stop();
      await broker.stop();
      await Promise.all([...lanes.values()].map((lane) => lane.stop()));
    },
    async close() {
      await hub.stopWorkers();
      await app.close();
      if (!options.store) await store.close();
    },
  };
  return hub;
}
