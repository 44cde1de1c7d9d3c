// Proves the per-report state machine end to end through the NetSuite simulator on both stores:
// a newer revision supersedes an unposted one, a revision after posting reverses then re-posts,
// a stale revision is recorded and ignored, and a recall reverses a posted report.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { postingKey } from '../../src/domain/keys.ts';
import { generateReports, reviseReport, toCloudEvent, toRecallEvent } from '../../src/demo/expense-platform.ts';
import { SAMPLE_TARGET } from '../../src/demo/sample-company.ts';
import { openPostings, reportState, startHarness, type Harness } from '../support/hub-harness.ts';
import { storeKinds } from '../support/stores.ts';
import { listExceptions } from '../../src/exceptions/exceptions.ts';

const validReports = (seed: number, count: number) => generateReports({ count, seed, invalidShare: 0 });

for (const store of await storeKinds()) {
  describe(`revisions and recalls on ${store.kind}`, { skip: store.skip }, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness(store.kind);
    });
    after(async () => h?.close());

    test('a revision after posting posts a reversal, then the new journal', async () => {
      const [r1] = validReports(11, 1);
      assert.equal((await h.send(toCloudEvent(r1, { type: 'approved' }))).status, 202);
      await h.waitUntil('revision 1 is posted', async () => (await reportState(h, r1.reportId)) === 'posted');
      const r2 = reviseReport(r1, 11);
      assert.equal((await h.send(toCloudEvent(r2, { type: 'updated' }))).status, 202);
      await h.waitUntil('revision 2 is posted', async () => (await reportState(h, r1.reportId)) === 'posted' && (await openPostings(h)) === 0);
      const keys = [postingKey(r1.reportId, 1, SAMPLE_TARGET), postingKey(r1.reportId, 1, SAMPLE_TARGET, 'reversal'), postingKey(r1.reportId, 2, SAMPLE_TARGET)];
      for (const key of keys) assert.equal((await h.simDocuments(key)).length, 1, `one ERP document for ${key}`);
      const postings = await h.hub.store.db.selectFrom('postings').select(['kind', 'revision', 'state', 'id']).where('report_id', '=', r1.reportId).orderBy('id').execute();
      assert.deepEqual(postings.map((p) => [p.kind, p.revision, p.state]), [['journal', 1, 'posted'], ['reversal', 1, 'posted'], ['journal', 2, 'posted']]);
      const revision1 = await h.hub.store.db.selectFrom('revisions').select('state').where('report_id', '=', r1.reportId).where('revision', '=', 1).executeTakeFirstOrThrow();
      assert.equal(revision1.state, 'reversed');
    });

    test('a newer revision in the same batch supersedes the unposted older one: no reversal, one document', async () => {
      const [r1] = validReports(12, 1);
      const r2 = reviseReport(r1, 12);
      assert.equal((await h.send([toCloudEvent(r1, { type: 'approved' }), toCloudEvent(r2, { type: 'updated' })])).status, 202);
      await h.waitUntil('revision 2 is posted', async () => (await reportState(h, r1.reportId)) === 'posted' && (await openPostings(h)) === 0);
      const rows = await h.hub.store.db.selectFrom('revisions').select(['revision', 'state']).where('report_id', '=', r1.reportId).orderBy('revision').execute();
      assert.deepEqual(rows.map((r) => [r.revision, r.state]), [[1, 'superseded'], [2, 'posted']]);
      assert.equal((await h.simDocuments(postingKey(r1.reportId, 1, SAMPLE_TARGET))).length, 0);
      assert.equal((await h.simDocuments(postingKey(r1.reportId, 2, SAMPLE_TARGET))).length, 1);
    });

    test('a stale revision arriving after a newer one is recorded as superseded and changes nothing', async () => {
      const [r1] = validReports(13, 1);
      const r2 = reviseReport(r1, 13);
      await h.send(toCloudEvent(r2, { type: 'updated' }));
      await h.waitUntil('revision 2 is posted', async () => (await reportState(h, r1.reportId)) === 'posted');
      await h.send(toCloudEvent(r1, { type: 'approved' }));
      const stale = await h.hub.store.db.selectFrom('revisions').select(['state', 'reason_code']).where('report_id', '=', r1.reportId).where('revision', '=', 1).executeTakeFirstOrThrow();
      assert.deepEqual(stale, { state: 'superseded', reason_code: 'STALE_REVISION' });
      assert.equal(await reportState(h, r1.reportId), 'posted');
      assert.equal((await h.simDocuments(postingKey(r1.reportId, 1, SAMPLE_TARGET))).length, 0);
    });

    test('a recall after posting reverses the journal and ends as recalled', async () => {
      const [r1] = validReports(14, 1);
      await h.send(toCloudEvent(r1, { type: 'approved' }));
      await h.waitUntil('posted', async () => (await reportState(h, r1.reportId)) === 'posted');
      assert.equal((await h.send(toRecallEvent(r1.reportId, 1, 'employee recalled the report'))).status, 202);
      await h.waitUntil('the reversal is posted', async () => (await reportState(h, r1.reportId)) === 'recalled' && (await openPostings(h)) === 0);
      assert.equal((await h.simDocuments(postingKey(r1.reportId, 1, SAMPLE_TARGET, 'reversal'))).length, 1);
      const view = await (await fetch(`${h.apiUrl}/v1/reports/${r1.reportId}`, { headers: { authorization: `Bearer ${h.apiKey}` } })).json();
      assert.equal(view.state, 'recalled');
      assert.ok(view.timeline.some((e: { kind: string }) => e.kind === 'reversal.posted'));
    });

    test('under the flag policy (JP01), a recall after posting leaves the books alone and opens an exception', async () => {
      const r1 = validReports(40, 30).find((r) => r.entity === 'JP01')!;
      await h.send(toCloudEvent(r1, { type: 'approved' }));
      await h.waitUntil('posted', async () => (await reportState(h, r1.reportId)) === 'posted');
      assert.equal((await h.send(toRecallEvent(r1.reportId, 1, 'rejected by the approver after payment run'))).status, 202);
      await h.waitUntil('the recall is flagged', async () => (await h.hub.store.db.selectFrom('event_log').select('kind').where('report_id', '=', r1.reportId).where('kind', '=', 'revision.recall-flagged').executeTakeFirst()) !== undefined);
      assert.equal(await reportState(h, r1.reportId), 'posted', 'the posted revision stands');
      const reversals = await h.hub.store.db.selectFrom('postings').select('id').where('report_id', '=', r1.reportId).where('kind', '=', 'reversal').execute();
      assert.equal(reversals.length, 0, 'no reversal is queued');
      const { items } = await listExceptions(h.hub.store.db, { code: 'RECON_RECALLED_AFTER_POSTING' });
      const item = items.find((i) => i.reportId === r1.reportId);
      assert.ok(item, 'an exception is open');
      assert.equal(item.stage, 'reconciliation');
      assert.equal(item.externalKey, postingKey(r1.reportId, 1, SAMPLE_TARGET));
      assert.match(item.message, /entity JP01 flags such reports instead of reversing them/);
      assert.equal(item.reconciliation?.platform?.status, 'recalled');
    });

    test('the report view shows the journal, every attempt and the timeline', async () => {
      const [r1] = validReports(15, 1);
      await h.send(toCloudEvent(r1, { type: 'approved' }));
      await h.waitUntil('posted', async () => (await reportState(h, r1.reportId)) === 'posted');
      const view = await (await fetch(`${h.apiUrl}/v1/reports/${r1.reportId}`, { headers: { authorization: `Bearer ${h.apiKey}` } })).json();
      assert.equal(view.state, 'posted');
      assert.ok(view.journal.lines.length >= 2);
      assert.equal(view.postings[0].attempts[0].outcome, 'created');
      assert.ok(view.postings[0].documentId);
      const kinds = view.timeline.map((e: { kind: string }) => e.kind);
      for (const kind of ['event.received', 'revision.validated', 'revision.mapped', 'revision.queued', 'posting.posted']) assert.ok(kinds.includes(kind), `timeline has ${kind}`);
      // The sample rule sets, bootstrapped as version 1 of the entity and the group.
      assert.match(view.revisions[0].mappingVersion, /^[A-Z0-9]+@1\+GROUP@1$/);
      assert.ok(view.journal.lines.every((l: { rule?: string }) => /^(DE01|US01|JP01|GROUP)@1#/.test(l.rule ?? '')), 'every journal line names its rule');
    });
  });
}

for (const store of await storeKinds()) {
  describe(`edge cases of the state machine on ${store.kind}`, { skip: store.skip }, () => {
    let h: Harness;
    before(async () => {
      // Every request times out after the ERP committed it, and the retry waits seconds: a
      // posting sits queued with an unknown outcome long enough for a revision to arrive.
      h = await startHarness(store.kind, { faults: { timeoutAfterCommitRate: 1, holdMs: 60_000 }, config: { requestTimeoutMs: 300, inProcessAttempts: 0, retryDelayMs: 3_000, retryDelayMsMax: 3_000 } });
    });
    after(async () => h?.close());

    test('a report whose lines all come to zero is quarantined as REPORT_NOTHING_TO_POST', async () => {
      const [r1] = validReports(16, 1);
      const zero = { ...r1, total: undefined, lines: r1.lines.map((l) => ({ ...l, amount: { ...l.amount, value: '0' }, tax: undefined, exchangeRate: l.exchangeRate, allocations: [{ costCenter: l.allocations[0].costCenter, percent: '100' }] })) };
      assert.equal((await h.send(toCloudEvent(zero, { type: 'approved' }))).status, 202);
      await h.waitUntil('quarantined', async () => (await reportState(h, r1.reportId)) === 'quarantined');
      const row = await h.hub.store.db.selectFrom('revisions').select('reason_code').where('report_id', '=', r1.reportId).executeTakeFirstOrThrow();
      assert.equal(row.reason_code, 'REPORT_NOTHING_TO_POST');
    });

    test('a revision arriving while the earlier posting\'s outcome is unknown reverses it rather than dropping it', async () => {
      const [r1] = validReports(17, 1);
      await h.send(toCloudEvent(r1, { type: 'approved' }));
      const key = postingKey(r1.reportId, 1, SAMPLE_TARGET);
      // The first send timed out after the ERP committed: the posting is queued again with an unknown outcome.
      await h.waitUntil('the outcome is unknown', async () => {
        const p = await h.hub.store.db.selectFrom('postings').select(['state', 'unknown_outcome']).where('external_key', '=', key).executeTakeFirst();
        return p?.unknown_outcome === 1 && p.state === 'queued';
      });
      h.simulator.setFaults({});
      await h.send(toCloudEvent(reviseReport(r1, 17), { type: 'updated' }));
      await h.waitUntil('revision 2 is posted', async () => (await reportState(h, r1.reportId)) === 'posted' && (await openPostings(h)) === 0);
      assert.equal((await h.simDocuments(key)).length, 1, 'the first journal is in the ERP once');
      assert.equal((await h.simDocuments(postingKey(r1.reportId, 1, SAMPLE_TARGET, 'reversal'))).length, 1, 'and it is reversed');
      const first = await h.hub.store.db.selectFrom('postings').select('state').where('external_key', '=', key).executeTakeFirstOrThrow();
      assert.equal(first.state, 'posted', 'finsync records the first journal as posted, as the ERP holds it');
      h.simulator.setFaults({ timeoutAfterCommitRate: 1, holdMs: 60_000 });
    });
  });
}
