// Proves the Xero simulator is a faithful, configurable target of its own: Idempotency-Key retention and every reuse mode, summarizeErrors both ways, POST voids and guards, the where/order/page reads, the limit headers on every organisation call, Xero's error bodies for bad input, and reproducible ids for a seed.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startXeroSimulator, type XeroSimulatorOptions } from '../../src/connectors/xero/simulator.ts';

const ORG = JSON.parse(readFileSync(new URL('../../src/connectors/xero/fixtures/sample-organisation.json', import.meta.url), 'utf8')) as Pick<XeroSimulatorOptions, 'tenantId' | 'baseCurrency' | 'accounts' | 'trackingCategories' | 'taxTypes'>;
const TOKEN = 'sim-token';
const START_MS = Date.UTC(2026, 4, 2, 9, 0, 0);

async function startSimulator(overrides: Partial<XeroSimulatorOptions> = {}) {
  const clock = { nowMs: START_MS };
  const sim = await startXeroSimulator({ seed: 5, accessToken: TOKEN, ...ORG, now: () => clock.nowMs, ...overrides });
  return Object.assign(sim, { clock });
}

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly json: Record<string, unknown> & { ManualJournals?: Record<string, unknown>[]; Elements?: Record<string, unknown>[] };
}

async function call(url: string, method: string, path: string, options: { body?: unknown; key?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const response = await fetch(`${url}/api.xro/2.0${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${TOKEN}`,
      'xero-tenant-id': ORG.tenantId,
      ...(options.body !== undefined && { 'Content-Type': 'application/json' }),
      ...(options.key !== undefined && { 'Idempotency-Key': options.key }),
      ...options.headers,
    },
    ...(options.body !== undefined && { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text === '' ? {} : (JSON.parse(text) as Reply['json']) };
}

function journal(narration: string, amount = 84.5, account = '6100', extra: Record<string, unknown> = {}) {
  return { Narration: narration, Date: '2026-04-30', Status: 'POSTED', LineAmountTypes: 'NoTax', JournalLines: [{ LineAmount: amount, AccountCode: account, Description: 'a' }, { LineAmount: -amount, AccountCode: '2100', Description: 'b' }], ...extra };
}

const put = (url: string, journals: unknown[], key?: string, query = '') => call(url, 'PUT', `/ManualJournals${query}`, { body: { ManualJournals: journals }, ...(key !== undefined && { key }) });

describe('Xero simulator: Idempotency-Key', () => {
  test('an answer is replayed for 24 hours by default; after that the key is forgotten', async () => {
    const sim = await startSimulator();
    try {
      const first = await put(sim.url, [journal('fs_k_r1: x')], 'k1');
      sim.clock.nowMs += 24 * 3_600_000 - 1;
      const replay = await put(sim.url, [journal('fs_k_r1: x')], 'k1');
      assert.deepEqual(replay.json, first.json);
      sim.clock.nowMs += 1;
      const fresh = await put(sim.url, [journal('fs_k_r1: x')], 'k1');
      assert.notEqual(fresh.json.ManualJournals?.[0].ManualJournalID, first.json.ManualJournals?.[0].ManualJournalID);
      assert.equal(sim.documents().length, 2);
    } finally {
      await sim.close();
    }
  });

  test('a reused key with another body: 400 by default, or the stored answer, or a new journal, as configured', async () => {
    for (const [mode, status, journals] of [['reject', 400, 1], ['replay', 200, 1], ['process', 200, 2]] as const) {
      const sim = await startSimulator({ idempotency: { onBodyMismatch: mode } });
      try {
        const first = await put(sim.url, [journal('fs_m_r1: x')], 'km');
        const second = await put(sim.url, [journal('fs_m_r1: x', 12.3)], 'km');
        assert.equal(second.status, status, mode);
        assert.equal(sim.documents().length, journals, mode);
        if (mode === 'reject') assert.match(String(second.json.Message), /Idempotency-Key 'km' was already used with a different request/);
        if (mode === 'replay') assert.deepEqual(second.json, first.json);
      } finally {
        await sim.close();
      }
    }
  });

  test('member order and trailing zeros do not make another request', async () => {
    const sim = await startSimulator();
    try {
      await call(sim.url, 'PUT', '/ManualJournals', { key: 'kz', body: '{"ManualJournals":[{"Narration":"fs_z_r1: x","JournalLines":[{"LineAmount":84.50,"AccountCode":"6100"},{"LineAmount":-84.5,"AccountCode":"2100"}]}]}' });
      const again = await call(sim.url, 'PUT', '/ManualJournals', { key: 'kz', body: '{"ManualJournals":[{"JournalLines":[{"AccountCode":"6100","LineAmount":84.5},{"AccountCode":"2100","LineAmount":-84.50}],"Narration":"fs_z_r1: x"}]}' });
      assert.equal(again.status, 200);
      assert.equal(sim.stats().idempotentReplays, 1);
    } finally {
      await sim.close();
    }
  });

  test('a refusal is not stored by default, so the same key succeeds once master data is fixed; storeFailures replays the refusal', async () => {
    for (const storeFailures of [false, true]) {
      const sim = await startSimulator({ idempotency: { storeFailures } });
      try {
        assert.equal((await put(sim.url, [journal('fs_f_r1: x', 10, '6900')], 'kf')).status, 400);
        sim.setAccount('6900', 'ACTIVE');
        assert.equal((await put(sim.url, [journal('fs_f_r1: x', 10, '6900')], 'kf')).status, storeFailures ? 400 : 200);
      } finally {
        await sim.close();
      }
    }
  });

  test('two requests with one key in flight at once make one journal', async () => {
    const sim = await startSimulator();
    try {
      const release = sim.hold();
      const both = [put(sim.url, [journal('fs_p_r1: x')], 'kp'), put(sim.url, [journal('fs_p_r1: x')], 'kp')];
      await sim.waitForInFlight(2);
      release();
      const [a, b] = await Promise.all(both);
      assert.deepEqual(a.json, b.json);
      assert.equal(sim.documents().length, 1);
    } finally {
      await sim.close();
    }
  });

  test('a key over 128 characters is refused', async () => {
    const sim = await startSimulator();
    try {
      const reply = await put(sim.url, [journal('fs_l_r1: x')], 'k'.repeat(129));
      assert.equal(reply.status, 400);
      assert.match(String(reply.json.Message), /at most 128 characters/);
      assert.equal((await put(sim.url, [journal('fs_l_r1: x')], 'k'.repeat(128))).status, 200);
    } finally {
      await sim.close();
    }
  });
});

describe('Xero simulator: writes', () => {
  test('summarizeErrors=false answers 200 with each journal OK or ERROR and saves the good ones', async () => {
    const sim = await startSimulator();
    try {
      const reply = await put(sim.url, [journal('fs_g_r1: good'), journal('fs_b_r1: bad', 5, '6110')], undefined, '?summarizeErrors=false');
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.json.ManualJournals?.map((item) => item.StatusAttributeString), ['OK', 'ERROR']);
      assert.deepEqual((reply.json.ManualJournals?.[1].ValidationErrors as { Message: string }[]).map((e) => e.Message), ["Account code '6110' is not a valid code for this document."]);
      assert.deepEqual(sim.documents().map((j) => j.narration), ['fs_g_r1: good']);
      const summarized = await put(sim.url, [journal('fs_g2_r1: good'), journal('fs_b2_r1: bad', 5, '6110')]);
      assert.equal(summarized.status, 400, 'summarised by default: all or nothing');
      assert.equal(summarized.json.Elements?.length, 1);
      assert.equal(sim.documents().length, 1);
    } finally {
      await sim.close();
    }
  });

  test('every validation message of a journal comes back in one Element, and the date is echoed in Xero form', async () => {
    const sim = await startSimulator();
    try {
      const reply = await put(sim.url, [{ Narration: '', Date: '2026-04-30', Status: 'VOIDED', JournalLines: [{ LineAmount: 1.005, AccountCode: '6110', Tracking: [{ Name: 'Region', Option: 'North' }] }] }]);
      assert.equal(reply.status, 400);
      assert.deepEqual([reply.json.ErrorNumber, reply.json.Type], [10, 'ValidationException']);
      const [element] = reply.json.Elements ?? [];
      assert.equal(element.Date, '/Date(1777507200000+0000)/');
      assert.deepEqual((element.ValidationErrors as { Message: string }[]).map((e) => e.Message), [
        'Narration is required.',
        "A new manual journal can only be DRAFT or POSTED, not 'VOIDED'.",
        'A manual journal must have at least two journal lines.',
        'The line amount 1.005 has more decimals than EUR allows.',
        "Account code '6110' is not a valid code for this document.",
        "The tracking category 'Region' could not be found.",
      ]);
    } finally {
      await sim.close();
    }
  });

  test('POST creates, voids a posted journal, deletes a draft, and refuses to edit a posted one', async () => {
    const sim = await startSimulator();
    try {
      const created = await call(sim.url, 'POST', '/ManualJournals', { body: { ManualJournals: [journal('fs_v_r1: x')] } });
      const id = String(created.json.ManualJournals?.[0].ManualJournalID);
      const edit = await call(sim.url, 'POST', '/ManualJournals', { body: { ManualJournals: [{ ManualJournalID: id, Narration: 'changed' }] } });
      assert.equal(edit.status, 400);
      assert.match(JSON.stringify(edit.json), /can only be voided/);
      const voided = await call(sim.url, 'POST', '/ManualJournals', { body: { ManualJournals: [{ ManualJournalID: id, Status: 'VOIDED' }] } });
      assert.equal(voided.json.ManualJournals?.[0].Status, 'VOIDED');
      const draft = await put(sim.url, [journal('fs_d_r1: x', 1, '6100', { Status: 'DRAFT' })]);
      const draftId = String(draft.json.ManualJournals?.[0].ManualJournalID);
      const changed = await call(sim.url, 'POST', '/ManualJournals', { body: { ManualJournals: [{ ManualJournalID: draftId, Narration: 'fs_d_r1: renamed' }] } });
      assert.equal(changed.json.ManualJournals?.[0].Narration, 'fs_d_r1: renamed');
      await call(sim.url, 'POST', '/ManualJournals', { body: { ManualJournals: [{ ManualJournalID: draftId, Status: 'DELETED' }] } });
      assert.deepEqual(sim.documents().map((j) => j.status), ['VOIDED', 'DELETED']);
      assert.equal((await put(sim.url, [{ ...journal('x'), ManualJournalID: id }])).status, 400, 'PUT only creates');
    } finally {
      await sim.close();
    }
  });

  test("bad JSON and a missing collection are Xero's PostDataInvalidException", async () => {
    const sim = await startSimulator();
    try {
      const broken = await call(sim.url, 'PUT', '/ManualJournals', { body: '{"ManualJournals":[' });
      assert.deepEqual([broken.status, broken.json.ErrorNumber, broken.json.Type], [400, 14, 'PostDataInvalidException']);
      const empty = await call(sim.url, 'PUT', '/ManualJournals', { body: { ManualJournals: [] } });
      assert.deepEqual([empty.status, empty.json.Type], [400, 'PostDataInvalidException']);
    } finally {
      await sim.close();
    }
  });
});

describe('Xero simulator: reads, routes and headers', () => {
  test('a list without page leaves the lines out; with page it pages and says so', async () => {
    const sim = await startSimulator();
    try {
      for (let n = 0; n < 3; n++) await put(sim.url, [journal(`fs_r${n}_r1: x`)]);
      const all = await call(sim.url, 'GET', '/ManualJournals');
      assert.deepEqual(all.json.ManualJournals?.map((j) => (j.JournalLines as unknown[]).length), [0, 0, 0]);
      assert.equal(all.json.pagination, undefined);
      const paged = await call(sim.url, 'GET', '/ManualJournals?page=2&pageSize=2&order=Narration%20DESC');
      assert.deepEqual(paged.json.pagination, { page: 2, pageSize: 2, pageCount: 2, itemCount: 3 });
      assert.deepEqual(paged.json.ManualJournals?.map((j) => [j.Narration, (j.JournalLines as unknown[]).length]), [['fs_r0_r1: x', 2]]);
      const one = await call(sim.url, 'GET', `/ManualJournals/${String(all.json.ManualJournals?.[1].ManualJournalID)}`);
      assert.equal(one.json.ManualJournals?.[0].Narration, 'fs_r1_r1: x');
      assert.equal((await call(sim.url, 'GET', '/ManualJournals?page=0')).status, 400);
      assert.equal((await call(sim.url, 'GET', '/ManualJournals?page=1&pageSize=1001')).status, 400);
      sim.clock.nowMs += 60_000;
      await put(sim.url, [journal('fs_late_r1: x')]);
      const since = await call(sim.url, 'GET', '/ManualJournals', { headers: { 'If-Modified-Since': new Date(START_MS + 30_000).toUTCString() } });
      assert.deepEqual(since.json.ManualJournals?.map((j) => j.Narration), ['fs_late_r1: x']);
    } finally {
      await sim.close();
    }
  });

  test("a filter it cannot read is Xero's QueryParseException", async () => {
    const sim = await startSimulator();
    try {
      const reply = await call(sim.url, 'GET', `/ManualJournals?where=${encodeURIComponent('Amount > 5')}`);
      assert.deepEqual([reply.status, reply.json.ErrorNumber, reply.json.Type], [400, 16, 'QueryParseException']);
      assert.match(String(reply.json.Message), /No property or field 'Amount'/);
    } finally {
      await sim.close();
    }
  });

  test('every organisation call carries the limit headers; an unauthenticated one does not', async () => {
    const sim = await startSimulator({ limits: { perMinute: 10, perDay: 100 } });
    try {
      const first = await call(sim.url, 'GET', '/ManualJournals');
      const refused = await call(sim.url, 'GET', '/Nothing');
      assert.deepEqual([first.headers.get('x-minlimit-remaining'), first.headers.get('x-daylimit-remaining'), first.headers.get('x-appminlimit-remaining')], ['9', '99', '9999']);
      assert.deepEqual([refused.status, refused.headers.get('x-minlimit-remaining')], [404, '8']);
      const unauthenticated = await call(sim.url, 'GET', '/ManualJournals', { headers: { Authorization: 'Bearer nope' } });
      assert.deepEqual([unauthenticated.status, unauthenticated.json.Title, unauthenticated.headers.get('x-minlimit-remaining')], [401, 'Unauthorized', null]);
      const deleted = await call(sim.url, 'DELETE', '/ManualJournals');
      assert.equal(deleted.status, 501);
      const outside = await fetch(`${sim.url}/connections`);
      assert.equal(outside.status, 404);
    } finally {
      await sim.close();
    }
  });

  test('a seed reproduces ids; seeded faults answer 500 and 503', async () => {
    const ids: string[][] = [];
    for (let run = 0; run < 2; run++) {
      const sim = await startSimulator();
      try {
        for (let n = 0; n < 3; n++) await put(sim.url, [journal(`fs_s${n}_r1: x`)]);
        ids.push(sim.documents().map((j) => j.id));
        sim.setFaults({ serverErrorRate: 1 });
        assert.equal((await call(sim.url, 'GET', '/ManualJournals')).status, 500);
        sim.setFaults({ unavailableRate: 1, retryAfterSeconds: 7 });
        const unavailable = await call(sim.url, 'GET', '/ManualJournals');
        assert.deepEqual([unavailable.status, unavailable.headers.get('retry-after')], [503, '7']);
        assert.deepEqual(sim.stats().answers, { 200: 3, 500: 1, 503: 1 });
      } finally {
        await sim.close();
      }
    }
    assert.deepEqual(ids[0], ids[1]);
  });
});
