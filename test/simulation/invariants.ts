/**
 * The invariants of architecture.md, checked against the store and against the ERP simulator's own
 * ledger. Each failed check names the report or external key concerned.
 */
import assert from 'node:assert/strict';
import { checkBalance, type JournalEntry } from '../../src/domain/journal.ts';
import type { Harness } from '../support/hub-harness.ts';

const END_STATES = new Set(['posted', 'quarantined', 'recalled', 'waiting']);

interface LedgerDocument {
  id: string;
  externalId: string | null;
  lines: { debitMinor: number; creditMinor: number }[];
}

export async function assertInvariants(h: Harness, expectedReports: number): Promise<{ posted: number; documents: number; reversals: number; quarantined: number }> {
  const db = h.hub.store.db;
  // Nothing lost: every accepted report is in a visible end state, with a reason when quarantined.
  const latest = await db
    .selectFrom('reports')
    .innerJoin('revisions', (j) => j.onRef('revisions.report_id', '=', 'reports.report_id').onRef('revisions.revision', '=', 'reports.latest_revision'))
    .select(['reports.report_id', 'revisions.state', 'revisions.reason_code'])
    .execute();
  assert.equal(latest.length, expectedReports, 'every report sent is known');
  for (const r of latest) {
    assert.ok(END_STATES.has(r.state), `report ${r.report_id} ended in ${r.state}, not an end state`);
    if (r.state === 'quarantined') assert.ok(r.reason_code, `report ${r.report_id} is quarantined without a reason code`);
    if (r.state === 'waiting') {
      // Waiting is visible and explained: a reason code, and the records it waits for, none of which the ERP holds.
      assert.ok(r.reason_code, `report ${r.report_id} waits without a reason code`);
      const blockers = await db.selectFrom('md_blockers').select(['kind', 'entity', 'key']).where('report_id', '=', r.report_id).where('reason', '=', 'missing').execute();
      assert.ok(blockers.length > 0, `report ${r.report_id} waits for nothing named`);
      for (const b of blockers) {
        const held = h.hub.masterData.index.lookup(b.kind as never, b.entity, b.key, '2026-01-01');
        assert.equal(held.found, false, `report ${r.report_id} waits for ${b.kind} ${b.key}, which the hub holds`);
      }
    }
  }
  const open = await db.selectFrom('postings').select(['external_key', 'state']).where('state', 'in', ['queued', 'posting']).execute();
  assert.deepEqual(open, [], 'no posting is left open');

  // Exactly-once effect: one ERP document per posted posting, none for any other.
  const ledger = (await (await fetch(`${h.simulator.url}/__sim/ledger`)).json()) as LedgerDocument[];
  const stats = await h.simStats();
  assert.equal(stats.duplicateExternalIds, 0, 'no external id holds more than one document');
  const posted = await db.selectFrom('postings').select(['external_key', 'document_id', 'journal', 'kind', 'correlation_id', 'report_id']).where('state', '=', 'posted').execute();
  const byKey = new Map(ledger.map((d) => [d.externalId, d]));
  assert.equal(ledger.length, posted.length, 'the ERP holds exactly one document per posted posting');
  for (const p of posted) {
    const doc = byKey.get(p.external_key);
    assert.ok(doc, `posted ${p.external_key} has a document in the ERP`);
    assert.equal(doc.id, p.document_id, `${p.external_key}: finsync recorded the ERP's document id`);
    // Balanced and exact, in finsync and in the ERP, to the minor unit.
    const journal = JSON.parse(p.journal) as JournalEntry;
    const balance = checkBalance(journal);
    assert.ok(balance.balanced, `${p.external_key}: journal balances`);
    const debit = doc.lines.reduce((sum, l) => sum + l.debitMinor, 0);
    const credit = doc.lines.reduce((sum, l) => sum + l.creditMinor, 0);
    assert.equal(debit, credit, `${p.external_key}: ERP document balances`);
    assert.equal(debit, balance.debitMinor, `${p.external_key}: ERP document carries the journal's amounts`);
  }
  // Ordered: a reversed or recalled-after-posting revision has its reversal posted.
  const reversed = await db.selectFrom('revisions').select(['report_id', 'revision']).where('state', '=', 'reversed').execute();
  const reversalKeys = new Set(posted.filter((p) => p.kind === 'reversal').map((p) => `${p.report_id}`));
  for (const r of reversed) assert.ok(reversalKeys.has(r.report_id), `report ${r.report_id} revision ${r.revision} is reversed in the ERP`);
  // Traceable: every posting carries the correlation id its report's events were received under.
  const inbox = await db.selectFrom('inbox').select(['report_id', 'correlation_id']).execute();
  const correlations = new Map(inbox.map((i) => [i.report_id, i.correlation_id]));
  for (const p of posted) assert.equal(p.correlation_id, correlations.get(p.report_id), `${p.external_key} traces to its source events`);
  return {
    posted: latest.filter((r) => r.state === 'posted').length,
    quarantined: latest.filter((r) => r.state === 'quarantined').length,
    documents: ledger.length,
    reversals: posted.filter((p) => p.kind === 'reversal').length,
  };
}
