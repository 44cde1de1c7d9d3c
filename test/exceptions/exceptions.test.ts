// Proves the exception queue's read side on SQLite and PostgreSQL through the running pipeline: reports quarantined for a closed cost center, a terminated employee and a department the ERP refuses are listed with their context (code, kind, offending record, entity, target, attempts, first and last seen, the ERP's raw answer), grouped one group per cause with the right member count, filtered by entity, target, kind, code and age, and answered alike by GET /v1/exceptions (groups and items, one item by id, 404 and 400 for bad requests, 401 without a key) and `finsync exceptions`; and that the pure kind table and cause keys hold for odd input.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { toCloudEvent } from '../../src/demo/expense-platform.ts';
import { postingKey } from '../../src/domain/keys.ts';
import { causeKey, codesOfKind, kindOfCode, recordFromErpField } from '../../src/exceptions/exception-causes.ts';
import { getException, groupExceptions, listExceptions, parseExceptionId, type ExceptionItem } from '../../src/exceptions/exceptions.ts';
import { CLOSED_CENTER, LEAVER, REFUSED_CENTER, REFUSED_DEPARTMENT, de01Report, runFinsync, storeEnv } from '../support/exception-fixtures.ts';
import { startHarness, type Harness } from '../support/hub-harness.ts';
import { storeKinds } from '../support/stores.ts';

const ENTITY_TARGETS = { US01: 'netsuite', DE01: 'netsuite', JP01: 'netsuite' };

for (const store of await storeKinds()) {
  describe(`exception queue on ${store.kind}`, { skip: store.skip }, () => {
    let h: Harness;
    const closed = [0, 1, 2].map((n) => de01Report(n, 'DE01-E0001', CLOSED_CENTER, '2026-05-04'));
    const leavers = [3, 4].map((n) => de01Report(n, LEAVER, 'DE4120', '2026-07-15'));
    const refused = [5, 6].map((n) => de01Report(n, 'DE01-E0002', REFUSED_CENTER, '2026-05-04'));
    let items: readonly ExceptionItem[] = [];
    const get = (url: string, key = true) => h.hub.app.inject({ method: 'GET', url, headers: key ? { authorization: `Bearer ${h.apiKey}` } : {} });

    before(async () => {
      h = await startHarness(store.kind);
      // The ERP closes department 2001 (DE4110) without finsync knowing: validation passes and the ERP refuses.
      h.simulator.setInactive('department', REFUSED_DEPARTMENT);
      assert.equal((await h.send(refused.map((r) => toCloudEvent(r, { type: 'approved' })))).status, 202);
      await h.waitUntil('the ERP refused both postings', async () => (await quarantinedPostings()) === 2);
      h.simulator.setInactive('department', REFUSED_DEPARTMENT, false);
      assert.equal((await h.send([...closed, ...leavers].map((r) => toCloudEvent(r, { type: 'approved' })))).status, 202);
      await h.waitUntil('five revisions are quarantined by validation', async () => {
        const row = await h.hub.store.db.selectFrom('revisions').select((eb) => eb.fn.countAll<number>().as('n')).where('state', '=', 'quarantined').executeTakeFirst();
        return Number(row?.n) === 7;
      });
      items = (await listExceptions(h.hub.store.db, {}, { entityTargets: ENTITY_TARGETS })).items;
    });
    after(async () => h?.close());

    async function quarantinedPostings(): Promise<number> {
      const row = await h.hub.store.db.selectFrom('postings').select((eb) => eb.fn.countAll<number>().as('n')).where('state', '=', 'quarantined').executeTakeFirst();
      return Number(row?.n);
    }

    test('each quarantined revision and posting is one item with its context', () => {
      assert.equal(items.length, 7);
      for (const item of items) {
        assert.ok(item.firstSeen <= item.lastSeen, `${item.id}: firstSeen ${item.firstSeen} after lastSeen ${item.lastSeen}`);
        assert.equal(item.entity, 'DE01');
        assert.equal(item.target, 'netsuite', `${item.id} has the target of its entity`);
        assert.match(item.correlationId, /\S/);
        assert.ok(item.message.length > 0);
      }
      const byReport = (reportId: string) => items.find((i) => i.reportId === reportId)!;
      for (const report of closed) {
        const item = byReport(report.reportId);
        assert.deepEqual([item.id, item.stage, item.code, item.kind, item.attempts, item.erp, item.externalKey], [`revision:${report.reportId}:${report.revision}`, 'revision', 'MD_COST_CENTER_CLOSED', 'master_data', 1, null, null]);
        assert.deepEqual(item.record, { kind: 'cost_center', entity: 'DE01', key: CLOSED_CENTER, state: 'inactive', erpField: null, erpValue: null });
        assert.match(item.message, /Cost center DE4180 is closed/);
      }
      for (const report of leavers) {
        const item = byReport(report.reportId);
        assert.deepEqual([item.code, item.kind, item.record?.kind, item.record?.key], ['MD_EMPLOYEE_INACTIVE', 'master_data', 'employee', LEAVER]);
        assert.ok(item.blockers.some((b) => b.kind === 'employee' && b.key === LEAVER && b.state === 'inactive'));
      }
      for (const report of refused) {
        const item = byReport(report.reportId);
        assert.match(item.id, /^posting:\d+$/);
        assert.deepEqual([item.stage, item.code, item.kind], ['posting', 'ERP_INVALID_REFERENCE', 'invalid']);
        assert.deepEqual(item.record, { kind: 'cost_center', entity: 'DE01', key: REFUSED_CENTER, state: null, erpField: 'department', erpValue: REFUSED_DEPARTMENT });
        assert.ok(item.attempts >= 1);
        assert.ok(item.erp, 'the last ERP answer is kept');
        assert.equal(item.erp.errorKind, 'invalid');
        assert.match(item.erp.raw ?? '', /Invalid value 2001 for field department/);
        assert.equal(item.erp.rawTruncated, false);
        assert.equal(item.externalKey, postingKey(report.reportId, report.revision, 'netsuite'));
      }
    });

    test('items are grouped by cause: one group per record, with every member', () => {
      const groups = groupExceptions(items);
      assert.deepEqual(
        groups.map((g) => [g.cause, g.count, g.kind]),
        [
          [`MD_COST_CENTER_CLOSED/cost_center/DE01/${CLOSED_CENTER}`, 3, 'master_data'],
          [`ERP_INVALID_REFERENCE/cost_center/DE01/${REFUSED_CENTER}`, 2, 'invalid'],
          [`MD_EMPLOYEE_INACTIVE/employee/DE01/${LEAVER}`, 2, 'master_data'],
        ],
      );
      const [cc] = groups;
      assert.deepEqual([...cc.members].sort(), closed.map((r) => `revision:${r.reportId}:1`).sort());
      assert.deepEqual([cc.entities, cc.targets], [['DE01'], ['netsuite']]);
      assert.ok(cc.oldestFirstSeen <= cc.newestFirstSeen);
      assert.equal(cc.message, items.find((i) => i.id === cc.members[0])!.message);
    });

    test('filters: entity, target, kind, code and age', async () => {
      const ids = async (filter: Parameters<typeof listExceptions>[1]) => (await listExceptions(h.hub.store.db, filter, { entityTargets: ENTITY_TARGETS })).items.map((i) => i.code);
      assert.equal((await ids({ entity: 'US01' })).length, 0);
      assert.equal((await ids({ entity: 'DE01' })).length, 7);
      assert.equal((await ids({ target: 'netsuite' })).length, 7);
      assert.equal((await ids({ target: 'sap' })).length, 0);
      assert.deepEqual(await ids({ kind: 'invalid' }), ['ERP_INVALID_REFERENCE', 'ERP_INVALID_REFERENCE']);
      assert.equal((await ids({ kind: 'master_data' })).length, 5);
      assert.equal((await ids({ kind: 'mapping' })).length, 0);
      assert.equal((await ids({ kind: 'other' })).length, 0);
      assert.deepEqual(await ids({ code: 'MD_EMPLOYEE_INACTIVE' }), ['MD_EMPLOYEE_INACTIVE', 'MD_EMPLOYEE_INACTIVE']);
      assert.equal((await ids({ olderThanMs: 0 })).length, 7);
      assert.equal((await ids({ olderThanMs: 3_600_000 })).length, 0);
      // An hour from now every item is older than an hour.
      const later = await listExceptions(h.hub.store.db, { olderThanMs: 3_600_000 }, { now: Date.now() + 2 * 3_600_000 });
      assert.equal(later.items.length, 7);
      const capped = await listExceptions(h.hub.store.db, {}, { limit: 2 });
      assert.deepEqual([capped.items.length, capped.truncated], [2, true]);
      assert.equal((await listExceptions(h.hub.store.db, {})).truncated, false);
    });

    test('GET /v1/exceptions answers groups by default, items on request, one item by id', async () => {
      const groups = await get('/v1/exceptions');
      assert.equal(groups.statusCode, 200, groups.body);
      const body = groups.json();
      assert.deepEqual([body.view, body.total, body.truncated, body.items], ['groups', 7, false, undefined]);
      assert.deepEqual(body.groups, JSON.parse(JSON.stringify(groupExceptions(items))));
      const invalid = (await get('/v1/exceptions?view=items&kind=invalid&entity=DE01&target=netsuite')).json();
      assert.deepEqual([invalid.view, invalid.total, invalid.groups], ['items', 2, undefined]);
      assert.match(invalid.items[0].erp.raw, /Invalid value 2001/);
      const one = await get(`/v1/exceptions/${encodeURIComponent(invalid.items[0].id)}`);
      assert.equal(one.statusCode, 200, one.body);
      assert.deepEqual(one.json(), invalid.items[0]);
      const revision = items.find((i) => i.stage === 'revision')!;
      assert.deepEqual((await get(`/v1/exceptions/${encodeURIComponent(revision.id)}`)).json(), JSON.parse(JSON.stringify(revision)));
      assert.equal((await get('/v1/exceptions?olderThanHours=1')).json().total, 0);
      assert.equal((await get('/v1/exceptions?code=MD_COST_CENTER_CLOSED')).json().groups[0].count, 3);
    });

    test('GET /v1/exceptions refuses bad requests with a code', async () => {
      for (const id of ['posting:999999', 'revision:NOPE:1', 'nonsense']) {
        const response = await get(`/v1/exceptions/${encodeURIComponent(id)}`);
        assert.deepEqual([response.statusCode, response.json().code], [404, 'EXCEPTION_NOT_FOUND'], id);
      }
      for (const query of ['kind=bogus', 'view=table', 'olderThanHours=-1', 'code=lower', 'limit=0']) {
        const response = await get(`/v1/exceptions?${query}`);
        assert.deepEqual([response.statusCode, response.json().code], [400, 'REQUEST_INVALID'], query);
      }
      assert.equal((await get('/v1/exceptions', false)).statusCode, 401);
    });

    test('finsync exceptions prints the same groups, as JSON and as a table', async () => {
      const env = storeEnv(h);
      const json = await runFinsync(['exceptions', '--json'], env);
      assert.equal(json.code, 0, json.stderr);
      const answer = JSON.parse(json.stdout);
      assert.deepEqual(answer.groups.map((g: { cause: string; count: number }) => [g.cause, g.count]), groupExceptions(items).map((g) => [g.cause, g.count]));
      const table = await runFinsync(['exceptions', '--code', 'MD_COST_CENTER_CLOSED'], env);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^COUNT\s+CODE\s+KIND\s+RECORD\s+ENTITIES\s+OLDEST/);
      assert.match(table.stdout, /\n3\s+MD_COST_CENTER_CLOSED\s+master_data\s+cost_center DE01\/DE4180 inactive\s+DE01\s+\d+[smhd]/);
      const itemRows = await runFinsync(['exceptions', '--items', '--kind', 'invalid'], env);
      assert.equal(itemRows.stdout.trim().split('\n').length, 3, itemRows.stdout);
      assert.match(itemRows.stdout, /posting:\d+\s+ERP_INVALID_REFERENCE\s+invalid\s+DE01\s+netsuite\s+cost_center DE01\/DE4110 \(department 2001\)/);
      const bad = await runFinsync(['exceptions', '--kind', 'bogus'], env);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /CLI_ARGUMENT_INVALID: --kind must be one of/);
    });

    test('one item by id through getException, and nothing for an id no longer quarantined', async () => {
      const first = items[0];
      assert.deepEqual(await getException(h.hub.store.db, first.id, { entityTargets: ENTITY_TARGETS }), first);
      assert.equal(await getException(h.hub.store.db, 'revision:nope:1'), undefined);
    });
  });
}

describe('exception kinds and causes (pure)', () => {
  test('every code family has its kind; an unknown code is other', () => {
    assert.deepEqual(
      ['MD_COST_CENTER_CLOSED', 'MD_GL_ACCOUNT_BLOCKED', 'MAP_NO_RULE', 'JOURNAL_UNBALANCED', 'REPORT_TOTAL_MISMATCH', 'POLICY_LINE_LIMIT', 'ERP_INVALID', 'ERP_AUTH', 'ERP_CONFLICT', 'ERP_UNCLASSIFIED', 'ERP_RETRIES_EXHAUSTED', 'SOMETHING_NEW', ''].map(kindOfCode),
      ['master_data', 'mapping', 'mapping', 'mapping', 'report', 'policy', 'invalid', 'auth', 'conflict', 'unclassified', 'retries_exhausted', 'other', 'other'],
    );
    const other = codesOfKind('other');
    assert.ok('notIn' in other && other.notIn.includes('MD_COST_CENTER_CLOSED'));
    const invalid = codesOfKind('invalid');
    assert.ok('in' in invalid && invalid.in.length === 2);
  });

  test('ids parse both ways and odd ids parse to nothing', () => {
    assert.deepEqual(parseExceptionId('posting:42'), { postingId: 42 });
    assert.deepEqual(parseExceptionId('revision:RPT:a:b:3'), { reportId: 'RPT:a:b', revision: 3 });
    for (const id of ['', 'posting:', 'posting:-1', 'posting:1.5', 'revision:x', 'revision::1', 'nonsense:1']) assert.equal(parseExceptionId(id), undefined, id);
  });

  test('an ERP value that cannot be traced stays as the ERP named it; causes are unambiguous', () => {
    assert.deepEqual(recordFromErpField('DE01', 'account', '99', { accounts: { '6110': '26110' } }), { kind: 'erp:account', entity: 'DE01', key: '99', state: null, erpField: 'account', erpValue: '99' });
    assert.equal(recordFromErpField('DE01', 'account', '26110', { accounts: { '6110': '26110' } }).key, '6110');
    assert.equal(recordFromErpField('DE01', 'location', '7', {}).kind, 'erp:location');
    const a = causeKey({ code: 'ERP_INVALID', entity: 'DE01', target: 'a/b', record: null, vendorCode: 'X' });
    const b = causeKey({ code: 'ERP_INVALID', entity: 'DE01/a', target: 'b', record: null, vendorCode: 'X' });
    assert.notEqual(a, b);
    assert.equal(causeKey({ code: 'MD_ENTITY_UNKNOWN', entity: 'XX01', target: null, record: null, vendorCode: null }), 'MD_ENTITY_UNKNOWN/XX01/-');
    assert.deepEqual(groupExceptions([]), []);
  });
});
