// Proves that POST /v1/events stores an accepted event durably (inbox, event log, revision, outbox) before answering 202, answers a repeat with the same correlation id while storing nothing new, refuses conflicting ids, revisions and report owners with 409, treats a batch as all-or-nothing, and that GET /v1/reports/{id} shows what was stored — on SQLite and on PostgreSQL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { toCloudEvent, toRecallEvent } from '../../src/demo/expense-platform.ts';
import { TOPICS } from '../../src/pipeline/topics.ts';
import { approvedEvent, clone, EVENT_TIME, startApiHarness, validReport, type ApiHarness, type TableCounts } from '../support/api-harness.ts';
import { storeKinds } from '../support/stores.ts';

function delta(before: TableCounts, after: TableCounts): Partial<TableCounts> {
  const changed: Partial<TableCounts> = {};
  for (const [table, n] of Object.entries(after) as [keyof TableCounts, number][]) if (n !== before[table]) changed[table] = n - before[table];
  return changed;
}

function assertRefused(response: { status: number; body: any }, status: number, code: string): void {
  assert.equal(response.status, status, `expected ${status} ${code}, got ${response.status} ${JSON.stringify(response.body)}`);
  assert.equal(response.body.code, code);
  assert.equal(typeof response.body.message, 'string');
  assert.ok(response.body.message.length > 0);
  assert.equal(typeof response.body.correlationId, 'string');
}

for (const s of await storeKinds()) {
  describe(`POST /v1/events and GET /v1/reports/{id} on ${s.kind}`, { skip: s.skip }, () => {
    let h: ApiHarness;
    before(async () => {
      h = await startApiHarness(s.kind);
    });
    after(async () => h?.close());

    test('a valid approved event is answered 202 only after inbox, event log, revision and outbox are stored', async () => {
      const event = approvedEvent(101);
      const reportId = event.data.reportId;
      const counts = await h.counts();
      const response = await h.postEvents(event);
      assert.equal(response.status, 202, response.text);
      const { correlationId } = response.body;
      assert.match(correlationId, /^[A-Za-z0-9_.:-]{1,100}$/);
      assert.equal(response.body.accepted, 1);
      assert.equal(response.body.duplicates, 0);
      assert.deepEqual(response.body.results, [{ id: event.id, source: event.source, status: 'accepted', correlationId, reportId }]);

      assert.deepEqual(delta(counts, await h.counts()), { inbox: 1, event_log: 1, reports: 1, revisions: 1, outbox: 1 });
      const inbox = await h.store.db.selectFrom('inbox').selectAll().where('source', '=', event.source).where('event_id', '=', event.id).executeTakeFirstOrThrow();
      assert.equal(inbox.correlation_id, correlationId);
      assert.equal(inbox.report_id, reportId);
      assert.equal(inbox.type, event.type);
      assert.deepEqual(JSON.parse(inbox.body), event, 'the raw event is kept as sent');
      const log = await h.store.db.selectFrom('event_log').selectAll().where('report_id', '=', reportId).execute();
      assert.deepEqual(log.map((l) => [l.kind, l.correlation_id, l.revision]), [['event.received', correlationId, 1]]);
      const revision = await h.store.db.selectFrom('revisions').selectAll().where('report_id', '=', reportId).executeTakeFirstOrThrow();
      assert.equal(revision.revision, 1);
      assert.equal(revision.state, 'received');
      assert.equal(revision.correlation_id, correlationId);
      assert.equal(JSON.parse(revision.report).reportId, reportId);
      const outbox = await h.store.db.selectFrom('outbox').selectAll().where('message_key', '=', reportId).execute();
      assert.equal(outbox.length, 1);
      assert.equal(outbox[0].topic, TOPICS.processRevision);
      assert.deepEqual(JSON.parse(outbox[0].payload), { reportId, revision: 1 });
      assert.equal(outbox[0].done_at, null);
    });

    test('a repeat of the same event answers 202 duplicate with the same correlation id and stores only an event.duplicate entry', async () => {
      const event = approvedEvent(102);
      const first = await h.postEvents(event);
      assert.equal(first.status, 202, first.text);
      const counts = await h.counts();
      const repeat = await h.postEvents(clone(event));
      assert.equal(repeat.status, 202, repeat.text);
      assert.equal(repeat.body.correlationId, first.body.correlationId);
      assert.equal(repeat.body.accepted, 0);
      assert.equal(repeat.body.duplicates, 1);
      assert.deepEqual(repeat.body.results, [{ ...first.body.results[0], status: 'duplicate' }]);
      assert.deepEqual(delta(counts, await h.counts()), { event_log: 1 });
      const last = await h.store.db.selectFrom('event_log').selectAll().where('report_id', '=', event.data.reportId).orderBy('seq', 'desc').executeTakeFirstOrThrow();
      assert.equal(last.kind, 'event.duplicate');
      assert.equal(last.correlation_id, first.body.correlationId);
      // A key order change is the same body: still a duplicate, not a conflict.
      const reordered = Object.fromEntries(Object.entries(event).reverse());
      const again = await h.postEvents(reordered);
      assert.equal(again.status, 202, again.text);
      assert.equal(again.body.results[0].status, 'duplicate');
    });

    test('the same event id with a different body is refused with 409 EVENT_ID_CONFLICT and changes nothing', async () => {
      const event = approvedEvent(103);
      assert.equal((await h.postEvents(event)).status, 202);
      const counts = await h.counts();
      const changed = clone(event);
      changed.data.title = `${changed.data.title ?? ''} (edited)`;
      assertRefused(await h.postEvents(changed), 409, 'EVENT_ID_CONFLICT');
      assert.deepEqual(await h.counts(), counts);
      const inbox = await h.store.db.selectFrom('inbox').select('body').where('event_id', '=', event.id).executeTakeFirstOrThrow();
      assert.deepEqual(JSON.parse(inbox.body), event, 'the first body is kept');
    });

    test('a batch of three events is accepted as a whole', async () => {
      const events = [approvedEvent(104), approvedEvent(105), approvedEvent(106)];
      const counts = await h.counts();
      const response = await h.postEvents(events);
      assert.equal(response.status, 202, response.text);
      assert.equal(response.body.accepted, 3);
      assert.deepEqual(response.body.results.map((r: { id: string; status: string }) => [r.id, r.status]), events.map((e) => [e.id, 'accepted']));
      assert.deepEqual(delta(counts, await h.counts()), { inbox: 3, event_log: 3, reports: 3, revisions: 3, outbox: 3 });
    });

    test('a batch with one invalid event is refused with 400 and stores nothing from the batch', async () => {
      const bad = approvedEvent(109);
      (bad.data.lines[0].amount as { value: unknown }).value = 12.3;
      const batch = [approvedEvent(107), approvedEvent(108), bad];
      const counts = await h.counts();
      const response = await h.postEvents(batch);
      assertRefused(response, 400, 'EVENT_INVALID');
      assert.match(response.body.message, /\[2\]\.data\.lines\.0\.amount\.value/);
      assert.deepEqual(await h.counts(), counts);
      for (const event of batch) {
        assert.equal(await h.store.db.selectFrom('inbox').select('event_id').where('event_id', '=', event.id).executeTakeFirst(), undefined);
      }
    });

    test('a batch whose last event conflicts in the store is rolled back entirely', async () => {
      const owned = approvedEvent(110, { source: 'urn:test:owner-a' });
      assert.equal((await h.postEvents(owned)).status, 202);
      const counts = await h.counts();
      const batch = [approvedEvent(111), approvedEvent(112), approvedEvent(110, { source: 'urn:test:owner-b' })];
      assertRefused(await h.postEvents(batch), 409, 'REPORT_SOURCE_CONFLICT');
      assert.deepEqual(await h.counts(), counts, 'the two valid events before the conflict were rolled back');
      for (const seed of [111, 112]) {
        assert.equal((await h.get(`/v1/reports/${validReport(seed).reportId}`)).status, 404);
      }
    });

    test('a batch holding the same source and id twice is refused with BATCH_DUPLICATE_ID', async () => {
      const event = approvedEvent(113);
      const counts = await h.counts();
      assertRefused(await h.postEvents([event, approvedEvent(114), clone(event)]), 400, 'BATCH_DUPLICATE_ID');
      assert.deepEqual(await h.counts(), counts);
    });

    test('an empty batch is refused with BATCH_EMPTY', async () => {
      assertRefused(await h.postEvents([]), 400, 'BATCH_EMPTY');
    });

    test('a batch of 501 events is refused with BATCH_TOO_LARGE', async () => {
      const template = { specversion: '1.0', source: 'urn:test:big', type: 'com.finsync.expense.report.recalled.v1', data: { reportId: 'NOPE' } };
      const counts = await h.counts();
      const response = await h.postEvents(Array.from({ length: 501 }, (_, i) => ({ ...template, id: `big-${i}` })));
      assertRefused(response, 400, 'BATCH_TOO_LARGE');
      assert.match(response.body.message, /501/);
      assert.deepEqual(await h.counts(), counts);
    });

    test('a text/plain body is refused with 415 BODY_UNSUPPORTED_MEDIA_TYPE', async () => {
      const counts = await h.counts();
      assertRefused(await h.postEvents(JSON.stringify(approvedEvent(115)), { contentType: 'text/plain' }), 415, 'BODY_UNSUPPORTED_MEDIA_TYPE');
      assert.deepEqual(await h.counts(), counts);
    });

    test('application/cloudevents-batch+json and application/cloudevents+json bodies are accepted', async () => {
      const batch = await h.postEvents(JSON.stringify([approvedEvent(116), approvedEvent(117)]), { contentType: 'application/cloudevents-batch+json' });
      assert.equal(batch.status, 202, batch.text);
      assert.equal(batch.body.accepted, 2);
      const single = await h.postEvents(JSON.stringify(approvedEvent(118)), { contentType: 'application/cloudevents+json; charset=utf-8' });
      assert.equal(single.status, 202, single.text);
      assert.equal(single.body.accepted, 1);
    });

    test('the same revision with different content under a new event id is refused with 409 REVISION_CONFLICT', async () => {
      const report = validReport(119);
      assert.equal((await h.postEvents(toCloudEvent(report, { type: 'approved', time: EVENT_TIME }))).status, 202);
      const counts = await h.counts();
      const changed = { ...clone(report), title: 'Something else entirely' };
      const response = await h.postEvents(toCloudEvent(changed, { type: 'updated', id: 'other-event-id-119', time: EVENT_TIME }));
      assertRefused(response, 409, 'REVISION_CONFLICT');
      assert.match(response.body.message, /revision 2/, 'the message names the next revision to use');
      assert.deepEqual(await h.counts(), counts);
      // The same content under a new id is a harmless repeat of the revision.
      const same = await h.postEvents(toCloudEvent(report, { type: 'updated', id: 'same-content-119', time: EVENT_TIME }));
      assert.equal(same.status, 202, same.text);
      assert.deepEqual(delta(counts, await h.counts()), { inbox: 1, event_log: 2 });
    });

    test('a report id first sent by source A and then by source B is refused with 409 REPORT_SOURCE_CONFLICT', async () => {
      assert.equal((await h.postEvents(approvedEvent(120, { source: 'urn:test:source-a' }))).status, 202);
      const counts = await h.counts();
      const response = await h.postEvents(approvedEvent(120, { source: 'urn:test:source-b' }));
      assertRefused(response, 409, 'REPORT_SOURCE_CONFLICT');
      assert.match(response.body.message, /urn:test:source-a/);
      assert.deepEqual(await h.counts(), counts);
      const row = await h.store.db.selectFrom('reports').select('source').where('report_id', '=', validReport(120).reportId).executeTakeFirstOrThrow();
      assert.equal(row.source, 'urn:test:source-a');
    });

    test('a recall of a known report is accepted and queued', async () => {
      const event = approvedEvent(121);
      const reportId = event.data.reportId;
      const first = await h.postEvents(event);
      assert.equal(first.status, 202);
      const counts = await h.counts();
      const response = await h.postEvents(toRecallEvent(reportId, 1, 'employee withdrew the report'));
      assert.equal(response.status, 202, response.text);
      assert.equal(response.body.results[0].status, 'accepted');
      assert.equal(response.body.results[0].reportId, reportId);
      assert.equal(response.body.correlationId, first.body.correlationId, 'a recall joins the report correlation');
      assert.deepEqual(delta(counts, await h.counts()), { inbox: 1, event_log: 1, outbox: 1 });
      const report = await h.store.db.selectFrom('reports').select('recalled_at').where('report_id', '=', reportId).executeTakeFirstOrThrow();
      assert.notEqual(report.recalled_at, null);
      const message = await h.store.db.selectFrom('outbox').selectAll().where('message_key', '=', reportId).where('topic', '=', TOPICS.recallReport).executeTakeFirstOrThrow();
      assert.deepEqual(JSON.parse(message.payload), { reportId, reason: 'employee withdrew the report' });
    });

    test('a recall from a source that does not own the report is refused with 409 REPORT_SOURCE_CONFLICT', async () => {
      const event = approvedEvent(123, { source: 'urn:test:owner' });
      assert.equal((await h.postEvents(event)).status, 202);
      const counts = await h.counts();
      assertRefused(await h.postEvents(toRecallEvent(event.data.reportId, 1, 'not yours', 'urn:test:intruder')), 409, 'REPORT_SOURCE_CONFLICT');
      assert.deepEqual(await h.counts(), counts);
      const report = await h.store.db.selectFrom('reports').select('recalled_at').where('report_id', '=', event.data.reportId).executeTakeFirstOrThrow();
      assert.equal(report.recalled_at, null);
    });

    test('a recall of an unknown report is accepted and only logged', async () => {
      const counts = await h.counts();
      const response = await h.postEvents(toRecallEvent('NEVER-SEEN-1', 1, 'no such report'));
      assert.equal(response.status, 202, response.text);
      assert.deepEqual(delta(counts, await h.counts()), { inbox: 1, event_log: 2 });
    });

    test('GET /v1/reports/{id} shows state, revisions, no postings yet, and the timeline', async () => {
      const event = approvedEvent(122);
      const reportId = event.data.reportId;
      const accepted = await h.postEvents(event);
      const response = await h.get(`/v1/reports/${reportId}`);
      assert.equal(response.status, 200, response.text);
      const view = response.body;
      assert.equal(view.reportId, reportId);
      assert.equal(view.source, event.source);
      assert.equal(view.entity, event.data.entity);
      assert.equal(view.latestRevision, 1);
      assert.equal(view.state, 'received');
      assert.equal(view.revisions.length, 1);
      assert.equal(view.revisions[0].revision, 1);
      assert.equal(view.revisions[0].state, 'received');
      assert.equal(view.revisions[0].correlationId, accepted.body.correlationId);
      assert.equal(view.revisions[0].approvedAt, event.data.approvedAt);
      assert.deepEqual(view.postings, []);
      assert.deepEqual(view.timeline.map((t: { kind: string }) => t.kind), ['event.received']);
      assert.equal(view.timeline[0].correlationId, accepted.body.correlationId);
      assert.deepEqual(view.timeline[0].payload, { source: event.source, id: event.id, type: event.type });
    });

    test('GET /v1/reports/{id} needs an API key', async () => {
      const response = await h.get(`/v1/reports/${validReport(122).reportId}`, { key: false });
      assertRefused(response, 401, 'AUTH_MISSING');
    });

    test('an unknown report is 404 REPORT_NOT_FOUND', async () => {
      const response = await h.get('/v1/reports/RPT-DOES-NOT-EXIST');
      assertRefused(response, 404, 'REPORT_NOT_FOUND');
      assert.match(response.body.message, /RPT-DOES-NOT-EXIST/);
    });

    test('an unknown route is 404 ROUTE_NOT_FOUND, with or without a key', async () => {
      assertRefused(await h.get('/v1/nothing-here'), 404, 'ROUTE_NOT_FOUND');
      assertRefused(await h.get('/v1/nothing-here', { key: false }), 404, 'ROUTE_NOT_FOUND');
      const response = await h.hub.app.inject({ method: 'DELETE', url: '/v1/events', headers: { authorization: `Bearer ${h.key}` } });
      assert.equal(response.statusCode, 404);
      assert.equal(response.json().code, 'ROUTE_NOT_FOUND');
    });
  });
}
