// Proves that every kind of malformed or unauthenticated request to POST /v1/events is refused with a 4xx, its stable error code and a message naming the problem, and that none of them stores anything (inbox, revisions, outbox and event log unchanged) — on SQLite and on PostgreSQL; and that /healthz and /metrics answer without a key.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ERRORS } from '../../src/errors.ts';
import { generateReports, toCloudEvent } from '../../src/demo/expense-platform.ts';
import type { ReportInput } from '../../src/domain/report.ts';
import { APPROVED_ON, approvedEvent, clone, EVENT_TIME, startApiHarness, type ApiHarness } from '../support/api-harness.ts';
import { storeKinds } from '../support/stores.ts';

/** The event of a valid report of the given entity (the first seed from 1000 on that yields one). */
function eventFor(entity: 'US01' | 'DE01' | 'JP01') {
  for (let seed = 1000; seed < 1200; seed++) {
    const [report] = generateReports({ count: 1, seed, approvedOn: APPROVED_ON, invalidShare: 0 });
    if (report.entity === entity) return toCloudEvent(report, { type: 'approved', time: EVENT_TIME });
  }
  throw new Error(`Assertion failed: no seed yields a ${entity} report`);
}

type Mutation = (data: ReportInput & Record<string, unknown>) => void;

function mutated(mutate: Mutation, base = approvedEvent(500)) {
  const event = clone(base);
  mutate(event.data as ReportInput & Record<string, unknown>);
  return event;
}

for (const s of await storeKinds()) {
  describe(`malformed and unauthenticated input on ${s.kind}`, { skip: s.skip }, () => {
    let h: ApiHarness;
    before(async () => {
      h = await startApiHarness(s.kind);
      // Something already stored, so "nothing changed" is checked against non-empty tables.
      assert.equal((await h.postEvents(approvedEvent(499))).status, 202);
    });
    after(async () => h?.close());

    /** Sends the request, checks status, code and message, and that no table changed. */
    async function expectRefusal(
      send: () => Promise<{ status: number; body: any; text: string }>,
      status: number,
      code: keyof typeof ERRORS,
      messageMatch?: RegExp,
    ): Promise<string> {
      const before = await h.counts();
      const response = await send();
      assert.equal(response.status, status, `expected ${status} ${code}, got ${response.status} ${response.text.slice(0, 500)}`);
      assert.equal(response.body?.code, code, response.text.slice(0, 500));
      assert.equal(ERRORS[code].status, status);
      assert.equal(typeof response.body.message, 'string');
      assert.ok(response.body.message.length > 10, 'a message a person can act on');
      assert.doesNotMatch(response.body.message, /\{\w+\}/, 'every placeholder of the message is filled');
      assert.equal(typeof response.body.correlationId, 'string');
      if (messageMatch) assert.match(response.body.message, messageMatch);
      assert.deepEqual(await h.counts(), before, `${code}: nothing is stored`);
      return response.body.message;
    }

    test('bad JSON is 400 BODY_INVALID_JSON under every accepted media type', async () => {
      for (const contentType of ['application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json']) {
        await expectRefusal(() => h.postEvents('{"specversion":', { contentType }), 400, 'BODY_INVALID_JSON');
      }
      await expectRefusal(() => h.postEvents(''), 400, 'BODY_INVALID_JSON');
    });

    test('a revision sent as a string is 400 EVENT_INVALID naming data.revision', async () => {
      await expectRefusal(() => h.postEvents(mutated((d) => ((d as Record<string, unknown>).revision = '2'))), 400, 'EVENT_INVALID', /data\.revision/);
    });

    test('an amount sent as a JSON number is 400 EVENT_INVALID naming the amount value', async () => {
      await expectRefusal(() => h.postEvents(mutated((d) => ((d.lines[0].amount as Record<string, unknown>).value = 12.3))), 400, 'EVENT_INVALID', /data\.lines\.0\.amount\.value/);
    });

    test('lines that are not an array are 400 EVENT_INVALID naming data.lines', async () => {
      await expectRefusal(() => h.postEvents(mutated((d) => ((d as Record<string, unknown>).lines = { L1: d.lines[0] }))), 400, 'EVENT_INVALID', /data\.lines/);
    });

    test('the event inside a batch is named by its position', async () => {
      const bad = mutated((d) => ((d as Record<string, unknown>).revision = '2'));
      await expectRefusal(() => h.postEvents([approvedEvent(501), bad]), 400, 'EVENT_INVALID', /\[1\]\.data\.revision/);
    });

    test('an unknown currency is 400 CURRENCY_UNKNOWN, for the report and for a line', async () => {
      await expectRefusal(() => h.postEvents(mutated((d) => (d.currency = 'EUX'))), 400, 'CURRENCY_UNKNOWN', /EUX/);
      await expectRefusal(() => h.postEvents(mutated((d) => (d.lines[0].amount.currency = 'EUX'))), 400, 'CURRENCY_UNKNOWN', /data\.lines\[0\]\.amount.*EUX/);
    });

    test('more decimals than the currency allows is 400 AMOUNT_PRECISION', async () => {
      const jpy = eventFor('JP01');
      assert.equal(jpy.data.currency, 'JPY');
      await expectRefusal(() => h.postEvents(mutated((d) => (d.lines[0].amount.value = '1.5'), jpy)), 400, 'AMOUNT_PRECISION', /1\.5.*JPY/);
      const eur = eventFor('DE01');
      assert.equal(eur.data.currency, 'EUR');
      await expectRefusal(() => h.postEvents(mutated((d) => (d.lines[0].amount.value = '1.234'), eur)), 400, 'AMOUNT_PRECISION', /1\.234.*EUR/);
    });

    test('allocations summing to 99.99% or 100.01% are 400 ALLOCATION_INVALID', async () => {
      for (const [a, b] of [['50', '49.99'], ['50.01', '50']]) {
        const event = mutated((d) => {
          d.lines[0].allocations = [
            { costCenter: d.lines[0].allocations[0].costCenter, percent: a },
            { costCenter: d.lines[0].allocations[0].costCenter, percent: b },
          ];
        });
        await expectRefusal(() => h.postEvents(event), 400, 'ALLOCATION_INVALID', /data\.lines\[0\]\.allocations/);
      }
    });

    test('an unknown event type is 400 EVENT_TYPE_UNKNOWN', async () => {
      const event = { ...approvedEvent(502), type: 'com.finsync.expense.report.deleted.v1' };
      await expectRefusal(() => h.postEvents(event), 400, 'EVENT_TYPE_UNKNOWN', /com\.finsync\.expense\.report\.deleted\.v1/);
    });

    test('specversion 0.3 is 400 EVENT_INVALID', async () => {
      await expectRefusal(() => h.postEvents({ ...approvedEvent(503), specversion: '0.3' }), 400, 'EVENT_INVALID', /specversion/);
    });

    test('a NUL character or an unpaired surrogate in the event id or source is 400 EVENT_INVALID', async () => {
      await expectRefusal(() => h.postEvents({ ...approvedEvent(504), id: 'evt\u0000504' }), 400, 'EVENT_INVALID', /\bid must not contain NUL/);
      await expectRefusal(() => h.postEvents({ ...approvedEvent(504), source: 'urn:test:\u0000' }), 400, 'EVENT_INVALID', /source must not contain NUL/);
      await expectRefusal(() => h.postEvents({ ...approvedEvent(504), id: 'evt-\ud800' }), 400, 'EVENT_INVALID', /\bid must not contain/);
    });

    test('an id and source too long in UTF-8 for the inbox key are 400 EVENT_INVALID; the longest storable ones are accepted', async () => {
      const astral = (n: number) => Array.from({ length: n }, (_, i) => String.fromCodePoint(0x1f300 + ((i * 7919) % 0x2ff))).join('');
      const cjk = (n: number) => Array.from({ length: n }, (_, i) => String.fromCodePoint(0x4e00 + ((i * 7919) % 0x5000))).join('');
      await expectRefusal(() => h.postEvents({ ...approvedEvent(510), source: astral(500), id: astral(200) }), 400, 'EVENT_INVALID', /source must not be longer than 1500 bytes/);
      const longest = await h.postEvents({ ...approvedEvent(512), source: `urn:${astral(374)}`, id: astral(200) });
      assert.equal(longest.status, 202, longest.text.slice(0, 300));
      const accepted = await h.postEvents({ ...approvedEvent(511), source: cjk(500), id: cjk(200) });
      assert.equal(accepted.status, 202, accepted.text.slice(0, 300));
    });

    test('an extension attribute nested thousands of levels deep is 400 EVENT_INVALID, not a stack overflow', async () => {
      for (const depth of [40, 20_000]) {
        const body = JSON.stringify(approvedEvent(505)).replace(/}$/, `,"deep":${'['.repeat(depth)}${']'.repeat(depth)}}`);
        for (const contentType of ['application/json', 'application/cloudevents+json']) {
          await expectRefusal(() => h.postEvents(body, { contentType }), 400, 'EVENT_INVALID', /nested more than/);
        }
      }
    });

    test('a 10 MB body is 413 BODY_TOO_LARGE', async () => {
      const huge = JSON.stringify({ ...approvedEvent(506), padding: 'x'.repeat(10 * 1024 * 1024) });
      await expectRefusal(() => h.postEvents(huge), 413, 'BODY_TOO_LARGE', /1048576 bytes/);
    });

    test('a missing API key is 401 AUTH_MISSING and the valid body is not stored', async () => {
      const event = approvedEvent(507);
      const send = () => h.hub.app.inject({ method: 'POST', url: '/v1/events', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(event) });
      await expectRefusal(async () => {
        const r = await send();
        return { status: r.statusCode, body: r.json(), text: r.body };
      }, 401, 'AUTH_MISSING');
    });

    test('a wrong API key is 401 AUTH_INVALID (Bearer or X-API-Key) and the valid body is not stored', async () => {
      const event = approvedEvent(508);
      for (const headers of [{ authorization: 'Bearer fsk_not-a-real-key' }, { authorization: `Bearer ${h.key}x` }, { 'x-api-key': 'fsk_not-a-real-key' }]) {
        await expectRefusal(async () => {
          const r = await h.hub.app.inject({ method: 'POST', url: '/v1/events', headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(event) });
          return { status: r.statusCode, body: r.json(), text: r.body };
        }, 401, 'AUTH_INVALID');
      }
    });

    test('the key is checked before the body: a bad key with a bad or huge body is still 401', async () => {
      for (const payload of ['{"specversion":', 'x'.repeat(2 * 1024 * 1024)]) {
        await expectRefusal(async () => {
          const r = await h.hub.app.inject({ method: 'POST', url: '/v1/events', headers: { 'content-type': 'application/json', authorization: 'Bearer wrong' }, payload });
          return { status: r.statusCode, body: r.json(), text: r.body };
        }, 401, 'AUTH_INVALID');
      }
    });

    test('the key works as X-API-Key too', async () => {
      const r = await h.hub.app.inject({ method: 'POST', url: '/v1/events', headers: { 'content-type': 'application/json', 'x-api-key': h.key }, payload: JSON.stringify(approvedEvent(509)) });
      assert.equal(r.statusCode, 202, r.body);
    });

    test('/healthz and /metrics need no key', async () => {
      const health = await h.get('/healthz', { key: false });
      assert.equal(health.status, 200, health.text);
      assert.deepEqual(health.body, { status: 'ok', store: s.kind });
      const metrics = await h.get('/metrics', { key: false });
      assert.equal(metrics.status, 200);
      assert.match(String(metrics.headers['content-type']), /^text\/plain/);
      for (const name of ['finsync_postings_total', 'finsync_quarantines_total', 'finsync_approval_to_posted_seconds', 'finsync_duplicates_prevented_total']) {
        assert.match(metrics.text, new RegExp(`^# TYPE ${name} `, 'm'), `${name} is exported`);
      }
    });
  });
}
