// Proves the pure parts of event-log replay without a store: the fold of a report's log entries follows the pipeline's state changes and their conditions (a revision's way to posted, supersede and recall of earlier revisions derived from the entry that made them, a resume or replay that no longer applies is a no-op, a look-up that repeats a posting changes nothing), refuses entries out of seq order, and lists the entries it cannot apply instead of guessing; the comparison names each differing field; and the window of a re-drive accepts ISO 8601 dates and instants with an offset and refuses everything else with REDRIVE_WINDOW_INVALID or REDRIVE_WINDOW_TOO_LONG.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EVENT_TYPES } from '../../src/domain/events.ts';
import { AppError } from '../../src/errors.ts';
import { foldReportLog, receivedKey, type LogRecord, type ReceivedEvent } from '../../src/eventlog/fold.ts';
import { compareStates } from '../../src/eventlog/rebuild.ts';
import { parseWindow, REDRIVE_WINDOW_DAYS_MAX } from '../../src/eventlog/redrive-window.ts';

const T0 = Date.parse('2026-05-04T10:00:00Z');
const KEY1 = 'fs_aaa_r1';
const KEY2 = 'fs_bbb_r2';

/** Builds entries with consecutive seq numbers, one millisecond apart. */
function entries(...specs: [kind: string, revision: number | null, payload?: Record<string, unknown>][]): LogRecord[] {
  return specs.map(([kind, revision, payload], i) => ({ seq: i + 1, at: T0 + i, kind, revision, payload: payload ?? {} }));
}

const received = (id: string, revision: number, type: string = EVENT_TYPES.approved): ['event.received', number | null, Record<string, unknown>] => ['event.received', type === EVENT_TYPES.recalled ? null : revision, { source: 'test', id, type }];
const inbox = new Map<string, ReceivedEvent>([
  [receivedKey('test', 'e1'), { type: EVENT_TYPES.approved, data: { entity: 'DE01', approvedAt: '2026-05-01T08:00:00Z' } }],
  [receivedKey('test', 'e2'), { type: EVENT_TYPES.updated, data: { entity: 'DE01', approvedAt: '2026-05-02T08:00:00Z' } }],
]);
const queued = (revision: number, key: string): [string, number, Record<string, unknown>][] => [
  ['revision.validated', revision, {}],
  ['revision.mapped', revision, { mappingVersion: 'DE01@1+GROUP@1', journal: { lines: [revision] } }],
  ['revision.queued', revision, { target: 'netsuite', externalKey: key }],
];

describe('the fold of a report’s event log', () => {
  test('a revision received, mapped, queued and posted, then found again on look-up', () => {
    const folded = foldReportLog(entries(received('e1', 1), ...queued(1, KEY1), ['posting.posted', 1, { externalKey: KEY1, documentId: 'D1' }], ['posting.found-on-lookup', 1, { externalKey: KEY1, documentId: 'D1' }]), inbox);
    assert.deepEqual([folded.entity, folded.latestRevision, folded.recalledAt, folded.ignored], ['DE01', 1, null, []]);
    const [rev] = folded.revisions;
    assert.deepEqual([rev.state, rev.reasonCode, rev.mappingVersion, rev.target, rev.externalKeys, rev.documentIds], ['posted', null, 'DE01@1+GROUP@1', 'netsuite', [KEY1], ['D1']]);
    assert.deepEqual([rev.receivedAt, rev.approvedAt, rev.postedAt], [new Date(T0).toISOString(), '2026-05-01T08:00:00.000Z', new Date(T0 + 4).toISOString()]);
    assert.deepEqual(folded.postings, [{ externalKey: KEY1, kind: 'journal', revision: 1, target: 'netsuite', state: 'posted', reasonCode: null, documentId: 'D1', postedAt: new Date(T0 + 4).toISOString() }]);
  });

  test('a newer revision supersedes an open earlier one when it is queued; a recall ends the rest', () => {
    const log = entries(received('e1', 1), ['revision.quarantined', 1, { code: 'MD_COST_CENTER_CLOSED', mappingVersion: 'DE01@1+GROUP@1' }], received('e2', 2), ...queued(2, KEY2), ['revision.recalled', 2, { reason: null }]);
    const folded = foldReportLog(log.slice(0, 6), inbox);
    assert.deepEqual(folded.revisions.map((r) => [r.state, r.reasonCode, r.mappingVersion]), [['superseded', 'SUPERSEDED', 'DE01@1+GROUP@1'], ['queued', null, 'DE01@1+GROUP@1']]);
    const recalled = foldReportLog(entries(received('e1', 1), ['revision.waiting', 1, { findings: [{ severity: 'warning', code: 'POLICY_WEEKEND' }, { severity: 'error', code: 'MD_EMPLOYEE_UNKNOWN' }] }], received('e2', 2), ['revision.recalled', 2, {}]), inbox);
    assert.deepEqual(recalled.revisions.map((r) => [r.state, r.reasonCode]), [['superseded', 'RECALLED'], ['recalled', 'RECALLED']]);
  });

  test('a recall marks a known report only; a stale revision is superseded at once', () => {
    const unknown = foldReportLog(entries(received('r1', 1, EVENT_TYPES.recalled), ['recall.unknown-report', null, {}]), new Map());
    assert.deepEqual([unknown.recalledAt, unknown.revisions, unknown.ignored], [null, [], []]);
    const stale = foldReportLog(entries(received('e2', 2), received('e1', 1), ['revision.superseded', 1, { reason: 'STALE_REVISION', latest: 2 }], received('r1', 0, EVENT_TYPES.recalled)), inbox);
    assert.deepEqual([stale.latestRevision, stale.revisions.map((r) => [r.revision, r.state, r.reasonCode])], [2, [[1, 'superseded', 'STALE_REVISION'], [2, 'received', null]]]);
    assert.equal(stale.recalledAt, new Date(T0 + 3).toISOString());
  });

  test('a resume or a replay that no longer applies changes nothing, as the conditional updates do', () => {
    const folded = foldReportLog(entries(received('e1', 1), ['revision.recalled', 1, {}], ['revision.resumed', 1, {}], ['revision.replayed', 1, {}]), inbox);
    assert.deepEqual([folded.revisions[0].state, folded.revisions[0].reasonCode], ['recalled', 'RECALLED']);
    const refused = entries(received('e1', 1), ...queued(1, KEY1), ['posting.quarantined', 1, { externalKey: KEY1, code: 'ERP_INVALID' }], ['posting.replayed', 1, { externalKey: KEY1, kind: 'journal' }]);
    const replayed = foldReportLog(refused, inbox);
    assert.deepEqual([replayed.revisions[0].state, replayed.postings[0].state, replayed.postings[0].reasonCode], ['queued', 'queued', null]);
    const before = foldReportLog(refused.slice(0, 5), inbox);
    assert.deepEqual([before.revisions[0].state, before.revisions[0].reasonCode, before.postings[0].state], ['quarantined', 'ERP_INVALID', 'quarantined']);
  });

  test('a reversal takes its original’s target, and reverses a posted revision once posted', () => {
    const folded = foldReportLog(
      entries(received('e1', 1), ...queued(1, KEY1), ['posting.posted', 1, { externalKey: KEY1, documentId: 'D1' }], received('e2', 2), ['reversal.queued', 1, { externalKey: `${KEY1}_rev`, of: KEY1, by: 2 }], ...queued(2, KEY2), ['reversal.posted', 1, { externalKey: `${KEY1}_rev`, documentId: 'D2' }]),
      inbox,
    );
    assert.deepEqual(folded.revisions.map((r) => [r.state, r.documentIds]), [['reversed', ['D1', 'D2']], ['queued', []]]);
    assert.deepEqual(folded.postings.map((p) => [p.kind, p.revision, p.target, p.state]), [['journal', 1, 'netsuite', 'posted'], ['reversal', 1, 'netsuite', 'posted'], ['journal', 2, 'netsuite', 'queued']]);
  });

  test('entries out of seq order are a programmer error', () => {
    const log = entries(received('e1', 1), ['revision.validated', 1]);
    assert.throws(() => foldReportLog([log[1], log[0]], inbox), /Assertion failed: event-log entries are folded in seq order/);
    assert.throws(() => foldReportLog([log[0], log[0]], inbox), /Assertion failed/);
  });

  test('entries it cannot apply are listed, not guessed', () => {
    const folded = foldReportLog(entries(['revision.validated', 7], ['posting.posted', 1, { externalKey: 'fs_nope' }], ['posting.posted', 1, {}], ['mystery.kind', 1], received('e1', 1), ['revision.frobbed', 1]), inbox);
    assert.deepEqual(
      folded.ignored.map((i) => [i.seq, i.kind]),
      [[1, 'revision.validated'], [2, 'posting.posted'], [3, 'posting.posted'], [4, 'mystery.kind'], [6, 'revision.frobbed']],
    );
    assert.match(folded.ignored[0].reason, /revision 7 was never received/);
    assert.deepEqual(folded.revisions.map((r) => r.state), ['received']);
    assert.equal(folded.revisions[0].approvedAt, '2026-05-01T08:00:00.000Z');
    // Without the raw event, what only the inbox knows stays unknown.
    assert.deepEqual([foldReportLog(entries(received('e9', 1)), inbox).entity, foldReportLog(entries(received('e9', 1)), inbox).revisions[0].approvedAt], [null, null]);
  });

  test('the comparison names every differing field, and whole revisions or postings one side lacks', () => {
    const folded = foldReportLog(entries(received('e1', 1), ...queued(1, KEY1)), inbox);
    const { ignored: _ignored, ...state } = folded;
    assert.deepEqual(compareStates(state, state), []);
    const stored = { ...state, entity: 'US01', revisions: [{ ...state.revisions[0], state: 'posted' }, { ...state.revisions[0], revision: 2 }], postings: [{ ...state.postings[0], state: 'posting' }] };
    assert.deepEqual(compareStates(state, stored), [
      { field: 'report.entity', fromLog: 'DE01', stored: 'US01' },
      { field: 'revision:1.state', fromLog: 'queued', stored: 'posted' },
      { field: 'revision:2', fromLog: null, stored: 'queued' },
      { field: 'posting:fs_aaa_r1.state', fromLog: 'queued', stored: 'posting' },
    ]);
  });
});

describe('the window of a re-drive', () => {
  const refusedWith = (code: string) => (error: unknown) => error instanceof AppError && error.code === code;

  test('accepts dates (midnight UTC) and instants with an offset, normalised to UTC', () => {
    assert.deepEqual(parseWindow('2026-05-04', '2026-05-05'), { fromMs: Date.parse('2026-05-04T00:00:00Z'), toMs: Date.parse('2026-05-05T00:00:00Z'), fromIso: '2026-05-04T00:00:00.000Z', toIso: '2026-05-05T00:00:00.000Z' });
    assert.equal(parseWindow('2026-05-04T12:00+02:00', '2026-05-04T10:00:00.5Z').fromIso, '2026-05-04T10:00:00.000Z');
    assert.equal(parseWindow('2026-02-28T23:59:59Z', '2026-03-31T23:59:59Z').toIso, '2026-03-31T23:59:59.000Z');
    assert.equal(REDRIVE_WINDOW_DAYS_MAX, 31);
    assert.equal(parseWindow('2026-01-01', '2026-02-01').toIso, '2026-02-01T00:00:00.000Z', 'exactly the longest window');
  });

  test('refuses what is not an ISO 8601 date or instant with an offset', () => {
    for (const bad of ['', 'now', '2026-5-4', '2026-02-30', '2026-13-01', '2026-05-04T10:00:00', '2026-05-04 10:00:00Z', '2026-05-04T24:00Z', '2026-05-04T10:60Z', '2026-05-04T10:00+25:00', '20260504', '2026-05-04T10:00:00.1234567890Z', `2026-05-04${'0'.repeat(100)}`]) {
      assert.throws(() => parseWindow(bad, '2026-05-05'), refusedWith('REDRIVE_WINDOW_INVALID'), bad);
      assert.throws(() => parseWindow('2026-05-01', bad), refusedWith('REDRIVE_WINDOW_INVALID'), bad);
    }
  });

  test('refuses an empty or reversed window, and one longer than the maximum', () => {
    assert.throws(() => parseWindow('2026-05-04', '2026-05-04'), refusedWith('REDRIVE_WINDOW_INVALID'));
    assert.throws(() => parseWindow('2026-05-05', '2026-05-04T23:59:59Z'), (e: unknown) => refusedWith('REDRIVE_WINDOW_INVALID')(e) && /must be after from/.test((e as Error).message));
    assert.throws(() => parseWindow('2026-01-01', '2026-02-01T00:00:00.001Z'), (e: unknown) => refusedWith('REDRIVE_WINDOW_TOO_LONG')(e) && /spans 31 days; a re-drive covers at most 31/.test((e as Error).message));
  });
});
