// Proves the re-drive of a time window on SQLite and PostgreSQL through the running pipeline: postings the ERP refused inside the window, and a revision quarantined for an inactive employee, are re-driven after the fix (by the API, and by `finsync redrive` for another window) and posted exactly once, one ERP document per unchanged external key, recorded as a replay of the window; reports outside the window are untouched; a second re-drive of the same window and a dry run change nothing; a revision stuck in `received` is queued for processing again, but not while a processing message waits; and bad input (to before from, a window too long, bad dates, an unknown entity, too many revisions, a missing role) is refused with its stable code and nothing stored.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateReports, toCloudEvent } from '../../src/demo/expense-platform.ts';
import { SAMPLE_COMPANY, SAMPLE_TARGET } from '../../src/demo/sample-company.ts';
import { postingKey } from '../../src/domain/keys.ts';
import type { ReportInput } from '../../src/domain/report.ts';
import { AppError } from '../../src/errors.ts';
import { rebuildReport } from '../../src/eventlog/rebuild.ts';
import { redrive, type RedriveRequest, type RedriveResult } from '../../src/eventlog/redrive.ts';
import { getReplay } from '../../src/exceptions/replay.ts';
import { createApiKey, type Principal } from '../../src/store/api-keys.ts';
import { LEAVER, REFUSED_CENTER, REFUSED_DEPARTMENT, de01Report, runFinsync, storeEnv } from '../support/exception-fixtures.ts';
import { reportState, startHarness, type Harness } from '../support/hub-harness.ts';
import { storeKinds } from '../support/stores.ts';

type Who = 'operator' | 'deController' | 'usController' | 'noRole';

async function expectAppError(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof AppError && error.code === code);
}

const refused = (n: number) => de01Report(n, 'DE01-E0002', REFUSED_CENTER, '2026-05-04');
const iso = (ms: number) => new Date(ms).toISOString();

for (const store of await storeKinds()) {
  describe(`re-drive of a time window on ${store.kind}`, { skip: store.skip }, () => {
    let h: Harness;
    const keys = {} as Record<Who, { key: string; principal: Principal }>;
    const db = () => h.hub.store.db;
    // Before the window, in it, and after it: every one refused by the ERP, except the window's
    // leaver (quarantined by validation) and two reports that post.
    const earlier = [0, 1].map(refused);
    const inWindow = [2, 3, 4].map(refused);
    const leaver = de01Report(5, LEAVER, 'DE4120', '2026-07-15');
    const postedDe = de01Report(6, 'DE01-E0001', 'DE4120', '2026-05-04');
    const postedUs = generateReports({ count: 30, seed: 801, invalidShare: 0 }).find((r) => r.entity === 'US01')!;
    const later = [9, 10].map(refused);
    let window: { from: string; to: string };
    let laterWindow: { from: string; to: string };

    const receivedAt = async (reports: readonly ReportInput[]) => {
      const rows = await db().selectFrom('revisions').select('received_at').where('report_id', 'in', reports.map((r) => r.reportId)).execute();
      return rows.map((r) => Number(r.received_at));
    };
    const states = async (reports: readonly ReportInput[]) => Promise.all(reports.map((r) => reportState(h, r.reportId)));
    const sendAndSettle = async (reports: readonly ReportInput[], expected: string[]) => {
      assert.equal((await h.send(reports.map((r) => toCloudEvent(r, { type: 'approved' })))).status, 202);
      let seen: unknown[] = [];
      await h.waitUntil(`${expected.join()}`, async () => (seen = await states(reports)).join() === expected.join()).catch((error: Error) => {
        throw new Error(`${error.message}; the states are ${seen.join()}`);
      });
    };
    /** Everything a refused or repeated re-drive must leave as it was. */
    const snapshot = async () => ({
      revisions: await db().selectFrom('revisions').select(['report_id', 'revision', 'state', 'reason_code', 'updated_at']).orderBy('report_id').orderBy('revision').execute(),
      postings: await db().selectFrom('postings').select(['id', 'state', 'attempts', 'reason_code', 'updated_at']).orderBy('id').execute(),
      replays: Number((await db().selectFrom('replays').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst())?.n),
      replayItems: Number((await db().selectFrom('replay_items').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst())?.n),
      log: Number((await db().selectFrom('event_log').select((eb) => eb.fn.max('seq').as('n')).executeTakeFirst())?.n),
      outbox: Number((await db().selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst())?.n),
    });
    const run = (who: Who, request: Omit<RedriveRequest, 'actor'>) => redrive(h.hub.replay, { ...request, actor: keys[who].principal });
    const post = (who: Who, body: unknown) => h.hub.app.inject({ method: 'POST', url: '/v1/redrives', headers: { authorization: `Bearer ${keys[who].key}` }, payload: body as object });

    before(async () => {
      h = await startHarness(store.kind);
      for (const [name, roles] of [['operator', ['operator']], ['deController', ['controller:DE01']], ['usController', ['controller:US01']], ['noRole', []]] as const) {
        const { id, key } = await createApiKey(db(), name, Date.now(), roles);
        keys[name] = { key, principal: { keyId: id, name, roles } };
      }
      // The ERP closes department 2001 (DE4110) without finsync knowing: validation passes and the ERP refuses.
      h.simulator.setInactive('department', REFUSED_DEPARTMENT);
      await sendAndSettle(earlier, ['quarantined', 'quarantined']);
      await sendAndSettle([...inWindow, leaver, postedDe, postedUs], ['quarantined', 'quarantined', 'quarantined', 'quarantined', 'posted', 'posted']);
      await sendAndSettle(later, ['quarantined', 'quarantined']);
      const [before, inside, after] = [await receivedAt(earlier), await receivedAt([...inWindow, leaver, postedDe, postedUs]), await receivedAt(later)];
      assert.ok(Math.max(...before) < Math.min(...inside) && Math.max(...inside) < Math.min(...after), 'the three batches were received at distinct times');
      window = { from: iso(Math.min(...inside)), to: iso(Math.max(...inside) + 1) };
      laterWindow = { from: iso(Math.min(...after)), to: iso(Math.max(...after) + 1) };
    });
    after(async () => h?.close());

    test('bad input is refused with its stable code, and nothing is stored', async () => {
      const before = await snapshot();
      const day = 86_400_000;
      const from = Date.parse(window.from);
      const reason = 'connector fix';
      await expectAppError(run('operator', { from: window.to, to: window.from, reason }), 'REDRIVE_WINDOW_INVALID');
      await expectAppError(run('operator', { from: window.from, to: window.from, reason }), 'REDRIVE_WINDOW_INVALID');
      await expectAppError(run('operator', { from: iso(from - 32 * day), to: window.to, reason }), 'REDRIVE_WINDOW_TOO_LONG');
      for (const bad of ['yesterday', '2026-02-30', '2026-05-04T10:00:00', '2026-05-04T25:00Z', '2026-5-4', '']) {
        await expectAppError(run('operator', { from: bad, to: window.to, reason }), 'REDRIVE_WINDOW_INVALID');
      }
      await expectAppError(run('operator', { ...window, reason, entity: 'XX01' }), 'REDRIVE_ENTITY_UNKNOWN');
      await expectAppError(run('operator', { ...window, reason: '  ' }), 'REQUEST_INVALID');
      await expectAppError(redrive(h.hub.replay, { ...window, reason, actor: keys.operator.principal }, { itemsMax: 5 }), 'REDRIVE_TOO_MANY');
      await expectAppError(run('noRole', { ...window, reason, dryRun: true }), 'REDRIVE_ROLE_REQUIRED');
      // The window holds a US01 report too: a DE01 controller must name its entity.
      await expectAppError(run('deController', { ...window, reason }), 'REDRIVE_ROLE_REQUIRED');
      await expectAppError(run('usController', { ...window, reason, entity: 'DE01' }), 'REDRIVE_ROLE_REQUIRED');
      const tooLong = await post('operator', { from: iso(from - 40 * day), to: window.to, reason });
      assert.deepEqual([tooLong.statusCode, tooLong.json().code], [400, 'REDRIVE_WINDOW_TOO_LONG']);
      assert.match(tooLong.json().message, /at most 31/);
      const badDate = await post('operator', { from: '2026-02-30', to: window.to, reason });
      assert.deepEqual([badDate.statusCode, badDate.json().code], [400, 'REDRIVE_WINDOW_INVALID']);
      const unknown = await post('operator', { ...window, reason, entity: 'XX01' });
      assert.deepEqual([unknown.statusCode, unknown.json().code], [400, 'REDRIVE_ENTITY_UNKNOWN']);
      const forbidden = await post('noRole', { ...window, reason });
      assert.deepEqual([forbidden.statusCode, forbidden.json().code], [403, 'REDRIVE_ROLE_REQUIRED']);
      for (const body of [{ ...window }, { ...window, reason: '' }, { ...window, reason, dryRun: 'yes' }, { from: window.from, reason }, { ...window, reason, entity: '' }]) {
        const response = await post('operator', body);
        assert.deepEqual([response.statusCode, response.json().code], [400, 'REQUEST_INVALID'], JSON.stringify(body));
      }
      const anonymous = await h.hub.app.inject({ method: 'POST', url: '/v1/redrives', payload: { ...window, reason } });
      assert.equal(anonymous.statusCode, 401);
      assert.deepEqual(await snapshot(), before);
    });

    test('a dry run lists what would happen and changes nothing', async () => {
      const before = await snapshot();
      const plan = await run('deController', { ...window, reason: 'preview', entity: 'DE01', dryRun: true });
      assert.deepEqual([plan.redriveId, plan.dryRun, plan.entity, plan.window], [null, true, 'DE01', window]);
      assert.deepEqual(plan.counts, { revisions: 5, requeued: 4, rerun: 0, unchanged: 1 });
      const byReport = new Map(plan.items.map((i) => [i.reportId, i]));
      for (const r of inWindow) assert.deepEqual(pick(byReport.get(r.reportId)!), ['posting', 'quarantined', 'requeued', 'ERP_INVALID_REFERENCE', postingKey(r.reportId, 1, SAMPLE_TARGET)]);
      assert.deepEqual(pick(byReport.get(leaver.reportId)!), ['revision', 'quarantined', 'requeued', 'MD_EMPLOYEE_INACTIVE', null]);
      assert.deepEqual(pick(byReport.get(postedDe.reportId)!), ['revision', 'posted', 'unchanged', null, null]);
      const all = await post('operator', { ...window, reason: 'preview', dryRun: true });
      assert.equal(all.statusCode, 200, all.body);
      assert.deepEqual(all.json().counts, { revisions: 6, requeued: 4, rerun: 0, unchanged: 2 });
      assert.deepEqual(await snapshot(), before);
    });

    test('after the fix, re-driving the window posts each quarantined item once under its key; reports outside it are untouched', async () => {
      h.simulator.setInactive('department', REFUSED_DEPARTMENT, false);
      const employee = SAMPLE_COMPANY.employees.find((e) => e.employeeId === LEAVER)!;
      h.simulator.upsertMasterRecord('employee', { id: employee.erpId, releasedate: null });
      await h.syncMasterData();
      const outside = async () => ({
        revisions: await db().selectFrom('revisions').select(['report_id', 'state', 'updated_at']).where('report_id', 'in', [...earlier, ...later].map((r) => r.reportId)).orderBy('report_id').execute(),
        postings: await db().selectFrom('postings').select(['id', 'state', 'attempts', 'updated_at']).where('report_id', 'in', [...earlier, ...later].map((r) => r.reportId)).orderBy('id').execute(),
      });
      const untouched = await outside();
      const documentsBefore = (await h.simStats()).documents;
      const response = await post('operator', { ...window, reason: 'department 2001 reopened; employee rehired' });
      assert.equal(response.statusCode, 202, response.body);
      const result: RedriveResult = response.json();
      assert.ok(result.redriveId);
      assert.deepEqual(result.counts, { revisions: 6, requeued: 4, rerun: 0, unchanged: 2 });
      await h.waitUntil('the window’s quarantined reports are posted', async () => (await states([...inWindow, leaver])).every((s) => s === 'posted'));
      for (const r of [...inWindow, leaver]) {
        const key = postingKey(r.reportId, 1, SAMPLE_TARGET);
        assert.equal((await h.simDocuments(key)).length, 1, `one ERP document for ${key}`);
        const postings = await db().selectFrom('postings').select(['external_key', 'state']).where('report_id', '=', r.reportId).execute();
        assert.deepEqual(postings, [{ external_key: key, state: 'posted' }]);
        assert.deepEqual((await rebuildReport(db(), r.reportId)).differences, []);
      }
      assert.equal((await h.simStats()).documents, documentsBefore + 4);
      assert.equal((await h.simStats()).duplicateExternalIds, 0);
      assert.deepEqual(await states([...earlier, ...later]), ['quarantined', 'quarantined', 'quarantined', 'quarantined']);
      assert.deepEqual(await outside(), untouched);
      const replay = await getReplay(h.hub.store, result.redriveId);
      assert.deepEqual([replay.actor, replay.selection, replay.itemCount, replay.outcomes], ['operator', { window }, 4, { pending: 0, posted: 4, quarantined: 0, superseded: 0 }]);
      const shown = await h.hub.app.inject({ method: 'GET', url: `/v1/replays/${result.redriveId}`, headers: { authorization: `Bearer ${h.apiKey}` } });
      assert.deepEqual(shown.json().selection, { window });
      const logged = await db().selectFrom('event_log').select(['kind', 'payload']).where('report_id', '=', inWindow[0].reportId).where('kind', '=', 'posting.replayed').execute();
      assert.deepEqual(logged.map((e) => JSON.parse(e.payload)).map((p) => [p.replayId, p.by, p.window, p.previousCode]), [[result.redriveId, 'operator', window, 'ERP_INVALID_REFERENCE']]);
    });

    test('a second re-drive of the same window changes nothing', async () => {
      const before = await snapshot();
      const again = await run('operator', { ...window, reason: 'once more' });
      assert.deepEqual([again.redriveId, again.counts], [null, { revisions: 6, requeued: 0, rerun: 0, unchanged: 6 }]);
      assert.ok(again.items.every((i) => i.action === 'unchanged' && i.state === 'posted'));
      assert.deepEqual(await snapshot(), before);
    });

    test('`finsync redrive` re-drives another window (dry run first), and bad arguments are refused', async () => {
      const env = { ...storeEnv(h), FINSYNC_API_KEY: keys.deController.key };
      const args = ['redrive', '--from', laterWindow.from, '--to', laterWindow.to, '--reason', 'department 2001 reopened', '--entity', 'DE01'];
      const before = await snapshot();
      const dry = await runFinsync([...args, '--dry-run', '--json'], env);
      assert.equal(dry.code, 0, dry.stderr);
      assert.deepEqual([JSON.parse(dry.stdout).dryRun, JSON.parse(dry.stdout).counts], [true, { revisions: 2, requeued: 2, rerun: 0, unchanged: 0 }]);
      assert.match(dry.stderr, /Dry run: nothing was changed/);
      assert.deepEqual(await snapshot(), before);
      for (const [bad, code] of [[['--from', '2026-02-30'], 'REDRIVE_WINDOW_INVALID'], [['--from', laterWindow.to], 'REDRIVE_WINDOW_INVALID'], [['--entity', 'XX01'], 'REDRIVE_ENTITY_UNKNOWN']] as const) {
        const refusedCli = await runFinsync([...args, ...bad], env);
        assert.equal(refusedCli.code, 2, refusedCli.stderr);
        assert.match(refusedCli.stderr, new RegExp(code));
      }
      const missing = await runFinsync(['redrive', '--to', laterWindow.to, '--reason', 'x'], env);
      assert.deepEqual([missing.code, /CLI_ARGUMENT_INVALID/.test(missing.stderr)], [2, true]);
      assert.deepEqual(await snapshot(), before);
      const cli = await runFinsync(args, env);
      assert.equal(cli.code, 0, cli.stderr);
      const id = /^re-drive ([0-9a-f-]{36}) of /.exec(cli.stdout)?.[1];
      assert.ok(id, cli.stdout);
      assert.match(cli.stdout, /2 requeued, 0 rerun, 0 unchanged/);
      // The hub's lanes find the re-queued postings by polling, as they would a `finsync serve`'s.
      await h.waitUntil('the later window is posted', async () => (await states(later)).every((s) => s === 'posted'));
      for (const r of later) assert.equal((await h.simDocuments(postingKey(r.reportId, 1, SAMPLE_TARGET))).length, 1);
      const show = await runFinsync(['replay', 'show', id], env);
      assert.match(show.stdout, new RegExp(`selection: re-drive of ${laterWindow.from} to ${laterWindow.to} \\(DE01\\)`));
      assert.deepEqual(await states(earlier), ['quarantined', 'quarantined']);
    });

    test('a revision stuck in `received` is queued again, but not while its processing message waits', async () => {
      await h.hub.broker.stop();
      const stuck = generateReports({ count: 30, seed: 802, invalidShare: 0 })[0];
      try {
        assert.equal((await h.send(toCloudEvent(stuck, { type: 'approved' }))).status, 202);
        const [at] = await receivedAt([stuck]);
        const own = { from: iso(at), to: iso(at + 1), reason: 'stuck revision' };
        const waiting = await run('operator', own);
        assert.deepEqual([waiting.redriveId, waiting.items.map((i) => [i.state, i.action])], [null, [['received', 'unchanged']]]);
        // The message is lost (marked done without being handled): only a re-drive moves the revision now.
        await db().updateTable('outbox').set({ done_at: Date.now() }).where('message_key', '=', stuck.reportId).execute();
        const result = await run('operator', own);
        assert.ok(result.redriveId);
        assert.deepEqual(result.items.map((i) => [i.state, i.action]), [['received', 'rerun']]);
        const again = await run('operator', own);
        assert.deepEqual(again.items.map((i) => i.action), ['unchanged'], 'the new message waits: nothing to do');
        const kinds = (await db().selectFrom('event_log').select('kind').where('report_id', '=', stuck.reportId).orderBy('seq').execute()).map((e) => e.kind);
        assert.deepEqual(kinds, ['event.received', 'revision.redriven']);
      } finally {
        h.hub.broker.start();
      }
      await h.waitUntil('the stuck revision is posted', async () => (await reportState(h, stuck.reportId)) === 'posted');
      assert.deepEqual((await rebuildReport(db(), stuck.reportId)).differences, []);
    });
  });
}

function pick(item: RedriveResult['items'][number]): unknown[] {
  return [item.stage, item.state, item.action, item.previousCode, item.externalKey];
}
