/** The append-only event log: every event received and every state change, in order. */
import type { Db, Tx } from './db.ts';

export interface LogEntry {
  readonly correlationId: string;
  readonly reportId?: string | null;
  readonly revision?: number | null;
  readonly kind: string;
  readonly payload?: unknown;
}

export async function appendLog(tx: Tx | Db, now: number, entries: readonly LogEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await tx
    .insertInto('event_log')
    .values(
      entries.map((e) => ({
        occurred_at: now,
        correlation_id: e.correlationId,
        report_id: e.reportId ?? null,
        revision: e.revision ?? null,
        kind: e.kind,
        payload: JSON.stringify(e.payload ?? {}),
      })),
    )
    .execute();
}

export async function readReportLog(db: Db, reportId: string) {
  const rows = await db.selectFrom('event_log').selectAll().where('report_id', '=', reportId).orderBy('seq').execute();
  return rows.map((r) => ({ seq: r.seq, at: new Date(r.occurred_at).toISOString(), kind: r.kind, revision: r.revision, correlationId: r.correlation_id, payload: JSON.parse(r.payload) as unknown }));
}

export async function countLogKinds(db: Db, kinds: readonly string[]): Promise<Record<string, number>> {
  const rows = await db.selectFrom('event_log').select(['kind', (eb) => eb.fn.countAll<number>().as('n')]).where('kind', 'in', kinds).groupBy('kind').execute();
  return Object.fromEntries(kinds.map((k) => [k, Number(rows.find((r) => r.kind === k)?.n ?? 0)]));
}
