// Proves routing by date and shadow mode end to end on both stores, with a second NetSuite account
// as the new ERP: a cutover sends an entity's reports dated before it to the legacy target and those
// from it to the new one; a shadow target gets every journal too, never deciding the revision's state,
// and the shadow report shows where the outcomes differ; routing changes are checked, versioned and
// in the event log; a maintenance window holds one target's postings in order while another flows.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createNetSuiteConnector } from '../../src/connectors/netsuite/client.ts';
import { startNetSuiteSimulator, type NetSuiteSimulator } from '../../src/connectors/netsuite/simulator.ts';
import { netsuiteMasterDataFromCompany } from '../../src/connectors/netsuite/simulator-suiteql.ts';
import { generateReports, toCloudEvent } from '../../src/demo/expense-platform.ts';
import { SAMPLE_COMPANY, SAMPLE_TARGET } from '../../src/demo/sample-company.ts';
import { postingKey } from '../../src/domain/keys.ts';
import type { ReportInput } from '../../src/domain/report.ts';
import { setRouting, listRoutingVersions } from '../../src/routing/routing.ts';
import { addMaintenanceWindow, cancelMaintenanceWindow } from '../../src/routing/maintenance.ts';
import { shadowReport } from '../../src/routing/shadow.ts';
import { AppError } from '../../src/errors.ts';
import { openPostings, startHarness, type Harness } from '../support/hub-harness.ts';
import { storeKinds } from '../support/stores.ts';

const NEXT = 'netsuite-next';

function reportOf(entity: string, approvedOn: Date, seed: number): ReportInput {
  for (let s = seed; s < seed + 400; s++) {
    const [r] = generateReports({ count: 1, seed: s, approvedOn, invalidShare: 0 });
    if (r.entity === entity) return r;
  }
  throw new Error(`Assertion failed: no ${entity} report`);
}

async function documentsIn(sim: NetSuiteSimulator, externalId: string): Promise<number> {
  return ((await (await fetch(`${sim.url}/__sim/documents?externalId=${encodeURIComponent(externalId)}`)).json()) as unknown[]).length;
}

for (const s of await storeKinds()) {
  describe(`routing, cutover, shadow and maintenance on ${s.kind}`, { skip: s.skip }, () => {
    let h: Harness;
    let next: NetSuiteSimulator;
    const known = { entities: SAMPLE_COMPANY.entities.map((e) => e.code), targets: [SAMPLE_TARGET, NEXT] };
    before(async () => {
      const token = randomBytes(8).toString('hex');
      next = await startNetSuiteSimulator({ port: 0, token, seed: 5, masterData: netsuiteMasterDataFromCompany(SAMPLE_COMPANY) });
      const connector = createNetSuiteConnector({ target: NEXT, baseUrl: next.url, token, maxConcurrency: 4, requestTimeoutMs: 2_000 });
      h = await startHarness(s.kind, { seed: 41, extraConnectors: [connector] });
    });
    after(async () => {
      await h?.close();
      await next?.close();
    });

    test('a routing table is checked whole and refused with every problem; a good one is versioned and logged', async () => {
      await assert.rejects(
        setRouting(h.hub.store.db, { rules: [{ entity: 'DE01', target: NEXT, from: '2026-01-01' }, { entity: 'DE01', target: SAMPLE_TARGET, to: '2026-06-30' }, { entity: 'XX01', target: 'sap' }], author: 't', reason: 'r' }, known, Date.now()),
        (error: AppError) => {
          assert.equal(error.code, 'ROUTING_INVALID');
          const problems = (error.details as { problems: string[] }).problems;
          assert.ok(problems.some((p) => p.includes('rules[1] overlaps rules[0]')));
          assert.ok(problems.some((p) => p.includes('rules[2].entity: XX01')));
          assert.ok(problems.some((p) => p.includes('rules[2].target: sap')));
          return true;
        },
      );
      assert.deepEqual(await listRoutingVersions(h.hub.store.db), [], 'nothing stored');
    });

    test('a cutover date routes reports before it to the legacy target and from it to the new one', async () => {
      const rules = [
        { entity: 'DE01', target: SAMPLE_TARGET, to: '2026-11-15' },
        { entity: 'DE01', target: NEXT, from: '2026-11-16' },
      ];
      const version = await setRouting(h.hub.store.db, { rules, author: 'controller', reason: 'DE01 moves to the new ERP on 16 November' }, known, Date.now());
      const logged = await h.hub.store.db.selectFrom('event_log').select('payload').where('kind', '=', 'routing.changed').execute();
      assert.equal(JSON.parse(logged[logged.length - 1].payload).version, version.version);
      const before = reportOf('DE01', new Date('2026-11-10T12:00:00Z'), 100);
      const afterCutover = reportOf('DE01', new Date('2026-11-20T12:00:00Z'), 200);
      assert.equal((await h.send([toCloudEvent(before, { type: 'approved' }), toCloudEvent(afterCutover, { type: 'approved' })])).status, 202);
      await h.waitUntil('both are posted', async () => (await openPostings(h)) === 0 && (await h.hub.store.db.selectFrom('revisions').select('state').where('report_id', 'in', [before.reportId, afterCutover.reportId]).where('state', '=', 'posted').execute()).length === 2);
      const legacyKey = postingKey(before.reportId, 1, SAMPLE_TARGET);
      const newKey = postingKey(afterCutover.reportId, 1, NEXT);
      assert.deepEqual([await h.simDocuments(legacyKey).then((d) => d.length), await documentsIn(next, legacyKey)], [1, 0]);
      assert.deepEqual([await documentsIn(next, newKey), await h.simDocuments(newKey).then((d) => d.length)], [1, 0]);
      const queued = await h.hub.store.db.selectFrom('event_log').select('payload').where('report_id', '=', afterCutover.reportId).where('kind', '=', 'revision.queued').executeTakeFirstOrThrow();
      assert.deepEqual(JSON.parse(queued.payload), { target: NEXT, externalKey: newKey, routingVersion: version.version });
      const resolved = await (await fetch(`${h.apiUrl}/v1/routing/resolve?entity=DE01&date=2026-11-15`, { headers: { authorization: `Bearer ${h.apiKey}` } })).json();
      assert.deepEqual(resolved, { target: SAMPLE_TARGET, companyId: '2', version: version.version });
    });

    test('a shadow target gets every journal too; the primary decides the state; the shadow report shows the differences', async () => {
      await setRouting(h.hub.store.db, { rules: [{ entity: 'US01', target: SAMPLE_TARGET, shadow: { target: NEXT } }], author: 'controller', reason: 'US01 migration wave 1: shadow' }, known, Date.now());
      const startedAt = Date.now();
      const ok = reportOf('US01', new Date('2026-11-20T12:00:00Z'), 300);
      await h.send(toCloudEvent(ok, { type: 'approved' }));
      await h.waitUntil('posted in both', async () => (await openPostings(h)) === 0 && (await h.hub.store.db.selectFrom('postings').select('id').where('report_id', '=', ok.reportId).where('state', '=', 'posted').execute()).length === 2);
      assert.equal(await documentsIn(next, postingKey(ok.reportId, 1, NEXT)), 1);
      // The new ERP refuses an account: the shadow is quarantined, the report stays posted by the primary.
      const refused = reportOf('US01', new Date('2026-11-21T12:00:00Z'), 400);
      const accountIds = [...new Set(h.hub.masterData.index.keys('gl_account', 'US01', '2026-11-21').map((code) => h.hub.masterData.index.erpId('gl_account', 'US01', code, '2026-11-21')!))];
      for (const id of accountIds) next.setInactive('account', id, true);
      try {
        await h.send(toCloudEvent(refused, { type: 'approved' }));
        await h.waitUntil('primary posted, shadow quarantined', async () => {
          const rows = await h.hub.store.db.selectFrom('postings').select(['role', 'state']).where('report_id', '=', refused.reportId).execute();
          return rows.some((r) => r.role === 'primary' && r.state === 'posted') && rows.some((r) => r.role === 'shadow' && r.state === 'quarantined');
        });
      } finally {
        for (const id of accountIds) next.setInactive('account', id, false);
      }
      const state = await h.hub.store.db.selectFrom('revisions').select('state').where('report_id', '=', refused.reportId).executeTakeFirstOrThrow();
      assert.equal(state.state, 'posted', 'the shadow never decides the state');
      const report = await shadowReport(h.hub.store.db, { entity: 'US01', fromMs: startedAt, toMs: Date.now() + 1, limit: 100 });
      assert.deepEqual(report.counts, { none: 1, outcome: 1, pending: 0 });
      const differing = report.rows.find((r) => r.difference === 'outcome')!;
      assert.deepEqual([differing.reportId, differing.primary?.state, differing.shadow.state, differing.shadow.reasonCode], [refused.reportId, 'posted', 'quarantined', 'ERP_INVALID_REFERENCE']);
    });

    test('a maintenance window holds one target in order while the other flows, and it drains after', async () => {
      await setRouting(h.hub.store.db, { rules: [{ entity: 'JP01', target: NEXT }], author: 'controller', reason: 'JP01 on the new ERP' }, known, Date.now());
      const window = await addMaintenanceWindow(h.hub.store.db, { target: NEXT, from: new Date(Date.now() - 1_000).toISOString(), to: new Date(Date.now() + 3_600_000).toISOString(), reason: 'upgrade' }, 'ops', known.targets, Date.now());
      await h.hub.maintenance.refresh(Date.now());
      const held = [reportOf('JP01', new Date('2026-11-22T12:00:00Z'), 500), reportOf('JP01', new Date('2026-11-22T12:00:00Z'), 600)];
      const flowing = reportOf('US01', new Date('2026-11-22T12:00:00Z'), 700);
      await h.send([...held, flowing].map((r) => toCloudEvent(r, { type: 'approved' })));
      await h.waitUntil('the other target posts', async () => (await h.hub.store.db.selectFrom('postings').select('state').where('report_id', '=', flowing.reportId).where('role', '=', 'primary').executeTakeFirst())?.state === 'posted');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const waiting = await h.hub.store.db.selectFrom('postings').select(['state', 'attempts']).where('report_id', 'in', held.map((r) => r.reportId)).execute();
      assert.deepEqual(waiting.map((w) => [w.state, w.attempts]), [['queued', 0], ['queued', 0]], 'held in the queue, never tried');
      await cancelMaintenanceWindow(h.hub.store.db, window.id, 'ops', Date.now());
      await h.hub.maintenance.refresh(Date.now());
      h.hub.lanes.get(NEXT)?.notify();
      await h.waitUntil('the held postings drain', async () => (await h.hub.store.db.selectFrom('postings').select('state').where('report_id', 'in', held.map((r) => r.reportId)).where('state', '=', 'posted').execute()).length === 2);
      for (const r of held) assert.equal(await documentsIn(next, postingKey(r.reportId, 1, NEXT)), 1);
      const posted = await h.hub.store.db.selectFrom('postings').select(['id', 'posted_at']).where('report_id', 'in', held.map((r) => r.reportId)).orderBy('id').execute();
      assert.ok(Number(posted[0].posted_at) <= Number(posted[1].posted_at), 'drained in order');
    });
  });
}
