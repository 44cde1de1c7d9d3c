// Proves the NetSuite master-data source turns SuiteQL rows into valid erp records (keys, attributes, dates, the inactive-date rule, blocked accounts, tax rates, fx direction), pulls incrementally after a change made in the simulator, skips unmapped subsidiaries with a count, and names the table, id and column of every row it cannot convert.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { startNetSuiteSimulator } from '../../src/connectors/netsuite/simulator.ts';
import { netsuiteMasterDataFromCompany } from '../../src/connectors/netsuite/simulator-suiteql.ts';
import { createSuiteQlClient } from '../../src/connectors/netsuite/suiteql.ts';
import { SAMPLE_COMPANY } from '../../src/demo/sample-company.ts';
import { normalizeRecord, type RecordInput } from '../../src/masterdata/records.ts';
import { pullNetSuite, type SuiteQlReader } from '../../src/masterdata/sources/netsuite-source.ts';

const TOKEN = 'md-token';
const START_MS = Date.parse('2026-05-01T10:00:00Z');
const SUBSIDIARIES = new Map([['1', 'US01'], ['2', 'DE01'], ['3', 'JP01'], ['4', 'GB01']]);

async function startSampleSimulator(clock: { nowMs: number }) {
  const masterData = netsuiteMasterDataFromCompany(SAMPLE_COMPANY, {
    asOf: '2026-05-01',
    fxRates: [
      { base: 'USD', transaction: 'EUR', rate: '1.0845', effectiveDate: '2026-01-01' },
      { base: 'USD', transaction: 'EUR', rate: '1.0912', effectiveDate: '2026-02-01' },
    ],
  });
  const sim = await startNetSuiteSimulator({ port: 0, token: TOKEN, seed: 1, now: () => clock.nowMs, masterData });
  const client = createSuiteQlClient({ baseUrl: sim.url, token: TOKEN, requestTimeoutMs: 5000 });
  return { sim, client };
}

function find(records: readonly RecordInput[], kind: string, entity: string, key: string): RecordInput | undefined {
  return records.find((r) => r.kind === kind && r.entity === entity && r.key === key);
}

/** A reader that answers every query with the rows given for its table, in one page. */
function fakeReader(tables: Record<string, Record<string, string>[]>): SuiteQlReader & { queries: string[] } {
  const queries: string[] = [];
  return {
    queries,
    async *query(q: string) {
      queries.push(q);
      const table = /FROM (\w+)/.exec(q)?.[1] ?? '';
      const items = tables[table] ?? [];
      yield { items, totalResults: items.length, offset: 0 };
    },
  };
}

describe('pullNetSuite against the simulator', () => {
  test('a full pull converts the sample company into valid erp records', async () => {
    const clock = { nowMs: START_MS };
    const { sim, client } = await startSampleSimulator(clock);
    try {
      const progress: [number, number][] = [];
      const pulled = await pullNetSuite({ client, subsidiaries: SUBSIDIARIES, pageSize: 100 }, undefined, (done, total) => progress.push([done, total]));
      assert.deepEqual(pulled.errors, []);
      assert.deepEqual(pulled.skipped, {});
      assert.equal(pulled.cursor, '2026-05-01 10:00:00');
      const counts: Record<string, number> = {};
      for (const record of pulled.records) counts[record.kind] = (counts[record.kind] ?? 0) + 1;
      assert.deepEqual(counts, { cost_center: 32, currency: 16, employee: 160, gl_account: 60, tax_code: 9, category: 28, fx_rate: 8 });
      for (const [i, record] of pulled.records.entries()) normalizeRecord('erp', record, `records[${i}]`);
      const [done, total] = progress.at(-1) ?? [0, 0];
      assert.equal(done, total, 'every row counted as read at the end');
      assert.equal(total, 32 + 4 + 160 + 60 + 9 + 7 + 2, 'rows per table: departments, currencies, employees, accounts, tax items, categories, rates');
      assert.ok(progress.every(([d, t]) => d <= t));

      assert.deepEqual(find(pulled.records, 'employee', 'DE01', 'DE01-E0001'), {
        kind: 'employee', entity: 'DE01', key: 'DE01-E0001', validFrom: '2020-01-01',
        attributes: { name: 'Employee 1 of DE01', email: 'de01-e0001@example.com', erpId: '200001', costCenter: 'DE4110' },
      });
      assert.equal(find(pulled.records, 'employee', 'DE01', 'DE01-E0040')?.validTo, '2026-06-30', 'releasedate → validTo');
      // The inactive-date rule: closed on 2026-04-01 in NetSuite, so valid through 2026-03-31.
      const closed = find(pulled.records, 'cost_center', 'DE01', 'DE4180');
      assert.equal(closed?.active, undefined);
      assert.equal(closed?.validTo, '2026-03-31');
      // Blocked accounts are not postable, but not inactive.
      const blocked = find(pulled.records, 'gl_account', 'US01', '6999');
      assert.deepEqual(blocked?.attributes, { name: 'Suspense (blocked)', postable: false, erpId: '16999' });
      assert.equal(blocked?.active, undefined);
      assert.deepEqual(find(pulled.records, 'tax_code', 'DE01', 'DE19')?.attributes, { jurisdiction: 'DE', rate: '19', erpId: '201' });
      assert.deepEqual(find(pulled.records, 'category', 'JP01', 'PERDIEM')?.attributes, { name: 'Perdiem', erpId: '5' });
      assert.deepEqual(find(pulled.records, 'currency', 'JP01', 'EUR')?.attributes, { name: 'Euro', erpId: '2' });
      // NetSuite: 1.0845 USD (base) per EUR (transaction), i.e. EUR/USD; successive rates are chained.
      assert.deepEqual(find(pulled.records, 'fx_rate', 'US01', 'EUR/USD') && pulled.records.filter((r) => r.kind === 'fx_rate' && r.entity === 'US01'), [
        { kind: 'fx_rate', entity: 'US01', key: 'EUR/USD', validFrom: '2026-01-01', validTo: '2026-01-31', attributes: { rate: '1.0845', source: 'netsuite' } },
        { kind: 'fx_rate', entity: 'US01', key: 'EUR/USD', validFrom: '2026-02-01', attributes: { rate: '1.0912', source: 'netsuite' } },
      ]);
    } finally {
      await sim.close();
    }
  });

  test('an incremental pull returns only what changed from the cursor on', async () => {
    const clock = { nowMs: START_MS };
    const { sim, client } = await startSampleSimulator(clock);
    try {
      const first = await pullNetSuite({ client, subsidiaries: SUBSIDIARIES, pageSize: 100 }, undefined);
      clock.nowMs = Date.parse('2026-05-03T08:15:00Z');
      sim.upsertMasterRecord('employee', { id: '200041', entityid: 'DE01-E0041', externalid: 'DE01-E0041', firstname: 'Ada', lastname: 'Neu', subsidiary: '2', department: '2002', hiredate: '2026-05-04' });
      sim.setInactive('department', '2003');
      sim.setInactive('account', '26170');

      const second = await pullNetSuite({ client, subsidiaries: SUBSIDIARIES, pageSize: 100 }, first.cursor);
      assert.deepEqual(second.errors, []);
      assert.equal(second.cursor, '2026-05-03 08:15:00');
      // Rows of the first pull's last second are read again (the cursor compares with >=); they are the same records.
      const fresh = second.records.filter((r) => !first.records.some((f) => isDeepStrictEqual(f, r)));
      assert.deepEqual(fresh, [
        { kind: 'cost_center', key: 'DE4130', validTo: '2026-05-02', attributes: { name: 'Cost center 3 of DE01', erpId: '2003' }, entity: 'DE01' },
        { kind: 'employee', key: 'DE01-E0041', validFrom: '2026-05-04', attributes: { name: 'Ada Neu', erpId: '200041', costCenter: 'DE4120' }, entity: 'DE01' },
        { kind: 'gl_account', key: '6170', attributes: { name: 'Office supplies', postable: false, erpId: '26170' }, entity: 'DE01' },
      ]);

      // The cursor's own second is read again (>=), so a row changed later in that second is never
      // missed; re-reading the boundary rows changes nothing in the hub.
      const third = await pullNetSuite({ client, subsidiaries: SUBSIDIARIES, pageSize: 100 }, second.cursor);
      assert.deepEqual(third.records, fresh);
      assert.equal(third.cursor, second.cursor, 'nothing new keeps the cursor');
    } finally {
      await sim.close();
    }
  });

  test('rows of a subsidiary that is not mapped are skipped and counted', async () => {
    const clock = { nowMs: START_MS };
    const { sim, client } = await startSampleSimulator(clock);
    try {
      sim.upsertMasterRecord('employee', { entityid: 'UK01-E0001', subsidiary: '9' });
      sim.upsertMasterRecord('department', { name: 'Shared', externalid: 'SH1', subsidiary: ['2', '9'] });
      const pulled = await pullNetSuite({ client, subsidiaries: SUBSIDIARIES, pageSize: 100 }, undefined);
      assert.deepEqual(pulled.skipped, { '9': 2 });
      assert.equal(pulled.records.filter((r) => r.key === 'UK01-E0001').length, 0);
      assert.deepEqual(pulled.records.filter((r) => r.key === 'SH1').map((r) => r.entity), ['DE01']);
    } finally {
      await sim.close();
    }
  });
});

describe('pullNetSuite conversion rules', () => {
  const changed = '2026-04-01 09:30:00';
  const employee = (extra: Record<string, string>) => ({ id: '123', entityid: 'E123', subsidiary: '1', isinactive: 'F', lastmodifieddate: changed, ...extra });

  test('an inactive employee without a release date is valid through the day before it changed; with one, it ends there', async () => {
    const reader = fakeReader({
      employee: [employee({ id: '1', entityid: 'E1', isinactive: 'T', hiredate: '2020-01-01' }), employee({ id: '2', entityid: 'E2', isinactive: 'T', hiredate: '2020-01-01', releasedate: '2026-03-15' })],
    });
    const { records, errors } = await pullNetSuite({ client: reader, subsidiaries: SUBSIDIARIES }, undefined);
    assert.deepEqual(errors, []);
    assert.deepEqual(find(records, 'employee', 'US01', 'E1'), { kind: 'employee', key: 'E1', validFrom: '2020-01-01', validTo: '2026-03-31', attributes: { name: 'E1', erpId: '1' }, entity: 'US01' });
    assert.deepEqual(find(records, 'employee', 'US01', 'E2'), { kind: 'employee', key: 'E2', validFrom: '2020-01-01', validTo: '2026-03-15', attributes: { name: 'E2', erpId: '2' }, entity: 'US01' });
  });

  test('tax rates are read as percentages, and one that cannot be held is an error naming the column', async () => {
    const tax = (id: string, rate: string) => ({ id, itemid: `T${id}`, rate, country: 'DE', subsidiary: '2', isinactive: 'F', lastmodifieddate: changed });
    const reader = fakeReader({ salestaxitem: [tax('1', '19.00%'), tax('2', '7.70%'), tax('3', '0.00%'), tax('4', '8.875%'), tax('5', 'abc'), tax('6', '.5%')] });
    const { records, errors } = await pullNetSuite({ client: reader, subsidiaries: SUBSIDIARIES }, undefined);
    assert.deepEqual(records.map((r) => [r.key, (r.attributes as { rate: string }).rate]), [['T1', '19'], ['T2', '7.7'], ['T3', '0'], ['T6', '0.5']]);
    assert.deepEqual(errors.map((e) => e.path), ['salestaxitem[id=4].rate', 'salestaxitem[id=5].rate']);
  });

  test('rows that cannot be converted are errors with table, id and column; the rest still come', async () => {
    const reader = fakeReader({
      department: [{ id: '7', name: 'Sales', externalid: 'CC7', subsidiary: '1', isinactive: 'F', lastmodifieddate: changed }],
      currency: [{ id: '1', symbol: 'USD', name: 'US Dollar', isinactive: 'F', lastmodifieddate: changed }],
      employee: [
        employee({ id: '10', hiredate: '1/15/2024' }),
        employee({ id: '11', entityid: 'E11', department: '99' }),
        employee({ id: '12', entityid: 'E12', department: '7', email: 'x'.repeat(400) }),
        employee({ id: '13', entityid: 'E13', isinactive: 'Y' }),
        employee({ id: '14', entityid: 'E14', department: '7', hiredate: '2024-02-01', releasedate: '2024-01-01' }),
        employee({ id: '15', entityid: 'E15', subsidiary: '' }),
        employee({ id: '16', entityid: 'E16', department: '7' }),
        employee({ id: '17', entityid: 'E16' }),
      ],
      currencyrate: [{ id: '3', basecurrency: '1', transactioncurrency: '9', exchangerate: '0.5', effectivedate: '2026-01-01', lastmodifieddate: changed }],
    });
    const { records, errors } = await pullNetSuite({ client: reader, subsidiaries: SUBSIDIARIES }, undefined);
    assert.deepEqual(errors.map((e) => e.path), [
      'employee[id=10].hiredate',
      'employee[id=11].department',
      'employee[id=12].attributes.email',
      'employee[id=13].isinactive',
      'employee[id=14].validTo',
      'employee[id=15].subsidiary',
      'currencyrate[id=3].transactioncurrency',
      'employee[id=17].key',
    ]);
    assert.match(errors[0].detail, /1\/15\/2024 is not a date.*TO_CHAR/);
    assert.deepEqual(records.filter((r) => r.kind === 'employee').map((r) => r.key), ['E16']);
  });

  test('an incremental pull filters by the cursor, reads lookup tables whole, and checks the cursor', async () => {
    const reader = fakeReader({
      department: [
        { id: '7', name: 'Sales', externalid: 'CC7', subsidiary: '1', isinactive: 'F', lastmodifieddate: '2026-03-01 00:00:00' },
        { id: '8', name: 'Ops', externalid: 'CC8', subsidiary: '1', isinactive: 'T', lastmodifieddate: '2026-04-02 12:00:00' },
      ],
      employee: [employee({ department: '7', lastmodifieddate: '2026-04-02 13:00:00' })],
    });
    const { records, cursor } = await pullNetSuite({ client: reader, subsidiaries: SUBSIDIARIES }, '2026-04-01 00:00:00');
    assert.deepEqual(records.map((r) => `${r.kind}:${r.key}`), ['cost_center:CC8', 'employee:E123']);
    assert.equal(find(records, 'employee', 'US01', 'E123')?.attributes.costCenter, 'CC7');
    assert.equal(cursor, '2026-04-02 13:00:00');
    assert.ok(reader.queries.some((q) => q.includes("FROM employee WHERE lastmodifieddate >= TO_TIMESTAMP('2026-04-01 00:00:00', 'YYYY-MM-DD HH24:MI:SS') ORDER BY id")));
    assert.ok(reader.queries.some((q) => /FROM department ORDER BY id$/.test(q)));
    await assert.rejects(pullNetSuite({ client: reader, subsidiaries: SUBSIDIARIES }, "2026-04-01' OR 1=1 --"), /Assertion failed/);
  });
});
