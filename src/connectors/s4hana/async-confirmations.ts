/**
 * The connector's memory of async messages: which document messages were sent and await their
 * confirmation, and what the confirmations that came back said. `post()` waits here for the
 * confirmations of the messages it sent; the hub's callback route hands every pushed
 * confirmation to `receive()`. A confirmation that comes after `post()` gave up (answered
 * unknown) is kept, so a later `lookup` can use it when the read service has not caught up yet;
 * and a message sent without a confirmation counts as still queued in S/4HANA for `settleMs`,
 * so that `lookup` does not call it absent while it may yet be posted. This memory is in-process
 * only: after a restart, `lookup` relies on the read service alone (README, hazards).
 */
import { readBulkConfirmation, type DocumentConfirmation } from './confirmation.ts';
import { readSoapBody } from './xml.ts';

/** What the callback route answers S/4HANA: accepted (HTTP 200) or rejected (HTTP 400, S/4HANA retries). */
export type ConfirmationReceipt =
  | { readonly status: 'accepted'; readonly documents: number; readonly matched: number }
  | { readonly status: 'rejected'; readonly reason: string };

export interface AsyncConfirmationsOptions {
  readonly settleMs: number;
  readonly now: () => number;
  /** Confirmations and pending messages remembered at most; the oldest are forgotten first. Default 10,000. */
  readonly rememberMax?: number;
}

export class AsyncConfirmations {
  private readonly confirmed = new Map<string, DocumentConfirmation>();
  private readonly pending = new Map<string, number>();
  private readonly listeners = new Set<() => void>();
  private readonly rememberMax: number;

  constructor(private readonly options: AsyncConfirmationsOptions) {
    this.rememberMax = options.rememberMax ?? 10_000;
  }

  /** Marks messages as sent: an older confirmation of the same ID no longer answers for them. */
  expect(messageIds: readonly string[]): void {
    const nowMs = this.options.now();
    for (const id of messageIds) {
      this.confirmed.delete(id);
      this.pending.delete(id);
      this.pending.set(id, nowMs);
    }
    trim(this.pending, this.rememberMax);
  }

  /** The messages never reached S/4HANA (refused connection, refusal before processing). */
  forget(messageIds: readonly string[]): void {
    for (const id of messageIds) this.pending.delete(id);
  }

  /** Waits until every message has its confirmation or `waitMs` has passed; returns those that came. */
  async wait(messageIds: readonly string[], waitMs: number): Promise<Map<string, DocumentConfirmation>> {
    const complete = () => messageIds.every((id) => this.confirmed.has(id));
    if (!complete()) {
      await new Promise<void>((resolve) => {
        const finish = () => {
          clearTimeout(timer);
          this.listeners.delete(listener);
          resolve();
        };
        const listener = () => {
          if (complete()) finish();
        };
        const timer = setTimeout(finish, waitMs);
        this.listeners.add(listener);
      });
    }
    const arrived = new Map<string, DocumentConfirmation>();
    for (const id of messageIds) {
      const confirmation = this.confirmed.get(id);
      if (confirmation) arrived.set(id, confirmation);
    }
    return arrived;
  }

  /** Takes in one pushed confirmation message. Repeats are harmless: the same document is recorded again. */
  receive(xml: string): ConfirmationReceipt {
    const body = readSoapBody(xml);
    if (typeof body === 'string') return { status: 'rejected', reason: body };
    const confirmation = readBulkConfirmation(body);
    if (typeof confirmation === 'string') return { status: 'rejected', reason: confirmation };
    let matched = 0;
    for (const document of confirmation.documents) {
      if (document.referenceId === undefined) continue;
      if (this.pending.delete(document.referenceId)) matched++;
      this.confirmed.delete(document.referenceId);
      this.confirmed.set(document.referenceId, document);
    }
    trim(this.confirmed, this.rememberMax);
    for (const listener of [...this.listeners]) listener();
    return { status: 'accepted', documents: confirmation.documents.length, matched };
  }

  /** The last confirmation received for a message, if any is remembered. */
  confirmationOf(messageId: string): DocumentConfirmation | undefined {
    return this.confirmed.get(messageId);
  }

  /** True while a message sent without a confirmation may still be queued in S/4HANA. */
  isPending(messageId: string): boolean {
    const sentAtMs = this.pending.get(messageId);
    if (sentAtMs === undefined) return false;
    if (this.options.now() - sentAtMs < this.options.settleMs) return true;
    this.pending.delete(messageId);
    return false;
  }
}

function trim(map: Map<string, unknown>, max: number): void {
  for (const key of map.keys()) {
    if (map.size <= max) return;
    map.delete(key);
  }
}
