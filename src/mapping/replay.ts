/**
 * Replay after a mapping fix: every revision of an entity quarantined for a mapping reason goes back
 * to `received` and is processed again, with the rule sets in force now. The posting key depends
 * only on report, revision and target, so a replay can never create a second ERP document. One
 * transaction: the state changes, the timeline entries and the outbox messages commit together.
 * Each revision is sent back by requeueRevision, the one implementation the replay of the exception
 * queue (src/exceptions/replay.ts) uses too.
 */
import { randomUUID } from 'node:crypto';
import { requeueRevision } from '../exceptions/replay.ts';
import { insertReplay } from '../store/replays.ts';
import type { Store } from '../store/db.ts';
import { quarantinedForMapping } from './mapping-store.ts';

export interface Replayed {
  readonly reportId: string;
  readonly revision: number;
  readonly previousCode: string;
  readonly previousVersion: string | null;
}

/**
 * Recorded like every replay (`replays`, `replay_items`: GET /v1/replays/{id}, `finsync replay show`),
 * with the selection `{ "mapping": { entity, codes } }`; each item's quarantine time is when its
 * revision was last quarantined.
 */
export async function replayMappingQuarantines(store: Store, now: number, entity: string, why: { by: string; reason: string }, codes: readonly string[]): Promise<Replayed[]> {
  return store.db.transaction().execute(async (tx) => {
    const done: (Replayed & { quarantinedAt: number })[] = [];
    const replayId = randomUUID();
    for (const candidate of await quarantinedForMapping(tx, entity, codes)) {
      // Conditional: a revision another replay or a newer revision moved on meanwhile is left alone.
      const payload = { by: why.by, reason: why.reason, replayId, previousCode: candidate.reasonCode, previousMappingVersion: candidate.mappingVersion };
      if (!(await requeueRevision(tx, now, candidate, payload))) continue;
      done.push({ reportId: candidate.reportId, revision: candidate.revision, previousCode: candidate.reasonCode, previousVersion: candidate.mappingVersion, quarantinedAt: candidate.quarantinedAt });
    }
    if (done.length > 0) {
      await insertReplay(
        tx,
        { id: replayId, actor: why.by, reason: why.reason, created_at: now, selection: JSON.stringify({ mapping: { entity, codes: [...codes] } }) },
        done.map((d) => ({ replay_id: replayId, item_id: `revision:${d.reportId}:${d.revision}`, stage: 'revision', report_id: d.reportId, revision: d.revision, posting_id: null, previous_code: d.previousCode, quarantined_at: d.quarantinedAt, recovered_at: null })),
      );
    }
    return done.map(({ quarantinedAt: _, ...replayed }) => replayed);
  });
}
