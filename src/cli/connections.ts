/**
 * The connections a hub process builds from its configuration: the target connectors (NetSuite)
 * and the source connections with a read-back (SAP Concur FIS). `finsync serve` and
 * `finsync reconcile` build the same ones.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { TargetConnector } from '../connectors/contract.ts';
import { createNetSuiteConnector } from '../connectors/netsuite/client.ts';
import { SAMPLE_TARGET } from '../demo/sample-company.ts';
import { createConcurFisClient } from '../connectors/concur-fis/client.ts';
import type { ConcurFisSourceOptions } from '../sources/concur-fis.ts';
import { configuredEntities } from './masterdata-command.ts';

export function configuredConnectors(config: Config, logger: Logger): TargetConnector[] {
  if (config.netsuiteUrl && config.netsuiteToken) {
    return [createNetSuiteConnector({ target: SAMPLE_TARGET, baseUrl: config.netsuiteUrl, token: config.netsuiteToken, maxConcurrency: config.netsuiteConcurrency, requestTimeoutMs: config.requestTimeoutMs })];
  }
  logger.warn('FINSYNC_NETSUITE_URL and FINSYNC_NETSUITE_TOKEN are not set: postings will wait in their queue until a connection is configured');
  return [];
}

/** SAP Concur FIS as a source, when FINSYNC_CONCUR_FIS_URL and FINSYNC_CONCUR_FIS_TOKEN are set. */
export function configuredConcurFis(config: Config): ConcurFisSourceOptions | undefined {
  if (!config.concurFisUrl || !config.concurFisToken) return undefined;
  const client = createConcurFisClient({ baseUrl: config.concurFisUrl.replace(/\/+$/, ''), token: config.concurFisToken, systemId: config.concurSystemId, requestTimeoutMs: config.requestTimeoutMs });
  return { client, source: 'concur-fis', pollIntervalMs: config.concurPollMs, ...(config.concurEntities && { entities: config.concurEntities.split(',') }) };
}

/** The target connections this installation knows: the targets of its entities (and, once configured, of its targets file). */
export function configuredTargets(config: Config, _logger: Logger): string[] {
  return [...new Set(configuredEntities(config).map((e) => e.target))].sort();
}
