// Proves the master-data API on both stores: pushed records are applied atomically and their history is queryable; a batch with any bad record (schema, unknown entity, duplicate key, dates out of order, too many records) is refused whole with the record and field named and nothing stored; the drift report finds each class of difference between the ERP and HR / the expense platform, counted per entity, with the reports each record blocks; and the sources routes answer with stable codes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { employeeId } from '../../src/demo/sample-company.ts';
import { startApiHarness, validReport, approvedEvent, type ApiHarness } from '../support/api-harness.ts';
import { storeKinds } from '../support/stores.ts';

const cc = (key: string, attributes: Record<string, unknown> = { name: 'Pushed' }, extra: Record<string, unknown> = {}) => ({ kind: 'cost_center', entity: 'DE01', key, attributes, ...extra });

for (const store of await storeKinds()) {
  describe(`master-data API on ${store.kind}`, { skip: store.skip }, () => {
    let h: ApiHarness;
    before(async () => {
      h = await startApiHarness(store.kind);
    });
    after(async () => h?.close());

    const mdRows = async () => Number((await h.store.db.selectFrom('md_records').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

    test('a pushed batch is applied, visible at once, and its history is queryable', async () => {
      const pushed = await h.post('/v1/master-data/records', { system: 'erp', records: [cc('DE5001', { name: 'Pushed', erpId: '5001' }, { validFrom: '2026-01-01', validTo: '2026-10-31' })] });
      assert.equal(pushed.status, 200, pushed.text);
      assert.deepEqual([pushed.body.received, pushed.body.changed, pushed.body.unchanged], [1, 1, 0]);
      const onLastDay = await h.get('/v1/master-data/records/cost_center/DE01/DE5001?date=2026-10-31');
      assert.equal(onLastDay.status, 200);
      assert.equal(onLastDay.body.onDate.active, true);
      const dayAfter = await h.get('/v1/master-data/records/cost_center/DE01/DE5001?date=2026-11-01');
      assert.equal(dayAfter.body.onDate.active, false);
      await h.post('/v1/master-data/records', { system: 'erp', records: [cc('DE5001', { name: 'Renamed', erpId: '5001' }, { validFrom: '2026-01-01', validTo: '2026-10-31' })] });
      const record = await h.get('/v1/master-data/records/cost_center/DE01/DE5001');
      assert.deepEqual(record.body.history.map((v: any) => [v.attributes.name, v.replacedAt === null]), [['Pushed', false], ['Renamed', true]]);
      assert.equal((await h.get('/v1/master-data/records/cost_center/DE01/NOPE')).body.code, 'MD_RECORD_NOT_FOUND');
    });

    const refusals: [string, unknown, string, string][] = [
      ['a missing attribute', { system: 'erp', records: [cc('DE5101'), { kind: 'gl_account', entity: 'DE01', key: '6200', attributes: { name: 'No flag' } }] }, 'MD_RECORD_INVALID', 'records[1].attributes.postable'],
      ['a tax rate that is not a percentage', { system: 'erp', records: [cc('DE5102'), { kind: 'tax_code', entity: 'DE01', key: 'X', attributes: { jurisdiction: 'DE', rate: 'nineteen' } }] }, 'MD_RECORD_INVALID', 'records[1].attributes.rate'],
      ['an unknown entity', { system: 'erp', records: [cc('DE5103'), { ...cc('FR5103'), entity: 'FR01' }] }, 'MD_ENTITY_NOT_CONFIGURED', 'records[1].entity'],
      ['the same key twice with overlapping dates', { system: 'erp', records: [cc('DE5104'), cc('DE5104')] }, 'MD_DUPLICATE_KEY', 'records[1]'],
      ['dates out of order', { system: 'erp', records: [cc('DE5105', { name: 'x' }, { validFrom: '2026-05-01', validTo: '2026-04-30' })] }, 'MD_RECORD_INVALID', 'records[0].validTo'],
      ['a date that is not in the calendar', { system: 'erp', records: [cc('DE5106', { name: 'x' }, { validFrom: '2026-02-30' })] }, 'MD_RECORD_INVALID', 'records[0].validFrom'],
    ];
    for (const [what, body, code, path] of refusals) {
      test(`a batch with ${what} is refused whole (${code} at ${path}) and nothing is stored`, async () => {
        const before = await mdRows();
        const response = await h.post('/v1/master-data/records', body);
        assert.equal(response.status, 400, response.text);
        assert.equal(response.body.code, 'MD_IMPORT_INVALID');
        const problem = response.body.details.find((p: any) => p.code === code);
        assert.ok(problem, `expected a ${code} problem in ${response.text}`);
        assert.ok(problem.message.includes(path) || `${problem.field ?? ''}`.includes(path.split('.').slice(1).join('.')), `the problem names ${path}: ${problem.message}`);
        assert.equal(await mdRows(), before);
      });
    }

    test('an over-large push is refused with MD_BATCH_TOO_LARGE', async () => {
      const records = Array.from({ length: 5_001 }, (_, i) => cc(`DE6${String(i).padStart(4, '0')}`));
      const response = await h.post('/v1/master-data/records', { system: 'erp', records });
      assert.equal(response.status, 400);
      assert.equal(response.body.code, 'MD_BATCH_TOO_LARGE');
    });

    test('master-data routes need an API key', async () => {
      assert.equal((await h.post('/v1/master-data/records', { system: 'erp', records: [cc('DE5200')] }, { key: false })).status, 401);
      assert.equal((await h.get('/v1/master-data/drift', { key: false })).status, 401);
    });

    test('drift: each class of difference is found, counted per entity, with the reports the record blocks', async () => {
      const hrOnly = 'DE01-E0950';
      const leaver = employeeId('DE01', 2);
      await h.post('/v1/master-data/records', {
        system: 'hr',
        records: [
          { kind: 'employee', entity: 'DE01', key: hrOnly, attributes: { name: 'Only in HR' } },
          { kind: 'employee', entity: 'DE01', key: leaver, validTo: '2026-01-31', attributes: { name: 'Left per HR' } },
        ],
      });
      await h.post('/v1/master-data/records', {
        system: 'expense',
        records: [
          { kind: 'cost_center', entity: 'DE01', key: 'DE4180', attributes: { name: 'Closed in the ERP' } },
          { kind: 'tax_code', entity: 'DE01', key: 'DE7', attributes: { jurisdiction: 'DE', rate: '5' } },
        ],
      });
      // A report for the employee HR knows but the ERP does not waits, and is listed as blocked.
      h.hub.startWorkers();
      const seed = Array.from({ length: 50 }, (_, i) => 31 + i).find((n) => validReport(n).entity === 'DE01')!;
      const report = { ...validReport(seed), employeeId: hrOnly };
      const event = { ...approvedEvent(seed), data: report };
      assert.equal((await h.postEvents(event)).status, 202);
      const deadline = Date.now() + 30_000;
      while ((await h.get(`/v1/reports/${report.reportId}`)).body.state !== 'waiting') {
        assert.ok(Date.now() < deadline, 'the report did not start waiting');
        await new Promise((r) => setTimeout(r, 50));
      }
      const drift = await h.get('/v1/master-data/drift?entity=DE01&asOf=2026-11-26');
      assert.equal(drift.status, 200, drift.text);
      const found = (key: string) => drift.body.items.filter((i: any) => i.key === key).map((i: any) => i.class);
      assert.deepEqual(found(hrOnly), ['missing_in_erp']);
      assert.deepEqual(found(leaver), ['inactive_in_source']);
      assert.deepEqual(found('DE4180'), ['inactive_in_erp']);
      assert.deepEqual(found('DE7'), ['attribute_mismatch']);
      assert.deepEqual(drift.body.items.find((i: any) => i.key === hrOnly).blockedReports, [report.reportId]);
      const counts = drift.body.entities[0];
      assert.equal(counts.entity, 'DE01');
      assert.deepEqual([counts.counts.missing_in_erp, counts.counts.inactive_in_source, counts.counts.inactive_in_erp, counts.counts.attribute_mismatch], [1, 1, 1, 1]);
      assert.equal(counts.blockedReports, 1);
      assert.equal((await h.get('/v1/master-data/drift?entity=XX01')).body.code, 'MD_ENTITY_NOT_CONFIGURED');
    });

    test('sources: none configured is an empty list, and syncing an unknown one is MD_SOURCE_UNKNOWN', async () => {
      assert.deepEqual((await h.get('/v1/master-data/sources')).body, { sources: [] });
      const response = await h.post('/v1/master-data/sources/nope/sync', {});
      assert.equal(response.status, 400);
      assert.equal(response.body.code, 'MD_SOURCE_UNKNOWN');
    });
  });
}
