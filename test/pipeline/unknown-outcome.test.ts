// Proves that a posting quarantined after its claims ran out on unanswered requests stays marked as
// possibly committed (unknown_outcome), so a newer revision queues a reversal for it instead of
// dropping it silently — the ERP may hold it — and a replay would look it up before any resend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TargetConnector } from '../../src/connectors/contract.ts';
import { generateReports, reviseReport, toCloudEvent } from '../../src/demo/expense-platform.ts';
import { postingKey } from '../../src/domain/keys.ts';
import { SAMPLE_TARGET } from '../../src/demo/sample-company.ts';
import { startHarness } from '../support/hub-harness.ts';
import { storeKinds } from '../support/stores.ts';

for (const { kind, skip } of await storeKinds()) {
  test(`a posting quarantined after unanswered requests keeps its unknown outcome, and a revision reverses it, on ${kind}`, { skip, timeout: 120_000 }, async () => {
    let failing = true;
    let calls = 0;
    // The first request is refused with a 429 (nothing committed); every later one reaches the ERP
    // (it commits) but its answer is lost, until `failing` is cleared. So only the last claim is unsettled.
    const wrap = (inner: TargetConnector): TargetConnector => ({
      ...inner,
      post: async (request) => {
        if (failing && calls++ === 0) return { status: 'failed', error: { kind: 'rate_limited', vendorCode: '429', message: 'busy', retryAfterMs: 1 } };
        const outcome = await inner.post(request);
        return failing ? { status: 'unknown', error: { kind: 'transient', vendorCode: 'ETIMEDOUT', message: 'no answer' } } : outcome;
      },
      lookup: async (key) => (failing ? { status: 'failed', error: { kind: 'unavailable', vendorCode: 'ECONNRESET', message: 'no answer' } } : inner.lookup(key)),
    });
    const h = await startHarness(kind, { seed: 31, config: { maxPostingClaims: 2, inProcessAttempts: 0, retryDelayMs: 5, retryDelayMsMax: 20 }, wrapConnector: wrap });
    try {
      const [r1] = generateReports({ count: 1, seed: 31, invalidShare: 0 });
      await h.send(toCloudEvent(r1, { type: 'approved' }));
      const key = postingKey(r1.reportId, 1, SAMPLE_TARGET);
      await h.waitUntil('the posting is quarantined', async () => (await h.hub.store.db.selectFrom('postings').select('state').where('external_key', '=', key).executeTakeFirst())?.state === 'quarantined');
      const quarantined = await h.hub.store.db.selectFrom('postings').select(['reason_code', 'unknown_outcome']).where('external_key', '=', key).executeTakeFirstOrThrow();
      assert.deepEqual(quarantined, { reason_code: 'ERP_RETRIES_EXHAUSTED', unknown_outcome: 1 });
      assert.equal((await h.simDocuments(key)).length, 1, 'the ERP holds the journal although finsync never heard back');
      failing = false;
      await h.send(toCloudEvent(reviseReport(r1, 31), { type: 'updated' }));
      await h.waitUntil('the reversal and revision 2 are posted', async () => {
        const rows = await h.hub.store.db.selectFrom('postings').select(['kind', 'revision', 'state']).where('report_id', '=', r1.reportId).execute();
        return rows.some((r) => r.kind === 'reversal' && r.state === 'posted') && rows.some((r) => r.revision === 2 && r.state === 'posted');
      });
      assert.equal((await h.simDocuments(postingKey(r1.reportId, 1, SAMPLE_TARGET, 'reversal'))).length, 1, 'the journal the ERP holds is reversed');
    } finally {
      await h.close();
    }
  });
}
