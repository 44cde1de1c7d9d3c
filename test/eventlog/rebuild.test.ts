// Proves on SQLite and PostgreSQL that the state rebuilt from the event log alone (and the inbox's raw events) equals what the revisions and postings tables hold, for every report a hub takes through a table of scenarios (posted; refused by the ERP then replayed; quarantined by validation with its mapping version, then superseded; revised after posting; revised before posting; a stale revision; recalled after posting; waiting for master data then resumed, or recalled; an ERP timeout settled by a look-up; a duplicate delivery; a recall of an unknown report) and through a seeded run with ERP faults, revisions and recalls; that a deliberately corrupted projection is reported field by field by the API and the CLI (exit 3); and that an unknown report is refused with REPORT_NOT_FOUND.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, generateReports, reviseReport, toCloudEvent, toRecallEvent } from '../../src/demo/expense-platform.ts';
import { SAMPLE_TARGET } from '../../src/demo/sample-company.ts';
import { postingKey } from '../../src/domain/keys.ts';
import { AppError } from '../../src/errors.ts';
import { rebuildReport, type ReportRebuild } from '../../src/eventlog/rebuild.ts';
import { replayExceptions } from '../../src/exceptions/replay.ts';
import { normalizeRecord, type RecordInput } from '../../src/masterdata/records.ts';
import type { Principal } from '../../src/store/api-keys.ts';
import { CLOSED_CENTER, REFUSED_CENTER, REFUSED_DEPARTMENT, de01Report, runFinsync, storeEnv } from '../support/exception-fixtures.ts';
import { openPostings, reportState, startHarness, type Harness } from '../support/hub-harness.ts';
import { storeKinds } from '../support/stores.ts';

const OPERATOR: Principal = { keyId: 'test', name: 'rebuild-test', roles: ['operator'] };
/** Fixed, so the run is the same everywhere (its faults are checked below); set it to explore others. */
const SEED = Number(process.env.FINSYNC_TEST_REBUILD_SEED ?? 4242);

/** One valid report of a seed no other scenario uses (ids RPT-<seed>-1). */
const freshReport = (seed: number, entity?: string) => {
  const report = generateReports({ count: 30, seed, invalidShare: 0 }).find((r) => entity === undefined || r.entity === entity);
  assert.ok(report, `the generator made a report for seed ${seed}`);
  return report;
};

async function rebuilt(h: Harness, reportId: string): Promise<ReportRebuild> {
  const rebuild = await rebuildReport(h.hub.store.db, reportId);
  assert.deepEqual(rebuild.differences, [], `${reportId}: the log and the tables differ`);
  assert.deepEqual(rebuild.ignored, [], `${reportId}: entries the rebuild could not apply`);
  assert.equal(rebuild.consistent, true);
  return rebuild;
}

async function settled(h: Harness): Promise<boolean> {
  const open = await h.hub.store.db.selectFrom('revisions').select((eb) => eb.fn.countAll<number>().as('n')).where('state', 'in', ['received', 'validated', 'mapped', 'queued']).executeTakeFirst();
  return Number(open?.n ?? 0) === 0 && (await openPostings(h)) === 0;
}

interface Scenario {
  readonly name: string;
  /** Drives the hub; returns the reports to rebuild and checks the rebuilt state of each. */
  readonly run: (h: Harness) => Promise<Record<string, (rebuild: ReportRebuild) => void>>;
}

const SCENARIOS: readonly Scenario[] = [
  {
    name: 'posted',
    async run(h) {
      const r = freshReport(701);
      await h.send(toCloudEvent(r, { type: 'approved' }));
      await h.waitUntil('posted', async () => (await reportState(h, r.reportId)) === 'posted');
      return {
        [r.reportId]: ({ state }) => {
          assert.deepEqual([state.revisions[0].state, state.postings[0].state, state.revisions[0].target], ['posted', 'posted', SAMPLE_TARGET]);
          assert.ok(state.revisions[0].documentIds[0] && state.revisions[0].postedAt && state.revisions[0].mappingVersion && state.revisions[0].journalHash);
        },
      };
    },
  },
  {
    name: 'refused by the ERP, then replayed after the fix',
    async run(h) {
      const r = de01Report(0, 'DE01-E0002', REFUSED_CENTER, '2026-05-04');
      h.simulator.setInactive('department', REFUSED_DEPARTMENT);
      await h.send(toCloudEvent(r, { type: 'approved' }));
      await h.waitUntil('refused', async () => (await reportState(h, r.reportId)) === 'quarantined');
      const quarantined = await rebuilt(h, r.reportId);
      assert.deepEqual([quarantined.state.revisions[0].reasonCode, quarantined.state.postings[0].state], ['ERP_INVALID_REFERENCE', 'quarantined']);
      h.simulator.setInactive('department', REFUSED_DEPARTMENT, false);
      const posting = await h.hub.store.db.selectFrom('postings').select('id').where('report_id', '=', r.reportId).executeTakeFirstOrThrow();
      await replayExceptions(h.hub.replay, { ids: [`posting:${posting.id}`], reason: 'department reopened' }, OPERATOR);
      await h.waitUntil('posted', async () => (await reportState(h, r.reportId)) === 'posted');
      return { [r.reportId]: ({ state }) => assert.deepEqual([state.revisions[0].state, state.revisions[0].reasonCode, state.postings[0].reasonCode], ['posted', null, null]) };
    },
  },
  {
    name: 'quarantined by validation with its mapping version, then superseded by a corrected revision',
    async run(h) {
      const r = de01Report(1, 'DE01-E0001', CLOSED_CENTER, '2026-05-04');
      await h.send(toCloudEvent(r, { type: 'approved' }));
      await h.waitUntil('quarantined', async () => (await reportState(h, r.reportId)) === 'quarantined');
      const quarantined = await rebuilt(h, r.reportId);
      assert.equal(quarantined.state.revisions[0].reasonCode, 'MD_COST_CENTER_CLOSED');
      assert.match(quarantined.state.revisions[0].mappingVersion ?? '', /^DE01@\d+\+GROUP@\d+$/);
      const corrected = { ...r, revision: 2, lines: r.lines.map((l) => ({ ...l, allocations: [{ costCenter: 'DE4120', percent: '100' }] })) };
      await h.send(toCloudEvent(corrected, { type: 'updated' }));
      await h.waitUntil('revision 2 posted', async () => (await reportState(h, r.reportId)) === 'posted');
      return { [r.reportId]: ({ state }) => assert.deepEqual(state.revisions.map((x) => [x.state, x.reasonCode]), [['superseded', 'SUPERSEDED'], ['posted', null]]) };
    },
  },
  {
    name: 'revised after posting: a reversal, then the new journal',
    async run(h) {
      const r1 = freshReport(702);
      await h.send(toCloudEvent(r1, { type: 'approved' }));
      await h.waitUntil('revision 1 posted', async () => (await reportState(h, r1.reportId)) === 'posted');
      await h.send(toCloudEvent(reviseReport(r1, 702), { type: 'updated' }));
      await h.waitUntil('revision 2 posted', async () => (await reportState(h, r1.reportId)) === 'posted' && (await settled(h)));
      return {
        [r1.reportId]: ({ state }) => {
          assert.deepEqual(state.revisions.map((x) => x.state), ['reversed', 'posted']);
          assert.deepEqual(state.postings.map((p) => [p.kind, p.revision, p.state]), [['journal', 1, 'posted'], ['reversal', 1, 'posted'], ['journal', 2, 'posted']]);
          assert.equal(state.revisions[0].documentIds.length, 2);
        },
      };
    },
  },
  {
    name: 'two revisions in one batch: the first is superseded before it posts',
    async run(h) {
      const r1 = freshReport(703);
      await h.send([toCloudEvent(r1, { type: 'approved' }), toCloudEvent(reviseReport(r1, 703), { type: 'updated' })]);
      await h.waitUntil('revision 2 posted', async () => (await reportState(h, r1.reportId)) === 'posted' && (await settled(h)));
      return { [r1.reportId]: ({ state }) => assert.deepEqual(state.revisions.map((x) => [x.state, x.reasonCode]), [['superseded', 'STALE_REVISION'], ['posted', null]]) };
    },
  },
  {
    name: 'a stale revision after a newer one',
    async run(h) {
      const r1 = freshReport(704);
      const r2 = reviseReport(r1, 704);
      await h.send(toCloudEvent(r2, { type: 'updated' }));
      await h.waitUntil('revision 2 posted', async () => (await reportState(h, r1.reportId)) === 'posted');
      await h.send(toCloudEvent(r1, { type: 'approved' }));
      return { [r1.reportId]: ({ state }) => assert.deepEqual([state.latestRevision, state.revisions[0].state, state.revisions[0].reasonCode], [2, 'superseded', 'STALE_REVISION']) };
    },
  },
  {
    name: 'recalled after posting',
    async run(h) {
      const r = freshReport(705, 'US01');
      await h.send(toCloudEvent(r, { type: 'approved' }));
      await h.waitUntil('posted', async () => (await reportState(h, r.reportId)) === 'posted');
      await h.send(toRecallEvent(r.reportId, 1, 'withdrawn'));
      await h.waitUntil('recalled and reversed', async () => (await reportState(h, r.reportId)) === 'recalled' && (await settled(h)));
      return {
        [r.reportId]: ({ state }) => {
          assert.deepEqual([state.revisions[0].state, state.revisions[0].reasonCode], ['recalled', 'RECALLED']);
          assert.ok(state.recalledAt);
          assert.deepEqual(state.postings.map((p) => [p.kind, p.state]), [['journal', 'posted'], ['reversal', 'posted']]);
        },
      };
    },
  },
  {
    name: 'waiting for an employee, resumed by a sync; another waiting one recalled',
    async run(h) {
      const waiting = { ...freshReport(706, 'DE01'), employeeId: 'DE01-E0931' };
      const recalled = { ...freshReport(707, 'DE01'), employeeId: 'DE01-E0932' };
      await h.send([waiting, recalled].map((r) => toCloudEvent(r, { type: 'approved' })));
      await h.waitUntil('both wait', async () => (await reportState(h, waiting.reportId)) === 'waiting' && (await reportState(h, recalled.reportId)) === 'waiting');
      assert.equal((await rebuilt(h, waiting.reportId)).state.revisions[0].reasonCode, 'MD_EMPLOYEE_UNKNOWN');
      await h.send(toRecallEvent(recalled.reportId, 1, 'withdrawn while waiting'));
      await h.waitUntil('recalled', async () => (await reportState(h, recalled.reportId)) === 'recalled');
      const employee: RecordInput = { kind: 'employee', entity: 'DE01', key: 'DE01-E0931', validFrom: '2020-01-01', attributes: { name: 'New Hire', erpId: '200005' } };
      await h.hub.masterData.apply('erp', 'netsuite', [normalizeRecord('erp', employee, 'records[0]')]);
      await h.waitUntil('resumed and posted', async () => (await reportState(h, waiting.reportId)) === 'posted');
      return {
        [waiting.reportId]: ({ state }) => assert.deepEqual([state.revisions[0].state, state.revisions[0].reasonCode], ['posted', null]),
        [recalled.reportId]: ({ state }) => assert.deepEqual([state.revisions[0].state, state.postings], ['recalled', []]),
      };
    },
  },
  {
    name: 'an ERP timeout after commit, settled by a look-up',
    async run(h) {
      const r = freshReport(708);
      h.simulator.setFaults({ timeoutAfterCommitRate: 1, holdMs: 60_000 });
      try {
        await h.send(toCloudEvent(r, { type: 'approved' }));
        await h.waitUntil('posted', async () => (await reportState(h, r.reportId)) === 'posted');
      } finally {
        h.simulator.setFaults({});
      }
      const kinds = (await h.hub.store.db.selectFrom('event_log').select('kind').where('report_id', '=', r.reportId).execute()).map((e) => e.kind);
      assert.ok(kinds.includes('posting.found-on-lookup'), 'the document was found by its external key');
      assert.equal((await h.simDocuments(postingKey(r.reportId, 1, SAMPLE_TARGET))).length, 1);
      return { [r.reportId]: ({ state }) => assert.equal(state.postings[0].state, 'posted') };
    },
  },
  {
    name: 'a duplicate delivery and a recall of a report never received',
    async run(h) {
      const r = freshReport(709);
      const event = toCloudEvent(r, { type: 'approved' });
      await h.send(event);
      assert.equal((await h.send(event)).body.results[0].status, 'duplicate');
      await h.send(toRecallEvent('RPT-NEVER-SEEN', 1, 'no such report'));
      await h.waitUntil('posted', async () => (await reportState(h, r.reportId)) === 'posted');
      return {
        [r.reportId]: ({ state }) => assert.equal(state.revisions.length, 1),
        'RPT-NEVER-SEEN': ({ state, entries }) => assert.deepEqual([entries, state.revisions, state.latestRevision], [2, [], null]),
      };
    },
  },
];

/** A seeded run: reports (a few invalid) through ERP refusals and 429 bursts, with duplicates, early and late revisions, and recalls. */
async function runSeeded(h: Harness, seed: number): Promise<string[]> {
  const rng = createRng(seed);
  const reports = generateReports({ count: 24, seed, invalidShare: 0.1 }).map((r) => ({ ...r, reportId: `SEEDED-${r.reportId}` }));
  h.simulator.setFaults({ invalidReferenceRate: 0.15, rateLimitBurstRate: 0.05, burstLength: 2 });
  try {
    const first = reports.map((r) => toCloudEvent(r, { type: 'approved' }));
    const early = reports.filter(() => rng.chance(0.15)).map((r) => toCloudEvent(reviseReport(r, seed), { type: 'updated' }));
    assert.equal((await h.send([...first, ...early])).status, 202);
    // Duplicate deliveries, in a request of their own.
    const again = first.filter(() => rng.chance(0.2));
    if (again.length > 0) assert.equal((await h.send(again)).status, 202);
    await h.waitUntil('the first round settles', () => settled(h), 120_000);
    const later: object[] = [];
    for (const r of reports) {
      const latest = await h.hub.store.db.selectFrom('reports').select('latest_revision').where('report_id', '=', r.reportId).executeTakeFirstOrThrow();
      const current = latest.latest_revision === 1 ? r : reviseReport(r, seed);
      if (rng.chance(0.2)) later.push(toCloudEvent(reviseReport(current, seed + 1), { type: 'updated' }));
      else if (rng.chance(0.15)) later.push(toRecallEvent(r.reportId, latest.latest_revision, 'recalled by the employee'));
    }
    if (later.length > 0) assert.equal((await h.send(later)).status, 202);
    await h.waitUntil('revisions and recalls settle', () => settled(h), 120_000);
  } finally {
    h.simulator.setFaults({});
  }
  return reports.map((r) => r.reportId);
}

for (const store of await storeKinds()) {
  describe(`rebuild of reports from the event log on ${store.kind}`, { skip: store.skip }, () => {
    let h: Harness;
    const checked: string[] = [];
    before(async () => {
      h = await startHarness(store.kind);
    });
    after(async () => h?.close());

    for (const scenario of SCENARIOS) {
      test(scenario.name, async () => {
        const checks = await scenario.run(h);
        for (const [reportId, check] of Object.entries(checks)) {
          check(await rebuilt(h, reportId));
          checked.push(reportId);
        }
      });
    }

    test(`a seeded run with ERP refusals, 429 bursts, revisions and recalls (seed ${SEED})`, { timeout: 240_000 }, async () => {
      try {
        const reportIds = await runSeeded(h, SEED);
        for (const reportId of reportIds) await rebuilt(h, reportId);
        const kinds = await h.hub.store.db.selectFrom('event_log').select('kind').distinct().where('report_id', 'in', reportIds).execute();
        // The default seed is known to make every one of these happen; another seed may not.
        if (process.env.FINSYNC_TEST_REBUILD_SEED === undefined) for (const kind of ['posting.quarantined', 'revision.superseded', 'reversal.posted', 'revision.recalled']) assert.ok(kinds.some((k) => k.kind === kind), `the seeded run logged ${kind}`);
      } catch (error) {
        console.log(`# rebuild seeded run failed on ${store.kind} with seed ${SEED}; rerun with FINSYNC_TEST_REBUILD_SEED=${SEED}`);
        throw error;
      }
    });

    test('every report the hub holds rebuilds to exactly its stored state', async () => {
      const reports = await h.hub.store.db.selectFrom('reports').select('report_id').execute();
      for (const { report_id } of reports) await rebuilt(h, report_id);
    });

    test('a corrupted projection is reported field by field, by the API and by `finsync events rebuild` (exit 3)', async () => {
      const [reportId] = checked;
      const db = h.hub.store.db;
      const posting = await db.selectFrom('postings').select(['id', 'external_key', 'document_id']).where('report_id', '=', reportId).executeTakeFirstOrThrow();
      const revision = await db.selectFrom('revisions').select(['mapping_version']).where('report_id', '=', reportId).executeTakeFirstOrThrow();
      await db.updateTable('revisions').set({ state: 'quarantined', reason_code: 'ERP_INVALID', mapping_version: 'DE01@99+GROUP@99' }).where('report_id', '=', reportId).execute();
      await db.updateTable('postings').set({ document_id: 'forged-1' }).where('id', '=', posting.id).execute();
      const expected = [
        { field: 'revision:1.state', fromLog: 'posted', stored: 'quarantined' },
        { field: 'revision:1.reasonCode', fromLog: null, stored: 'ERP_INVALID' },
        { field: 'revision:1.mappingVersion', fromLog: revision.mapping_version, stored: 'DE01@99+GROUP@99' },
        { field: `posting:${posting.external_key}.documentId`, fromLog: posting.document_id, stored: 'forged-1' },
      ];
      const rebuild = await rebuildReport(db, reportId);
      assert.equal(rebuild.consistent, false);
      assert.deepEqual(rebuild.differences, expected);
      assert.equal(rebuild.state.revisions[0].state, 'posted', 'the rebuilt state is the log’s');
      const api = await h.hub.app.inject({ method: 'GET', url: `/v1/reports/${reportId}/rebuild`, headers: { authorization: `Bearer ${h.apiKey}` } });
      assert.equal(api.statusCode, 200, api.body);
      assert.deepEqual([api.json().consistent, api.json().differences], [false, expected]);
      const cli = await runFinsync(['events', 'rebuild', '--report', reportId, '--json'], storeEnv(h));
      assert.equal(cli.code, 3, cli.stderr);
      assert.deepEqual(JSON.parse(cli.stdout).differences, expected);
      const human = await runFinsync(['events', 'rebuild', '--report', reportId], storeEnv(h));
      assert.equal(human.code, 3, human.stderr);
      assert.match(human.stdout, /4 difference\(s\) from the tables/);
      assert.match(human.stdout, /revision:1\.state {2}posted {2}quarantined/);
      // Put the projection back: the rebuild agrees again.
      await db.updateTable('revisions').set({ state: 'posted', reason_code: null, mapping_version: revision.mapping_version }).where('report_id', '=', reportId).execute();
      await db.updateTable('postings').set({ document_id: posting.document_id }).where('id', '=', posting.id).execute();
      await rebuilt(h, reportId);
      const ok = await runFinsync(['events', 'rebuild', '--report', reportId], storeEnv(h));
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /consistent with the tables/);
    });

    test('an unknown report is refused with REPORT_NOT_FOUND, by the function, the API and the CLI', async () => {
      await assert.rejects(rebuildReport(h.hub.store.db, 'NO-SUCH-REPORT'), (e: unknown) => e instanceof AppError && e.code === 'REPORT_NOT_FOUND');
      const api = await h.hub.app.inject({ method: 'GET', url: '/v1/reports/NO-SUCH-REPORT/rebuild', headers: { authorization: `Bearer ${h.apiKey}` } });
      assert.deepEqual([api.statusCode, api.json().code], [404, 'REPORT_NOT_FOUND']);
      const anonymous = await h.hub.app.inject({ method: 'GET', url: '/v1/reports/NO-SUCH-REPORT/rebuild' });
      assert.deepEqual([anonymous.statusCode, anonymous.json().code], [401, 'AUTH_MISSING']);
      const tooLong = await h.hub.app.inject({ method: 'GET', url: `/v1/reports/${'x'.repeat(65)}/rebuild`, headers: { authorization: `Bearer ${h.apiKey}` } });
      assert.deepEqual([tooLong.statusCode, tooLong.json().code], [400, 'REQUEST_INVALID']);
      const cli = await runFinsync(['events', 'rebuild', '--report', 'NO-SUCH-REPORT'], storeEnv(h));
      assert.equal(cli.code, 2);
      assert.match(cli.stderr, /REPORT_NOT_FOUND/);
      const missing = await runFinsync(['events', 'rebuild'], storeEnv(h));
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /CLI_ARGUMENT_INVALID/);
    });
  });
}
