// Proves the Xero connector reads answers in Xero's documented shapes (fixtures/ holds our own renderings of them: a created journal, validation errors with Elements, the identity layer's 401, a 429 of headers only) through the whole client, and that answers it does not recognise become UNCLASSIFIED with at most 4 KB of the raw answer instead of exceptions.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PostingRequest } from '../../src/connectors/contract.ts';
import { createXeroConnector } from '../../src/connectors/xero/client.ts';
import { classifyXeroError, RAW_ANSWER_MAX_BYTES, readRetryAfterMs, truncateUtf8 } from '../../src/connectors/xero/errors.ts';
import { loadXeroOpenApi } from '../../src/connectors/xero/openapi.ts';

const fixture = (name: string) => readFileSync(new URL(`../../src/connectors/xero/fixtures/${name}`, import.meta.url), 'utf8');

interface Stubbed {
  readonly status: number;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A stub Xero answering every request with the current `next` answer. */
let next: Stubbed = { status: 200, body: '{}' };
const server: Server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(next.status, { ...(next.body !== '' && { 'Content-Type': 'application/json; charset=utf-8' }), ...next.headers });
    res.end(next.body);
  });
});
const listening = new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function connector() {
  return createXeroConnector({ target: 'xero', baseUrl: await listening, accessToken: 't', tenantId: 'tenant', baseCurrency: 'EUR', requestTimeoutMs: 5000, now: () => Date.UTC(2026, 3, 30, 12) });
}

const REQUEST: PostingRequest = {
  externalKey: 'fs_3f9a1c0d7e2b4a6f8c1d0e9b_r1',
  correlationId: 'c',
  references: { subsidiaryId: '', accounts: {}, costCenters: {}, employees: {}, taxCodes: {} },
  journal: {
    kind: 'journal',
    reportId: 'R-1001',
    revision: 1,
    entity: 'DE01',
    currency: 'EUR',
    postingDate: '2026-04-30',
    memo: 'Expense report R-1001',
    conversions: [],
    lines: [
      { account: '6100', debitMinor: 8450, creditMinor: 0, memo: 'Hotel Hamburg' },
      { account: '2100', debitMinor: 0, creditMinor: 8450, memo: 'Owed to employee' },
    ],
  },
};

describe('Xero fixtures', () => {
  test('the fixtures conform to the official description (or, for 401 and 429, to the documented extensions)', () => {
    const api = loadXeroOpenApi();
    const put = { method: 'PUT', url: '/api.xro/2.0/ManualJournals' };
    const json = { 'content-type': 'application/json' };
    assert.deepEqual(api.checkAnswer(put, { status: 200, headers: json, body: fixture('manual-journals-created.json') }), []);
    assert.deepEqual(api.checkAnswer(put, { status: 400, headers: json, body: fixture('error-validation.json') }), []);
    assert.deepEqual(api.checkAnswer(put, { status: 400, headers: json, body: fixture('error-tracking.json') }), []);
    assert.deepEqual(api.checkAnswer(put, { status: 401, headers: json, body: fixture('error-401.json') }), []);
    const limited = JSON.parse(fixture('answer-429-minute.json')) as Stubbed;
    const headers = Object.fromEntries(Object.entries(limited.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    assert.deepEqual(api.checkAnswer(put, { status: 429, headers, body: limited.body }), []);
  });

  test('a created journal answer gives its ManualJournalID', async () => {
    next = { status: 200, body: fixture('manual-journals-created.json') };
    assert.deepEqual(await (await connector()).post(REQUEST), { status: 'created', documentId: '0b7d2c1e-5f3a-4e69-8d21-7a4c9e0f3b58' });
  });

  test('a validation error with Elements is invalid and names the account', async () => {
    next = { status: 400, body: fixture('error-validation.json') };
    const outcome = await (await connector()).post(REQUEST);
    assert.equal(outcome.status, 'failed');
    assert.ok(outcome.status === 'failed');
    assert.deepEqual([outcome.error.kind, outcome.error.vendorCode, outcome.error.field, outcome.error.value], ['invalid', 'ValidationException', 'account', '6110']);
    assert.match(outcome.error.message, /Account code '6110' is not a valid code for this document\..*then replay/);
    assert.equal(outcome.error.raw, fixture('error-validation.json'));
  });

  test('a tracking option error names the field of its category', () => {
    const error = classifyXeroError(400, fixture('error-tracking.json'), new Headers(), { trackingFields: { 'Cost Center': 'costCenter' } });
    assert.deepEqual([error.kind, error.field, error.value], ['invalid', 'costCenter', 'DE4999']);
    const project = classifyXeroError(400, fixture('error-tracking.json').replace(/Cost Center/g, 'Project'), new Headers(), { trackingFields: { 'Cost Center': 'costCenter', Project: 'project' } });
    assert.deepEqual([project.field, project.value], ['project', 'DE4999']);
  });

  test("the identity layer's 401 is auth with its detail as the code", async () => {
    next = { status: 401, body: fixture('error-401.json') };
    const outcome = await (await connector()).lookup(REQUEST.externalKey);
    assert.ok(outcome.status === 'failed');
    assert.deepEqual([outcome.error.kind, outcome.error.vendorCode, outcome.error.httpStatus], ['auth', 'TokenExpired', 401]);
    assert.match(outcome.error.message, /refresh the access token/);
  });

  test('a 429 of headers only is rate_limited with Retry-After and the limit named', async () => {
    next = JSON.parse(fixture('answer-429-minute.json')) as Stubbed;
    const outcome = await (await connector()).post(REQUEST);
    assert.ok(outcome.status === 'failed');
    assert.deepEqual([outcome.error.kind, outcome.error.vendorCode, outcome.error.retryAfterMs], ['rate_limited', 'RATE_LIMIT_MINUTE', 37_000]);
    assert.match(outcome.error.raw ?? '', /x-rate-limit-problem: minute/);
  });

  test('a 200 with the refusal inside the journal (summarizeErrors=false) is invalid, not created', async () => {
    const body = JSON.parse(fixture('manual-journals-created.json')) as { ManualJournals: Record<string, unknown>[] };
    delete body.ManualJournals[0].ManualJournalID;
    body.ManualJournals[0].StatusAttributeString = 'ERROR';
    body.ManualJournals[0].ValidationErrors = [{ Message: "Account code '6110' is not a valid code for this document." }];
    next = { status: 200, body: JSON.stringify(body) };
    const outcome = await (await connector()).post(REQUEST);
    assert.ok(outcome.status === 'failed');
    assert.deepEqual([outcome.error.kind, outcome.error.vendorCode, outcome.error.field, outcome.error.httpStatus], ['invalid', 'ValidationException', 'account', 200]);
  });

  test('a success without a ManualJournalID is unknown: the journal may exist', async () => {
    next = { status: 200, body: '{"ManualJournals":[{"Narration":"x"}]}' };
    const outcome = await (await connector()).post(REQUEST);
    assert.ok(outcome.status === 'unknown');
    assert.equal(outcome.error.vendorCode, 'MALFORMED_ANSWER');
    next = { status: 200, body: '<html>proxy</html>' };
    const lookup = await (await connector()).lookup(REQUEST.externalKey);
    assert.ok(lookup.status === 'failed');
    assert.deepEqual([lookup.error.kind, lookup.error.vendorCode], ['transient', 'MALFORMED_ANSWER']);
  });

  test('an answer nobody classified is invalid UNCLASSIFIED with at most 4 KB of it', async () => {
    next = { status: 418, body: `${'é'.repeat(3000)}` };
    const outcome = await (await connector()).post(REQUEST);
    assert.ok(outcome.status === 'failed');
    assert.deepEqual([outcome.error.kind, outcome.error.vendorCode, outcome.error.httpStatus], ['invalid', 'UNCLASSIFIED', 418]);
    assert.ok(Buffer.byteLength(outcome.error.raw ?? '', 'utf8') <= RAW_ANSWER_MAX_BYTES);
    assert.ok((outcome.error.raw ?? '').startsWith('éé'));
    assert.match(outcome.error.message, /inspect the raw answer/);
  });
});

describe('Xero error classification', () => {
  const table: [number, string, Record<string, string>, string, string][] = [
    [400, '{"ErrorNumber":16,"Type":"QueryParseException","Message":"No property"}', {}, 'invalid', 'QueryParseException'],
    [400, '{"ErrorNumber":10,"Type":"ValidationException","Message":"Idempotency-Key \'k\' was already used with a different request."}', {}, 'conflict', 'IDEMPOTENCY_KEY_REUSED'],
    [401, '', {}, 'auth', 'HTTP_401'],
    [403, '{"Type":null,"Title":"Forbidden","Status":403,"Detail":"AuthenticationUnsuccessful"}', {}, 'auth', 'AuthenticationUnsuccessful'],
    [404, '', {}, 'not_found', 'HTTP_404'],
    [409, '', {}, 'conflict', 'HTTP_409'],
    [429, '', { 'X-Rate-Limit-Problem': 'Day', 'Retry-After': '3600' }, 'rate_limited', 'RATE_LIMIT_DAY'],
    [429, '', { 'X-Rate-Limit-Problem': 'concurrent' }, 'rate_limited', 'RATE_LIMIT_CONCURRENT'],
    [429, '', {}, 'rate_limited', 'HTTP_429'],
    [500, '{"Type":"InternalError"}', {}, 'transient', 'InternalError'],
    [502, '<html>bad gateway</html>', {}, 'unavailable', 'HTTP_502'],
    [503, '', { 'Retry-After': 'Thu, 30 Apr 2026 12:05:00 GMT' }, 'unavailable', 'HTTP_503'],
    [504, '', {}, 'unavailable', 'HTTP_504'],
    [301, '', {}, 'invalid', 'UNCLASSIFIED'],
  ];
  for (const [status, body, headers, kind, vendorCode] of table) {
    test(`HTTP ${status} ${vendorCode} -> ${kind}`, () => {
      const error = classifyXeroError(status, body, new Headers(headers), { nowMs: Date.UTC(2026, 3, 30, 12) });
      assert.deepEqual([error.kind, error.vendorCode, error.httpStatus], [kind, vendorCode, status]);
    });
  }

  test('Retry-After in seconds or as a date; an HTTP date in the past is zero', () => {
    assert.equal(readRetryAfterMs('37', 0), 37_000);
    assert.equal(readRetryAfterMs('Thu, 30 Apr 2026 12:05:00 GMT', Date.UTC(2026, 3, 30, 12)), 300_000);
    assert.equal(readRetryAfterMs('Thu, 30 Apr 2026 11:00:00 GMT', Date.UTC(2026, 3, 30, 12)), 0);
    assert.equal(readRetryAfterMs('soon', 0), undefined);
    assert.equal(classifyXeroError(503, '', new Headers({ 'Retry-After': 'Thu, 30 Apr 2026 12:05:00 GMT' }), { nowMs: Date.UTC(2026, 3, 30, 12) }).retryAfterMs, 300_000);
  });

  test('truncation keeps whole characters', () => {
    assert.equal(truncateUtf8('aé', 2), 'a');
    assert.equal(truncateUtf8('abc', 3), 'abc');
  });
});
