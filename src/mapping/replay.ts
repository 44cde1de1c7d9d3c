/**
 * Replay after a mapping fix: every revision of an entity quarantined for a mapping reason goes back
 * to `received` and is processed again, with the rule sets in force now. The posting key depends
 * only on report, revision and target, so a replay can never create a second ERP document. One
 * transaction: the state changes, the timeline entries and the outbox messages commit together.
 */
import { TOPICS } from '../pipeline/topics.ts';
import type { Store } from '../store/db.ts';
import { appendLog } from '../store/event-log.ts';
import { enqueueMessage } from '../store/outbox.ts';
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
      const updated = await tx
        .updateTable('revisions')
        .set({ state: 'received', reason_code: null, reason_detail: null, updated_at: now })
        .where('report_id', '=', candidate.reportId)
        .where('revision', '=', candidate.revision)
        .where('state', '=', 'quarantined')
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) continue;
      await appendLog(tx, now, [
        {
          correlationId: candidate.correlationId,
          reportId: candidate.reportId,
          revision: candidate.revision,
          kind: 'revision.replayed',
          payload: { by: why.by, reason: why.reason, previousCode: candidate.reasonCode, previousMappingVersion: candidate.mappingVersion },
        },
      ]);
      await enqueueMessage(tx, now, TOPICS.processRevision, candidate.reportId, { reportId: candidate.reportId, revision: candidate.revision });
      done.push({ reportId: candidate.reportId, revision: candidate.revision, previousCode: candidate.reasonCode, previousVersion: candidate.mappingVersion });
    }
    return done;
  });
}
