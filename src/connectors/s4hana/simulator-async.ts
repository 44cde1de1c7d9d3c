/**
 * The simulator's async path after the transport acknowledgement: accepted messages wait in an
 * inbound queue, are processed after a short delay (or when a test resumes a paused queue), and
 * their confirmation is POSTed to the configured callback URL, with retries when the callback
 * fails (a non-2xx answer or no connection). `settled()` lets a test await all of it instead of
 * sleeping.
 */

export interface AsyncDeliveryOptions {
  readonly callbackUrl: string | undefined;
  readonly processingDelayMs: number;
  readonly attemptsMax: number;
  readonly retryDelayMs: number;
}

export interface DeliveryStats {
  readonly processed: number;
  readonly delivered: number;
  readonly failedAttempts: number;
  /** Confirmations given up after attemptsMax failed attempts, or never sent (no callback URL, a lost confirmation). */
  readonly undelivered: number;
}

/** SOAPAction of the pushed confirmation: our choice [U]. */
export const CONFIRMATION_SOAP_ACTION = 'http://sap.com/xi/SAPSCORE/SFIN/JournalEntryBulkCreateConfirmation_Out';

/** A queued message: processing it commits its documents and answers the confirmation to send, or undefined when it is lost. */
export type AsyncJob = () => string | undefined;

export class AsyncDelivery {
  private readonly queue: AsyncJob[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly idleWaiters: (() => void)[] = [];
  private busy = 0;
  private paused = false;
  private closed = false;
  private stats: { processed: number; delivered: number; failedAttempts: number; undelivered: number } = { processed: 0, delivered: 0, failedAttempts: 0, undelivered: 0 };

  constructor(private readonly options: AsyncDeliveryOptions) {}

  enqueue(job: AsyncJob): void {
    this.queue.push(job);
    this.schedule();
  }

  /** Holds accepted messages in the queue (S/4HANA's inbound queue is backed up) until resume(). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.schedule();
  }

  counts(): DeliveryStats {
    return { ...this.stats };
  }

  /** Resolves when nothing is being processed or delivered and nothing runnable is queued. */
  settled(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.queue.length = 0;
    this.busy = 0;
    this.notifyIdle();
  }

  private isIdle(): boolean {
    return this.busy === 0 && (this.paused || this.queue.length === 0);
  }

  private notifyIdle(): void {
    if (!this.isIdle()) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private schedule(): void {
    while (!this.paused && !this.closed && this.queue.length > 0) {
      const job = this.queue.shift() as AsyncJob;
      this.busy++;
      this.later(this.options.processingDelayMs, () => {
        this.stats.processed++;
        const confirmation = job();
        if (confirmation === undefined || this.options.callbackUrl === undefined) {
          this.stats.undelivered++;
          this.done();
          return;
        }
        void this.deliver(confirmation, 1);
      });
    }
    this.notifyIdle();
  }

  private async deliver(xml: string, attempt: number): Promise<void> {
    if (this.closed) return;
    let delivered = false;
    try {
      const response = await fetch(this.options.callbackUrl as string, {
        method: 'POST',
        headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${CONFIRMATION_SOAP_ACTION}"` },
        body: xml,
        signal: AbortSignal.timeout(5_000),
      });
      await response.text();
      delivered = response.status >= 200 && response.status < 300;
    } catch {
      delivered = false;
    }
    if (this.closed) return;
    if (delivered) {
      this.stats.delivered++;
      return this.done();
    }
    this.stats.failedAttempts++;
    if (attempt >= this.options.attemptsMax) {
      this.stats.undelivered++;
      return this.done();
    }
    this.later(this.options.retryDelayMs, () => void this.deliver(xml, attempt + 1));
  }

  private done(): void {
    this.busy--;
    this.notifyIdle();
  }

  private later(delayMs: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) run();
    }, delayMs);
    this.timers.add(timer);
  }
}
