/**
 * Replay after a mapping fix: every revision of an entity quarantined for a mapping reason goes back
 * to `received` and is processed again, with the rule sets in force now. The posting key depends
 * only on report, revision and target, so a replay can never create a second ERP document. One
 * transaction: the state changes, the timeline entries and the outbox messages commit together.
 * Each revision is sent back by requeueRevision, the one implementation the replay of the exception
 * queue (src/exceptions/replay.ts) uses too.
 */
import { requeueRevision } from '../exceptions/replay.ts';
import type { Store } from '../store/db.ts';
import { quarantinedForMapping } from './mapping-store.ts';

export interface Replayed {
  readonly reportId: string;
  readonly revision: number;
  readonly previousCode: string;
  readonly previousVersion: string | null;
}

export async function replayMappingQuarantines(store: Store, now: number, entity: string, why: { by: string; reason: string }, codes: readonly string[]): Promise<Replayed[]> {
  return store.db.transaction().execute(async (tx) => {
    const done: Replayed[] = [];
    for (const candidate of await quarantinedForMapping(tx, entity, codes)) {
      // Conditional: a revision another replay or a newer revision moved on meanwhile is left alone.
      const payload = { by: why.by, reason: why.reason, previousCode: candidate.reasonCode, previousMappingVersion: candidate.mappingVersion };
      if (!(await requeueRevision(tx, now, candidate, payload))) continue;
      done.push({ reportId: candidate.reportId, revision: candidate.revision, previousCode: candidate.reasonCode, previousVersion: candidate.mappingVersion });
    }
    return done;
  });
}
