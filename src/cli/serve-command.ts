/** `finsync serve`: the hub with its HTTP API and workers, until SIGINT or SIGTERM. */
import { createHub, createLogger } from '../compose.ts';
import { loadConfig } from '../config.ts';
import { configuredConcurFis, configuredConnectors } from './connections.ts';
import { configuredEntities } from './masterdata-command.ts';
import { readRuleSetsDir } from '../mapping/rule-sets-dir.ts';

export async function runServeCommand(): Promise<number> {
  const config = loadConfig(process.env);
  const logger = createLogger(config);
  const connectors = configuredConnectors(config, logger);
  // Reference data comes from the master-data sources and the push API; mapping rule sets from the
  // four-eyes workflow (`finsync mapping propose`), or a first set installed from FINSYNC_RULE_SETS_DIR.
  const company = { name: 'finsync', entities: configuredEntities(config), employees: [], costCenters: [], glAccounts: [], taxCodes: [] };
  const ruleSets = config.ruleSetsDir ? readRuleSetsDir(config.ruleSetsDir) : undefined;
  const concurFis = configuredConcurFis(config);
  const hub = await createHub({ config, company, ...(ruleSets && { ruleSets }), connectors, ...(concurFis && { concurFis }), logger });
  if ((await hub.governance.list()).length === 0) logger.warn('no mapping rule sets: reports are quarantined with MAP_NO_RULE_SET until a rule set is proposed and approved (finsync mapping propose), or installed at start from FINSYNC_RULE_SETS_DIR');
  if (hub.sync.sources.length === 0) logger.warn('no master-data sources configured (FINSYNC_MASTER_DATA_SOURCES): reports wait for master data until it is pushed (POST /v1/master-data/records) or imported (finsync masterdata import)');
  await hub.app.listen({ port: config.httpPort, host: config.httpHost });
  hub.startWorkers();
  logger.info({ store: hub.store.location, port: config.httpPort }, 'finsync is serving');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  logger.info('stopping: finishing postings in flight');
  await hub.close();
  return 0;
}
