/**
 * Reconciliation fed by the connectors, on both stores: DE01's reports come through the Concur FIS
 * simulator and post to the NetSuite simulator; every break class is then injected into the ERP
 * and platform simulators (and one into finsync's own record), and a run finds each exactly on
 * its key, heals the safe ones (the next run finds them gone) and opens exceptions for the rest,
 * which the exception queue lists and a person resolves.
 */
import assert from 'node:assert/strict';
import { rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createConcurFisClient } from '../../src/connectors/concur-fis/client.ts';
import { DEMO_CONCUR_SYSTEM_ID } from '../../src/demo/demo-environment.ts';
import { generateReports } from '../../src/demo/expense-platform.ts';
import { postingKey } from '../../src/domain/keys.ts';
import type { ReportInput } from '../../src/domain/report.ts';
import { toFisDocument } from '../../src/connectors/concur-fis/document.ts';
import { listExceptions } from '../../src/exceptions/exceptions.ts';
import { runReconciliation } from '../../src/reconcile/run.ts';
import { runScheduledTick, scheduledPeriods, SCHEDULE_ACTOR } from '../../src/reconcile/schedule.ts';
import { BREAK_CSV_HEADER } from '../../src/reconciliation/break-writer.ts';
import { startHarness, type Harness } from '../support/hub-harness.ts';
import { storeKinds } from '../support/stores.ts';

const kinds = await storeKinds();
const TARGET = 'netsuite';

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function openPostings(h: Harness): Promise<number> {
  const row = await h.hub.store.db.selectFrom('postings').select((eb) => eb.fn.countAll<number>().as('n')).where('state', 'in', ['queued', 'posting']).executeTakeFirst();
  return Number(row?.n ?? 0);
}

async function documentOf(h: Harness, reportId: string): Promise<string> {
  const row = await h.hub.store.db.selectFrom('postings').select('document_id').where('report_id', '=', reportId).where('kind', '=', 'journal').where('state', '=', 'posted').executeTakeFirstOrThrow();
  return row.document_id!;
}

for (const { kind, skip } of kinds) {
  test(`reconciliation finds every injected break class, heals the safe ones and opens exceptions for the rest, on ${kind}`, { skip, timeout: 240_000 }, async () => {
    const h = await startHarness(kind, { seed: 21, concurEntities: ['DE01'] });
    const period = new Date().toISOString().slice(0, 7);
    const exportPath = join(tmpdir(), `finsync-breaks-${process.pid}-${kind}.csv`);
    try {
      const de01 = generateReports({ count: 80, seed: 21, invalidShare: 0 }).filter((r) => r.entity === 'DE01');
      // i's amount is changed in the platform: a report whose first line can grow by one euro as it is.
      const plain = de01.find((r) => { const l = r.lines[0]; return !l.exchangeRate && !l.perDiem && !l.personal && l.tax?.amount === undefined && l.allocations.every((al) => al.amount === undefined); })!;
      const reports = [...de01.filter((r) => r !== plain).slice(0, 6), plain, ...de01.filter((r) => r !== plain).slice(6, 11)];
      assert.equal(reports.length, 12);
      const docIds = reports.map((r) => h.concur.publish(r));
      await waitFor('every report is confirmed to Concur', () => docIds.every((id) => h.concur.documents().find((d) => d.docId === id)?.status === 'POSTING_CONFIRMED_SUCCESS'));
      await waitFor('the lanes are idle', async () => (await openPostings(h)) === 0);

      const clean = await runReconciliation(h.hub.reconciliation, { entity: 'DE01', period, trigger: 'api', actor: 'test' });
      assert.deepEqual(Object.values(clean.breaks), [0, 0, 0, 0, 0, 0], 'a clean run finds nothing');
      assert.deepEqual(clean.completeness, { matchedKeys: 12, approvedKeys: 12, percent: '100.00' });
      assert.ok(clean.balances.every((b) => b.finsyncMinusPlatformMinor === 0 && b.erpMinusFinsyncMinor === 0));

      const [a, b, c, d, e, g, i] = reports;
      const key = (reportId: string) => postingKey(reportId, 1, TARGET);
      // ERP side: a document deleted, a duplicate, a foreign fs_ document, an amount and an account changed.
      assert.ok(h.simulator.removeDocument(await documentOf(h, a.reportId)));
      const original = h.simulator.documents().find((doc) => doc.externalId === key(b.reportId))!;
      h.simulator.insertDocument({ ...original, externalId: key(b.reportId) });
      h.simulator.insertDocument({ ...original, externalId: 'fs_foreign_entry_1', memo: 'keyed in by hand' });
      const cDoc = h.simulator.documents().find((doc) => doc.id === original.id && false) ?? h.simulator.documents().find((doc) => doc.externalId === key(c.reportId))!;
      h.simulator.changeDocumentLine(cDoc.id, 0, { debitMinor: cDoc.lines[0].debitMinor + 100, creditMinor: cDoc.lines[0].creditMinor === 0 ? 0 : cDoc.lines[0].creditMinor + 100 });
      const dDoc = h.simulator.documents().find((doc) => doc.externalId === key(d.reportId))!;
      const today = new Date().toISOString().slice(0, 10);
      const index = h.hub.masterData.index;
      const otherAccount = index.keys('gl_account', 'DE01', today).map((code) => index.erpId('gl_account', 'DE01', code, today)!).find((id) => !dDoc.lines.some((l) => l.accountId === id))!;
      h.simulator.changeDocumentLine(dDoc.id, 0, { accountId: otherAccount });
      // Platform side: a report recalled after posting, an amount changed after posting, and a
      // document another system acknowledged, so finsync never received it.
      h.concur.recall(docIds[4]);
      const bigger = { ...i, total: undefined, lines: i.lines.map((l, n) => (n === 0 ? { ...l, amount: { ...l.amount, value: bump(l.amount.value) } } : l)) };
      h.concur.amend(docIds[6], () => toFisDocument(JSON.parse(JSON.stringify(bigger)) as ReportInput));
      await h.hub.stopWorkers();
      const unseen = generateReports({ count: 80, seed: 22, invalidShare: 0 }).find((r) => r.entity === 'DE01')!;
      const unseenDoc = h.concur.publish(unseen);
      const otherSystem = createConcurFisClient({ baseUrl: h.concur.url, token: h.concurToken, systemId: DEMO_CONCUR_SYSTEM_ID, requestTimeoutMs: 2_000 });
      assert.equal((await otherSystem.acknowledge([unseenDoc])).ok, true);
      // finsync's own record: a posting whose outcome it never learned, though the ERP holds it.
      await h.hub.store.db.updateTable('postings').set({ state: 'queued', unknown_outcome: 1, document_id: null, next_attempt_at: Date.now() + 3_600_000 }).where('external_key', '=', key(g.reportId)).execute();
      h.hub.startWorkers();

      const found = await runReconciliation(h.hub.reconciliation, { entity: 'DE01', period, trigger: 'api', actor: 'test', exportTo: { path: exportPath, format: 'csv' } });
      assert.deepEqual(found.breaks, { missing_in_erp: 1, extra_in_erp: 2, amount_mismatch: 2, account_mismatch: 1, status_mismatch: 2, missing_in_finsync: 1 });
      assert.deepEqual(found.healed, { replayed: 1, reingested: 1, recallApplied: 1, lookupRequeued: 1 });
      assert.equal(found.exceptionsOpened, 5);
      assert.equal(found.completeness.approvedKeys, 12, 'the recalled report is no longer approved; the unseen one is');
      // a, b, c, d, g, i and the unseen report have breaks (the foreign key and e are not approved ones).
      assert.equal(found.completeness.matchedKeys, 12 - 7);
      assert.equal(found.completeness.percent, '41.67');
      const rows = await h.hub.store.db.selectFrom('recon_breaks').select(['external_key', 'class', 'action', 'state']).orderBy('external_key').orderBy('class').execute();
      const byKey = Object.fromEntries(rows.map((r) => [`${r.external_key} ${r.class}`, `${r.action}/${r.state}`]));
      assert.deepEqual(byKey, {
        [`${key(a.reportId)} missing_in_erp`]: 'replayed/healing',
        [`${key(b.reportId)} extra_in_erp`]: 'exception/open',
        ['fs_foreign_entry_1 extra_in_erp']: 'exception/open',
        [`${key(c.reportId)} amount_mismatch`]: 'exception/open',
        [`${key(d.reportId)} account_mismatch`]: 'exception/open',
        [`${key(e.reportId)} status_mismatch`]: 'recall_applied/healing',
        [`${key(g.reportId)} status_mismatch`]: 'lookup_requeued/healing',
        [`${key(i.reportId)} amount_mismatch`]: 'exception/open',
        [`${key(unseen.reportId)} missing_in_finsync`]: 'reingested/healing',
      });
      const csv = readFileSync(exportPath, 'utf8').trim().split('\n');
      assert.equal(csv[0], BREAK_CSV_HEADER);
      assert.equal(csv.length, 1 + 9);

      // The healing runs through the pipeline; the next run finds those breaks gone, and keeps the others open (not twice).
      await waitFor('the healed items settle', async () => (await openPostings(h)) === 0 && (await h.hub.store.db.selectFrom('revisions').select('state').where('report_id', '=', unseen.reportId).executeTakeFirst())?.state === 'posted');
      await waitFor('the recalled report is reversed', async () => (await h.hub.store.db.selectFrom('postings').select('state').where('report_id', '=', e.reportId).where('kind', '=', 'reversal').executeTakeFirst())?.state === 'posted');
      assert.equal((await h.hub.store.db.selectFrom('revisions').select('state').where('report_id', '=', e.reportId).executeTakeFirstOrThrow()).state, 'recalled');
      assert.equal((await h.simDocuments(key(a.reportId))).length, 1, 'the missing document is in the ERP again, once');
      const again = await runReconciliation(h.hub.reconciliation, { entity: 'DE01', period, trigger: 'api', actor: 'test' });
      assert.deepEqual(again.breaks, { missing_in_erp: 0, extra_in_erp: 2, amount_mismatch: 2, account_mismatch: 1, status_mismatch: 0, missing_in_finsync: 0 });
      assert.equal(again.cleared, 4);
      const open = await h.hub.store.db.selectFrom('recon_breaks').select(['id', 'state']).where('state', '=', 'open').execute();
      assert.equal(open.length, 5, 'the exceptions are kept, not opened twice');

      // The exception queue lists them (kind reconciliation); a replay of one is refused; a person resolves one.
      const { items } = await listExceptions(h.hub.store.db, { kind: 'reconciliation' });
      assert.equal(items.length, 5);
      assert.ok(items.every((item) => item.stage === 'reconciliation' && item.code.startsWith('RECON_') && item.reconciliation !== null));
      const replay = await fetch(`${h.apiUrl}/v1/replays`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${h.apiKey}` }, body: JSON.stringify({ ids: [items[0].id], reason: 'try' }) });
      assert.equal(replay.status, 400);
      const resolve = await fetch(`${h.apiUrl}/v1/reconciliation/breaks/${items[0].id}/resolve`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${h.apiKey}` }, body: JSON.stringify({ resolution: 'reversed the duplicate in NetSuite' }) });
      assert.equal(resolve.status, 403, 'the demo key holds no role');
    } finally {
      rmSync(exportPath, { force: true });
      await h.close();
    }
  });
}

function bump(amount: string): string {
  const [whole, fraction = ''] = amount.split('.');
  return `${Number(whole) + 1}${fraction ? `.${fraction}` : ''}`;
}

test('a scheduled tick reconciles the previous and the current period once, however many processes run the schedule', { timeout: 120_000 }, async () => {
  const h = await startHarness('sqlite', { seed: 23, concurEntities: ['DE01'] });
  try {
    const entity = h.hub.reconciliation.entities().find((e) => e.code === 'DE01')!;
    assert.equal(entity.reconcileSchedule, '0 2 * * *', 'the sample company reconciles DE01 nightly');
    const tick = Date.UTC(2026, 10, 26, 2, 0, 0);
    assert.deepEqual(scheduledPeriods(tick), ['2026-10', '2026-11']);
    assert.deepEqual(scheduledPeriods(Date.UTC(2026, 0, 1, 2)), ['2025-12', '2026-01']);
    // Two processes firing the same tick: the run ids collide and the second skips.
    await Promise.all([runScheduledTick(h.hub.reconciliation, entity, tick), runScheduledTick(h.hub.reconciliation, entity, tick)]);
    const runs = await h.hub.store.db.selectFrom('recon_runs').select(['id', 'period', 'trigger', 'actor', 'status']).orderBy('period').execute();
    assert.deepEqual(
      runs.map((r) => [r.period, r.trigger, r.actor, r.status]),
      [
        ['2026-10', 'schedule', SCHEDULE_ACTOR, 'done'],
        ['2026-11', 'schedule', SCHEDULE_ACTOR, 'done'],
      ],
    );
    assert.ok(runs.every((r) => r.id === `schedule:DE01:${r.period}:2026-11-26T02:00`));
    // The next tick runs again.
    await runScheduledTick(h.hub.reconciliation, entity, tick + 86_400_000);
    assert.equal((await h.hub.store.db.selectFrom('recon_runs').select('id').execute()).length, 4);
  } finally {
    await h.close();
  }
});
