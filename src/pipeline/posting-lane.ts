/**
 * A posting lane: one per target connection. It claims due postings from the durable queue (never
 * more in flight than the ERP allows, nor more calls than its rate limit), settles an unknown earlier
 * outcome by looking the document up by its external key before any resend, posts through the
 * lane's resilience policy, and records the end: posted, quarantined with a coded reason, or
 * rescheduled durably for a later attempt.
 *
 * - **Maintenance**: inside a window of its target's maintenance calendar the lane claims nothing;
 *   the postings wait in the queue, in order, and drain when the window ends.
 * - **Ordering**: revisions (and reversals) of one report always post in order; a target that needs
 *   it (`ordering: 'entity'`) posts one entity's postings one at a time, in order.
 * - **Batching**: where the connector takes several documents per call (`postBatch`), fresh postings
 *   go out in batches of up to `maxBatch`; each item's outcome is recorded on its own, so a failed
 *   item is retried alone and the rest of its batch is never sent again. Postings whose earlier
 *   outcome is unknown, and reversals, go one by one (each needs its own look-up first).
 */
import { BrokenCircuitError, CircuitState } from 'cockatiel';
import type { Logger } from 'pino';
import { RETRYABLE_KINDS, type ConnectorError, type PostingRequest, type PostOutcome, type TargetConnector } from '../connectors/contract.ts';
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
  /** `entity`: one posting of an entity at a time, in order (a target whose ledger needs it); default `report`. */
  readonly ordering?: 'report' | 'entity';
  /** In flight at most; default the connector's maxConcurrency (a configured lower cap wins). */
  readonly concurrency?: number;
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
  /** The targets' maintenance calendars; none: never paused. */
  readonly maintenance?: { pausedUntil(target: string, now: number): Promise<number | undefined> };
}

export function createPostingLane(connector: TargetConnector, deps: LaneDeps, settings: LaneSettings): PostingLane {
  const { policy, breaker } = createLanePolicy(settings);
  const target = connector.target;
  const tasks = new Set<Promise<void>>();
  const concurrency = Math.max(1, Math.min(connector.maxConcurrency, settings.concurrency ?? connector.maxConcurrency));
  const batchSize = connector.postBatch && (connector.maxBatch ?? 1) > 1 ? connector.maxBatch! : 1;
  const calls = new CallWindow(connector.rateLimit);

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
      calls.record(deps.clock.now());
      const found = await connector.lookup(posting.external_key);
      if (found.status === 'found') return { status: 'already_exists', documentId: found.documentId };
      if (found.status === 'failed') return { status: 'failed', error: found.error };
      settled.mayHaveCommitted = false;
    }
    calls.record(deps.clock.now());
    return connector.post(requestOf(posting));
  }

  async function decide(posting: ClaimedPosting, records: AttemptRecord[]): Promise<PostingEnd> {
    const settled = { mayHaveCommitted: posting.unknown_outcome === 1 };
    const outcome: PostOutcome | undefined = await policy.execute(() => sendOnce(posting, settled, records)).catch((error: unknown) => {
      if (error instanceof BrokenCircuitError) return undefined;
      throw error;
    });
    if (outcome === undefined) return reschedule(posting, settings.breakerHalfOpenAfterMs, settled.mayHaveCommitted, 'circuit open');
    return endFor(posting, outcome, settled);
  }

  /** How a posting ends, given the last outcome of its claim. */
  function endFor(posting: ClaimedPosting, outcome: PostOutcome, settled: { mayHaveCommitted: boolean }): PostingEnd {
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

  /**
   * One call for several fresh postings. The circuit breaker sees the call as one outcome (an outage
   * when every item failed as one); each item's end is recorded on its own, never re-sending the
   * items that were taken.
   */
  async function handleBatch(batch: readonly ClaimedPosting[]): Promise<void> {
    deps.metrics.laneInFlight.inc({ target });
    try {
      const startedAt = deps.clock.now();
      let outcomes: PostOutcome[];
      if (breaker.state === CircuitState.Open) {
        outcomes = batch.map(() => ({ status: 'failed', error: { kind: 'unavailable', vendorCode: 'CIRCUIT_OPEN', message: 'the lane circuit is open' } }));
      } else {
        calls.record(startedAt);
        outcomes = await connector.postBatch!(batch.map(requestOf)).catch((error: unknown) =>
          batch.map((): PostOutcome => ({ status: 'unknown', error: { kind: 'transient', vendorCode: 'CONNECTOR_ERROR', message: (error as Error).message } })),
        );
        if (outcomes.length !== batch.length) throw new Error(`Assertion failed: ${target}'s postBatch answered ${outcomes.length} outcomes for ${batch.length} requests`);
        const representative = outcomes.find((o) => !isOutage(o)) ?? outcomes[0];
        await breaker.execute(async () => representative).catch((error: unknown) => {
          if (!(error instanceof BrokenCircuitError)) throw error;
        });
      }
      const finishedAt = deps.clock.now();
      for (const [i, posting] of batch.entries()) {
        const outcome = outcomes[i];
        const error: ConnectorError | undefined = outcome.status === 'failed' || outcome.status === 'unknown' ? outcome.error : undefined;
        const records: AttemptRecord[] = [
          { attempt: posting.attempt, startedAt, finishedAt, outcome: outcome.status, ...(error && { errorKind: error.kind, vendorCode: error.vendorCode, httpStatus: error.httpStatus, detail: error.message, raw: error.raw }) },
        ];
        deps.metrics.postingAttempts.inc({ target, result: error ? error.kind : outcome.status });
        const settled = { mayHaveCommitted: outcome.status === 'unknown' };
        const end = error?.vendorCode === 'CIRCUIT_OPEN' ? reschedule(posting, settings.breakerHalfOpenAfterMs, false, 'circuit open') : endFor(posting, outcome, settled);
        const finished = await finishPosting(deps, posting, end, records);
        if (finished) deps.onPostingEnd?.(finished);
      }
    } catch (error) {
      deps.logger.error({ err: error, target, postings: batch.length }, 'batch failed; the leases will expire and each posting will be looked up, then retried');
    } finally {
      deps.metrics.laneInFlight.dec({ target });
    }
  }

  async function step(): Promise<'busy' | 'idle'> {
    const now = deps.clock.now();
    const pausedUntil = await deps.maintenance?.pausedUntil(target, now).catch((error: unknown) => {
      deps.logger.error({ err: error, target }, 'reading the maintenance calendar failed; not claiming until it can be read');
      return now + settings.pollIntervalMs;
    });
    deps.metrics.lanePaused.set({ target }, pausedUntil === undefined ? 0 : 1);
    if (pausedUntil !== undefined) return 'idle';
    const slots = Math.min(concurrency - tasks.size, calls.available(now));
    let claimed: ClaimedPosting[] = [];
    try {
      claimed = await claimPostings(deps.store, target, now, slots * batchSize, settings.leaseMs, settings.ordering ?? 'report');
    } catch (error) {
      deps.logger.error({ err: error, target }, 'claiming postings failed; retrying after the poll interval');
    }
    // Fresh journals go in batches; a posting that needs a look-up first, and a reversal, go alone.
    const fresh = batchSize > 1 ? claimed.filter((p) => p.kind === 'journal' && p.unknown_outcome === 0) : [];
    const single = claimed.filter((p) => !fresh.includes(p));
    const units: (() => Promise<void>)[] = single.map((posting) => () => handle(posting));
    for (let i = 0; i < fresh.length; i += batchSize) {
      const batch = fresh.slice(i, i + batchSize);
      units.push(() => (batch.length === 1 ? handle(batch[0]) : handleBatch(batch)));
    }
    for (const unit of units) {
      const task: Promise<void> = unit().finally(() => {
        tasks.delete(task);
        loop.notify();
      });
      tasks.add(task);
    }
    return claimed.length === 0 || tasks.size >= concurrency || calls.available(deps.clock.now()) === 0 ? 'idle' : 'busy';
  }

  const loop = createWorkerLoop(step, settings.pollIntervalMs, async () => {
    await Promise.allSettled([...tasks]);
  });
  return { target, notify: () => loop.notify(), start: () => loop.start(), stop: () => loop.stop() };
}

function requestOf(posting: PostingRow): PostingRequest {
  return { externalKey: posting.external_key, journal: JSON.parse(posting.journal) as JournalEntry, references: JSON.parse(posting.erp_refs), correlationId: posting.correlation_id };
}

function isOutage(outcome: PostOutcome): boolean {
  return outcome.status === 'unknown' || (outcome.status === 'failed' && (outcome.error.kind === 'unavailable' || outcome.error.kind === 'transient'));
}

/**
 * The calls a lane made in the last minute and day, against the connector's rate limit (Xero: 60 a
 * minute, 5,000 a day). In memory, per process: with several processes on one connection, give
 * each a share of the limit. A 429 the ERP still answers is retried after its Retry-After anyway.
 */
export class CallWindow {
  readonly #minute: number[] = [];
  readonly #day: number[] = [];

  constructor(private readonly limit: TargetConnector['rateLimit']) {}

  record(now: number): void {
    if (!this.limit) return;
    this.#minute.push(now);
    this.#day.push(now);
  }

  /** Calls that may start now. */
  available(now: number): number {
    if (!this.limit) return Number.POSITIVE_INFINITY;
    while (this.#minute.length > 0 && this.#minute[0] <= now - 60_000) this.#minute.shift();
    while (this.#day.length > 0 && this.#day[0] <= now - 86_400_000) this.#day.shift();
    const perMinute = this.limit.perMinute === undefined ? Number.POSITIVE_INFINITY : this.limit.perMinute - this.#minute.length;
    const perDay = this.limit.perDay === undefined ? Number.POSITIVE_INFINITY : this.limit.perDay - this.#day.length;
    return Math.max(0, Math.min(perMinute, perDay));
  }
}
