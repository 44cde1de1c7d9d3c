/**
 * Deterministic idempotency keys. The key of a posting depends only on (report, revision, target,
 * kind), so every retry, replay or duplicate delivery of the same posting carries the same key and
 * the ERP's own duplicate guard (NetSuite external id upsert, Xero Idempotency-Key) sees one
 * document. Keys use only letters, digits, `_` and `-`, which every ERP we target accepts
 * (NetSuite parses `|` as a multi-select delimiter, so it must never appear).
 */
import { createHash } from 'node:crypto';
import type { JournalKind } from './journal.ts';

export function postingKey(reportId: string, revision: number, target: string, kind: JournalKind = 'journal'): string {
  const digest = createHash('sha256').update(`${reportId}\u0000${revision}\u0000${target}`).digest('hex').slice(0, 24);
  return `fs_${digest}_r${revision}${kind === 'reversal' ? '_rev' : ''}`;
}

/** Stable hash of a JSON value (keys sorted), used to tell a repeat from a conflicting reuse of an id. */
export function hashJson(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
