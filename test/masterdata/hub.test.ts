// Proves the master-data hub on both stores: a batch is stored atomically with its history kept and queryable, re-sending changes nothing, another process's index sees a change through the change feed within a second, and a report that only lacks master data waits in a visible state and resumes by itself (through the pipeline, to a posted ERP document) when a sync brings the record.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { generateReports, toCloudEvent, toRecallEvent } from '../../src/demo/expense-platform.ts';
import { SAMPLE_COMPANY } from '../../src/demo/sample-company.ts';
import { createMasterDataHub, type MasterDataHub } from '../../src/masterdata/hub.ts';
import { readRecordHistory } from '../../src/masterdata/md-store.ts';
import { normalizeRecord, type RecordInput, type System } from '../../src/masterdata/records.ts';
import { systemClock } from '../../src/pipeline/clock.ts';
import type { Store } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { reportState, startHarness, type Harness } from '../support/hub-harness.ts';
import { createTestStorage, storeKinds, type TestStorage } from '../support/stores.ts';

const records = (system: System, inputs: RecordInput[]) => inputs.map((r, i) => normalizeRecord(system, r, `records[${i}]`));
const costCenter = (key: string, attributes: Record<string, unknown>, range: { validFrom?: string; validTo?: string } = {}): RecordInput => ({ kind: 'cost_center', entity: 'DE01', key, ...range, attributes });

for (const store of await storeKinds()) {
  describe(`master-data store and index on ${store.kind}`, { skip: store.skip }, () => {
    let storage: TestStorage;
    let db: Store;
    let hub: MasterDataHub;
    before(async () => {
      storage = createTestStorage(store.kind);
      db = await storage.open();
      await migrate(db);
      hub = await createMasterDataHub({ store: db, clock: systemClock, entities: SAMPLE_COMPANY.entities, pollIntervalMs: 50, logger: pino({ level: 'silent' }) });
    });
    after(async () => {
      await db?.close();
      await storage?.cleanup();
    });

    test('a batch is stored and visible to validation at once; re-sending it changes nothing', async () => {
      const batch = records('erp', [costCenter('DE7001', { name: 'Lab', erpId: '7001' }, { validFrom: '2024-01-01' }), costCenter('DE7002', { name: 'Shop' })]);
      const first = await hub.apply('erp', 'test', batch);
      assert.deepEqual([first.received, first.changed, first.unchanged], [2, 2, 0]);
      const found = hub.index.lookup('cost_center', 'DE01', 'DE7001', '2025-06-01');
      assert.ok(found.found && found.active && found.record.attributes.erpId === '7001');
      const before2024 = hub.index.lookup('cost_center', 'DE01', 'DE7001', '2023-12-31');
      assert.ok(before2024.found && !before2024.active);
      const again = await hub.apply('erp', 'test', batch);
      assert.deepEqual([again.changed, again.unchanged, again.seq], [0, 2, first.seq]);
    });

    test('a cost center closed on the 31st accepts the 30th and refuses the 1st, and its history keeps every version with who sent it', async () => {
      await hub.apply('erp', 'test', records('erp', [costCenter('DE7003', { name: 'Events' }, { validFrom: '2020-01-01' })]));
      await hub.apply('erp', 'nightly-sync', records('erp', [costCenter('DE7003', { name: 'Events' }, { validTo: '2026-10-31' })]));
      const activeOn = (date: string) => {
        const found = hub.index.lookup('cost_center', 'DE01', 'DE7003', date);
        return found.found ? found.active : 'missing';
      };
      assert.equal(activeOn('2026-10-30'), true);
      assert.equal(activeOn('2026-10-31'), true);
      assert.equal(activeOn('2026-11-01'), false);
      const history = await readRecordHistory(db.db, 'cost_center', 'DE01', 'DE7003');
      assert.deepEqual(
        history.map((v) => [v.source, v.validFrom, v.validTo, v.replacedAt === null]),
        [
          ['test', '2020-01-01', '9999-12-31', false],
          ['nightly-sync', '2020-01-01', '2026-10-31', true],
        ],
      );
    });

    test('views of other systems are stored beside the ERP view and never used by validation', async () => {
      await hub.apply('hr', 'hr-feed', records('hr', [{ kind: 'employee', entity: 'DE01', key: 'DE01-E7777', attributes: { name: 'Only In HR' } }]));
      assert.equal(hub.index.lookup('employee', 'DE01', 'DE01-E7777', '2026-01-01').found, false);
      const history = await readRecordHistory(db.db, 'employee', 'DE01', 'DE01-E7777');
      assert.deepEqual(history.map((v) => v.system), ['hr']);
    });

    test("another process's index sees a change through the change feed within one second", async () => {
      const other = await createMasterDataHub({ store: db, clock: systemClock, entities: SAMPLE_COMPANY.entities, pollIntervalMs: 50 });
      other.feed.start();
      try {
        await hub.apply('erp', 'test', records('erp', [costCenter('DE7004', { name: 'New' })]));
        const changedAt = Date.now();
        while (!other.index.lookup('cost_center', 'DE01', 'DE7004', '2026-01-01').found) {
          assert.ok(Date.now() - changedAt < 1_000, 'the change was not visible to the other index within one second');
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      } finally {
        await other.feed.stop();
      }
    });
  });

  describe(`park and resume through the pipeline on ${store.kind}`, { skip: store.skip }, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness(store.kind);
    });
    after(async () => h?.close());

    const newcomer = (id: string): RecordInput => ({ kind: 'employee', entity: 'DE01', key: id, validFrom: '2020-01-01', attributes: { name: 'New Hire', erpId: '200005' } });
    const reportFor = (seed: number, employeeId: string, costCenter?: string) => {
      const base = generateReports({ count: 40, seed, invalidShare: 0 }).find((x) => x.entity === 'DE01');
      assert.ok(base, 'the generator made a DE01 report');
      return { ...base, employeeId, lines: base.lines.map((l) => (costCenter ? { ...l, allocations: [{ costCenter, percent: '100' }] } : l)) };
    };
    const revisionRow = (reportId: string) => h.hub.store.db.selectFrom('revisions').select(['state', 'reason_code']).where('report_id', '=', reportId).executeTakeFirstOrThrow();

    test('a report for an employee the ERP does not have yet waits, names what it waits for, and posts once a sync brings the employee', async () => {
      const report = reportFor(21, 'DE01-E0901');
      assert.equal((await h.send(toCloudEvent(report, { type: 'approved' }))).status, 202);
      await h.waitUntil('the report waits for master data', async () => (await reportState(h, report.reportId)) === 'waiting');
      assert.deepEqual(await revisionRow(report.reportId), { state: 'waiting', reason_code: 'MD_EMPLOYEE_UNKNOWN' });
      const blockers = await h.hub.store.db.selectFrom('md_blockers').select(['kind', 'key', 'reason']).where('report_id', '=', report.reportId).execute();
      assert.deepEqual(blockers, [{ kind: 'employee', key: 'DE01-E0901', reason: 'missing' }]);
      const view = await (await fetch(`${h.apiUrl}/v1/reports/${report.reportId}`, { headers: { authorization: `Bearer ${h.apiKey}` } })).json();
      assert.equal(view.state, 'waiting');
      assert.deepEqual(view.blockedBy, [{ kind: 'employee', entity: 'DE01', key: 'DE01-E0901', state: 'missing' }]);
      const result = await h.hub.masterData.apply('erp', 'netsuite', records('erp', [newcomer('DE01-E0901')]));
      assert.equal(result.resumed, 1);
      await h.waitUntil('the report is posted', async () => (await reportState(h, report.reportId)) === 'posted');
      const kinds = (await h.hub.store.db.selectFrom('event_log').select('kind').where('report_id', '=', report.reportId).orderBy('seq').execute()).map((r) => r.kind);
      assert.deepEqual(kinds.slice(0, 4), ['event.received', 'revision.waiting', 'revision.resumed', 'revision.validated']);
      assert.equal((await h.hub.store.db.selectFrom('md_blockers').selectAll().where('report_id', '=', report.reportId).execute()).length, 0);
    });

    test('a report missing two records resumes after the first arrives, waits again for the second, and posts after it', async () => {
      const report = reportFor(22, 'DE01-E0902', 'DE4999');
      await h.send(toCloudEvent(report, { type: 'approved' }));
      await h.waitUntil('the report waits', async () => (await reportState(h, report.reportId)) === 'waiting');
      await h.hub.masterData.apply('erp', 'netsuite', records('erp', [newcomer('DE01-E0902')]));
      await h.waitUntil('it waits again, for the cost center only', async () => {
        const rows = await h.hub.store.db.selectFrom('md_blockers').select('key').where('report_id', '=', report.reportId).execute();
        return (await reportState(h, report.reportId)) === 'waiting' && rows.length === 1 && rows[0].key === 'DE4999';
      });
      await h.hub.masterData.apply('erp', 'netsuite', records('erp', [{ kind: 'cost_center', entity: 'DE01', key: 'DE4999', attributes: { name: 'Late', erpId: '2001' } }]));
      await h.waitUntil('the report is posted', async () => (await reportState(h, report.reportId)) === 'posted');
    });

    test('a closed cost center is not waited for: the report is quarantined and the record is listed as blocking it', async () => {
      const report = reportFor(23, 'DE01-E0001', 'DE4180');
      const late = { ...report, lines: report.lines.map((l) => ({ ...l, date: '2026-05-02' })) };
      await h.send(toCloudEvent(late, { type: 'approved' }));
      await h.waitUntil('the report is quarantined', async () => (await reportState(h, report.reportId)) === 'quarantined');
      assert.deepEqual(await revisionRow(report.reportId), { state: 'quarantined', reason_code: 'MD_COST_CENTER_CLOSED' });
      const blockers = await h.hub.store.db.selectFrom('md_blockers').select(['key', 'reason']).where('report_id', '=', report.reportId).execute();
      assert.deepEqual(blockers, [{ key: 'DE4180', reason: 'inactive' }]);
    });

    test('a waiting report that is recalled stays recalled when the record arrives later', async () => {
      const report = reportFor(24, 'DE01-E0904');
      await h.send(toCloudEvent(report, { type: 'approved' }));
      await h.waitUntil('the report waits', async () => (await reportState(h, report.reportId)) === 'waiting');
      await h.send(toRecallEvent(report.reportId, report.revision, 'withdrawn by the employee'));
      await h.waitUntil('the report is recalled', async () => (await reportState(h, report.reportId)) === 'recalled');
      const result = await h.hub.masterData.apply('erp', 'netsuite', records('erp', [newcomer('DE01-E0904')]));
      assert.equal(result.resumed, 0);
      assert.equal(await reportState(h, report.reportId), 'recalled');
    });
  });
}
