/**
 * The master-data hub of one process: the in-memory index and its change feed, and the one way to
 * write records (`apply`), which checks a batch, stores it atomically, resumes the report revisions
 * that waited for it, and makes it visible to this process's validation before it returns.
 */
import type { Logger } from 'pino';
import { AppError } from '../errors.ts';
import type { Clock } from '../pipeline/clock.ts';
import { resumeWaiting } from '../pipeline/process-revision.ts';
import type { Store } from '../store/db.ts';
import type { CompanyDefinition, LegalEntity } from './company.ts';
import { companyRecords } from './company.ts';
import { createIndexFeed, MasterDataIndex, type IndexFeed } from './md-index.ts';
import { applyRecords, type ApplyResult } from './md-store.ts';
import { normalizeRecord, type IncomingVersion, type System } from './records.ts';

export interface MasterDataHub {
  readonly index: MasterDataIndex;
  readonly feed: IndexFeed;
  readonly entities: readonly LegalEntity[];
  /** Stores already-checked records from `system`, delivered by `source`. */
  apply(system: System, source: string, records: readonly IncomingVersion[], onProgress?: (done: number, total: number) => void): Promise<ApplyResult>;
}

export interface MasterDataHubOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly entities: readonly LegalEntity[];
  readonly pollIntervalMs: number;
  readonly logger?: Logger;
  /** Notified after a batch that resumed waiting revisions commits (wakes the broker). */
  readonly onResumed?: (count: number) => void;
}

export async function createMasterDataHub(options: MasterDataHubOptions): Promise<MasterDataHub> {
  const index = new MasterDataIndex(options.entities);
  const feed = await createIndexFeed(options.store, index, options.pollIntervalMs, options.logger);
  return {
    index,
    feed,
    entities: options.entities,
    async apply(system, source, records, onProgress) {
      const now = options.clock.now();
      const result = await applyRecords(options.store, {
        system,
        source,
        records,
        now,
        today: new Date(now).toISOString().slice(0, 10),
        afterApply: (tx, fromSeq) => resumeWaiting(tx, fromSeq, now),
        ...(onProgress && { onProgress }),
      });
      await feed.refresh();
      if (result.resumed > 0) options.onResumed?.(result.resumed);
      return result;
    },
  };
}

/** Loads a company definition's records (the sample company's, a test's) into the hub. */
export async function seedCompany(hub: MasterDataHub, company: CompanyDefinition): Promise<void> {
  const { erp, finsync } = companyRecords(company);
  const normalized = (system: System, records: typeof erp) =>
    records.map((r, i) => {
      if (!hub.entities.some((e) => e.code === r.entity)) throw new AppError('MD_ENTITY_NOT_CONFIGURED', { path: `${system}[${i}].entity`, entity: r.entity, configured: hub.entities.map((e) => e.code).join(', ') });
      return normalizeRecord(system, r, `${system}[${i}]`);
    });
  await hub.apply('erp', 'company', normalized('erp', erp));
  if (finsync.length > 0) await hub.apply('finsync', 'company', normalized('finsync', finsync));
}
