/**
 * Shadow mode, read side: for a migration wave, every journal posted to an entity's target and to
 * its shadow target side by side, and where their outcomes differ (one posted, the other refused or
 * still waiting; different amounts). The shadow never decides a revision's state; this comparison
 * is what finance looks at before the cutover date.
 */
import type { Db } from '../store/db.ts';
import { journalAmounts } from '../reconcile/journal-amounts.ts';
import type { JournalEntry } from '../domain/journal.ts';

export interface ShadowSide {
  readonly target: string;
  readonly externalKey: string;
  readonly state: string;
  readonly documentId: string | null;
  readonly reasonCode: string | null;
}

export type ShadowDifference = 'none' | 'outcome' | 'pending';

export interface ShadowRow {
  readonly reportId: string;
  readonly revision: number;
  readonly entity: string;
  readonly primary: ShadowSide | null;
  readonly shadow: ShadowSide;
  /** `outcome`: one posted and the other refused (or missing); `pending`: one of them is still on its way. */
  readonly difference: ShadowDifference;
}

export interface ShadowReport {
  readonly rows: readonly ShadowRow[];
  readonly counts: Readonly<Record<ShadowDifference, number>>;
  readonly truncated: boolean;
}

const SETTLED = new Set(['posted', 'quarantined', 'superseded', 'skipped']);

export async function shadowReport(db: Db, filter: { entity?: string; fromMs: number; toMs: number; limit: number }): Promise<ShadowReport> {
  let select = db
    .selectFrom('postings as s')
    .leftJoin('postings as p', (j) => j.onRef('p.report_id', '=', 's.report_id').onRef('p.revision', '=', 's.revision').onRef('p.kind', '=', 's.kind').on('p.role', '=', 'primary'))
    .select([
      's.report_id',
      's.revision',
      's.entity',
      's.target as s_target',
      's.external_key as s_key',
      's.state as s_state',
      's.document_id as s_document',
      's.reason_code as s_reason',
      's.journal as s_journal',
      'p.target as p_target',
      'p.external_key as p_key',
      'p.state as p_state',
      'p.document_id as p_document',
      'p.reason_code as p_reason',
      'p.journal as p_journal',
    ])
    .where('s.role', '=', 'shadow')
    .where('s.kind', '=', 'journal')
    .where('s.created_at', '>=', filter.fromMs)
    .where('s.created_at', '<', filter.toMs);
  if (filter.entity !== undefined) select = select.where('s.entity', '=', filter.entity);
  const found = await select.orderBy('s.id').limit(filter.limit + 1).execute();
  const counts: Record<ShadowDifference, number> = { none: 0, outcome: 0, pending: 0 };
  const rows = found.slice(0, filter.limit).map((r): ShadowRow => {
    const shadow: ShadowSide = { target: r.s_target, externalKey: r.s_key, state: r.s_state, documentId: r.s_document, reasonCode: r.s_reason };
    const primary: ShadowSide | null = r.p_target === null ? null : { target: r.p_target, externalKey: r.p_key!, state: r.p_state!, documentId: r.p_document, reasonCode: r.p_reason };
    const sameAmounts = r.p_journal !== null && JSON.stringify(journalAmounts(JSON.parse(r.p_journal) as JournalEntry)) === JSON.stringify(journalAmounts(JSON.parse(r.s_journal) as JournalEntry));
    const difference: ShadowDifference =
      primary === null ? 'outcome' : !SETTLED.has(primary.state) || !SETTLED.has(shadow.state) ? 'pending' : primary.state === shadow.state && sameAmounts ? 'none' : 'outcome';
    counts[difference]++;
    return { reportId: r.report_id, revision: r.revision, entity: r.entity, primary, shadow, difference };
  });
  return { rows, counts, truncated: found.length > filter.limit };
}
