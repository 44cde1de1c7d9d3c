// Proves the file ERP connector keeps the connector contract against its simulator in temp folders: a batch file is imported and each journal answered once with the ERP's journal id; a partly rejected batch gives created and failed (naming the account or cost center) per journal and never sends an accepted journal again; a control total that does not match rejects the whole file; no answer in time is unknown and lookup settles it from the files once the ERP catches up, also after a crash between import and answer; a repeated batch is refused as a duplicate; a half-written file is never picked up; and readBack returns exactly the ERP's lines of our journals.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConnectorError, LookupOutcome, PostOutcome, PostingRequest, TargetConnector } from '../../src/connectors/contract.ts';
import type { JournalLine } from '../../src/domain/journal.ts';
import { postingKey } from '../../src/domain/keys.ts';
import { createFileErpConnector, type FileErpConnectorOptions } from '../../src/connectors/file-erp/client.ts';
import { readRejFile } from '../../src/connectors/file-erp/layout-answers.ts';
import { batchIdOf } from '../../src/connectors/file-erp/mapping.ts';
import { FileErpReadbackError } from '../../src/connectors/file-erp/readback.ts';
import { startFileErpSimulator, type FileErpSimulator, type FileErpSimulatorOptions, type MasterData } from '../../src/connectors/file-erp/simulator.ts';
import type { ReconLine } from '../../src/reconciliation/types.ts';

const PREFIX = 'FSGL';
const MASTER_DATA: MasterData = {
  ledgers: ['L1', 'L2'],
  openPeriods: ['2026-04'],
  accounts: ['6100', '6200', '2100', '6999'],
  closedAccounts: ['6999'],
  costCenters: ['CC100', 'CC200'],
  closedCostCenters: ['CC200'],
  companies: ['DE01'],
};
const REFERENCES = {
  subsidiaryId: 'L1',
  accounts: { '6100': '6100', '6200': '6200', '2100': '2100', '6999': '6999' },
  costCenters: { CC1: 'CC100', CC2: 'CC200', CC3: 'CC300' },
  employees: { E1: '301' },
  taxCodes: {},
};

function key(n: number): string {
  return postingKey(`R-${n}`, 1, 'ledger-file');
}

function request(n: number, options: { lines?: JournalLine[]; currency?: string; postingDate?: string } = {}): PostingRequest {
  const externalKey = key(n);
  return {
    externalKey,
    correlationId: `corr-${n}`,
    references: REFERENCES,
    journal: {
      kind: 'journal', reportId: `R-${n}`, revision: 1, entity: 'DE01', currency: options.currency ?? 'EUR', postingDate: options.postingDate ?? '2026-04-30',
      memo: `Expense report R-${n}, "Berlin, trip"`, conversions: [],
      lines: options.lines ?? [
        { account: '6100', debitMinor: 8450 + n, creditMinor: 0, costCenter: 'CC1', employeeId: 'E1', memo: 'Hotel,\nBerlin' },
        { account: '6200', debitMinor: 1230, creditMinor: 0, memo: 'Taxi' },
        { account: '2100', debitMinor: 0, creditMinor: 9680 + n, employeeId: 'E1', memo: 'Owed to employee' },
      ],
    },
  };
}

interface Setup {
  readonly root: string;
  readonly outboxDir: string;
  readonly inboxDir: string;
  readonly archiveDir: string;
  readonly erpArchiveDir: string;
  readonly sim: FileErpSimulator;
  readonly connector: TargetConnector;
  readonly clock: { now(): number; advance(ms: number): void };
  connect(overrides?: Partial<FileErpConnectorOptions>): TargetConnector;
  close(): Promise<void>;
}

async function setUp(overrides: { sim?: Partial<FileErpSimulatorOptions>; connector?: Partial<FileErpConnectorOptions> } = {}): Promise<Setup> {
  const root = await mkdtemp(join(tmpdir(), 'file-erp-'));
  const [outboxDir, inboxDir, archiveDir, erpArchiveDir] = ['outbox', 'inbox', 'archive', 'erp-archive'].map((name) => join(root, name));
  for (const dir of [outboxDir, inboxDir, archiveDir]) await mkdir(dir);
  let nowMs = Date.parse('2026-04-30T10:00:00Z');
  const clock = { now: () => nowMs, advance: (ms: number) => void (nowMs += ms) };
  const sim = await startFileErpSimulator({ outboxDir, inboxDir, archiveDir: erpArchiveDir, filePrefix: PREFIX, seed: 11, masterData: MASTER_DATA, pollIntervalMs: 5, now: clock.now, ...overrides.sim });
  const connect = (more: Partial<FileErpConnectorOptions> = {}) =>
    createFileErpConnector({ target: 'ledger-file', outboxDir, inboxDir, archiveDir, filePrefix: PREFIX, ackWaitMs: 10_000, pollIntervalMs: 5, now: clock.now, ...overrides.connector, ...more });
  return {
    root, outboxDir, inboxDir, archiveDir, erpArchiveDir, sim, clock, connect, connector: connect(),
    async close() {
      await sim.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Awaits a condition on the folders (files written by the other side), checking every few milliseconds; fails after 10 s. */
async function until(condition: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await condition()) return;
    await sleep(5);
  }
  assert.fail(`timed out waiting for ${what}`);
}

function expectError(outcome: PostOutcome | LookupOutcome, status: 'failed' | 'unknown'): ConnectorError {
  assert.equal(outcome.status, status, JSON.stringify(outcome));
  assert.ok('error' in outcome);
  return outcome.error;
}

function documentIdOf(sim: FileErpSimulator, externalKey: string): string {
  const found = sim.documents().filter((journal) => journal.journalName === externalKey);
  assert.equal(found.length, 1, `${externalKey} is in the ledger ${found.length} times`);
  return found[0].id;
}

const batchFiles = async (dir: string) => (await readdir(dir)).filter((name) => /^FSGL_[0-9a-f]{20}\.csv$/.test(name));

describe('file ERP connector against the simulator', () => {
  test('one batch is imported: every journal created with its ERP journal id, answers archived, a repeat never written again', async () => {
    const s = await setUp();
    try {
      assert.equal(s.connector.maxConcurrency, 1);
      assert.equal(s.connector.maxBatch, 200);
      const requests = [request(1), request(2), request(3, { currency: 'JPY', lines: [{ account: '6100', debitMinor: 12_000, creditMinor: 0, memo: 'Hotel' }, { account: '2100', debitMinor: 0, creditMinor: 12_000, memo: 'Owed' }] })];
      const outcomes = await s.connector.postBatch!(requests);
      assert.deepEqual(outcomes, requests.map((r) => ({ status: 'created', documentId: documentIdOf(s.sim, r.externalKey) })));
      const [first] = s.sim.documents();
      assert.deepEqual(first.lines.map((line) => [line.account, line.costCenter, line.debitMinor, line.creditMinor, line.description]), [
        ['6100', 'CC100', 8451, 0, 'Hotel, Berlin'], ['6200', '', 1230, 0, 'Taxi'], ['2100', '', 0, 9681, 'Owed to employee'],
      ]);
      assert.deepEqual(await readdir(s.inboxDir), [], 'the answers moved to the archive');
      const batchId = batchIdOf(requests.map((r) => r.externalKey));
      assert.ok((await readdir(s.archiveDir)).includes(`FSGL_${batchId}.ack`));
      assert.equal((await readdir(join(s.archiveDir, 'sent'))).length, 1);
      assert.deepEqual(await readdir(s.erpArchiveDir), ['R000001_FSGL_' + batchId + '.csv', 'work']);
      for (const r of requests) assert.deepEqual(await s.connector.lookup(r.externalKey), { status: 'found', documentId: documentIdOf(s.sim, r.externalKey) });
      assert.deepEqual(await s.connector.lookup(key(99)), { status: 'absent' });
      // A repeat is settled from the files: nothing is written, the ERP sees one file.
      assert.deepEqual(await s.connector.post(requests[0]), { status: 'already_exists', documentId: documentIdOf(s.sim, requests[0].externalKey) });
      assert.equal(s.sim.runs().length, 1);
      // State comes from files: a new connector (a restarted hub) knows the same.
      assert.deepEqual(await s.connect().lookup(requests[2].externalKey), { status: 'found', documentId: documentIdOf(s.sim, requests[2].externalKey) });
    } finally {
      await s.close();
    }
  });

  test('a partly rejected batch: accepted journals created, rejected ones failed naming account, cost center or period, and accepted ones never sent again', async () => {
    const s = await setUp();
    try {
      const good = request(1);
      const closedAccount = request(2, { lines: [{ account: '6999', debitMinor: 500, creditMinor: 0, memo: 'closed' }, { account: '2100', debitMinor: 0, creditMinor: 500, memo: 'owed' }] });
      const unknownCostCenter = request(3, { lines: [{ account: '6100', debitMinor: 700, creditMinor: 0, costCenter: 'CC3', memo: 'unknown cc' }, { account: '2100', debitMinor: 0, creditMinor: 700, memo: 'owed' }] });
      const closedPeriod = request(4, { postingDate: '2026-03-31' });
      const outcomes = await s.connector.postBatch!([good, closedAccount, unknownCostCenter, closedPeriod]);
      assert.deepEqual(outcomes[0], { status: 'created', documentId: documentIdOf(s.sim, good.externalKey) });
      const account = expectError(outcomes[1], 'failed');
      assert.deepEqual([account.kind, account.vendorCode, account.field, account.value], ['invalid', 'ACCOUNT_CLOSED', 'account', '6999']);
      assert.match(account.message, /reopen the account/);
      assert.match(account.raw ?? '', /^R,\d+,fs_\w+,SEGMENT2,6999,ACCOUNT_CLOSED,/);
      const costCenter = expectError(outcomes[2], 'failed');
      assert.deepEqual([costCenter.kind, costCenter.vendorCode, costCenter.field, costCenter.value], ['invalid', 'COST_CENTER_UNKNOWN', 'department', 'CC300']);
      const period = expectError(outcomes[3], 'failed');
      assert.deepEqual([period.kind, period.vendorCode, period.field, period.value], ['invalid', 'PERIOD_CLOSED', 'period', '2026/03/31']);
      assert.deepEqual(s.sim.documents().map((journal) => journal.journalName), [good.externalKey]);
      assert.deepEqual(await s.connector.lookup(closedAccount.externalKey), { status: 'absent' });
      // The ERP's data is fixed; a caller sends the whole set again: the accepted journal is not resent.
      s.sim.updateMasterData({ closedAccounts: [], costCenters: ['CC100', 'CC200', 'CC300'] });
      const again = await s.connector.postBatch!([good, closedAccount, unknownCostCenter, closedPeriod]);
      assert.deepEqual(again.slice(0, 3), [
        { status: 'already_exists', documentId: documentIdOf(s.sim, good.externalKey) },
        { status: 'created', documentId: documentIdOf(s.sim, closedAccount.externalKey) },
        { status: 'created', documentId: documentIdOf(s.sim, unknownCostCenter.externalKey) },
      ]);
      assert.equal(expectError(again[3], 'failed').vendorCode, 'PERIOD_CLOSED');
      assert.deepEqual(s.sim.runs().map((run) => [run.outcome, run.accepted, run.rejected]), [['partly_rejected', 1, 3], ['partly_rejected', 2, 1]]);
      assert.equal(s.sim.documents().length, 3);
    } finally {
      await s.close();
    }
  });

  test('a control total that does not match the lines: the whole file is rejected, every journal failed with that reason, nothing imported', async () => {
    const s = await setUp({ sim: { autoPoll: false } });
    try {
      const posting = s.connector.postBatch!([request(1), request(2)]);
      await until(async () => (await batchFiles(s.outboxDir)).length === 1, 'the batch file');
      const [name] = await batchFiles(s.outboxDir);
      // The file is changed on its way (a transfer that altered a digit), atomically so the ERP sees only the changed one.
      const text = await readFile(join(s.outboxDir, name), 'utf8');
      const tampered = text.replace(/^C,EUR,6,([0-9.]+),/m, (_, total: string) => `C,EUR,6,${(Number(total) + 1).toFixed(2)},`);
      assert.notEqual(tampered, text);
      await writeFile(join(s.outboxDir, '.tampered.tmp'), tampered);
      await rename(join(s.outboxDir, '.tampered.tmp'), join(s.outboxDir, name));
      await s.sim.runOnce();
      const outcomes = await posting;
      for (const outcome of outcomes) {
        const error = expectError(outcome, 'failed');
        assert.deepEqual([error.kind, error.vendorCode], ['transient', 'CONTROL_TOTAL_MISMATCH']);
        assert.match(error.message, /whole file/);
        assert.match(error.raw ?? '', /^F,\d+,TOTAL_DR,/);
      }
      assert.deepEqual(s.sim.documents(), []);
      assert.deepEqual(await s.connector.lookup(key(1)), { status: 'absent' });
    } finally {
      await s.close();
    }
  });

  test('no answer in time is unknown for every journal; lookup reports pending (never absent) until the ERP picks the file up, then finds each journal', async () => {
    const s = await setUp({ sim: { autoPoll: false, faults: { slowPickupRate: 1, pickupDelayMs: 60_000 } }, connector: { ackWaitMs: 100 } });
    try {
      const requests = [request(1), request(2)];
      const posting = s.connector.postBatch!(requests);
      await until(async () => (await batchFiles(s.outboxDir)).length === 1, 'the batch file');
      const [name] = await batchFiles(s.outboxDir);
      assert.deepEqual(await s.sim.runOnce(), { processed: [], deferred: [name] });
      for (const outcome of await posting) {
        const error = expectError(outcome, 'unknown');
        assert.deepEqual([error.kind, error.vendorCode], ['unavailable', 'NOT_PICKED_UP']);
      }
      const pending = expectError(await s.connector.lookup(key(1)), 'failed');
      assert.deepEqual([pending.kind, pending.vendorCode], ['unavailable', 'ANSWER_PENDING']);
      // A resend meanwhile is held back rather than written a second time.
      assert.equal(expectError(await s.connector.post(requests[0]), 'unknown').vendorCode, 'ANSWER_PENDING');
      assert.deepEqual(await batchFiles(s.outboxDir), [name]);
      s.clock.advance(60_000);
      assert.deepEqual(await s.sim.runOnce(), { processed: [name], deferred: [] });
      for (const r of requests) assert.deepEqual(await s.connector.lookup(r.externalKey), { status: 'found', documentId: documentIdOf(s.sim, r.externalKey) });
    } finally {
      await s.close();
    }
  });

  test('a crash between import and answer: lookup reports pending, a resend is held back, and after the restart lookup finds the journals once', async () => {
    const s = await setUp({ sim: { faults: { crashAfterImportRate: 1 } }, connector: { ackWaitMs: 200 } });
    try {
      const requests = [request(1), request(2)];
      const outcomes = await s.connector.postBatch!(requests);
      assert.equal(s.sim.status(), 'crashed');
      assert.equal(s.sim.documents().length, 2, 'the journals are in the ledger');
      for (const outcome of outcomes) assert.deepEqual([expectError(outcome, 'unknown').kind, expectError(outcome, 'unknown').vendorCode], ['unavailable', 'NO_ANSWER']);
      const pending = expectError(await s.connector.lookup(key(2)), 'failed');
      assert.deepEqual([pending.kind, pending.vendorCode], ['transient', 'ANSWER_PENDING']);
      for (const outcome of await s.connector.postBatch!(requests)) assert.equal(expectError(outcome, 'unknown').vendorCode, 'ANSWER_PENDING');
      assert.deepEqual(await batchFiles(s.outboxDir), []);
      s.sim.setFaults({});
      await s.sim.start();
      for (const r of requests) assert.deepEqual(await s.connector.lookup(r.externalKey), { status: 'found', documentId: documentIdOf(s.sim, r.externalKey) });
      assert.deepEqual(await s.connector.post(requests[1]), { status: 'already_exists', documentId: documentIdOf(s.sim, requests[1].externalKey) });
      assert.equal(s.sim.documents().length, 2);
    } finally {
      await s.close();
    }
  });

  test('a batch file sent again is refused as a duplicate batch: nothing imported twice, and the sender is told conflict', async () => {
    const s = await setUp();
    try {
      const requests = [request(1), request(2)];
      await s.connector.postBatch!(requests);
      const batchId = batchIdOf(requests.map((r) => r.externalKey));
      // An operator copies the processed file back into the outbox.
      await copyFile(join(s.erpArchiveDir, `R000001_FSGL_${batchId}.csv`), join(s.outboxDir, '.copy.tmp'));
      await rename(join(s.outboxDir, '.copy.tmp'), join(s.outboxDir, `FSGL_${batchId}.csv`));
      await until(() => s.sim.runs().length === 2, 'the second run');
      assert.equal(s.sim.runs()[1].outcome, 'duplicate_batch');
      const refusal = readRejFile(await readFile(join(s.inboxDir, `FSGL_${batchId}.rej`), 'utf8'));
      assert.equal(refusal.fileRejections[0].reasonCode, 'DUPLICATE_BATCH');
      // A hub that lost its archive sends the same set: same batch id, refused; each journal is a conflict, not a second import.
      const forgetful = s.connect({ archiveDir: join(s.root, 'lost-archive') });
      await mkdir(join(s.root, 'lost-archive'));
      for (const outcome of await forgetful.postBatch!(requests)) {
        const error = expectError(outcome, 'failed');
        assert.deepEqual([error.kind, error.vendorCode], ['conflict', 'DUPLICATE_BATCH']);
      }
      assert.equal(expectError(await forgetful.lookup(key(1)), 'failed').kind, 'conflict');
      assert.equal(s.sim.documents().length, 2);
      assert.ok((await readdir(join(s.root, 'lost-archive'))).includes(`FSGL_${batchId}.2.rej`), 'the second refusal did not replace the first');
      for (const r of requests) assert.deepEqual(await s.connector.lookup(r.externalKey), { status: 'found', documentId: documentIdOf(s.sim, r.externalKey) });
    } finally {
      await s.close();
    }
  });

  test('with the ERP checking REFERENCE4, a journal already in the ledger is already_exists with that journal id', async () => {
    const s = await setUp({ sim: { duplicateJournals: 'refuse' } });
    try {
      const id = s.sim.insertJournal({ journalName: key(1), ledgerId: 'L1', accountingDate: '2026-04-30', currency: 'EUR', category: 'Manual', source: 'Manual', description: 'keyed in by hand', lines: [] });
      const outcomes = await s.connector.postBatch!([request(1), request(2)]);
      assert.deepEqual(outcomes, [{ status: 'already_exists', documentId: id }, { status: 'created', documentId: documentIdOf(s.sim, key(2)) }]);
      assert.deepEqual(await s.connector.lookup(key(1)), { status: 'found', documentId: id });
    } finally {
      await s.close();
    }
  });

  test('a half-written file is never picked up; a final-named file without its trailer is rejected, not half imported', async () => {
    const s = await setUp({ sim: { autoPoll: false } });
    try {
      const posting = s.connector.post(request(1));
      await until(async () => (await batchFiles(s.outboxDir)).length === 1, 'the batch file');
      const [name] = await batchFiles(s.outboxDir);
      const whole = await readFile(join(s.outboxDir, name), 'utf8');
      await s.sim.runOnce();
      assert.equal((await posting).status, 'created');
      // A writer still busy: only the temp name exists, however many rounds pass.
      const half = whole.slice(0, Math.floor(whole.length / 2));
      const other = `FSGL_${'a'.repeat(20)}.csv`;
      await writeFile(join(s.outboxDir, `.${other}.20260430-1.tmp`), half);
      for (let round = 0; round < 3; round++) assert.deepEqual(await s.sim.runOnce(), { processed: [], deferred: [] });
      assert.deepEqual((await readdir(s.outboxDir)).sort(), [`.${other}.20260430-1.tmp`]);
      // A careless writer that used the final name at once: the missing trailer gives it away.
      await writeFile(join(s.outboxDir, other), whole.replace(/^T,.*\n$/m, '').replaceAll(name.slice(5, 25), 'a'.repeat(20)));
      await s.sim.runOnce();
      const rej = readRejFile(await readFile(join(s.inboxDir, `FSGL_${'a'.repeat(20)}.rej`), 'utf8'));
      assert.equal(rej.fileRejections[0].reasonCode, 'FILE_UNREADABLE');
      assert.match(rej.fileRejections[0].message, /incomplete/);
      assert.equal(s.sim.documents().length, 1);
    } finally {
      await s.close();
    }
  });

  test('an outbox that cannot be used fails every journal as unavailable, with nothing sent', async () => {
    const s = await setUp();
    try {
      const connector = s.connect({ outboxDir: join(s.root, 'missing') });
      for (const outcome of await connector.postBatch!([request(1), request(2)])) assert.equal(expectError(outcome, 'failed').kind, 'unavailable');
      assert.equal(expectError(await connector.lookup(key(1)), 'failed').kind, 'unavailable');
      assert.deepEqual(s.sim.documents(), []);
    } finally {
      await s.close();
    }
  });
});

describe('file ERP read-back against the simulator', () => {
  let s: Setup;
  const ACCOUNT_CODES = new Map([['6100', '6110'], ['6200', '6210']]);
  const scope = { entity: 'DE01', subsidiaryId: 'L1', period: '2026-04', accountCodeOf: (id: string) => ACCOUNT_CODES.get(id) };

  before(async () => {
    s = await setUp();
    await s.connector.postBatch!([request(1), request(2), request(3, { currency: 'JPY', lines: [{ account: '6100', debitMinor: 12_000, creditMinor: 0, memo: 'Hotel' }, { account: '2100', debitMinor: 0, creditMinor: 12_000, memo: 'Owed' }] })]);
    const foreign = { ledgerId: 'L1', accountingDate: '2026-04-15', currency: 'EUR', category: 'Manual', source: 'Manual', description: 'not ours' };
    const lines = [{ lineNumber: 1, company: 'DE01', account: '6100', costCenter: '', debitMinor: 10, creditMinor: 0, description: '' }, { lineNumber: 2, company: 'DE01', account: '2100', costCenter: '', debitMinor: 0, creditMinor: 10, description: '' }];
    s.sim.insertJournal({ ...foreign, journalName: 'MANUAL-7', lines });
    s.sim.insertJournal({ ...foreign, journalName: key(50), ledgerId: 'L2', lines });
    s.sim.insertJournal({ ...foreign, journalName: key(51), accountingDate: '2026-05-01', lines });
  });
  after(() => s.close());

  test('readBack returns exactly the lines of our journals in the ledger and period, amounts in minor units', async () => {
    const source = s.connector.readBack!(scope);
    assert.equal(source.side, 'erp');
    const lines: ReconLine[] = [];
    for await (const batch of source.batches) lines.push(...batch);
    const expected = s.sim
      .documents()
      .filter((journal) => journal.journalName.startsWith('fs_') && journal.ledgerId === 'L1' && journal.accountingDate.startsWith('2026-04'))
      .flatMap((journal) =>
        journal.lines.map((line) => ({
          key: journal.journalName, entity: 'DE01', currency: journal.currency, period: '2026-04', account: ACCOUNT_CODES.get(line.account) ?? `ledger-file:${line.account}`,
          amountMinor: line.debitMinor - line.creditMinor, status: '' as const, document: journal.id,
        })),
      );
    assert.equal(expected.length, 8);
    assert.deepEqual(lines, expected);
    assert.ok(lines.some((line) => line.currency === 'JPY' && line.amountMinor === 12_000));
    assert.ok(lines.some((line) => line.account === 'ledger-file:2100'));
    assert.deepEqual((await readdir(s.inboxDir)).filter((name) => name.includes('EXPORT')), [], 'the export moved to the archive');
  });

  test('an ERP that does not answer the export request in time stops the read-back with an unavailable ERP-side error, and the request is withdrawn', async () => {
    s.sim.setFaults({ maintenance: true });
    try {
      const source = s.connect({ exportWaitMs: 50 }).readBack!(scope);
      await assert.rejects(
        async () => {
          for await (const batch of source.batches) assert.fail(`no lines expected, got ${batch.length}`);
        },
        (error: unknown) => error instanceof FileErpReadbackError && error.side === 'erp' && error.error.kind === 'unavailable' && error.error.vendorCode === 'NOT_PICKED_UP',
      );
      assert.deepEqual((await readdir(s.outboxDir)).filter((name) => name.endsWith('.req')), []);
    } finally {
      s.sim.setFaults({});
    }
  });

  test('an export request for a ledger the ERP does not have is refused, naming the ledger', async () => {
    const source = s.connector.readBack!({ ...scope, subsidiaryId: 'L9' });
    await assert.rejects(
      async () => {
        for await (const batch of source.batches) assert.fail(`no lines expected, got ${batch.length}`);
      },
      (error: unknown) => error instanceof FileErpReadbackError && error.error.vendorCode === 'LEDGER_UNKNOWN' && error.error.value === 'L9',
    );
  });
});
