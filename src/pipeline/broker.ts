/**
 * The broker the pipeline sees: subscribe a handler to a topic, and be told when new messages were
 * committed. Messages are always written to the outbox table first, in the transaction that
 * causes them. The embedded broker below delivers straight from that table, in process; the
 * distributed mode relays the same table to NATS JetStream behind this same interface.
 */
import type { Logger } from 'pino';
import { claimMessages, completeMessage, releaseMessage, type OutboxMessage } from '../store/outbox.ts';
import type { Store, Tx } from '../store/db.ts';
import type { Clock } from './clock.ts';
import { createWorkerLoop } from './worker-loop.ts';

/**
 * Handles one message. A handler that writes in a transaction passes it to `completeIn`, so the
 * message is marked done in that same commit; otherwise the broker marks it done afterwards.
 */
export type MessageHandler = (message: OutboxMessage, completeIn: (tx: Tx) => Promise<void>) => Promise<void>;

export interface Broker {
  subscribe(topic: string, handler: MessageHandler): void;
  /** Called after a commit that wrote outbox rows, so delivery starts without waiting for a poll. */
  notify(): void;
  start(): void;
  stop(): Promise<void>;
}

export interface OutboxBrokerOptions {
  readonly pollIntervalMs: number;
  readonly batchSize: number;
  /** Messages delivered at once; messages with the same key (one report) are always delivered in order. */
  readonly concurrency: number;
  readonly leaseMs: number;
  /** Delay before a message whose handler threw is offered again, doubled per attempt up to the max. */
  readonly redeliveryDelayMs: number;
  readonly redeliveryDelayMsMax: number;
}

/**
 * Thrown by a handler whose message is not due yet for a reason it expects (an external system
 * down, a step it waits for): the message is offered again after the backoff, logged as a warning
 * rather than an error.
 */
export class DeliverLater extends Error {
  override readonly name = 'DeliverLater';
}

export function createOutboxBroker(store: Store, clock: Clock, logger: Logger, options: OutboxBrokerOptions): Broker {
  const handlers = new Map<string, MessageHandler>();

  async function deliver(message: OutboxMessage): Promise<void> {
    const handler = handlers.get(message.topic);
    if (!handler) throw new Error(`Assertion failed: no handler for topic ${message.topic}`);
    let completed = false;
    const completeIn = async (tx: Tx) => {
      await completeMessage(tx, message.id, clock.now());
      completed = true;
    };
    try {
      await handler(message, completeIn);
      if (!completed) await completeMessage(store.db, message.id, clock.now());
    } catch (error) {
      // A handler throws only for infrastructure trouble (lost connection, lock timeout); business
      // outcomes are states. Offer the message again later; handlers are idempotent.
      const delayMs = Math.min(options.redeliveryDelayMs * 2 ** (message.attempts - 1), options.redeliveryDelayMsMax);
      if (error instanceof DeliverLater) logger.warn({ topic: message.topic, key: message.key, attempts: message.attempts, reason: error.message }, 'message not delivered yet; will redeliver');
      else logger.error({ err: error, topic: message.topic, key: message.key, attempts: message.attempts }, 'message handler failed; will redeliver');
      await releaseMessage(store.db, message.id, clock.now() + delayMs);
    }
  }

  async function step(): Promise<'busy' | 'idle'> {
    try {
      const claimed = await claimMessages(store, clock.now(), [...handlers.keys()], options.batchSize, options.leaseMs);
      await deliverInKeyOrder(claimed, options.concurrency, deliver);
      return claimed.length < options.batchSize ? 'idle' : 'busy';
    } catch (error) {
      logger.error({ err: error }, 'outbox delivery loop failed; retrying after the poll interval');
      return 'idle';
    }
  }

  const loop = createWorkerLoop(step, options.pollIntervalMs);
  return {
    subscribe(topic, handler) {
      handlers.set(topic, handler);
    },
    notify: () => loop.notify(),
    start: () => loop.start(),
    stop: () => loop.stop(),
  };
}

/** Delivers messages with up to `concurrency` keys in parallel, each key's messages in order. */
async function deliverInKeyOrder(messages: readonly OutboxMessage[], concurrency: number, deliver: (m: OutboxMessage) => Promise<void>): Promise<void> {
  const byKey = new Map<string, OutboxMessage[]>();
  for (const message of messages) byKey.set(message.key, [...(byKey.get(message.key) ?? []), message]);
  const queues = [...byKey.values()];
  let next = 0;
  const worker = async () => {
    while (next < queues.length) {
      for (const message of queues[next++]) await deliver(message);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, queues.length)) }, worker));
}
