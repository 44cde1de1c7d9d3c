// Proves the replay of the exception queue on SQLite and PostgreSQL through the running pipeline: postings the ERP refused are replayed by cause group after the fix and posted exactly once under their unchanged external key, with the replay recorded (who, why, outcome posted, recovery time), `posting.replayed` in the timeline and finsync_recovery_seconds observed; a revision quarantined for an inactive employee is replayed through `finsync replay` after the ERP and a sync reactivate the employee, and posts; a replay whose item fails again ends `quarantined` with the item back in the queue and the lane's claim count reset; controllers of another entity and keys without a role are refused (403) while operators may; and unknown, non-quarantined or empty selections are refused with their codes and change nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { toCloudEvent } from '../../src/demo/expense-platform.ts';
import { SAMPLE_COMPANY } from '../../src/demo/sample-company.ts';
import { postingKey } from '../../src/domain/keys.ts';
import { AppError } from '../../src/errors.ts';
import { getException, groupExceptions, listExceptions } from '../../src/exceptions/exceptions.ts';
import { getReplay, recentReplays, replayExceptions } from '../../src/exceptions/replay.ts';
import { createApiKey, type Principal } from '../../src/store/api-keys.ts';
import { LEAVER, REFUSED_CENTER, REFUSED_DEPARTMENT, de01Report, runFinsync, storeEnv } from '../support/exception-fixtures.ts';
import { reportState, startHarness, type Harness } from '../support/hub-harness.ts';
import { storeKinds } from '../support/stores.ts';

async function expectAppError(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof AppError && error.code === code);
}

for (const store of await storeKinds()) {
  describe(`replay of the exception queue on ${store.kind}`, { skip: store.skip }, () => {
    let h: Harness;
    const refused = [0, 1].map((n) => de01Report(n, 'DE01-E0002', REFUSED_CENTER, '2026-05-04'));
    const posted = de01Report(2, 'DE01-E0001', 'DE4120', '2026-05-04');
    const leaver = de01Report(3, LEAVER, 'DE4120', '2026-07-15');
    const keys: Record<'operator' | 'usController' | 'deController' | 'noRole', { key: string; principal: Principal }> = {} as never;
    const post = (body: unknown, key: string) => h.hub.app.inject({ method: 'POST', url: '/v1/replays', headers: { authorization: `Bearer ${key}` }, payload: body as object });
    const get = (url: string) => h.hub.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${h.apiKey}` } });
    const db = () => h.hub.store.db;

    before(async () => {
      h = await startHarness(store.kind);
      for (const [name, roles] of [['operator', ['operator']], ['usController', ['controller:US01']], ['deController', ['controller:DE01']], ['noRole', []]] as const) {
        const { id, key } = await createApiKey(db(), name, Date.now(), roles);
        keys[name] = { key, principal: { keyId: id, name, roles } };
      }
      // The ERP closes department 2001 (DE4110) without finsync knowing: validation passes and the ERP refuses.
      h.simulator.setInactive('department', REFUSED_DEPARTMENT);
      assert.equal((await h.send([...refused, posted, leaver].map((r) => toCloudEvent(r, { type: 'approved' })))).status, 202);
      await h.waitUntil('two postings refused, one posted, one revision quarantined', async () => {
        const states = await Promise.all([...refused, posted, leaver].map((r) => reportState(h, r.reportId)));
        return states.join() === 'quarantined,quarantined,posted,quarantined';
      });
    });
    after(async () => h?.close());

    const refusedCause = `ERP_INVALID_REFERENCE/cost_center/DE01/${REFUSED_CENTER}`;
    const postingOf = async (reportId: string) => db().selectFrom('postings').selectAll().where('report_id', '=', reportId).executeTakeFirstOrThrow();
    /** What a refused replay must leave alone. */
    const snapshot = async () => ({
      revisions: await db().selectFrom('revisions').select(['report_id', 'state', 'reason_code']).orderBy('report_id').execute(),
      postings: await db().selectFrom('postings').select(['id', 'state', 'attempts', 'reason_code']).orderBy('id').execute(),
      replays: await db().selectFrom('replays').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst(),
      replayed: await db().selectFrom('event_log').select((eb) => eb.fn.countAll<number>().as('n')).where('kind', 'in', ['revision.replayed', 'posting.replayed']).executeTakeFirst(),
    });

    test('unknown, non-quarantined and empty selections are refused with their codes and change nothing', async () => {
      const before = await snapshot();
      const ops = keys.operator.principal;
      const quarantined = `posting:${(await postingOf(refused[0].reportId)).id}`;
      const done = `posting:${(await postingOf(posted.reportId)).id}`;
      await expectAppError(replayExceptions(h.hub.replay, { ids: ['posting:999999'], reason: 'x' }, ops), 'EXCEPTION_NOT_FOUND');
      await expectAppError(replayExceptions(h.hub.replay, { ids: ['nonsense'], reason: 'x' }, ops), 'EXCEPTION_NOT_FOUND');
      // One bad id refuses the whole selection: the quarantined item named with it stays quarantined.
      await expectAppError(replayExceptions(h.hub.replay, { ids: [quarantined, done], reason: 'x' }, ops), 'EXCEPTION_NOT_FOUND');
      await expectAppError(replayExceptions(h.hub.replay, { ids: [quarantined, `revision:${posted.reportId}:1`], reason: 'x' }, ops), 'EXCEPTION_NOT_FOUND');
      await expectAppError(replayExceptions(h.hub.replay, { ids: [], reason: 'x' }, ops), 'REPLAY_SELECTION_INVALID');
      await expectAppError(replayExceptions(h.hub.replay, { reason: 'x' }, ops), 'REPLAY_SELECTION_INVALID');
      await expectAppError(replayExceptions(h.hub.replay, { ids: [quarantined], group: refusedCause, reason: 'x' }, ops), 'REPLAY_SELECTION_INVALID');
      await expectAppError(replayExceptions(h.hub.replay, { group: 'MD_COST_CENTER_CLOSED/cost_center/DE01/NOPE', reason: 'x' }, ops), 'REPLAY_GROUP_EMPTY');
      await expectAppError(replayExceptions(h.hub.replay, { ids: [quarantined], reason: '   ' }, ops), 'REQUEST_INVALID');
      const api = await post({ ids: [done], reason: 'x' }, keys.operator.key);
      assert.deepEqual([api.statusCode, api.json().code], [404, 'EXCEPTION_NOT_FOUND']);
      for (const body of [{ reason: 'x', ids: Array.from({ length: 1001 }, (_, i) => `posting:${i}`) }, { ids: [quarantined] }, { ids: [quarantined], reason: '' }, { ids: [''], reason: 'x' }, { group: 'x'.repeat(1001), reason: 'x' }]) {
        const response = await post(body, keys.operator.key);
        assert.deepEqual([response.statusCode, response.json().code], [400, 'REQUEST_INVALID']);
      }
      assert.deepEqual(await snapshot(), before);
      assert.deepEqual([(await get('/v1/replays/nope')).statusCode, (await get('/v1/replays/nope')).json().code], [404, 'REPLAY_NOT_FOUND']);
    });

    test('a controller of another entity and a key without a role are refused; nothing changes', async () => {
      const before = await snapshot();
      for (const who of [keys.usController, keys.noRole]) {
        const response = await post({ group: refusedCause, reason: 'not mine' }, who.key);
        assert.deepEqual([response.statusCode, response.json().code], [403, 'REPLAY_ROLE_REQUIRED'], who.principal.name);
        assert.match(response.json().message, /may not replay items of entity DE01/);
      }
      assert.deepEqual(await snapshot(), before);
    });

    test('a replay whose item fails again ends quarantined, with the item back in the queue and the claim count reset', async () => {
      const first = await postingOf(refused[0].reportId);
      const callsBefore = await db().selectFrom('posting_attempts').select((eb) => eb.fn.countAll<number>().as('n')).where('posting_id', '=', first.id).executeTakeFirst();
      // Not fixed yet: the ERP refuses the same department again.
      const started = await replayExceptions(h.hub.replay, { ids: [`posting:${first.id}`], reason: 'trying before the fix' }, keys.operator.principal);
      assert.deepEqual(started.items.map((i) => [i.id, i.stage, i.previousCode]), [[`posting:${first.id}`, 'posting', 'ERP_INVALID_REFERENCE']]);
      await h.waitUntil('the replayed posting is refused again', async () => (await getReplay(h.hub.store, started.replayId)).outcomes.quarantined === 1);
      const replay = await getReplay(h.hub.store, started.replayId);
      assert.deepEqual([replay.actor, replay.reason, replay.itemCount, replay.selection], ['operator', 'trying before the fix', 1, { ids: [`posting:${first.id}`] }]);
      assert.deepEqual([replay.items[0].outcome, replay.items[0].code, replay.items[0].postedAt, replay.items[0].recoverySeconds], ['quarantined', 'ERP_INVALID_REFERENCE', null, null]);
      const again = await postingOf(refused[0].reportId);
      const callsAfter = await db().selectFrom('posting_attempts').select((eb) => eb.fn.countAll<number>().as('n')).where('posting_id', '=', first.id).executeTakeFirst();
      assert.ok(Number(callsAfter?.n) > Number(callsBefore?.n), 'the lane called the ERP again');
      assert.equal(again.attempts, first.attempts, 'the claim count started again from zero');
      assert.equal(again.external_key, first.external_key);
      const item = await getException(db(), `posting:${first.id}`);
      assert.ok(item, 'the item is back in the exception queue');
      assert.equal(item.code, 'ERP_INVALID_REFERENCE');
    });

    test('after the fix, an operator replays the group: each posting posts once under its key, the replay and its recovery time are recorded', async () => {
      h.simulator.setInactive('department', REFUSED_DEPARTMENT, false);
      const items = (await listExceptions(db(), {})).items;
      const group = groupExceptions(items).find((g) => g.cause === refusedCause);
      assert.equal(group?.count, 2);
      const response = await post({ group: refusedCause, reason: 'department 2001 reopened in NetSuite' }, keys.operator.key);
      assert.equal(response.statusCode, 202, response.body);
      const { replayId, items: replayed } = response.json();
      assert.deepEqual(replayed.map((i: { id: string }) => i.id).sort(), [...group!.members].sort());
      await h.waitUntil('both refused reports are posted', async () => (await Promise.all(refused.map((r) => reportState(h, r.reportId)))).every((s) => s === 'posted'));
      for (const report of refused) {
        const key = postingKey(report.reportId, report.revision, 'netsuite');
        assert.equal((await h.simDocuments(key)).length, 1, `one ERP document for ${key}`);
        assert.equal((await postingOf(report.reportId)).external_key, key);
        const timeline = await db().selectFrom('event_log').select(['kind', 'payload']).where('report_id', '=', report.reportId).orderBy('seq').execute();
        const entries = timeline.filter((e) => e.kind === 'posting.replayed').map((e) => JSON.parse(e.payload));
        assert.ok(entries.some((p) => p.replayId === replayId && p.by === 'operator' && p.reason === 'department 2001 reopened in NetSuite' && p.previousCode === 'ERP_INVALID_REFERENCE' && p.externalKey === key));
        assert.equal(timeline[timeline.length - 1].kind, 'posting.posted');
      }
      const shown = await get(`/v1/replays/${replayId}`);
      assert.equal(shown.statusCode, 200, shown.body);
      const replay = shown.json();
      assert.deepEqual([replay.actor, replay.reason, replay.selection, replay.outcomes], ['operator', 'department 2001 reopened in NetSuite', { group: refusedCause }, { pending: 0, posted: 2, quarantined: 0, superseded: 0 }]);
      for (const item of replay.items) {
        assert.equal(item.outcome, 'posted');
        assert.ok(typeof item.recoverySeconds === 'number' && item.recoverySeconds >= 0, `${item.id} has a recovery time`);
        assert.ok(Date.parse(item.postedAt) >= Date.parse(item.quarantinedAt));
      }
      // The earlier replay of the first item is recovered by the same posting.
      const open = await db().selectFrom('replay_items').select('item_id').where('recovered_at', 'is', null).where('report_id', 'in', refused.map((r) => r.reportId)).execute();
      assert.deepEqual(open, []);
      const histogram = await h.hub.metrics.registry.getSingleMetric('finsync_recovery_seconds')!.get();
      const count = histogram.values.find((v) => (v as { metricName?: string }).metricName === 'finsync_recovery_seconds_count' && v.labels.entity === 'DE01');
      assert.equal(count?.value, 2, 'one observation per recovered report revision');
      const metrics = await h.hub.app.inject({ method: 'GET', url: '/metrics' });
      assert.match(metrics.body, /finsync_recovery_seconds_count\{entity="DE01"\} 2/);
      const list = await get('/v1/replays?limit=10');
      assert.deepEqual(list.json().replays.map((r: { id: string }) => r.id).slice(0, 1), [replayId]);
      assert.equal(list.json().replays.length, 2);
    });

    test('a revision quarantined for an inactive employee is replayed with `finsync replay` after the ERP and a sync reactivate the employee, and posts', async () => {
      const id = `revision:${leaver.reportId}:${leaver.revision}`;
      const item = await getException(db(), id);
      assert.equal(item?.code, 'MD_EMPLOYEE_INACTIVE');
      const employee = SAMPLE_COMPANY.employees.find((e) => e.employeeId === LEAVER)!;
      h.simulator.upsertMasterRecord('employee', { id: employee.erpId, releasedate: null });
      await h.syncMasterData();
      const env = storeEnv(h);
      const refusedCli = await runFinsync(['replay', '--id', id, '--reason', 'rehired', '--api-key', keys.usController.key], env);
      assert.equal(refusedCli.code, 2);
      assert.match(refusedCli.stderr, /REPLAY_ROLE_REQUIRED/);
      const cli = await runFinsync(['replay', '--id', id, '--reason', 'employee rehired in NetSuite', '--json'], { ...env, FINSYNC_API_KEY: keys.deController.key });
      assert.equal(cli.code, 0, cli.stderr);
      const { replayId, items } = JSON.parse(cli.stdout);
      assert.deepEqual(items.map((i: { id: string; previousCode: string }) => [i.id, i.previousCode]), [[id, 'MD_EMPLOYEE_INACTIVE']]);
      await h.waitUntil('the replayed revision is posted', async () => (await reportState(h, leaver.reportId)) === 'posted');
      const key = postingKey(leaver.reportId, leaver.revision, 'netsuite');
      assert.equal((await h.simDocuments(key)).length, 1);
      const replay = await getReplay(h.hub.store, replayId);
      assert.deepEqual([replay.actor, replay.items[0].outcome, replay.items[0].state], ['deController', 'posted', 'posted']);
      assert.ok((replay.items[0].recoverySeconds ?? -1) >= 0);
      const logged = await db().selectFrom('event_log').select('payload').where('report_id', '=', leaver.reportId).where('kind', '=', 'revision.replayed').execute();
      assert.deepEqual(logged.map((e) => JSON.parse(e.payload)), [{ by: 'deController', reason: 'employee rehired in NetSuite', replayId, previousCode: 'MD_EMPLOYEE_INACTIVE' }]);
      const show = await runFinsync(['replay', 'show', replayId], env);
      assert.equal(show.code, 0, show.stderr);
      assert.match(show.stdout, new RegExp(`replay ${replayId}\\nby deController at .*: employee rehired in NetSuite`));
      assert.match(show.stdout, /outcomes: 0 pending, 1 posted, 0 quarantined, 0 superseded/);
      assert.equal((await recentReplays(h.hub.store))[0].id, replayId);
    });
  });
}
