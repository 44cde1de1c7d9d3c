// Proves the Concur FIS client reads answers in Concur's documented shapes (fixtures/ holds our own renderings of them): pull pages, mixed per-document service codes, the 298 NOOP, the error body; and that malformed answers, network failures and timeouts become classified errors instead of exceptions.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createConcurFisClient, type ConcurFisClientOptions } from '../../src/connectors/concur-fis/client.ts';
import { fromFisDocument } from '../../src/connectors/concur-fis/document.ts';
import { classifyConcurHttpError, classifyServiceCode, RAW_ANSWER_MAX_CHARS, SERVICE_CODES } from '../../src/connectors/concur-fis/errors.ts';
import { normalizeReport } from '../../src/domain/report.ts';

const fixture = (name: string) => readFileSync(new URL(`../../src/connectors/concur-fis/fixtures/${name}`, import.meta.url), 'utf8');
const ids = (name: string) => (JSON.parse(fixture(name)) as { docId: string }[]).map((item) => item.docId);

interface Stubbed {
  readonly status: number;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Never answer (the client must time out). */
  readonly hang?: boolean;
}

/** A stub Concur answering every request with the current `next` answer. */
let next: Stubbed = { status: 200, body: '[]' };
const server: Server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (next.hang) return;
    res.writeHead(next.status, { 'Content-Type': 'application/json', 'concur-correlationid': 'c0ffee00-0000-4000-8000-000000000001', ...next.headers });
    res.end(next.body);
  });
});
const listening = new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function client(overrides: Partial<ConcurFisClientOptions> = {}) {
  return createConcurFisClient({ baseUrl: await listening, token: 't', systemId: 'ERP-PROD', requestTimeoutMs: 5000, ...overrides });
}

describe('Concur FIS fixtures', () => {
  test('a pull answer reads, and its document becomes the canonical report', async () => {
    next = { status: 200, body: fixture('pull-answer.json') };
    const outcome = await (await client()).pull();
    assert.ok(outcome.ok, JSON.stringify(outcome));
    const parsed = fromFisDocument(outcome.page.content[0]);
    assert.ok(parsed.ok, JSON.stringify(parsed));
    const { report } = parsed;
    assert.deepEqual([report.reportId, report.revision, report.entity, report.employeeId, report.currency, report.total], ['4F1C2A7B9D0E3F5A6B7C', 1, 'DE01', 'DE01-E0003', 'EUR', '254.47']);
    assert.equal(report.approvedAt, '2026-04-28T16:40:12.000Z');
    const [hotel, meal, taxi] = report.lines;
    assert.deepEqual(hotel.allocations, [{ costCenter: 'DE4120', percent: '60.00' }, { costCenter: 'DE4130', project: 'FAIR26', percent: '40.00' }]);
    assert.deepEqual(hotel.tax, { code: 'DE7', amount: '14.00' });
    assert.equal(hotel.paymentType, 'company_card');
    assert.deepEqual(meal.amount, { value: '18.40', currency: 'USD' });
    assert.deepEqual(meal.exchangeRate, { rate: '0.9223', source: 'ECB', date: '2026-04-22' });
    assert.deepEqual(meal.allocations, [{ costCenter: 'DE4120', amount: '18.40' }]);
    assert.deepEqual([taxi.personal, taxi.receipt, taxi.paymentType], [true, false, 'company_card']);
    assert.doesNotThrow(() => normalizeReport(report));
  });

  test('an acknowledgement answer with mixed codes is classified per document', async () => {
    next = { status: 200, body: fixture('ack-answer-mixed.json') };
    const outcome = await (await client()).acknowledge(ids('ack-answer-mixed.json'));
    assert.ok(outcome.ok, JSON.stringify(outcome));
    assert.deepEqual(outcome.results.map((r) => [r.code, r.outcome, r.error?.kind]), [
      [0, 'ok', undefined],
      [101, 'already_done', undefined],
      [102, 'recalled', 'conflict'],
      [104, 'not_found', 'not_found'],
      [199, 'retry', 'transient'],
    ]);
    assert.equal(outcome.results[4].error?.vendorCode, 'FIS_199');
  });

  test('a posting-confirmation answer keeps Concur\'s detail message', async () => {
    next = { status: 200, body: fixture('posting-answer.json') };
    const outcome = await (await client()).confirmPosting(ids('posting-answer.json').map((docId) => ({ docId, overallPostingStatusCode: 'success', postingDocs: [{ companyId: 'DE01' }], systemMessages: [] })));
    assert.ok(outcome.ok, JSON.stringify(outcome));
    assert.deepEqual(outcome.results.map((r) => [r.code, r.outcome, r.result]), [[0, 'ok', 'SUCCESS'], [111, 'state', 'NOT_YET_ACKNOWLEDGED'], [113, 'already_done', 'FAILURE'], [198, 'invalid', 'FAILURE']]);
    assert.match(outcome.results[3].error?.message ?? '', /198.*fix the confirmation/);
    assert.equal(outcome.results[3].detailMessage, 'postingDocs[].companyId is required.');
  });

  test('a payment answer with 298 NOOP counts as already done and echoes the paymentRef', async () => {
    next = { status: 200, body: fixture('payment-answer-noop.json') };
    const outcome = await (await client()).confirmPayment(ids('payment-answer-noop.json').map((docId) => ({ docId, processingStatusCode: 'CP' })));
    assert.ok(outcome.ok, JSON.stringify(outcome));
    assert.deepEqual(outcome.results.map((r) => [r.code, r.outcome, r.result, r.paymentRef]), [
      [0, 'ok', 'SUCCESS', 'DE01/5100004471/2026/1'],
      [298, 'already_done', 'NOOP', 'DE01/5100004388/2026/1'],
      [116, 'not_found', 'DOCUMENT_NOT_FOUND', 'DE01/5100004502/2026/1'],
    ]);
  });

  test('the error bodies classify by status and keep the message, errorId and correlation id', async () => {
    next = { status: 400, body: fixture('error-400.json') };
    const invalid = await (await client()).confirmPosting([{ docId: 'x', overallPostingStatusCode: 'success', postingDocs: [], systemMessages: [] }]);
    assert.ok(!invalid.ok);
    assert.equal(invalid.error.kind, 'invalid');
    assert.match(invalid.error.message, /systemId is required.*errorId b7f4c2d1.*c0ffee00/);
    assert.equal(invalid.error.raw, fixture('error-400.json'));
    const forbidden = classifyConcurHttpError(403, fixture('error-403.json'), new Headers());
    assert.deepEqual([forbidden.kind, forbidden.vendorCode], ['auth', 'HTTP_403']);
    assert.match(forbidden.message, /FISVC/);
  });

  test('an Expense v4 report answer reads', async () => {
    next = { status: 200, body: fixture('report-v4.json') };
    const outcome = await (await client()).getReport('DE01-E0003', '4F1C2A7B9D0E3F5A6B7C');
    assert.ok(outcome.ok, JSON.stringify(outcome));
    assert.deepEqual([outcome.report.approvalStatusId, outcome.report.paymentStatusId, outcome.report.approvedAmount.value], ['A_APPR', 'P_NOTP', '254.47']);
  });
});

describe('Concur FIS client: answers it cannot use', () => {
  test('a body that is not JSON, or not the promised shape, is invalid with the raw body cut at 4 KB', async () => {
    next = { status: 200, body: `<html>${'x'.repeat(10_000)}</html>` };
    const html = await (await client()).pull();
    assert.ok(!html.ok);
    assert.deepEqual([html.error.kind, html.error.vendorCode, html.error.raw?.length], ['invalid', 'MALFORMED_ANSWER', RAW_ANSWER_MAX_CHARS]);
    next = { status: 200, body: JSON.stringify({ links: [], content: [] }) };
    const noPage = await (await client()).pull();
    assert.ok(!noPage.ok && noPage.error.kind === 'invalid');
    assert.match(noPage.error.message, /page/);
    next = { status: 200, body: JSON.stringify({ ...JSON.parse(fixture('pull-answer.json')), content: [{ id: 'a', docType: 'expense', document: 'x', docStatus: 'LOST' }] }) };
    const badStatus = await (await client()).pull();
    assert.ok(!badStatus.ok && badStatus.error.kind === 'invalid');
    next = { status: 200, body: JSON.stringify([{ code: '0', docId: 'a' }]) };
    const codeAsText = await (await client()).acknowledge(['a']);
    assert.ok(!codeAsText.ok && codeAsText.error.kind === 'invalid');
  });

  test('results that do not answer exactly the documents sent are invalid', async () => {
    next = { status: 200, body: fixture('ack-answer-mixed.json') };
    const outcome = await (await client()).acknowledge(['7d3f0a9c1b2e4f60a8b7c6d5e4f3a2b1']);
    assert.ok(!outcome.ok);
    assert.equal(outcome.error.kind, 'invalid');
    assert.match(outcome.error.message, /5 documents/);
  });

  test('Retry-After as an HTTP date is read against the injected clock', async () => {
    next = { status: 429, body: '', headers: { 'Retry-After': 'Wed, 06 May 2026 10:00:30 GMT' } };
    const outcome = await (await client({ now: () => Date.parse('2026-05-06T10:00:00Z') })).pull();
    assert.ok(!outcome.ok);
    assert.deepEqual([outcome.error.kind, outcome.error.retryAfterMs], ['rate_limited', 30_000]);
  });

  test('a refused connection and a timeout are transient, never thrown', async () => {
    const closed = createServer();
    const port = await new Promise<number>((resolve) => closed.listen(0, '127.0.0.1', () => resolve((closed.address() as AddressInfo).port)));
    await new Promise((resolve) => closed.close(resolve));
    const refused = await createConcurFisClient({ baseUrl: `http://127.0.0.1:${port}`, token: 't', systemId: 's', requestTimeoutMs: 5000 }).acknowledge(['a']);
    assert.ok(!refused.ok);
    assert.deepEqual([refused.error.kind, refused.error.vendorCode], ['transient', 'ECONNREFUSED']);
    next = { status: 200, body: '', hang: true };
    const timedOut = await (await client({ requestTimeoutMs: 50 })).getReport('u', 'r');
    assert.ok(!timedOut.ok);
    assert.deepEqual([timedOut.error.kind, timedOut.error.vendorCode], ['transient', 'TIMEOUT']);
    server.closeAllConnections();
  });
});

describe('Concur FIS service codes', () => {
  test('the table lists every documented code once, and an unknown code is unknown', () => {
    assert.deepEqual(SERVICE_CODES.map((entry) => entry.code), [0, 99, 101, 102, 103, 104, 105, 111, 112, 113, 114, 115, 116, 198, 199, 298]);
    for (const entry of SERVICE_CODES) assert.equal(entry.kind === undefined, entry.outcome === 'ok' || entry.outcome === 'already_done', String(entry.code));
    assert.deepEqual([classifyServiceCode(101).outcome, classifyServiceCode(113).outcome, classifyServiceCode(298).outcome], ['already_done', 'already_done', 'already_done']);
    assert.deepEqual([classifyServiceCode(99).kind, classifyServiceCode(199).kind], ['auth', 'transient']);
    assert.deepEqual([classifyServiceCode(4242).outcome, classifyServiceCode(4242).kind], ['unknown', 'invalid']);
  });
});
