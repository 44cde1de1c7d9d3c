// Proves the NetSuite connector keeps its contract against the simulator (one document per key, every failure classified, unknown outcomes settled by lookup), that each recorded NetSuite answer maps to the right error kind, and that amounts survive the trip to decimals and back exactly.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { ConnectorError, PostingRequest } from '../../src/connectors/contract.ts';
import type { JournalLine } from '../../src/domain/journal.ts';
import { createNetSuiteConnector } from '../../src/connectors/netsuite/client.ts';
import { classifyNetSuiteError } from '../../src/connectors/netsuite/errors.ts';
import { fromNetSuiteJournal, toNetSuiteJournal } from '../../src/connectors/netsuite/mapping.ts';
import { startNetSuiteSimulator, type NetSuiteSimulatorOptions, type SimStats } from '../../src/connectors/netsuite/simulator.ts';

const TOKEN = 'test-token';

const REFERENCES = {
  subsidiaryId: '1',
  accounts: { '6100': '612', '6200': '613', '2100': '210', '9999': '999' },
  costCenters: { CC1: '7', CC9: '9' },
  employees: { E1: '301' },
  taxCodes: { VAT19: '55' },
};

function buildRequest(externalKey: string, lines?: JournalLine[], currency = 'EUR'): PostingRequest {
  return {
    externalKey,
    correlationId: `corr-${externalKey}`,
    references: REFERENCES,
    journal: {
      kind: 'journal',
      reportId: 'R-1001',
      revision: 1,
      entity: 'DE01',
      currency,
      postingDate: '2026-04-30',
      memo: 'Expense report R-1001',
      conversions: [],
      lines: lines ?? [
        { account: '6100', debitMinor: 8450, creditMinor: 0, costCenter: 'CC1', employeeId: 'E1', memo: 'Hotel' },
        { account: '6200', debitMinor: 1230, creditMinor: 0, costCenter: 'CC1', employeeId: 'E1', taxCode: 'VAT19', memo: 'Taxi' },
        { account: '2100', debitMinor: 0, creditMinor: 9680, employeeId: 'E1', memo: 'Owed to employee' },
      ],
    },
  };
}

async function startSimulator(overrides: Partial<NetSuiteSimulatorOptions> = {}) {
  return startNetSuiteSimulator({
    port: 0,
    token: TOKEN,
    seed: 7,
    subsidiaries: ['1'],
    accounts: ['612', '613', '210'],
    departments: ['7', '9'],
    employees: ['301'],
    inactive: { departments: ['9'] },
    ...overrides,
  });
}

function connect(url: string, options: { token?: string; requestTimeoutMs?: number } = {}) {
  return createNetSuiteConnector({
    target: 'netsuite',
    baseUrl: url,
    token: options.token ?? TOKEN,
    maxConcurrency: 15,
    requestTimeoutMs: options.requestTimeoutMs ?? 5000,
  });
}

function expectError(outcome: { status: string; error?: ConnectorError }, status: 'failed' | 'unknown'): ConnectorError {
  assert.equal(outcome.status, status, JSON.stringify(outcome));
  assert.ok(outcome.error);
  return outcome.error;
}

describe('NetSuite client against the simulator', () => {
  test('a repeated upsert with the same key leaves exactly one document', async () => {
    const sim = await startSimulator();
    try {
      const connector = connect(sim.url);
      const first = await connector.post(buildRequest('fs_key_r1'));
      const second = await connector.post(buildRequest('fs_key_r1'));
      assert.equal(first.status, 'created');
      assert.deepEqual(second, first);
      const stats = (await (await fetch(`${sim.url}/__sim/stats`)).json()) as SimStats;
      assert.equal(stats.documents, 1);
      assert.equal(stats.duplicateExternalIds, 0);
      assert.deepEqual(stats, sim.stats());
      const documents = (await (await fetch(`${sim.url}/__sim/documents?externalId=fs_key_r1`)).json()) as { lines: { debitMinor: number }[] }[];
      assert.deepEqual(documents[0].lines.map((line) => line.debitMinor), [8450, 1230, 0]);
    } finally {
      await sim.close();
    }
  });

  test('lookup finds a posted journal and reports an unknown key as absent', async () => {
    const sim = await startSimulator();
    try {
      const connector = connect(sim.url);
      const posted = await connector.post(buildRequest('fs_found_r1'));
      assert.equal(posted.status, 'created');
      assert.deepEqual(await connector.lookup('fs_found_r1'), { status: 'found', documentId: posted.documentId });
      assert.deepEqual(await connector.lookup('fs_missing_r1'), { status: 'absent' });
    } finally {
      await sim.close();
    }
  });

  test('a wrong token is an auth failure', async () => {
    const sim = await startSimulator();
    try {
      const error = expectError(await connect(sim.url, { token: 'wrong' }).post(buildRequest('fs_auth_r1')), 'failed');
      assert.equal(error.kind, 'auth');
      assert.equal(error.vendorCode, 'INVALID_LOGIN');
      assert.equal(error.httpStatus, 401);
      assert.equal(sim.stats().documents, 0);
    } finally {
      await sim.close();
    }
  });

  test('an unknown account or inactive department is invalid, naming the field and value', async () => {
    const sim = await startSimulator();
    try {
      const connector = connect(sim.url);
      const unknownAccount = buildRequest('fs_badacct_r1', [
        { account: '6100', debitMinor: 100, creditMinor: 0, memo: 'ok' },
        { account: '9999', debitMinor: 0, creditMinor: 100, memo: 'unknown account' },
      ]);
      const accountError = expectError(await connector.post(unknownAccount), 'failed');
      assert.equal(accountError.kind, 'invalid');
      assert.equal(accountError.vendorCode, 'INVALID_CONTENT');
      assert.equal(accountError.field, 'account');
      assert.equal(accountError.value, '999');
      assert.match(accountError.message, /line\.items\[1\]\.account/);
      assert.match(accountError.raw ?? '', /o:errorDetails/);
      const closedDepartment = buildRequest('fs_baddept_r1', [
        { account: '6100', debitMinor: 100, creditMinor: 0, costCenter: 'CC9', memo: 'closed cost center' },
        { account: '2100', debitMinor: 0, creditMinor: 100, memo: 'ok' },
      ]);
      const departmentError = expectError(await connector.post(closedDepartment), 'failed');
      assert.equal(departmentError.field, 'department');
      assert.equal(departmentError.value, '9');
      assert.equal(sim.stats().documents, 0);
    } finally {
      await sim.close();
    }
  });

  test('more requests in flight than the account limit get 429 without Retry-After', async () => {
    const sim = await startSimulator({ concurrencyLimit: 2, latencyMs: 150 });
    try {
      const connector = connect(sim.url);
      const outcomes = await Promise.all(Array.from({ length: 6 }, (_, i) => connector.lookup(`fs_busy_${i}`)));
      const throttled = outcomes.filter((outcome) => outcome.status === 'failed');
      assert.ok(throttled.length >= 1 && throttled.length <= 4, JSON.stringify(outcomes));
      for (const outcome of throttled) {
        const error = expectError(outcome, 'failed');
        assert.equal(error.kind, 'rate_limited');
        assert.equal(error.vendorCode, 'CONCURRENCY_LIMIT_EXCEEDED');
        assert.equal(error.retryAfterMs, undefined);
      }
      assert.equal(sim.stats().rejected['429'], throttled.length);
    } finally {
      await sim.close();
    }
  });

  test('a 429 burst carries Retry-After: 1, read as 1000 ms', async () => {
    const sim = await startSimulator({ faults: { rateLimitBurstRate: 1, burstLength: 2 } });
    try {
      const error = expectError(await connect(sim.url).post(buildRequest('fs_burst_r1')), 'failed');
      assert.equal(error.kind, 'rate_limited');
      assert.equal(error.retryAfterMs, 1000);
    } finally {
      await sim.close();
    }
  });

  test('a maintenance window answers 503 with Retry-After until it ends', async () => {
    const nowMs = 1_000_000;
    const sim = await startSimulator({ now: () => nowMs, faults: { maintenanceWindows: [{ fromMs: nowMs - 5000, toMs: nowMs + 30_500 }] } });
    try {
      const error = expectError(await connect(sim.url).post(buildRequest('fs_maint_r1')), 'failed');
      assert.equal(error.kind, 'unavailable');
      assert.equal(error.httpStatus, 503);
      assert.equal(error.retryAfterMs, 31_000);
      sim.setFaults({});
      assert.equal((await connect(sim.url).post(buildRequest('fs_maint_r1'))).status, 'created');
    } finally {
      await sim.close();
    }
  });

  test('a timeout after NetSuite committed is unknown, and lookup then finds the document', async () => {
    const sim = await startSimulator({ faults: { timeoutAfterCommitRate: 1, holdMs: 60_000 } });
    try {
      const connector = connect(sim.url, { requestTimeoutMs: 300 });
      const error = expectError(await connector.post(buildRequest('fs_timeout_r1')), 'unknown');
      assert.equal(error.kind, 'transient');
      assert.equal(error.vendorCode, 'TIMEOUT');
      const found = await connector.lookup('fs_timeout_r1');
      assert.equal(found.status, 'found');
      assert.equal(sim.stats().documents, 1);
    } finally {
      await sim.close();
    }
  });

  test('a connection cut after NetSuite committed is unknown with ECONNRESET', async () => {
    const sim = await startSimulator({ faults: { timeoutAfterCommitRate: 1, holdMs: 50 } });
    try {
      const connector = connect(sim.url);
      const error = expectError(await connector.post(buildRequest('fs_reset_r1')), 'unknown');
      assert.equal(error.kind, 'transient');
      assert.equal(error.vendorCode, 'ECONNRESET');
      assert.equal((await connector.lookup('fs_reset_r1')).status, 'found');
    } finally {
      await sim.close();
    }
  });

  test('a refused connection is a failed post of kind unavailable', async () => {
    const sim = await startSimulator();
    await sim.close();
    const error = expectError(await connect(sim.url).post(buildRequest('fs_refused_r1')), 'failed');
    assert.equal(error.kind, 'unavailable');
    assert.equal(error.vendorCode, 'ECONNREFUSED');
  });

  test('injected reference rejections give the same verdict for the same external id', async () => {
    const sim = await startSimulator({ faults: { invalidReferenceRate: 1 } });
    try {
      const connector = connect(sim.url);
      const first = expectError(await connector.post(buildRequest('fs_fate_r1')), 'failed');
      const second = expectError(await connector.post(buildRequest('fs_fate_r1')), 'failed');
      assert.equal(first.field, 'account');
      assert.deepEqual(second, first);
      sim.setFaults({ invalidReferenceRate: 0 });
      assert.equal((await connector.post(buildRequest('fs_fate_r1'))).status, 'created');
    } finally {
      await sim.close();
    }
  });

  test('the simulator lets POST duplicate an external id and rejects unbalanced or malformed bodies', async () => {
    const sim = await startSimulator();
    try {
      const headers = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
      const body = toNetSuiteJournal(buildRequest('fs_naive_r1'));
      for (let i = 0; i < 2; i++) {
        const response = await fetch(`${sim.url}/services/rest/record/v1/journalEntry`, { method: 'POST', headers, body: JSON.stringify(body) });
        assert.equal(response.status, 204);
        assert.match(response.headers.get('location') ?? '', /\/journalEntry\/\d+$/);
      }
      assert.equal(sim.stats().duplicateExternalIds, 1);
      const unbalanced = { ...body, line: { items: [body.line.items[0]] } };
      const rejection = await fetch(`${sim.url}/services/rest/record/v1/journalEntry/eid:fs_unbal_r1`, { method: 'PUT', headers, body: JSON.stringify(unbalanced) });
      assert.equal(rejection.status, 400);
      assert.match(await rejection.text(), /out of balance/);
      const badJson = await fetch(`${sim.url}/services/rest/record/v1/journalEntry/eid:fs_json_r1`, { method: 'PUT', headers, body: '{' });
      const envelope = (await badJson.json()) as { title: string; 'o:errorDetails': { 'o:errorCode': string }[] };
      assert.equal(envelope.title, 'Bad Request');
      assert.equal(envelope['o:errorDetails'][0]['o:errorCode'], 'INVALID_CONTENT');
    } finally {
      await sim.close();
    }
  });
});

describe('classifyNetSuiteError on recorded answers', () => {
  const fixture = (name: string) => readFileSync(new URL(`../../src/connectors/netsuite/fixtures/${name}`, import.meta.url), 'utf8');
  const cases: { name: string; status: number; headers?: Record<string, string>; kind: string; vendorCode: string; retryAfterMs?: number }[] = [
    { name: 'error-unexpected.json', status: 500, kind: 'transient', vendorCode: 'UNEXPECTED_ERROR' },
    { name: 'error-concurrency.json', status: 429, kind: 'rate_limited', vendorCode: 'CONCURRENCY_LIMIT_EXCEEDED' },
    { name: 'error-concurrency.json', status: 429, headers: { 'Retry-After': '2' }, kind: 'rate_limited', vendorCode: 'CONCURRENCY_LIMIT_EXCEEDED', retryAfterMs: 2000 },
    { name: 'error-maintenance.json', status: 503, headers: { 'Retry-After': '120' }, kind: 'unavailable', vendorCode: 'SERVICE_UNAVAILABLE', retryAfterMs: 120_000 },
    { name: 'error-502.html', status: 502, kind: 'unavailable', vendorCode: 'HTTP_502' },
    { name: 'error-invalid-login.json', status: 401, kind: 'auth', vendorCode: 'INVALID_LOGIN' },
    { name: 'error-invalid-content.json', status: 400, kind: 'invalid', vendorCode: 'INVALID_CONTENT' },
    { name: 'error-idempotency.json', status: 400, kind: 'conflict', vendorCode: 'IDEMPOTENCY_ERROR' },
    { name: 'error-nonexistent-id.json', status: 404, kind: 'not_found', vendorCode: 'NONEXISTENT_ID' },
    { name: 'error-502.html', status: 418, kind: 'invalid', vendorCode: 'UNCLASSIFIED' },
  ];
  for (const c of cases) {
    test(`${c.name} with HTTP ${c.status}${c.headers ? ' and Retry-After' : ''} is ${c.kind}`, () => {
      const error = classifyNetSuiteError(c.status, fixture(c.name), new Headers(c.headers));
      assert.equal(error.kind, c.kind);
      assert.equal(error.vendorCode, c.vendorCode);
      assert.equal(error.httpStatus, c.status);
      assert.equal(error.retryAfterMs, c.retryAfterMs);
      assert.equal(error.raw, fixture(c.name));
    });
  }

  test('an invalid reference names the field, the value and the full path', () => {
    const error = classifyNetSuiteError(400, fixture('error-invalid-content.json'), new Headers());
    assert.equal(error.field, 'account');
    assert.equal(error.value, '999');
    assert.match(error.message, /line\.items\[1\]\.account/);
  });

  test('Retry-After as an HTTP date, an empty 3xx and an oversized body', () => {
    const nowMs = Date.parse('2026-05-01T10:00:00Z');
    const dated = classifyNetSuiteError(503, '', new Headers({ 'Retry-After': 'Fri, 01 May 2026 10:00:45 GMT' }), nowMs);
    assert.equal(dated.retryAfterMs, 45_000);
    assert.equal(dated.vendorCode, 'HTTP_503');
    assert.equal(classifyNetSuiteError(302, '', new Headers()).vendorCode, 'UNCLASSIFIED');
    assert.equal(classifyNetSuiteError(500, 'x'.repeat(10_000), new Headers()).raw?.length, 4000);
  });
});

describe('NetSuite mapping', () => {
  test('the GET fixture reads back into exact minor units', () => {
    const record = fromNetSuiteJournal(JSON.parse(readFileSync(new URL('../../src/connectors/netsuite/fixtures/journal-entry-get.json', import.meta.url), 'utf8')));
    assert.deepEqual(record.lines.map((line) => [line.debitMinor, line.creditMinor]), [[8450, 0], [1230, 0], [0, 9680]]);
    assert.equal(record.subsidiaryId, '2');
  });

  test('amounts are sent as the decimal formatAmount writes', () => {
    const body = JSON.stringify(toNetSuiteJournal(buildRequest('fs_decimal_r1')));
    assert.match(body, /"debit":12\.3,/);
    assert.match(body, /"credit":96\.8,/);
    assert.match(body, /"department":\{"id":"7"\}/);
    assert.match(body, /"taxCode":\{"id":"55"\}/);
  });

  for (const currency of ['JPY', 'EUR', 'KWD']) {
    test(`a round trip through the NetSuite body keeps ${currency} minor units exactly`, () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: 999_999_999_999 }), { minLength: 1, maxLength: 6 }), (amounts) => {
          const total = amounts.reduce((a, b) => a + b, 0);
          const lines: JournalLine[] = [
            ...amounts.map((amount) => ({ account: '6100', debitMinor: amount, creditMinor: 0, memo: 'expense' })),
            { account: '2100', debitMinor: 0, creditMinor: total, memo: 'owed' },
          ];
          const body = JSON.parse(JSON.stringify(toNetSuiteJournal(buildRequest('fs_trip_r1', lines, currency))));
          const back = fromNetSuiteJournal(body);
          assert.equal(back.currency, currency);
          assert.deepEqual(back.lines.map((line) => [line.debitMinor, line.creditMinor]), lines.map((line) => [line.debitMinor, line.creditMinor]));
        }),
        { seed: 20260501, numRuns: 200 },
      );
    });
  }

  test('a reference missing from the resolved ids is a programmer error', () => {
    const lines: JournalLine[] = [
      { account: '7777', debitMinor: 1, creditMinor: 0, memo: 'unmapped' },
      { account: '2100', debitMinor: 0, creditMinor: 1, memo: 'owed' },
    ];
    assert.throws(() => toNetSuiteJournal(buildRequest('fs_unmapped_r1', lines)), /no NetSuite internal id for account 7777/);
  });

  test('too many decimals for the currency and a line with both sides are refused', () => {
    const body = toNetSuiteJournal(buildRequest('fs_bad_r1'));
    assert.throws(() => fromNetSuiteJournal({ ...body, currency: { refName: 'JPY' } }), /line\.items\[0\]\.debit/);
    const bothSides = { ...body, line: { items: [{ account: { id: '612' }, debit: 1, credit: 1 }] } };
    assert.throws(() => fromNetSuiteJournal(bothSides), /exactly one of debit or credit/);
  });
});
