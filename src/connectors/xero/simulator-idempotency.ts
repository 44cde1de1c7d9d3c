/**
 * The simulator's Idempotency-Key store. Xero confirms the header (at most 128 characters) and
 * that a request can be retried with it without the risk of duplicate processing [C]; how long a
 * key is kept and what a reused key with another body gets are not documented [U]. Defaults
 * (api-contracts.md, section 3): the stored answer is replayed for 24 h, and a reused key with a
 * different request is refused with 400. Both are settings, as are the two choices below:
 *
 * - Only success answers (2xx) are stored by default, so a journal refused for a master-data
 *   problem can be sent again with the same key once the problem is fixed. `storeFailures` also
 *   stores 4xx answers (never 5xx, 429 or 503: nothing was done).
 * - A request whose key is still being processed waits for the first to finish and is then
 *   answered like any repeat.
 *
 * Keys are scoped to the organisation (one per simulator).
 */
import { hashJson } from '../../domain/keys.ts';
import { JsonDecimal } from './exact-json.ts';

export interface IdempotencySettings {
  /** How long an answer is replayed; default 24 h. */
  readonly retentionMs: number;
  /** A known key with another request: `reject` (400, default), `replay` (the stored answer regardless), `process` (as a new request). */
  readonly onBodyMismatch: 'reject' | 'replay' | 'process';
  /** Also store and replay 4xx answers; default false. */
  readonly storeFailures: boolean;
}

export const DEFAULT_IDEMPOTENCY: IdempotencySettings = { retentionMs: 24 * 3_600_000, onBodyMismatch: 'reject', storeFailures: false };

export interface StoredAnswer {
  readonly status: number;
  readonly body: string;
}

interface Entry {
  readonly fingerprint: string;
  readonly answer: StoredAnswer;
  readonly storedAtMs: number;
}

export type Recall = { readonly kind: 'none' } | { readonly kind: 'replay'; readonly answer: StoredAnswer } | { readonly kind: 'mismatch'; readonly answer: StoredAnswer };

export class IdempotencyStore {
  private readonly entries = new Map<string, Entry>();
  private readonly busy = new Map<string, Promise<void>>();

  constructor(readonly settings: IdempotencySettings) {}

  /** Waits until no other request holds the key, then holds it; call the returned function when done. */
  async acquire(key: string): Promise<() => void> {
    for (let current = this.busy.get(key); current !== undefined; current = this.busy.get(key)) await current;
    let release!: () => void;
    this.busy.set(key, new Promise<void>((resolve) => (release = resolve)));
    return () => {
      this.busy.delete(key);
      release();
    };
  }

  recall(key: string, fingerprint: string, nowMs: number): Recall {
    const entry = this.entries.get(key);
    if (entry === undefined) return { kind: 'none' };
    if (nowMs - entry.storedAtMs >= this.settings.retentionMs) {
      this.entries.delete(key);
      return { kind: 'none' };
    }
    return entry.fingerprint === fingerprint ? { kind: 'replay', answer: entry.answer } : { kind: 'mismatch', answer: entry.answer };
  }

  /** Keeps the answer when the settings say it is to be replayed. */
  remember(key: string, fingerprint: string, answer: StoredAnswer, nowMs: number): void {
    const success = answer.status >= 200 && answer.status < 300;
    const refusal = answer.status >= 400 && answer.status < 500 && answer.status !== 429;
    if (success || (refusal && this.settings.storeFailures)) this.entries.set(key, { fingerprint, answer, storedAtMs: nowMs });
  }

  size(): number {
    return this.entries.size;
  }
}

/**
 * What makes two requests the same: method, path, query and the body as JSON (member order and
 * the trailing zeros of a number do not count). A body that is not JSON counts by its text.
 */
export function fingerprintOf(method: string, pathname: string, query: URLSearchParams, body: unknown): string {
  const params = [...query.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return hashJson({ method, pathname, params, body: normalize(body) });
}

function normalize(value: unknown): unknown {
  if (value instanceof JsonDecimal) {
    const plain = value.plain();
    const trimmed = plain.includes('.') ? plain.replace(/\.?0+$/, '') : plain;
    return { $number: trimmed === '-0' ? '0' : trimmed };
  }
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, normalize(v)]));
  return value;
}
