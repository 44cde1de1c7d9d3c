/**
 * Xero's per-organisation limits as the simulator keeps them: calls in flight, calls in a
 * rolling minute and in a rolling 24 hours (xero-node issue 262 quotes Xero's limits page:
 * "60 calls in a rolling 60 second window", "5000 calls in a rolling 24 hour window") [S], and
 * the app's calls a minute across organisations. Time comes from the simulator's clock, so a test
 * moves the windows by moving the clock.
 */

export interface XeroLimits {
  /** Calls in flight per organisation; default 5 [C]. */
  readonly concurrent: number;
  /** Calls per rolling minute per organisation; default 60 [C]. */
  readonly perMinute: number;
  /** Calls per rolling 24 hours per organisation; default 5,000 [C] (may depend on the pricing plan [S]). */
  readonly perDay: number;
  /** Calls per rolling minute of the app across organisations; default 10,000 [C]. */
  readonly appPerMinute: number;
}

export const DEFAULT_LIMITS: XeroLimits = { concurrent: 5, perMinute: 60, perDay: 5000, appPerMinute: 10_000 };

/** The X-Rate-Limit-Problem values: `minute` and `day` as seen in the wild [S], `concurrent` and `appminute` [M]. */
export type LimitProblem = 'minute' | 'day' | 'concurrent' | 'appminute';

export type Admission = { readonly ok: true } | { readonly ok: false; readonly problem: LimitProblem; readonly retryAfterSeconds: number };

export interface Remaining {
  readonly minute: number;
  readonly day: number;
  readonly appMinute: number;
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** What the simulator sends as Retry-After on a concurrency refusal: Xero's value is not documented [U]. */
const CONCURRENT_RETRY_AFTER_SECONDS = 1;

/** Timestamps of calls in a rolling window, oldest first. */
class Window {
  private readonly stamps: number[] = [];
  private head = 0;

  constructor(private readonly lengthMs: number) {}

  count(nowMs: number): number {
    while (this.head < this.stamps.length && this.stamps[this.head] <= nowMs - this.lengthMs) this.head++;
    if (this.head > 1024 && this.head * 2 > this.stamps.length) {
      this.stamps.splice(0, this.head);
      this.head = 0;
    }
    return this.stamps.length - this.head;
  }

  /** Seconds until the oldest call in the window leaves it (at least 1). */
  secondsUntilRoom(nowMs: number): number {
    this.count(nowMs);
    const oldest = this.stamps[this.head] ?? nowMs;
    return Math.max(1, Math.ceil((oldest + this.lengthMs - nowMs) / 1000));
  }

  add(nowMs: number): void {
    this.stamps.push(nowMs);
  }
}

export class RateLimiter {
  private readonly minute = new Window(MINUTE_MS);
  private readonly day = new Window(DAY_MS);
  private readonly appMinute = new Window(MINUTE_MS);
  inFlight = 0;

  constructor(readonly limits: XeroLimits) {}

  /**
   * Admits a call or names the limit it breaks. The longest wait is reported first (day before
   * minute before concurrency), so a caller that honours Retry-After does not hit the next limit at
   * once. A refused call is not counted [U].
   */
  admit(nowMs: number): Admission {
    if (this.day.count(nowMs) >= this.limits.perDay) return { ok: false, problem: 'day', retryAfterSeconds: this.day.secondsUntilRoom(nowMs) };
    if (this.appMinute.count(nowMs) >= this.limits.appPerMinute) return { ok: false, problem: 'appminute', retryAfterSeconds: this.appMinute.secondsUntilRoom(nowMs) };
    if (this.minute.count(nowMs) >= this.limits.perMinute) return { ok: false, problem: 'minute', retryAfterSeconds: this.minute.secondsUntilRoom(nowMs) };
    if (this.inFlight >= this.limits.concurrent) return { ok: false, problem: 'concurrent', retryAfterSeconds: CONCURRENT_RETRY_AFTER_SECONDS };
    this.day.add(nowMs);
    this.minute.add(nowMs);
    this.appMinute.add(nowMs);
    return { ok: true };
  }

  remaining(nowMs: number): Remaining {
    return {
      minute: Math.max(0, this.limits.perMinute - this.minute.count(nowMs)),
      day: Math.max(0, this.limits.perDay - this.day.count(nowMs)),
      appMinute: Math.max(0, this.limits.appPerMinute - this.appMinute.count(nowMs)),
    };
  }
}
