// Proves the S/4HANA connector keeps the TargetConnector contract against its simulator in sync mode: one document per posting, a batch answered item by item in order, every failure classified into its kind (naming the master-data record where S/4HANA's message does), unknown outcomes settled by lookup, and the read-back delivering exactly the lines S/4HANA holds.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { ConnectorError, PostingRequest, PostOutcome } from '../../src/connectors/contract.ts';
import { createS4HanaConnector, type S4HanaConnectorOptions } from '../../src/connectors/s4hana/client.ts';
import { documentMessageId, keyOfReference } from '../../src/connectors/s4hana/mapping.ts';
import { createODataReader } from '../../src/connectors/s4hana/odata.ts';
import { s4hanaJournalLines } from '../../src/connectors/s4hana/readback.ts';
import { startS4HanaSimulator, type S4HanaSimulatorOptions } from '../../src/connectors/s4hana/simulator.ts';
import type { JournalLine } from '../../src/domain/journal.ts';
import { postingKey } from '../../src/domain/keys.ts';
import type { ReconLine } from '../../src/reconciliation/types.ts';

const USER = 'CC_FINSYNC';
const PASSWORD = 'secret-1';

const REFERENCES = {
  subsidiaryId: '1010',
  accounts: { '6100': '61000000', '6200': '62000000', '6300': '63000000', '2100': '21000000', '9999': '99990000' },
  costCenters: { CC1: '4100', CC2: '4200', CC9: '4900' },
  employees: {},
  taxCodes: { VAT19: 'V1', VAT99: 'V9' },
};

const LINES: JournalLine[] = [
  { account: '6100', debitMinor: 8450, creditMinor: 0, costCenter: 'CC1', memo: 'Hotel' },
  { account: '6200', debitMinor: 1230, creditMinor: 0, costCenter: 'CC1', taxCode: 'VAT19', memo: 'Taxi' },
  { account: '2100', debitMinor: 0, creditMinor: 9680, memo: 'Owed to employee' },
];

function buildRequest(reportId: string, options: { lines?: JournalLine[]; currency?: string; postingDate?: string; revision?: number; subsidiaryId?: string } = {}): PostingRequest {
  const revision = options.revision ?? 1;
  return {
    externalKey: postingKey(reportId, revision, 's4hana'),
    correlationId: `corr-${reportId}`,
    references: { ...REFERENCES, subsidiaryId: options.subsidiaryId ?? '1010' },
    journal: { kind: 'journal', reportId, revision, entity: 'DE01', currency: options.currency ?? 'EUR', postingDate: options.postingDate ?? '2026-04-30', memo: `Expense report ${reportId}`, conversions: [], lines: options.lines ?? LINES },
  };
}

function startSimulator(overrides: Partial<S4HanaSimulatorOptions> = {}) {
  return startS4HanaSimulator({
    user: USER,
    password: PASSWORD,
    seed: 11,
    companyCodes: [
      {
        code: '1010',
        glAccounts: ['61000000', '62000000', '63000000', '21000000'],
        blockedGlAccounts: ['63000000'],
        costCenters: ['4100', '4200'],
        blockedCostCenters: ['4200'],
        taxCodes: ['V1'],
        closedPeriods: ['2026-03'],
      },
    ],
    ...overrides,
  });
}

function connect(url: string, overrides: Partial<S4HanaConnectorOptions> = {}) {
  return createS4HanaConnector({ target: 's4hana', baseUrl: url, user: USER, password: PASSWORD, mode: 'sync', requestTimeoutMs: 5000, ...overrides });
}

function expectError(outcome: PostOutcome | { status: string; error?: ConnectorError }, status: 'failed' | 'unknown'): ConnectorError {
  assert.equal(outcome.status, status, JSON.stringify(outcome));
  assert.ok('error' in outcome && outcome.error);
  return outcome.error;
}

function documentIdOf(outcome: PostOutcome): string {
  assert.ok(outcome.status === 'created' || outcome.status === 'already_exists', JSON.stringify(outcome));
  return outcome.documentId;
}

async function collect(source: AsyncIterable<readonly ReconLine[]>): Promise<ReconLine[]> {
  const lines: ReconLine[] = [];
  for await (const batch of source) lines.push(...batch);
  return lines;
}

describe('S/4HANA sync posting against the simulator', () => {
  test('a journal posts as one document whose items carry the amounts and references exactly', async () => {
    const sim = await startSimulator();
    try {
      const connector = connect(sim.url);
      const request = buildRequest('R-1001');
      const outcome = await connector.post(request);
      assert.deepEqual(outcome, { status: 'created', documentId: '1010/0100000001/2026' });
      const [document] = sim.documents();
      assert.equal(sim.documents().length, 1);
      assert.equal(document.messageId, `${document.documentReferenceId}${document.items[0].assignmentReference}`);
      assert.equal(keyOfReference(document.documentReferenceId, document.items[0].assignmentReference), request.externalKey);
      assert.ok(document.items.every((item) => item.assignmentReference === document.items[0].assignmentReference));
      assert.deepEqual(
        document.items.map((item) => [item.glAccount, item.amountMinor, item.debitCreditCode, item.costCenter ?? '', item.taxCode ?? '']),
        [['61000000', 8450, 'S', '4100', ''], ['62000000', 1230, 'S', '4100', 'V1'], ['21000000', -9680, 'H', '', '']],
      );
      assert.deepEqual(await connector.lookup(request.externalKey), { status: 'found', documentId: '1010/0100000001/2026' });
      assert.deepEqual(await connector.lookup(postingKey('R-404', 1, 's4hana')), { status: 'absent' });
    } finally {
      await sim.close();
    }
  });

  test('a batch answers one outcome per request in order; the failing item does not stop the others, and is posted alone once fixed', async () => {
    const sim = await startSimulator();
    try {
      const connector = connect(sim.url);
      assert.equal(connector.maxBatch, 50);
      const blocked = buildRequest('R-2002', { lines: [{ account: '6300', debitMinor: 500, creditMinor: 0, memo: 'Blocked account' }, { account: '2100', debitMinor: 0, creditMinor: 500, memo: 'Owed' }] });
      const outcomes = await connector.postBatch([buildRequest('R-2001'), blocked, buildRequest('R-2003')]);
      assert.equal(sim.stats().requests, 1);
      assert.deepEqual(outcomes.map((o) => o.status), ['created', 'failed', 'created']);
      const error = expectError(outcomes[1], 'failed');
      assert.deepEqual([error.kind, error.vendorCode, error.field, error.value], ['invalid', '351(F5)', 'account', '63000000']);
      assert.ok(error.raw?.includes(documentMessageId(blocked.externalKey)));
      assert.ok(!error.raw?.includes(documentMessageId(buildRequest('R-2001').externalKey)));
      assert.deepEqual(sim.documents().map((d) => d.documentId), [documentIdOf(outcomes[0]), documentIdOf(outcomes[2])]);
      const fixed = { ...blocked, journal: { ...blocked.journal, lines: blocked.journal.lines.map((line) => (line.account === '6300' ? { ...line, account: '6100' } : line)) } };
      const retried = await connector.post(fixed);
      assert.equal(retried.status, 'created');
      assert.equal(sim.documents().length, 3);
      assert.equal(sim.stats().duplicateReferences, 0);
    } finally {
      await sim.close();
    }
  });

  test('master-data refusals are invalid and name the record; other refusals are invalid without a field', async () => {
    const sim = await startSimulator();
    try {
      const connector = connect(sim.url);
      const twoLines = (line: Partial<JournalLine>): JournalLine[] => [
        { account: '6100', debitMinor: 100, creditMinor: 0, memo: 'expense', ...line },
        { account: '2100', debitMinor: 0, creditMinor: 100, memo: 'owed' },
      ];
      const cases: { request: PostingRequest; vendorCode: string; field?: string; value?: string }[] = [
        { request: buildRequest('R-3001', { lines: twoLines({ account: '9999' }) }), vendorCode: '153(F5)', field: 'account', value: '99990000' },
        { request: buildRequest('R-3002', { lines: twoLines({ costCenter: 'CC9' }) }), vendorCode: '248(KI)', field: 'costCenter', value: '4900' },
        { request: buildRequest('R-3003', { lines: twoLines({ costCenter: 'CC2' }) }), vendorCode: '235(KI)', field: 'costCenter', value: '4200' },
        { request: buildRequest('R-3004', { lines: twoLines({ taxCode: 'VAT99' }) }), vendorCode: '704(FF)', field: 'taxCode', value: 'V9' },
        { request: buildRequest('R-3005', { subsidiaryId: '9999' }), vendorCode: '165(F5)', field: 'companyCode', value: '9999' },
        { request: buildRequest('R-3006', { postingDate: '2026-03-31' }), vendorCode: '201(F5)' },
        { request: buildRequest('R-3007', { lines: [{ account: '6100', debitMinor: 101, creditMinor: 0, memo: 'one cent too much' }, { account: '2100', debitMinor: 0, creditMinor: 100, memo: 'owed' }] }), vendorCode: '702(F5)' },
      ];
      for (const c of cases) {
        const error = expectError(await connector.post(c.request), 'failed');
        assert.equal(error.kind, 'invalid', c.vendorCode);
        assert.equal(error.vendorCode, c.vendorCode);
        assert.equal(error.field, c.field, c.vendorCode);
        assert.equal(error.value, c.value, c.vendorCode);
        assert.match(error.message, /then replay/);
      }
      assert.equal(sim.documents().length, 0);
    } finally {
      await sim.close();
    }
  });

  test('wrong credentials and a missing authorization are auth failures', async () => {
    const sim = await startSimulator({ forbidden: ['read'] });
    try {
      const wrong = expectError(await connect(sim.url, { password: 'wrong' }).post(buildRequest('R-4001')), 'failed');
      assert.deepEqual([wrong.kind, wrong.vendorCode, wrong.httpStatus], ['auth', 'HTTP_401', 401]);
      const lookup = await connect(sim.url).lookup(postingKey('R-4001', 1, 's4hana'));
      assert.equal(lookup.status, 'failed');
      assert.deepEqual(lookup.status === 'failed' && [lookup.error.kind, lookup.error.httpStatus], ['auth', 403]);
      assert.equal(sim.documents().length, 0);
    } finally {
      await sim.close();
    }
    const postForbidden = await startSimulator({ forbidden: ['post'] });
    try {
      const error = expectError(await connect(postForbidden.url).post(buildRequest('R-4002')), 'failed');
      assert.deepEqual([error.kind, error.httpStatus], ['auth', 403]);
    } finally {
      await postForbidden.close();
    }
  });

  test('a 429 burst is rate_limited with Retry-After, and nothing is posted', async () => {
    const sim = await startSimulator({ faults: { rateLimitBurstRate: 1, burstLength: 1 } });
    try {
      const error = expectError(await connect(sim.url).post(buildRequest('R-5001')), 'failed');
      assert.deepEqual([error.kind, error.vendorCode, error.retryAfterMs], ['rate_limited', 'HTTP_429', 1000]);
      assert.equal(sim.documents().length, 0);
    } finally {
      await sim.close();
    }
  });

  test('a maintenance window is unavailable with Retry-After until it ends; a refused connection is unavailable too', async () => {
    const nowMs = 2_000_000;
    const sim = await startSimulator({ now: () => nowMs });
    try {
      sim.setMaintenance({ fromMs: nowMs - 1000, toMs: nowMs + 59_500 });
      const error = expectError(await connect(sim.url).post(buildRequest('R-6001')), 'failed');
      assert.deepEqual([error.kind, error.httpStatus, error.retryAfterMs], ['unavailable', 503, 60_000]);
      sim.setMaintenance(null);
      assert.equal((await connect(sim.url).post(buildRequest('R-6001'))).status, 'created');
    } finally {
      await sim.close();
    }
    // A simulator that never served a request: no pooled connection to it can be cut instead.
    const gone = await startSimulator();
    await gone.close();
    const refused = expectError(await connect(gone.url).post(buildRequest('R-6002')), 'failed');
    assert.deepEqual([refused.kind, refused.vendorCode], ['unavailable', 'ECONNREFUSED']);
  });

  test('a lock conflict fails transiently; a 500 fault is unknown, and lookup before the resend finds nothing to duplicate', async () => {
    const sim = await startSimulator({ faults: { lockedRate: 1 } });
    try {
      const connector = connect(sim.url);
      const locked = expectError(await connector.post(buildRequest('R-7001')), 'failed');
      assert.deepEqual([locked.kind, locked.vendorCode], ['transient', '601(MC)']);
      sim.setFaults({ serverErrorRate: 1 });
      const fault = expectError(await connector.post(buildRequest('R-7001')), 'unknown');
      assert.deepEqual([fault.kind, fault.vendorCode, fault.httpStatus], ['transient', 'SOAP_FAULT_SERVER', 500]);
      assert.deepEqual(await connector.lookup(buildRequest('R-7001').externalKey), { status: 'absent' });
      sim.setFaults({});
      assert.equal((await connector.post(buildRequest('R-7001'))).status, 'created');
      assert.equal(sim.documents().length, 1);
    } finally {
      await sim.close();
    }
  });

  test('a wrong service path is not_found, for posting and for the read service', async () => {
    const sim = await startSimulator();
    try {
      const post = expectError(await connect(sim.url, { syncPath: '/sap/bc/srt/scs_ext/sap/nosuchservice' }).post(buildRequest('R-8001')), 'failed');
      assert.deepEqual([post.kind, post.httpStatus], ['not_found', 404]);
      const lookup = await connect(sim.url, { odataServicePath: '/sap/opu/odata/sap/API_NOSUCH_SRV' }).lookup(buildRequest('R-8001').externalKey);
      assert.deepEqual(lookup.status === 'failed' && [lookup.error.kind, lookup.error.httpStatus], ['not_found', 404]);
    } finally {
      await sim.close();
    }
  });

  test('an answer finsync does not recognise is invalid UNCLASSIFIED with the raw answer kept', async () => {
    const sim = await startSimulator({ faults: { logonPageRate: 1 } });
    try {
      const error = expectError(await connect(sim.url).post(buildRequest('R-9001')), 'failed');
      assert.deepEqual([error.kind, error.vendorCode, error.httpStatus], ['invalid', 'UNCLASSIFIED', 200]);
      assert.match(error.raw ?? '', /j_password/);
      assert.equal(sim.documents().length, 0);
    } finally {
      await sim.close();
    }
  });

  test('a timeout after S/4HANA committed is unknown, and lookup then finds the one document', async () => {
    const sim = await startSimulator({ faults: { timeoutAfterCommitRate: 1, holdMs: 60_000 } });
    try {
      const impatient = connect(sim.url, { requestTimeoutMs: 300 });
      const connector = connect(sim.url);
      const error = expectError(await impatient.post(buildRequest('R-10001')), 'unknown');
      assert.deepEqual([error.kind, error.vendorCode], ['transient', 'TIMEOUT']);
      assert.deepEqual(await connector.lookup(buildRequest('R-10001').externalKey), { status: 'found', documentId: sim.documents()[0].documentId });
      assert.equal(sim.documents().length, 1);
      sim.setFaults({ timeoutAfterCommitRate: 1, holdMs: 30 });
      const cut = expectError(await connect(sim.url).post(buildRequest('R-10002')), 'unknown');
      assert.equal(cut.vendorCode, 'ECONNRESET');
      assert.equal((await connector.lookup(buildRequest('R-10002').externalKey)).status, 'found');
    } finally {
      await sim.close();
    }
  });

  test('a duplicate message ID refused by S/4HANA settles as already_exists, or as a conflict when the document is gone', async () => {
    const sim = await startSimulator({ duplicateHandling: 'reject-message-id' });
    try {
      const connector = connect(sim.url);
      const request = buildRequest('R-11001');
      const first = await connector.post(request);
      assert.deepEqual(await connector.post(request), { status: 'already_exists', documentId: documentIdOf(first) });
      assert.equal(sim.documents().length, 1);
      assert.equal(sim.removeDocument(documentIdOf(first)), true);
      const conflict = expectError(await connector.post(request), 'failed');
      assert.deepEqual([conflict.kind, conflict.vendorCode], ['conflict', '012(FINS_JE_API)']);
      assert.equal(sim.documents().length, 0);
    } finally {
      await sim.close();
    }
  });

  test('a key S/4HANA cannot carry, or a missing company code, is refused without sending anything', async () => {
    const sim = await startSimulator();
    try {
      const connector = connect(sim.url);
      const longKey = { ...buildRequest('R-12001'), externalKey: postingKey('R-12001', 10_000, 's4hana', 'reversal') };
      const tooLong = expectError(await connector.post(longKey), 'failed');
      assert.deepEqual([tooLong.kind, tooLong.vendorCode], ['invalid', 'KEY_UNSUPPORTED']);
      const noCompany = expectError(await connector.post(buildRequest('R-12002', { subsidiaryId: '' })), 'failed');
      assert.deepEqual([noCompany.kind, noCompany.vendorCode], ['invalid', 'COMPANY_CODE_MISSING']);
      assert.deepEqual(await connector.lookup(longKey.externalKey), { status: 'absent' });
      assert.equal(sim.stats().requests, 0);
      const mapped = connect(sim.url, { companyCodeOf: (entity) => (entity === 'DE01' ? '1010' : undefined) });
      assert.equal((await mapped.post(buildRequest('R-12002', { subsidiaryId: '' }))).status, 'created');
    } finally {
      await sim.close();
    }
  });
});

describe('S/4HANA read-back against the simulator', () => {
  const accountCodeOf = (glAccount: string) => ({ '61000000': '6100', '62000000': '6200', '21000000': '2100' })[glAccount];

  test('the read-back delivers exactly one line per item of the period, in minor units, across server-cut pages', async () => {
    const sim = await startSimulator({ ledgers: ['0L', '2L'], odataPageSizeMax: 2, glAccountLeadingZeros: true });
    try {
      const connector = connect(sim.url);
      const april = await connector.postBatch([buildRequest('R-13001'), buildRequest('R-13002', { currency: 'JPY', lines: [{ account: '6100', debitMinor: 12000, creditMinor: 0, memo: 'Ryokan' }, { account: '2100', debitMinor: 0, creditMinor: 12000, memo: 'Owed' }] })]);
      await connector.post(buildRequest('R-13003', { postingDate: '2026-05-02' }));
      const source = connector.readBack({ entity: 'DE01', subsidiaryId: '1010', period: '2026-04', accountCodeOf });
      assert.equal(source.side, 'erp');
      const lines = await collect(source.batches);
      const key1 = buildRequest('R-13001').externalKey;
      const key2 = buildRequest('R-13002').externalKey;
      const line = (key: string, currency: string, account: string, amountMinor: number, document: string): ReconLine => ({ key, entity: 'DE01', currency, period: '2026-04', account, amountMinor, status: '', document });
      assert.deepEqual(lines, [
        line(key1, 'EUR', '6100', 8450, documentIdOf(april[0])),
        line(key1, 'EUR', '6200', 1230, documentIdOf(april[0])),
        line(key1, 'EUR', '2100', -9680, documentIdOf(april[0])),
        line(key2, 'JPY', '6100', 12000, documentIdOf(april[1])),
        line(key2, 'JPY', '2100', -12000, documentIdOf(april[1])),
      ]);
    } finally {
      await sim.close();
    }
  });

  test('paging with a small $top reads every line once; an unknown account keeps a code of its own', async () => {
    const sim = await startSimulator();
    try {
      const connector = connect(sim.url);
      const requests = Array.from({ length: 7 }, (_, i) => buildRequest(`R-14${String(i).padStart(3, '0')}`));
      await connector.postBatch(requests);
      const reader = createODataReader({ baseUrl: sim.url, user: USER, password: PASSWORD, requestTimeoutMs: 5000 });
      const lines = await collect(s4hanaJournalLines(reader, { companyCode: '1010', entity: 'DE01', period: '2026-04', accountCodeOf: () => undefined, pageSize: 4 }).batches);
      assert.equal(lines.length, 21);
      assert.deepEqual([...new Set(lines.map((l) => l.key))].sort(), requests.map((r) => r.externalKey).sort());
      assert.deepEqual([...new Set(lines.map((l) => l.account))].sort(), ['s4hana:21000000', 's4hana:61000000', 's4hana:62000000']);
      assert.equal(lines.reduce((sum, l) => sum + l.amountMinor, 0), 0);
    } finally {
      await sim.close();
    }
  });
});
