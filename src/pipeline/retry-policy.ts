/**
 * Resilience policies of a posting lane, from cockatiel: in-process retry with exponential
 * backoff and jitter that honours the ERP's Retry-After, inside a consecutive-failure circuit
 * breaker. What the in-process retries cannot fix is rescheduled durably by the lane, with the
 * delay from `durableRetryDelayMs`.
 */
import {
  ConsecutiveBreaker,
  ExponentialBackoff,
  circuitBreaker,
  handleWhenResult,
  retry,
  wrap,
  type IBackoff,
  type IBackoffFactory,
  type IRetryBackoffContext,
} from 'cockatiel';
import { RETRYABLE_KINDS, type PostOutcome } from '../connectors/contract.ts';

export interface RetrySettings {
  readonly inProcessAttempts: number;
  readonly retryDelayMs: number;
  readonly retryDelayMsMax: number;
  readonly breakerFailures: number;
  readonly breakerHalfOpenAfterMs: number;
}

export function isRetryableOutcome(outcome: PostOutcome): boolean {
  return outcome.status === 'unknown' || (outcome.status === 'failed' && RETRYABLE_KINDS.has(outcome.error.kind));
}

/** Failures that say the ERP itself is unwell (not a 429, which proves it is alive and busy). */
function isOutageOutcome(outcome: PostOutcome): boolean {
  return outcome.status === 'unknown' || (outcome.status === 'failed' && (outcome.error.kind === 'unavailable' || outcome.error.kind === 'transient'));
}

function retryAfterMsOf(context: IRetryBackoffContext<unknown>): number {
  const result = context.result as { value?: PostOutcome };
  return result.value && result.value.status === 'failed' ? (result.value.error.retryAfterMs ?? 0) : 0;
}

/** Wraps a backoff so each delay is at least the Retry-After the ERP asked for. */
class RetryAfterBackoff implements IBackoffFactory<IRetryBackoffContext<unknown>> {
  constructor(private readonly inner: IBackoffFactory<IRetryBackoffContext<unknown>>) {}

  next(context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> {
    const step = this.inner.next(context);
    return { duration: Math.max(step.duration, retryAfterMsOf(context)), next: (c) => new RetryAfterBackoff(step).next(c) };
  }
}

export function createLanePolicy(settings: RetrySettings) {
  const breaker = circuitBreaker(handleWhenResult((r) => isOutageOutcome(r as PostOutcome)), {
    halfOpenAfter: settings.breakerHalfOpenAfterMs,
    breaker: new ConsecutiveBreaker(settings.breakerFailures),
  });
  const retrying = retry(handleWhenResult((r) => isRetryableOutcome(r as PostOutcome)), {
    maxAttempts: settings.inProcessAttempts,
    backoff: new RetryAfterBackoff(new ExponentialBackoff({ initialDelay: settings.retryDelayMs, maxDelay: settings.retryDelayMsMax })),
  });
  return { policy: wrap(retrying, breaker), breaker };
}

/** Delay before the n-th durable retry (n from 1): exponential with full jitter, at least Retry-After. */
export function durableRetryDelayMs(attempt: number, settings: RetrySettings, retryAfterMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(settings.retryDelayMsMax, settings.retryDelayMs * 2 ** Math.min(attempt, 20));
  return Math.max(retryAfterMs, Math.round(ceiling / 2 + (random() * ceiling) / 2));
}
