// Proves the Xero connector keeps the connector contract against the Xero simulator: one manual journal per Idempotency-Key however often it is sent, a reused key with another body refused as a conflict, every error kind classified (with the record at fault named), Xero's three limits answered 429 with Retry-After, lookup by the key in the Narration, and a period read back line by line in exact minor units.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConnectorError, PostingRequest, ReadBackScope, TargetConnector } from '../../src/connectors/contract.ts';
import type { JournalLine } from '../../src/domain/journal.ts';
import type { ReconLine } from '../../src/reconciliation/types.ts';
import { createXeroConnector, XERO_LIMITS, type XeroConnectorOptions } from '../../src/connectors/xero/client.ts';
import { classifyXeroError } from '../../src/connectors/xero/errors.ts';
import { XeroReadError } from '../../src/connectors/xero/readback.ts';
import { startXeroSimulator, type XeroSimulatorOptions } from '../../src/connectors/xero/simulator.ts';

const ORG = JSON.parse(readFileSync(new URL('../../src/connectors/xero/fixtures/sample-organisation.json', import.meta.url), 'utf8')) as Pick<XeroSimulatorOptions, 'tenantId' | 'baseCurrency' | 'accounts' | 'trackingCategories' | 'taxTypes'>;
const TOKEN = 'xero-access-token';
const START_MS = Date.UTC(2026, 4, 2, 9, 0, 0);

const LINES: JournalLine[] = [
  { account: '6100', debitMinor: 8450, creditMinor: 0, costCenter: 'DE4120', memo: 'Hotel Hamburg' },
  { account: '6200', debitMinor: 1230, creditMinor: 0, costCenter: 'DE4130', project: 'FAIR26', memo: 'Taxi to the fair' },
  { account: '2100', debitMinor: 0, creditMinor: 9680, memo: 'Owed to employee' },
];

function buildRequest(externalKey: string, overrides: { lines?: readonly JournalLine[]; postingDate?: string; currency?: string; memo?: string } = {}): PostingRequest {
  return {
    externalKey,
    correlationId: `corr-${externalKey}`,
    references: { subsidiaryId: '', accounts: {}, costCenters: {}, employees: {}, taxCodes: {} },
    journal: {
      kind: 'journal',
      reportId: 'R-1001',
      revision: 1,
      entity: 'DE01',
      currency: overrides.currency ?? 'EUR',
      postingDate: overrides.postingDate ?? '2026-04-30',
      memo: overrides.memo ?? 'Expense report R-1001',
      conversions: [],
      lines: [...(overrides.lines ?? LINES)],
    },
  };
}

async function startSimulator(overrides: Partial<XeroSimulatorOptions> = {}) {
  const clock = { nowMs: START_MS };
  const sim = await startXeroSimulator({ seed: 11, accessToken: TOKEN, ...ORG, now: () => clock.nowMs, recordTraffic: true, ...overrides });
  return Object.assign(sim, { clock });
}

function connect(url: string, overrides: Partial<XeroConnectorOptions> = {}): TargetConnector {
  return createXeroConnector({ target: 'xero', baseUrl: url, accessToken: TOKEN, tenantId: ORG.tenantId, baseCurrency: 'EUR', requestTimeoutMs: 5000, projectCategory: 'Project', readBack: { retryDelayMs: 1 }, ...overrides });
}

function expectError(outcome: { status: string; error?: ConnectorError }, status: 'failed' | 'unknown'): ConnectorError {
  assert.equal(outcome.status, status, JSON.stringify(outcome));
  assert.ok(outcome.error);
  return outcome.error;
}

async function readAll(connector: TargetConnector, period: string): Promise<ReconLine[]> {
  const scope: ReadBackScope = { entity: 'DE01', subsidiaryId: ORG.tenantId, period, accountCodeOf: (code) => (code === '6100' ? 'TRAVEL' : undefined) };
  const lines: ReconLine[] = [];
  for await (const batch of connector.readBack!(scope).batches) lines.push(...batch);
  return lines;
}

describe('Xero connector: posting and idempotency', () => {
  test('declares Xero limits for the lane', () => {
    const connector = connect('http://127.0.0.1:9');
    assert.equal(connector.maxConcurrency, 5);
    assert.deepEqual(connector.rateLimit, { perMinute: 60, perDay: 5000 });
    assert.deepEqual(XERO_LIMITS, { concurrent: 5, perMinute: 60, perDay: 5000 });
    assert.equal(connect('http://127.0.0.1:9', { maxConcurrency: 9 }).maxConcurrency, 5, 'never above Xero limit');
  });

  test('a post creates one posted manual journal with signed exact amounts and tracking', async () => {
    const sim = await startSimulator();
    try {
      const outcome = await connect(sim.url).post(buildRequest('fs_create_r1'));
      assert.equal(outcome.status, 'created');
      const [journal] = sim.documents();
      assert.equal(outcome.documentId, journal.id);
      assert.equal(journal.status, 'POSTED');
      assert.equal(journal.narration, 'fs_create_r1: Expense report R-1001');
      assert.equal(journal.date, '2026-04-30');
      assert.equal(journal.lineAmountTypes, 'NoTax');
      assert.equal(journal.idempotencyKey, 'fs_create_r1');
      assert.deepEqual(journal.lines.map((line) => [line.accountCode, line.amountMinor, line.tracking]), [
        ['6100', 8450, [{ name: 'Cost Center', option: 'DE4120' }]],
        ['6200', 1230, [{ name: 'Cost Center', option: 'DE4130' }, { name: 'Project', option: 'FAIR26' }]],
        ['2100', -9680, []],
      ]);
      const [exchange] = sim.traffic();
      assert.equal(exchange.request.method, 'PUT');
      assert.equal(exchange.request.headers['idempotency-key'], 'fs_create_r1');
      assert.equal(exchange.request.headers['xero-tenant-id'], ORG.tenantId);
      assert.match(exchange.request.body, /"LineAmount":84\.50,/);
      assert.match(exchange.request.body, /"LineAmount":-96\.80,/);
    } finally {
      await sim.close();
    }
  });

  test('the same Idempotency-Key sent again answers the same ManualJournalID and makes no second journal', async () => {
    const sim = await startSimulator();
    try {
      const connector = connect(sim.url);
      const first = await connector.post(buildRequest('fs_repeat_r1'));
      const second = await connector.post(buildRequest('fs_repeat_r1'));
      assert.equal(first.status, 'created');
      assert.deepEqual(second, first);
      assert.equal(sim.documents().length, 1);
      assert.equal(sim.stats().idempotentReplays, 1);
    } finally {
      await sim.close();
    }
  });

  test('a reused key with another body is a conflict naming the key, and nothing is posted', async () => {
    const sim = await startSimulator();
    try {
      const connector = connect(sim.url);
      assert.equal((await connector.post(buildRequest('fs_reuse_r1'))).status, 'created');
      const error = expectError(await connector.post(buildRequest('fs_reuse_r1', { memo: 'Expense report R-1001 (edited)' })), 'failed');
      assert.equal(error.kind, 'conflict');
      assert.equal(error.vendorCode, 'IDEMPOTENCY_KEY_REUSED');
      assert.equal(error.httpStatus, 400);
      assert.deepEqual([error.field, error.value], ['externalKey', 'fs_reuse_r1']);
      assert.equal(sim.documents().length, 1);
    } finally {
      await sim.close();
    }
  });

  test('a write cut after Xero committed is unknown; the resend with the same key gets the same journal', async () => {
    const sim = await startSimulator({ faults: { timeoutAfterCommitRate: 1, holdMs: 0 } });
    try {
      const connector = connect(sim.url);
      const error = expectError(await connector.post(buildRequest('fs_cut_r1')), 'unknown');
      assert.equal(error.kind, 'transient');
      assert.equal(sim.documents().length, 1, 'Xero holds the journal');
      sim.setFaults({});
      const found = await connector.lookup('fs_cut_r1');
      assert.deepEqual(found, { status: 'found', documentId: sim.documents()[0].id });
      assert.deepEqual(await connector.post(buildRequest('fs_cut_r1')), { status: 'created', documentId: sim.documents()[0].id });
      assert.equal(sim.documents().length, 1);
    } finally {
      await sim.close();
    }
  });

  test('a timeout while Xero holds the answer is unknown with TIMEOUT', async () => {
    const sim = await startSimulator({ faults: { timeoutAfterCommitRate: 1 } });
    try {
      const error = expectError(await connect(sim.url, { requestTimeoutMs: 150 }).post(buildRequest('fs_timeout_r1')), 'unknown');
      assert.deepEqual([error.kind, error.vendorCode], ['transient', 'TIMEOUT']);
    } finally {
      await sim.close();
    }
  });

  test('a journal in a currency other than the base currency is refused before anything is sent', async () => {
    const sim = await startSimulator();
    try {
      const error = expectError(await connect(sim.url).post(buildRequest('fs_usd_r1', { currency: 'USD' })), 'failed');
      assert.deepEqual([error.kind, error.vendorCode, error.field, error.value], ['invalid', 'CURRENCY_NOT_BASE', 'currency', 'USD']);
      assert.equal(sim.stats().requests, 0);
    } finally {
      await sim.close();
    }
  });
});

describe('Xero connector: refusals are classified', () => {
  const cases: { name: string; lines?: JournalLine[]; postingDate?: string; sim?: Partial<XeroSimulatorOptions>; field?: string; value?: string; message: RegExp }[] = [
    { name: 'an unknown account code names the account', lines: [{ ...LINES[0], account: '6110' }, { ...LINES[2], creditMinor: 8450 }], field: 'account', value: '6110', message: /is not a valid code/ },
    { name: 'an archived account names the account', lines: [{ ...LINES[0], account: '6900' }, { ...LINES[2], creditMinor: 8450 }], field: 'account', value: '6900', message: /archived/ },
    { name: 'a missing tracking option names the cost center', lines: [{ ...LINES[0], costCenter: 'DE4999' }, { ...LINES[2], creditMinor: 8450 }], field: 'costCenter', value: 'DE4999', message: /could not be found/ },
    { name: 'an archived tracking option names the cost center', lines: [{ ...LINES[0], costCenter: 'DE4190' }, { ...LINES[2], creditMinor: 8450 }], field: 'costCenter', value: 'DE4190', message: /archived/ },
    { name: 'an unknown tax type names the tax code', lines: [{ ...LINES[0], taxCode: 'VAT19' }, { ...LINES[2], creditMinor: 8450 }], field: 'taxCode', value: 'VAT19', message: /TaxType/ },
    { name: 'a date in a locked period names the posting date', postingDate: '2026-03-31', sim: { periodLockDate: '2026-03-31' }, field: 'postingDate', value: '31 Mar 2026', message: /lock date/ },
    { name: 'lines that do not balance are refused without a field', lines: [LINES[0], { ...LINES[2], creditMinor: 8000 }], message: /total debits \(84\.50\) must equal total credits \(-80\.00\)/ },
  ];
  for (const testCase of cases) {
    test(testCase.name, async () => {
      const sim = await startSimulator(testCase.sim);
      try {
        const error = expectError(await connect(sim.url).post(buildRequest('fs_refused_r1', { lines: testCase.lines, postingDate: testCase.postingDate })), 'failed');
        assert.equal(error.kind, 'invalid');
        assert.equal(error.vendorCode, 'ValidationException');
        assert.equal(error.httpStatus, 400);
        assert.equal(error.field, testCase.field);
        assert.equal(error.value, testCase.value);
        assert.match(error.message, testCase.message);
        assert.match(error.raw ?? '', /"Elements"/);
        assert.equal(sim.documents().length, 0);
      } finally {
        await sim.close();
      }
    });
  }

  test('a wrong token, an expired token and a wrong tenant are auth failures', async () => {
    const sim = await startSimulator({ tokenExpiresAtMs: START_MS + 1_800_000 });
    try {
      const wrongToken = expectError(await connect(sim.url, { accessToken: 'stale' }).post(buildRequest('fs_auth_r1')), 'failed');
      assert.deepEqual([wrongToken.kind, wrongToken.httpStatus, wrongToken.vendorCode], ['auth', 401, 'AuthenticationUnsuccessful']);
      const wrongTenant = expectError(await connect(sim.url, { tenantId: 'another-org' }).post(buildRequest('fs_auth_r1')), 'failed');
      assert.deepEqual([wrongTenant.kind, wrongTenant.httpStatus], ['auth', 403]);
      sim.clock.nowMs = START_MS + 1_800_000;
      const expired = expectError(await connect(sim.url, { accessToken: async () => TOKEN }).lookup('fs_auth_r1'), 'failed');
      assert.deepEqual([expired.kind, expired.httpStatus, expired.vendorCode], ['auth', 401, 'TokenExpired']);
      assert.equal(sim.documents().length, 0);
    } finally {
      await sim.close();
    }
  });

  test('a journal id Xero does not know is not_found', async () => {
    const sim = await startSimulator();
    try {
      const response = await fetch(`${sim.url}/api.xro/2.0/ManualJournals/00000000-0000-4000-8000-000000000000`, { headers: { Authorization: `Bearer ${TOKEN}`, 'xero-tenant-id': ORG.tenantId } });
      const error = classifyXeroError(response.status, await response.text(), response.headers);
      assert.deepEqual([error.kind, error.vendorCode, error.httpStatus], ['not_found', 'ObjectNotFoundException', 404]);
    } finally {
      await sim.close();
    }
  });

  test('a 500 on a write is unknown (Xero may have committed); a 503 is unavailable with Retry-After', async () => {
    const sim = await startSimulator({ faults: { failNext: { count: 1, status: 500 } } });
    try {
      const connector = connect(sim.url);
      const error500 = expectError(await connector.post(buildRequest('fs_5xx_r1')), 'unknown');
      assert.deepEqual([error500.kind, error500.httpStatus, error500.vendorCode], ['transient', 500, 'InternalError']);
      sim.setFaults({ failNext: { count: 1, status: 503 }, retryAfterSeconds: 30 });
      const error503 = expectError(await connector.post(buildRequest('fs_5xx_r1')), 'failed');
      assert.deepEqual([error503.kind, error503.httpStatus, error503.retryAfterMs], ['unavailable', 503, 30_000]);
      assert.equal((await connector.post(buildRequest('fs_5xx_r1'))).status, 'created');
    } finally {
      await sim.close();
    }
  });

  test('a maintenance window answers 503 with the seconds left as Retry-After', async () => {
    const sim = await startSimulator({ faults: { maintenanceWindows: [{ fromMs: START_MS - 1000, toMs: START_MS + 90_000 }] } });
    try {
      const error = expectError(await connect(sim.url).post(buildRequest('fs_maint_r1')), 'failed');
      assert.deepEqual([error.kind, error.retryAfterMs], ['unavailable', 90_000]);
      sim.clock.nowMs = START_MS + 90_000;
      assert.equal((await connect(sim.url).post(buildRequest('fs_maint_r1'))).status, 'created');
    } finally {
      await sim.close();
    }
  });

  test('a refused connection is failed and unavailable: nothing was sent', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const error = expectError(await connect(`http://127.0.0.1:${port}`).post(buildRequest('fs_refused_r1')), 'failed');
    assert.deepEqual([error.kind, error.vendorCode], ['unavailable', 'ECONNREFUSED']);
  });
});

describe('Xero connector: limits', () => {
  test('a sixth call in flight gets 429 concurrent with Retry-After; the five finish', async () => {
    const sim = await startSimulator();
    try {
      const connector = connect(sim.url);
      const release = sim.hold();
      const five = [1, 2, 3, 4, 5].map((n) => connector.post(buildRequest(`fs_conc${n}_r1`)));
      await sim.waitForInFlight(5);
      const error = expectError(await connector.post(buildRequest('fs_conc6_r1')), 'failed');
      assert.deepEqual([error.kind, error.vendorCode, error.httpStatus, error.retryAfterMs], ['rate_limited', 'RATE_LIMIT_CONCURRENT', 429, 1000]);
      release();
      assert.deepEqual((await Promise.all(five)).map((outcome) => outcome.status), ['created', 'created', 'created', 'created', 'created']);
      assert.equal(sim.documents().length, 5);
    } finally {
      await sim.close();
    }
  });

  test('the 61st call in a minute gets 429 minute with Retry-After; the window rolls with the clock', async () => {
    const sim = await startSimulator();
    try {
      const connector = connect(sim.url);
      for (let n = 0; n < 60; n++) assert.equal((await connector.lookup(`fs_min${n}_r1`)).status, 'absent');
      const remaining = sim.traffic().map((exchange) => Number(exchange.response?.headers['x-minlimit-remaining']));
      assert.deepEqual(remaining.slice(0, 3), [59, 58, 57]);
      assert.equal(remaining[59], 0);
      sim.clock.nowMs += 20_000;
      const error = expectError(await connector.lookup('fs_min60_r1'), 'failed');
      assert.deepEqual([error.kind, error.vendorCode, error.retryAfterMs], ['rate_limited', 'RATE_LIMIT_MINUTE', 40_000]);
      const refused = sim.traffic().at(-1)?.response;
      assert.deepEqual([refused?.status, refused?.headers['x-rate-limit-problem'], refused?.headers['retry-after']], [429, 'minute', '40']);
      sim.clock.nowMs += 40_000;
      assert.equal((await connector.lookup('fs_min60_r1')).status, 'absent');
    } finally {
      await sim.close();
    }
  });

  test('over the daily limit the answer is 429 day with Retry-After until the oldest call leaves the 24 h window', async () => {
    const sim = await startSimulator({ limits: { perDay: 3 } });
    try {
      const connector = connect(sim.url);
      for (let n = 0; n < 3; n++) {
        assert.equal((await connector.lookup(`fs_day${n}_r1`)).status, 'absent');
        sim.clock.nowMs += 3_600_000;
      }
      assert.equal(sim.traffic().at(-1)?.response?.headers['x-daylimit-remaining'], '0');
      const error = expectError(await connector.post(buildRequest('fs_day_r1')), 'failed');
      assert.deepEqual([error.kind, error.vendorCode, error.retryAfterMs], ['rate_limited', 'RATE_LIMIT_DAY', 21 * 3_600_000]);
      assert.match(error.message, /5,000 calls a day/);
      sim.clock.nowMs = START_MS + 86_400_000;
      assert.equal((await connector.post(buildRequest('fs_day_r1'))).status, 'created');
    } finally {
      await sim.close();
    }
  });
});

describe('Xero connector: lookup and read-back', () => {
  test('lookup finds the journal of a key and no other: r1 is not its reversal r1_rev', async () => {
    const sim = await startSimulator();
    try {
      const connector = connect(sim.url);
      const reversal = await connector.post({ ...buildRequest('fs_look_r1_rev'), journal: { ...buildRequest('x').journal, kind: 'reversal' } });
      assert.equal(reversal.status, 'created');
      assert.deepEqual(await connector.lookup('fs_look_r1'), { status: 'absent' });
      const posted = await connector.post(buildRequest('fs_look_r1'));
      assert.equal(posted.status, 'created');
      assert.deepEqual(await connector.lookup('fs_look_r1'), { status: 'found', documentId: posted.documentId });
      assert.deepEqual(await connector.lookup('fs_look_r1_rev'), { status: 'found', documentId: reversal.documentId });
      sim.setFaults({ failNext: { count: 1, status: 503 } });
      const failed = await connector.lookup('fs_look_r1');
      assert.equal(failed.status, 'failed');
    } finally {
      await sim.close();
    }
  });

  test('read-back returns one exact line per journal line of the posted journals of ours in the period, across pages', async () => {
    const sim = await startSimulator();
    try {
      const connector = connect(sim.url, { readBack: { pageSize: 2, retryDelayMs: 1 } });
      const big: JournalLine[] = [
        { account: '6100', debitMinor: 123_456_789_012_345, creditMinor: 0, memo: 'large' },
        { account: '2100', debitMinor: 0, creditMinor: 123_456_789_012_345, memo: 'large' },
      ];
      const ids: Record<string, string> = {};
      for (const [key, overrides] of [
        ['fs_a_r1', {}],
        ['fs_b_r1', { lines: big, postingDate: '2026-04-01' }],
        ['fs_c_r1', { postingDate: '2026-05-01' }],
        ['fs_d_r1', { postingDate: '2026-04-15' }],
        ['fs_f_r1', { postingDate: '2026-04-10', lines: [{ account: '6200', debitMinor: 1230, creditMinor: 0, memo: 'Taxi' }, { ...LINES[2], creditMinor: 1230 }] }],
      ] as const) {
        const outcome = await connector.post(buildRequest(key, overrides));
        assert.equal(outcome.status, 'created');
        ids[key] = outcome.documentId;
      }
      sim.insertJournal({ narration: 'Accrual entered by hand', date: '2026-04-20', status: 'POSTED', lineAmountTypes: 'NoTax', lines: [] });
      sim.insertJournal({ narration: 'fs_e_r1: a draft', date: '2026-04-20', status: 'DRAFT', lineAmountTypes: 'NoTax', lines: [{ accountCode: '6100', amountMinor: 1, description: '', tracking: [] }, { accountCode: '2100', amountMinor: -1, description: '', tracking: [] }] });
      const voided = await fetch(`${sim.url}/api.xro/2.0/ManualJournals`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TOKEN}`, 'xero-tenant-id': ORG.tenantId, 'Content-Type': 'application/json' },
        body: JSON.stringify({ ManualJournals: [{ ManualJournalID: ids.fs_d_r1, Status: 'VOIDED' }] }),
      });
      assert.equal(voided.status, 200);
      const lines = await readAll(connector, '2026-04');
      const expected = (key: string, amounts: [string, number][]) => amounts.map(([account, amountMinor]) => ({ key, entity: 'DE01', currency: 'EUR', period: '2026-04', account, amountMinor, status: '', document: ids[key] }));
      assert.deepEqual(lines, [
        ...expected('fs_a_r1', [['TRAVEL', 8450], ['6200', 1230], ['2100', -9680]]),
        ...expected('fs_b_r1', [['TRAVEL', 123_456_789_012_345], ['2100', -123_456_789_012_345]]),
        ...expected('fs_f_r1', [['6200', 1230], ['2100', -1230]]),
      ]);
      const pages = sim.traffic().filter((exchange) => exchange.request.method === 'GET').map((exchange) => new URL(exchange.request.url, 'http://x').searchParams);
      assert.deepEqual(pages.map((query) => query.get('page')), ['1', '2']);
      assert.equal(pages[0].get('where'), 'Status=="POSTED" AND Date >= DateTime(2026, 04, 01) AND Date < DateTime(2026, 05, 01) AND Narration.StartsWith("fs_")');
      assert.deepEqual(await readAll(connector, '2026-05'), expected('fs_c_r1', [['TRAVEL', 8450], ['6200', 1230], ['2100', -9680]]).map((line) => ({ ...line, period: '2026-05' })));
    } finally {
      await sim.close();
    }
  });

  test('read-back retries a failed page and then reports what Xero still refuses', async () => {
    const sim = await startSimulator();
    try {
      const connector = connect(sim.url, { readBack: { attempts: 3, retryDelayMs: 1 } });
      assert.equal((await connector.post(buildRequest('fs_retry_r1'))).status, 'created');
      sim.setFaults({ failNext: { count: 2, status: 500 } });
      assert.equal((await readAll(connector, '2026-04')).length, 3);
      sim.setFaults({ failNext: { count: 3, status: 500 } });
      await assert.rejects(readAll(connector, '2026-04'), (error: unknown) => error instanceof XeroReadError && error.kind === 'transient' && error.httpStatus === 500);
      sim.setFaults({});
      sim.changeJournalLine(sim.documents()[0].id, 0, { amountMinor: 845 });
      const tampered = await readAll(connector, '2026-04');
      assert.deepEqual(tampered.map((line) => line.amountMinor), [845, 1230, -9680]);
    } finally {
      await sim.close();
    }
  });
});
