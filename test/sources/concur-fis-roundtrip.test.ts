/**
 * SAP Concur FIS as a source, end to end against the Concur FIS and NetSuite simulators, on both
 * stores: documents pulled, acknowledged once, posted, confirmed with the ERP document number; a
 * crash between posting and confirming neither double-posts nor loses the confirmation, which is
 * sent after the restart; unreadable documents and reports only Concur can fix are confirmed as
 * failures; reimbursements are confirmed as payments; a document recalled before its
 * acknowledgement is taken in as a recall.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import type { TargetConnector } from '../../src/connectors/contract.ts';
import { DEMO_CONCUR_SYSTEM_ID, startDemoEnvironment, startDemoSimulators, type DemoEnvironment, type DemoSimulators } from '../../src/demo/demo-environment.ts';
import { createConcurFisClient } from '../../src/connectors/concur-fis/client.ts';
import { createConcurFisSource } from '../../src/sources/concur-fis.ts';
import { systemClock } from '../../src/pipeline/clock.ts';
import pino from 'pino';
import { generateReports } from '../../src/demo/expense-platform.ts';
import type { ReportInput } from '../../src/domain/report.ts';
import { FAST_CONFIG } from '../support/hub-harness.ts';
import { createTestStorage, storeKinds, type TestStorage } from '../support/stores.ts';

const kinds = await storeKinds();

async function start(storage: TestStorage, sims: DemoSimulators, wrapConnector?: (c: TargetConnector) => TargetConnector): Promise<DemoEnvironment> {
  return startDemoEnvironment({ config: loadConfig({}, FAST_CONFIG), seed: 11, storage: storage.options, simulators: sims, concurEntities: ['DE01'], keep: true, ...(wrapConnector && { wrapConnector }) });
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function deReports(count: number, seed: number): ReportInput[] {
  return generateReports({ count, seed, invalidShare: 0 }).filter((r) => r.entity === 'DE01');
}

async function erpDocumentsOf(env: DemoEnvironment, reportId: string): Promise<{ id: string }[]> {
  const postings = await env.hub.store.db.selectFrom('postings').select('external_key').where('report_id', '=', reportId).where('kind', '=', 'journal').execute();
  const docs: { id: string }[] = [];
  for (const p of postings) docs.push(...((await (await fetch(`${env.simulator.url}/__sim/documents?externalId=${encodeURIComponent(p.external_key)}`)).json()) as { id: string }[]));
  return docs;
}

for (const { kind, skip } of kinds) {
  test(`Concur FIS round trip with a crash between posting and confirming, on ${kind}`, { skip, timeout: 180_000 }, async () => {
    const storage = createTestStorage(kind);
    const sims = await startDemoSimulators(11);
    // Phase 2 sets Concur down as soon as a journal is in the ERP: the confirmations cannot go out.
    let downAfterPosting = false;
    const wrap = (inner: TargetConnector): TargetConnector => ({
      ...inner,
      post: async (request) => {
        const outcome = await inner.post(request);
        if (downAfterPosting) sims.concur.setFaults({ down: true });
        return outcome;
      },
      lookup: (key) => inner.lookup(key),
    });
    let env = await start(storage, sims, wrap);
    try {
      // Phase 1: documents pulled, acknowledged once, posted, confirmed with the ERP document number.
      const first = deReports(30, 5);
      const firstIds = first.map((r) => sims.concur.publish(r));
      await waitFor('every document is confirmed', () => firstIds.every((id) => sims.concur.documents().find((d) => d.docId === id)?.postingConfirmations.length === 1));
      for (const id of firstIds) {
        const doc = sims.concur.documents().find((d) => d.docId === id)!;
        assert.equal(doc.status, 'POSTING_CONFIRMED_SUCCESS', id);
        assert.equal(doc.acknowledgements.successful, 1, `${id} acknowledged once`);
        assert.equal(doc.acknowledgements.repeats, 0);
        const erp = await erpDocumentsOf(env, doc.reportId);
        assert.equal(erp.length, 1, `${doc.reportId} has one ERP document`);
        assert.deepEqual(doc.postingConfirmations[0].documentNumbers, [erp[0].id], 'the confirmation carries the ERP document number');
      }

      // Phase 2: the ERP takes the journals, Concur goes down before the confirmations, the hub stops.
      downAfterPosting = true;
      const second = deReports(30, 6);
      const secondIds = second.map((r) => sims.concur.publish(r));
      await waitFor('every second-batch report is posted', async () => {
        const rows = await env.hub.store.db.selectFrom('revisions').select('state').where('report_id', 'in', second.map((r) => r.reportId)).execute();
        return rows.length === second.length && rows.every((r) => r.state === 'posted');
      });
      const pending = await env.hub.store.db.selectFrom('outbox').select('id').where('topic', '=', 'fis.confirm-posting').where('done_at', 'is', null).execute();
      assert.equal(pending.length, second.length, 'one confirmation per posted report waits in the outbox');
      await env.close();
      for (const id of secondIds) {
        const doc = sims.concur.documents().find((d) => d.docId === id)!;
        assert.equal(doc.postingConfirmations.filter((c) => c.code === 0).length, 0, `${id}: not confirmed before the crash`);
      }

      // Restart on the same store, Concur back up: the confirmations go out, nothing posts twice.
      downAfterPosting = false;
      sims.concur.setFaults({});
      env = await start(storage, sims);
      await waitFor('the second batch is confirmed after the restart', () => secondIds.every((id) => sims.concur.documents().find((d) => d.docId === id)?.status === 'POSTING_CONFIRMED_SUCCESS'));
      for (const id of [...firstIds, ...secondIds]) {
        const doc = sims.concur.documents().find((d) => d.docId === id)!;
        assert.equal(doc.postingConfirmations.filter((c) => c.code === 0).length, 1, `${id} confirmed exactly once`);
        assert.equal(doc.acknowledgements.successful, 1, `${id} acknowledged once`);
        assert.equal((await erpDocumentsOf(env, doc.reportId)).length, 1, `${doc.reportId}: one ERP document`);
      }
      const stats = (await (await fetch(`${env.simulator.url}/__sim/stats`)).json()) as { duplicateExternalIds: number };
      assert.equal(stats.duplicateExternalIds, 0);
    } finally {
      await env.close();
      await sims.netsuite.close();
      await sims.concur.close();
      await storage.cleanup();
    }
  });

  test(`Concur FIS: failures, payments, and recalls before the acknowledgement and before the confirmation, on ${kind}`, { skip, timeout: 120_000 }, async () => {
    const storage = createTestStorage(kind);
    const sims = await startDemoSimulators(12);
    const env = await start(storage, sims);
    try {
      const [good, recalled] = deReports(20, 8);
      const unreadable = sims.concur.publish('{"not":"a financial document"}');
      const goodId = sims.concur.publish(good);
      await waitFor('the good report is confirmed', () => sims.concur.documents().find((d) => d.docId === goodId)?.status === 'POSTING_CONFIRMED_SUCCESS');
      await waitFor('the unreadable document is confirmed as a failure', () => sims.concur.documents().find((d) => d.docId === unreadable)?.status === 'POSTING_CONFIRMED_FAILURE');
      const failed = sims.concur.documents().find((d) => d.docId === unreadable)!;
      assert.equal(failed.acknowledgements.successful, 1);
      assert.ok(failed.postingConfirmations[0].messages.includes('DOCUMENT_INVALID'));

      // A reimbursement of the posted report: scheduled (nothing to Concur), then paid (CP), sent twice.
      const api = async (body: object) => {
        const response = await fetch(`${env.apiUrl}/v1/reimbursements`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${env.apiKey}` }, body: JSON.stringify(body) });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      };
      assert.equal((await api({ reportId: good.reportId, milestone: 'scheduled', reference: 'RUN-1' })).body.platformCode, null);
      const paid = await api({ reportId: good.reportId, milestone: 'paid', reference: 'RUN-1', amount: '10.00', currency: 'EUR' });
      assert.deepEqual([paid.status, paid.body.status, paid.body.platformCode], [200, 'recorded', 'CP']);
      assert.equal((await api({ reportId: good.reportId, milestone: 'paid', reference: 'RUN-1', amount: '10.00', currency: 'EUR' })).body.status, 'duplicate');
      await waitFor('the payment is confirmed', () => sims.concur.documents().find((d) => d.docId === goodId)!.paymentConfirmations.length === 1);
      assert.equal(sims.concur.documents().find((d) => d.docId === goodId)!.paymentConfirmations[0].processingStatusCode, 'CP');
      const notPosted = await api({ reportId: 'NO-SUCH-REPORT', milestone: 'paid', reference: 'x' });
      assert.equal(notPosted.body.code, 'REPORT_NOT_FOUND');
      const timeline = await env.hub.store.db.selectFrom('event_log').select('kind').where('report_id', '=', good.reportId).where('kind', 'like', 'reimbursement.%').execute();
      assert.deepEqual(timeline.map((t) => t.kind), ['reimbursement.scheduled', 'reimbursement.paid']);

      // Recalled in Concur between the pull and the acknowledgement: the acknowledgement answers 102, and the report is recalled in finsync.
      const recalledId = sims.concur.publish(recalled);
      await env.hub.stopWorkers();
      const client = createConcurFisClient({ baseUrl: sims.concur.url, token: sims.concurToken, systemId: DEMO_CONCUR_SYSTEM_ID, requestTimeoutMs: 2_000 });
      const recallingClient = { ...client, acknowledge: async (ids: readonly string[]) => (ids.forEach((id) => sims.concur.recall(id)), client.acknowledge(ids)) };
      const source = createConcurFisSource({ store: env.hub.store, clock: systemClock, logger: pino({ level: 'silent' }), ingest: (events) => env.hub.ingest(events) }, { client: recallingClient, source: 'concur-fis', pollIntervalMs: 1_000 });
      const polled = await source.pollOnce();
      assert.deepEqual([polled.pulled, polled.ingested, polled.acknowledged], [1, 1, 0]);
      const row = await env.hub.store.db.selectFrom('fis_documents').select(['posting_status', 'acked_at']).where('doc_id', '=', recalledId).executeTakeFirstOrThrow();
      assert.deepEqual(row, { posting_status: 'recalled', acked_at: null });
      assert.notEqual((await env.hub.store.db.selectFrom('reports').select('recalled_at').where('report_id', '=', recalled.reportId).executeTakeFirstOrThrow()).recalled_at, null);

      // Recalled in Concur after the acknowledgement, before the confirmation: the confirmation
      // answers 112, and the report posted meanwhile is reversed (DE01's policy).
      const [, , late] = deReports(30, 9);
      const lateId = sims.concur.publish(late);
      const plain = createConcurFisSource({ store: env.hub.store, clock: systemClock, logger: pino({ level: 'silent' }), ingest: (events) => env.hub.ingest(events) }, { client, source: 'concur-fis', pollIntervalMs: 1_000 });
      assert.equal((await plain.pollOnce()).acknowledged, 1);
      sims.concur.recall(lateId);
      env.hub.startWorkers();
      await waitFor('the late recall is reversed', async () => (await env.hub.store.db.selectFrom('postings').select('state').where('report_id', '=', late.reportId).where('kind', '=', 'reversal').executeTakeFirst())?.state === 'posted');
      const lateDoc = await env.hub.store.db.selectFrom('fis_documents').select('posting_status').where('doc_id', '=', lateId).executeTakeFirstOrThrow();
      // Acknowledged fine, so 'recalled' can only come from the confirmation's 112; Concur kept no confirmation.
      assert.equal(lateDoc.posting_status, 'recalled');
      const lateView = sims.concur.documents().find((d) => d.docId === lateId)!;
      assert.deepEqual([lateView.acknowledgements.successful, lateView.postingConfirmations.length, lateView.recalled], [1, 0, true]);
    } finally {
      await env.close();
      await sims.netsuite.close();
      await sims.concur.close();
      await storage.cleanup();
    }
  });
}
