/** `finsync serve`: the hub with its HTTP API and workers, until SIGINT or SIGTERM. */
import { createHub, createLogger } from '../compose.ts';
import { loadConfig } from '../config.ts';
import type { TargetConnector } from '../connectors/contract.ts';
import { createNetSuiteConnector } from '../connectors/netsuite/client.ts';
import { SAMPLE_COMPANY, SAMPLE_MAPPINGS, SAMPLE_TARGET } from '../demo/sample-company.ts';

export async function runServeCommand(): Promise<number> {
  const config = loadConfig(process.env);
  const logger = createLogger(config);
  const connectors: TargetConnector[] = [];
  if (config.netsuiteUrl && config.netsuiteToken) {
    connectors.push(createNetSuiteConnector({ target: SAMPLE_TARGET, baseUrl: config.netsuiteUrl, token: config.netsuiteToken, maxConcurrency: config.netsuiteConcurrency, requestTimeoutMs: config.requestTimeoutMs }));
  } else {
    logger.warn('FINSYNC_NETSUITE_URL and FINSYNC_NETSUITE_TOKEN are not set: postings will wait in their queue until a connection is configured');
  }
  // Until the master-data hub lands, the company and its mapping tables are the sample company's.
  const hub = await createHub({ config, company: SAMPLE_COMPANY, mappings: SAMPLE_MAPPINGS, connectors, logger });
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
