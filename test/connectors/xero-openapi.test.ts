// Proves that what the Xero connector sends and what the Xero simulator answers conform to Xero's official OpenAPI description (src/connectors/xero/spec/xero_accounting.yaml): the strict checker accepts the description's own examples and refuses malformed messages, and every message of a captured contract run (creates, replays, refusals of every kind, lookups, a paged read-back, 429s for each limit, faults) passes it, with every amount on the wire an exact decimal.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { PostingRequest, ReadBackScope } from '../../src/connectors/contract.ts';
import type { JournalLine } from '../../src/domain/journal.ts';
import { createXeroConnector } from '../../src/connectors/xero/client.ts';
import { JsonDecimal, parseJsonExact } from '../../src/connectors/xero/exact-json.ts';
import { loadXeroOpenApi, type XeroOpenApi } from '../../src/connectors/xero/openapi.ts';
import { startXeroSimulator, type RecordedExchange, type XeroSimulatorOptions } from '../../src/connectors/xero/simulator.ts';

const ORG = JSON.parse(readFileSync(new URL('../../src/connectors/xero/fixtures/sample-organisation.json', import.meta.url), 'utf8')) as Pick<XeroSimulatorOptions, 'tenantId' | 'baseCurrency' | 'accounts' | 'trackingCategories' | 'taxTypes'>;
const TOKEN = 'openapi-token';
const START_MS = Date.UTC(2026, 4, 2, 9, 0, 0);

let api: XeroOpenApi;
before(() => {
  api = loadXeroOpenApi();
});

const HEADERS = { authorization: `Bearer ${TOKEN}`, 'xero-tenant-id': 'tenant', 'content-type': 'application/json', 'idempotency-key': 'fs_k_r1' };
const GOOD_BODY = { ManualJournals: [{ Narration: 'fs_k_r1: x', Date: '2026-04-30', Status: 'POSTED', LineAmountTypes: 'NoTax', JournalLines: [{ LineAmount: 84.5, AccountCode: '6100', Description: 'a' }, { LineAmount: -84.5, AccountCode: '2100' }] }] };
const putRequest = (body: unknown, headers: Record<string, string> = HEADERS, url = '/api.xro/2.0/ManualJournals?summarizeErrors=true') => ({ method: 'PUT', url, headers, body: JSON.stringify(body) });

type Operation = { requestBody?: { content: Record<string, { example?: unknown }> }; responses: Record<string, { content?: Record<string, { example?: unknown }> }> };

describe('the OpenAPI checker', () => {
  test('reads version 16.1.0 and accepts the description\'s own ManualJournals examples', () => {
    assert.equal(api.version, '16.1.0');
    const path = (api.document.paths as Record<string, Record<string, Operation>>)['/ManualJournals'];
    assert.deepEqual(api.validate('ManualJournals', path.put.requestBody?.content['application/json'].example, 'request'), []);
    assert.deepEqual(api.validate('ManualJournals', path.post.requestBody?.content['application/json'].example, 'request'), []);
    for (const method of ['get', 'put', 'post']) {
      assert.deepEqual(api.validate('ManualJournals', path[method].responses['200'].content?.['application/json'].example, 'answer'), [], method);
    }
  });

  test('names the members typed as floating-point money: LineAmount and TaxAmount', () => {
    assert.deepEqual(api.moneyFieldsTypedAsDouble('ManualJournals'), ['ManualJournalLine.LineAmount (number, double)', 'ManualJournalLine.TaxAmount (number, double)']);
  });

  test('accepts a conforming request and refuses each kind of malformed one', () => {
    assert.deepEqual(api.checkRequest(putRequest(GOOD_BODY)), []);
    const journal = GOOD_BODY.ManualJournals[0];
    const cases: [string, ReturnType<typeof putRequest>, RegExp][] = [
      ['amount as text', putRequest({ ManualJournals: [{ ...journal, JournalLines: [{ LineAmount: '84.50', AccountCode: '6100' }] }] }), /LineAmount must be number/],
      ['unknown member', putRequest({ ManualJournals: [{ ...journal, Reference: 'fs_k_r1' }] }), /member Reference, which the schema does not declare/],
      ['read-only member', putRequest({ ManualJournals: [{ ...journal, UpdatedDateUTC: '/Date(0)/' }] }), /member UpdatedDateUTC/],
      ['no Narration', putRequest({ ManualJournals: [{ Date: '2026-04-30' }] }), /must have required property 'Narration'/],
      ['a date in Xero answer form', putRequest({ ManualJournals: [{ ...journal, Date: '/Date(0+0000)/' }] }), /Date must match pattern/],
      ['bad status', putRequest({ ManualJournals: [{ ...journal, Status: 'BOOKED' }] }), /must be equal to one of the allowed values/],
      ['no tenant', putRequest(GOOD_BODY, { ...HEADERS, 'xero-tenant-id': undefined as unknown as string }), /required header xero-tenant-id is missing/],
      ['no bearer', putRequest(GOOD_BODY, { ...HEADERS, authorization: 'Basic x' }), /no OAuth2 bearer token/],
      ['long key', putRequest(GOOD_BODY, { ...HEADERS, 'idempotency-key': 'k'.repeat(129) }), /129 characters, more than 128/],
      ['undeclared query', putRequest(GOOD_BODY, HEADERS, '/api.xro/2.0/ManualJournals?dryRun=true'), /query parameter dryRun is not declared/],
      ['bad boolean', putRequest(GOOD_BODY, HEADERS, '/api.xro/2.0/ManualJournals?summarizeErrors=yes'), /"yes" is not a boolean/],
      ['no such operation', { ...putRequest(GOOD_BODY), method: 'DELETE' }, /no such operation/],
      ['not JSON', { ...putRequest(GOOD_BODY), body: '{' }, /the body is not JSON/],
    ];
    for (const [name, request, problem] of cases) {
      const problems = api.checkRequest(request);
      assert.ok(problems.some((p) => problem.test(p)), `${name}: ${JSON.stringify(problems)}`);
    }
    assert.ok(api.checkRequest({ method: 'GET', url: '/api.xro/2.0/ManualJournals?page=x', headers: HEADERS, body: '' }).some((p) => /"x" is not an integer/.test(p)));
  });

  test('refuses answers that stray from the description or from the documented extensions', () => {
    const get = { method: 'GET', url: '/api.xro/2.0/ManualJournals' };
    const json = { 'content-type': 'application/json' };
    const cases: [number, Record<string, string>, string, RegExp][] = [
      [200, json, '{"ManualJournals":[{"Narration":"x","Date":"2026-04-30"}]}', /Date must match pattern/],
      [200, json, '{"ManualJournals":[{"Narration":"x","Colour":"red"}]}', /member Colour/],
      [200, {}, '{"ManualJournals":[]}', /Content-Type is not application\/json/],
      [400, json, '{"ErrorNumber":"ten"}', /ErrorNumber must be integer/],
      [401, json, '{"error":"nope"}', /problem body/],
      [429, {}, '', /no Retry-After/],
      [429, { 'retry-after': '5', 'x-rate-limit-problem': 'hour' }, '', /X-Rate-Limit-Problem is not one of/],
      [302, {}, '', /neither in the description nor among the documented extensions/],
    ];
    for (const [status, headers, body, problem] of cases) {
      const problems = api.checkAnswer(get, { status, headers, body });
      assert.ok(problems.some((p) => problem.test(p)), `${status} ${body}: ${JSON.stringify(problems)}`);
    }
  });
});

describe('a captured contract run conforms message by message', () => {
  const lines: JournalLine[] = [
    { account: '6100', debitMinor: 123_456_789_012_345, creditMinor: 0, costCenter: 'DE4120', project: 'FAIR26', taxCode: 'INPUT2', memo: 'Large' },
    { account: '6200', debitMinor: 5, creditMinor: 0, memo: 'Five cents' },
    { account: '2100', debitMinor: 0, creditMinor: 123_456_789_012_350, memo: 'Owed' },
  ];
  const request = (externalKey: string, change: Partial<PostingRequest['journal']> = {}): PostingRequest => ({
    externalKey,
    correlationId: externalKey,
    references: { subsidiaryId: '', accounts: {}, costCenters: {}, employees: {}, taxCodes: {} },
    journal: { kind: 'journal', reportId: 'R-9', revision: 1, entity: 'DE01', currency: 'EUR', postingDate: '2026-04-30', memo: 'Expense report R-9', conversions: [], lines, ...change },
  });

  async function captureRun(): Promise<RecordedExchange[]> {
    const clock = { nowMs: START_MS };
    const sim = await startXeroSimulator({ seed: 3, accessToken: TOKEN, ...ORG, now: () => clock.nowMs, recordTraffic: true, limits: { perDay: 100 }, periodLockDate: '2026-01-31' });
    const options = { target: 'xero', baseUrl: sim.url, accessToken: TOKEN, tenantId: ORG.tenantId, baseCurrency: 'EUR', requestTimeoutMs: 5000, projectCategory: 'Project', readBack: { pageSize: 2, retryDelayMs: 1 } };
    const connector = createXeroConnector(options);
    const scope: ReadBackScope = { entity: 'DE01', subsidiaryId: ORG.tenantId, period: '2026-04', accountCodeOf: () => undefined };
    try {
      for (const key of ['fs_a_r1', 'fs_b_r1', 'fs_c_r1']) assert.equal((await connector.post(request(key))).status, 'created');
      await connector.post(request('fs_a_r1'));
      await connector.post(request('fs_a_r1', { memo: 'changed' }));
      await connector.post(request('fs_bad_r1', { lines: [{ ...lines[0], account: '6900' }, { ...lines[2], creditMinor: 123_456_789_012_345 }] }));
      await connector.post(request('fs_lock_r1', { postingDate: '2026-01-15' }));
      await connector.lookup('fs_a_r1');
      await connector.lookup('fs_none_r1');
      for await (const batch of connector.readBack!(scope).batches) assert.ok(batch.length > 0);
      await createXeroConnector({ ...options, accessToken: 'wrong' }).lookup('fs_a_r1');
      await createXeroConnector({ ...options, tenantId: 'other' }).lookup('fs_a_r1');
      await fetch(`${sim.url}/api.xro/2.0/ManualJournals/00000000-0000-4000-8000-000000000000`, { headers: { Authorization: `Bearer ${TOKEN}`, 'xero-tenant-id': ORG.tenantId } });
      sim.setFaults({ failNext: { count: 1, status: 500 } });
      await connector.post(request('fs_d_r1'));
      sim.setFaults({ failNext: { count: 1, status: 503 } });
      await connector.lookup('fs_d_r1');
      sim.setFaults({ maintenanceWindows: [{ fromMs: START_MS, toMs: START_MS + 1000 }] });
      await connector.lookup('fs_d_r1');
      sim.setFaults({});
      const release = sim.hold();
      const five = [1, 2, 3, 4, 5].map((n) => connector.lookup(`fs_h${n}_r1`));
      await sim.waitForInFlight(5);
      await connector.lookup('fs_h6_r1');
      release();
      await Promise.all(five);
      const limitHit = (problem: string) => sim.traffic().some((e) => e.response?.headers['x-rate-limit-problem'] === problem);
      for (let n = 0; n < 100 && !limitHit('minute'); n++) await connector.lookup('fs_m_r1');
      clock.nowMs += 60_000;
      for (let n = 0; n < 100 && !limitHit('day'); n++) await connector.lookup('fs_m_r1');
      return sim.traffic();
    } finally {
      await sim.close();
    }
  }

  let traffic: RecordedExchange[];
  before(async () => {
    traffic = await captureRun();
  });

  test('the run covers success, every error status and every limit', () => {
    const statuses = new Set(traffic.map((exchange) => exchange.response?.status));
    assert.deepEqual([...statuses].sort(), [200, 400, 401, 403, 404, 429, 500, 503]);
    const problems = new Set(traffic.map((exchange) => exchange.response?.headers['x-rate-limit-problem']).filter((value) => value !== undefined));
    assert.deepEqual([...problems].sort(), ['concurrent', 'day', 'minute']);
    assert.ok(traffic.length > 60);
  });

  test('every request the connector sent conforms, and every write carries its Idempotency-Key', () => {
    for (const { request } of traffic) {
      assert.deepEqual(api.checkRequest(request), [], `${request.method} ${request.url}`);
      if (request.method === 'PUT') assert.match(request.headers['idempotency-key'] ?? '', /^fs_[a-z0-9_]+$/);
    }
  });

  test('every answer the simulator gave conforms, and carries the limit headers once the organisation is known', () => {
    const withoutLimits: number[] = [];
    for (const { request, response } of traffic) {
      assert.ok(response, `${request.method} ${request.url} was answered`);
      assert.deepEqual(api.checkAnswer(request, response), [], `${request.method} ${request.url} -> ${response.status}: ${response.body.slice(0, 300)}`);
      if (response.headers['x-daylimit-remaining'] === undefined) withoutLimits.push(response.status);
      else for (const name of ['x-daylimit-remaining', 'x-minlimit-remaining', 'x-appminlimit-remaining']) assert.match(response.headers[name] ?? '', /^\d+$/);
    }
    // Only answers given before the organisation is known: the two auth refusals and the maintenance window.
    assert.deepEqual(withoutLimits.sort(), [401, 403, 503]);
  });

  test('every LineAmount on the wire is a plain decimal with exactly two places, both ways', () => {
    let amounts = 0;
    const visit = (value: unknown, member?: string) => {
      if (value instanceof JsonDecimal) {
        if (member === 'LineAmount') {
          amounts++;
          assert.match(value.text, /^-?\d+\.\d{2}$/);
        }
      } else if (Array.isArray(value)) value.forEach((item) => visit(item, member));
      else if (value !== null && typeof value === 'object') for (const [key, child] of Object.entries(value)) visit(child, key);
    };
    for (const { request, response } of traffic) {
      if (request.body !== '') visit(parseJsonExact(request.body));
      if (response !== undefined && response.body !== '') visit(parseJsonExact(response.body));
    }
    assert.ok(amounts > 20);
    assert.ok(traffic.some(({ request }) => request.body.includes('"LineAmount":1234567890123.45,')), 'a 15-digit amount went out digit for digit');
  });
});
