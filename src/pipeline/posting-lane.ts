/**
 * A posting lane: one per target connection. It claims due postings from the durable queue (never
 * more in flight than the ERP allows), settles an unknown earlier outcome by looking the document up
 * by its external key before any resend, posts through the lane's resilience policy, and records the
 * end: posted, quarantined with a coded reason, or rescheduled durably for a later attempt.
 */
import { BrokenCircuitError, CircuitState } from 'cockatiel';
import type { Logger } from 'pino';
import { RETRYABLE_KINDS, type ConnectorError, type PostOutcome, type TargetConnector } from '../connectors/contract.ts';
import type { JournalEntry } from '../domain/journal.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Store } from '../store/db.ts';
import { appendLog } from '../store/event-log.ts';
import { claimPostings, type AttemptRecord, type ClaimedPosting, type PostingRow } from '../store/postings.ts';
import type { Clock } from './clock.ts';
import { finishPosting, type FinishedPosting, type PostingEnd } from './finish-posting.ts';
import { createWorkerLoop } from './worker-loop.ts';
import { createLanePolicy, durableRetryDelayMs, type RetrySettings } from './retry-policy.ts';

export interface LaneSettings extends RetrySettings {
  readonly pollIntervalMs: number;
  readonly leaseMs: number;
  /** Claims of one posting before it is quarantined as ERP_RETRIES_EXHAUSTED. */
  readonly maxClaims: number;
}

export interface PostingLane {
  readonly target: string;
  notify(): void;
  start(): void;
  stop(): Promise<void>;
}

export interface LaneDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Called after a posting ends, so an API or a test can await progress instead of polling. */
  readonly onPostingEnd?: (end: FinishedPosting) => void;
}

export function createPostingLane(connector: TargetConnector, deps: LaneDeps, settings: LaneSettings): PostingLane {
  const { policy, breaker } = createLanePolicy(settings);
  const target = connector.target;
  const tasks = new Set<Promise<void>>();

  breaker.onStateChange((state) => {
    deps.metrics.circuitOpen.set({ target }, state === CircuitState.Open ? 1 : 0);
    deps.logger.warn({ target, state: CircuitState[state] }, 'lane circuit changed state');
  });

  /** One call to the ERP; the first of a claim uses the attempt recorded at claim time. */
  async function sendOnce(posting: ClaimedPosting, settled: { mayHaveCommitted: boolean }, records: AttemptRecord[]): Promise<PostOutcome> {
    const startedAt = deps.clock.now();
    const outcome = await lookupOrPost(posting, settled);
    if (outcome.status === 'unknown') settled.mayHaveCommitted = true;
    const error: ConnectorError | undefined = outcome.status === 'failed' || outcome.status === 'unknown' ? outcome.error : undefined;
    records.push({
      ...(records.length === 0 && { attempt: posting.attempt }),
      startedAt,
      finishedAt: deps.clock.now(),
      outcome: outcome.status,
      ...(error && { errorKind: error.kind, vendorCode: error.vendorCode, httpStatus: error.httpStatus, detail: error.message, raw: error.raw }),
    });
    deps.metrics.postingAttempts.inc({ target, result: error ? error.kind : outcome.status });
    return outcome;
  }

  async function lookupOrPost(posting: PostingRow, settled: { mayHaveCommitted: boolean }): Promise<PostOutcome> {
    if (settled.mayHaveCommitted) {
      const found = await connector.lookup(posting.external_key);
      if (found.status === 'found') return { status: 'already_exists', documentId: found.documentId };
      if (found.status === 'failed') return { status: 'failed', error: found.error };
      settled.mayHaveCommitted = false;
    }
    return connector.post({
      externalKey: posting.external_key,
      journal: JSON.parse(posting.journal) as JournalEntry,
      references: JSON.parse(posting.erp_refs),
      correlationId: posting.correlation_id,
    });
  }

  async function decide(posting: ClaimedPosting, records: AttemptRecord[]): Promise<PostingEnd> {
    const settled = { mayHaveCommitted: posting.unknown_outcome === 1 };
    const outcome: PostOutcome | undefined = await policy.execute(() => sendOnce(posting, settled, records)).catch((error: unknown) => {
      if (error instanceof BrokenCircuitError) return undefined;
      throw error;
    });
    if (outcome === undefined) return reschedule(posting, settings.breakerHalfOpenAfterMs, settled.mayHaveCommitted, 'circuit open');
    if ('documentId' in outcome) {
      return { kind: 'posted', documentId: outcome.documentId, foundOnLookup: outcome.status === 'already_exists' };
    }
    const { error } = outcome;
    if (outcome.status === 'unknown' || RETRYABLE_KINDS.has(error.kind)) {
      if (posting.attempts >= settings.maxClaims) {
        return { kind: 'quarantined', code: 'ERP_RETRIES_EXHAUSTED', params: { target, kind: error.kind, attempts: posting.attempts, detail: error.message }, unknownOutcome: settled.mayHaveCommitted };
      }
      return reschedule(posting, error.retryAfterMs ?? 0, settled.mayHaveCommitted, error.message);
    }
    return { ...quarantineFor(error, posting), unknownOutcome: settled.mayHaveCommitted };
  }

  function reschedule(posting: PostingRow, retryAfterMs: number, unknownOutcome: boolean, reason: string): PostingEnd {
    return { kind: 'rescheduled', delayMs: durableRetryDelayMs(posting.attempts, settings, retryAfterMs), unknownOutcome, reason };
  }

  function quarantineFor(error: ConnectorError, posting: PostingRow): Extract<PostingEnd, { kind: 'quarantined' }> {
    const base = { target, detail: error.message, raw: error.raw ?? '' };
    if (error.vendorCode === 'UNCLASSIFIED') return { kind: 'quarantined', code: 'ERP_UNCLASSIFIED', params: { ...base, httpStatus: error.httpStatus ?? 0 } };
    switch (error.kind) {
      case 'auth':
        return { kind: 'quarantined', code: 'ERP_AUTH', params: base };
      case 'conflict':
        return { kind: 'quarantined', code: 'ERP_CONFLICT', params: { ...base, externalKey: posting.external_key } };
      default:
        return error.field
          ? { kind: 'quarantined', code: 'ERP_INVALID_REFERENCE', params: { ...base, field: error.field, value: error.value ?? '?' } }
          : { kind: 'quarantined', code: 'ERP_INVALID', params: base };
    }
  }

  async function handle(posting: ClaimedPosting): Promise<void> {
    deps.metrics.laneInFlight.inc({ target });
    try {
      const records: AttemptRecord[] = [];
      let end: PostingEnd;
      if (posting.kind === 'reversal' && !(await originalWasPosted(posting))) {
        end = { kind: 'skipped' };
        records.push({ attempt: posting.attempt, startedAt: deps.clock.now(), finishedAt: deps.clock.now(), outcome: 'skipped', detail: 'the original journal never reached the ERP' });
      } else end = await decide(posting, records);
      const finished = await finishPosting(deps, posting, end, records);
      if (finished) deps.onPostingEnd?.(finished);
    } catch (error) {
      // Store trouble: leave the claim to expire; the next claim looks the document up first.
      deps.logger.error({ err: error, target, externalKey: posting.external_key, correlationId: posting.correlation_id }, 'posting failed; its lease will expire and it will be retried');
    } finally {
      deps.metrics.laneInFlight.dec({ target });
    }
  }

  /**
   * A reversal is due when its original is in the ERP: posted, or (if its outcome was left unknown)
   * found there by its external key.
   */
  async function originalWasPosted(posting: PostingRow): Promise<boolean> {
    const original = await deps.store.db.selectFrom('postings').select(['state', 'unknown_outcome', 'external_key']).where('report_id', '=', posting.report_id).where('revision', '=', posting.revision).where('target', '=', posting.target).where('kind', '=', 'journal').executeTakeFirst();
    if (!original) return false;
    if (original.state === 'posted') return true;
    if (original.unknown_outcome === 0) return false;
    const found = await connector.lookup(original.external_key);
    if (found.status === 'failed') throw new Error(`Looking up ${original.external_key} failed (${found.error.kind}); the reversal will be retried after its lease`);
    if (found.status === 'absent') return false;
    await recordFoundOriginal(posting, original.external_key, found.documentId);
    return true;
  }

  /** The original was in the ERP after all: record it as posted, so finsync's books match the ERP's. */
  async function recordFoundOriginal(reversal: PostingRow, externalKey: string, documentId: string): Promise<void> {
    const now = deps.clock.now();
    await deps.store.db.transaction().execute(async (tx) => {
      await tx.updateTable('postings').set({ state: 'posted', document_id: documentId, posted_at: now, updated_at: now }).where('external_key', '=', externalKey).where('state', '!=', 'posted').execute();
      await appendLog(tx, now, [{ correlationId: reversal.correlation_id, reportId: reversal.report_id, revision: reversal.revision, kind: 'posting.found-on-lookup', payload: { externalKey, documentId, target, by: 'reversal' } }]);
    });
  }

  async function step(): Promise<'busy' | 'idle'> {
    let claimed: ClaimedPosting[] = [];
    try {
      claimed = await claimPostings(deps.store, target, deps.clock.now(), connector.maxConcurrency - tasks.size, settings.leaseMs);
    } catch (error) {
      deps.logger.error({ err: error, target }, 'claiming postings failed; retrying after the poll interval');
    }
    for (const posting of claimed) {
      const task: Promise<void> = handle(posting).finally(() => {
        tasks.delete(task);
        loop.notify();
      });
      tasks.add(task);
    }
    return claimed.length === 0 || tasks.size >= connector.maxConcurrency ? 'idle' : 'busy';
  }

  const loop = createWorkerLoop(step, settings.pollIntervalMs, async () => {
    await Promise.allSettled([...tasks]);
  });
  return { target, notify: () => loop.notify(), start: () => loop.start(), stop: () => loop.stop() };
}
