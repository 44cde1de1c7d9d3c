// Proves the file ERP simulator behaves as the ERP it stands for: the same seed and files give the same faults; a maintenance stop or stop() leaves files in the outbox until it ends, then they are taken oldest first with sequential journal ids; each journal check (balance, journal-level columns, ledger, company, status, actual flag) rejects the journal with its own reason code while the rest of the batch is imported; a header that disagrees with the file name is refused; an answer never replaces an earlier one; a naive ERP (duplicate batches imported) shows why lookup-before-resend matters; and a malformed export request is answered with a rejection.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/connectors/file-erp/files.ts';
import { readAckFile, readRejFile } from '../../src/connectors/file-erp/layout-answers.ts';
import { controlTotalsOf, trailerOf, writeBatchFile, type BatchFile, type InterfaceLine } from '../../src/connectors/file-erp/layout.ts';
import { groupIdOf } from '../../src/connectors/file-erp/mapping.ts';
import { startFileErpSimulator, type FileErpSimulator, type FileErpSimulatorOptions } from '../../src/connectors/file-erp/simulator.ts';

const MASTER_DATA = { ledgers: ['L1'], openPeriods: ['2026-04'], accounts: ['6100', '2100'], costCenters: ['CC100'], companies: ['DE01'] };

function line(journalName: string, side: 'dr' | 'cr', amountMinor: number, more: Partial<InterfaceLine> = {}): InterfaceLine {
  return {
    status: 'NEW', ledgerId: 'L1', accountingDate: '2026-04-30', currency: 'EUR', actualFlag: 'A', category: 'Expense Report', source: 'finsync', company: 'DE01',
    account: side === 'dr' ? '6100' : '2100', costCenter: '', debitMinor: side === 'dr' ? amountMinor : 0, creditMinor: side === 'cr' ? amountMinor : 0,
    batchName: '', journalName, journalDescription: 'test', lineDescription: '', groupId: '', ...more,
  };
}

/** A batch file whose counts and control totals agree with its lines, whatever the lines hold. */
function batchFile(batchId: string, lines: InterfaceLine[], fileId = `f-${batchId}`): BatchFile {
  const withBatch = lines.map((l) => ({ ...l, batchName: batchId, groupId: groupIdOf(batchId) }));
  const controls = controlTotalsOf(withBatch);
  return { header: { batchId, fileId, groupId: groupIdOf(batchId), dateCreated: '2026-04-30', createdBy: 'TEST' }, lines: withBatch, controls, trailer: trailerOf(withBatch, controls) };
}

const balanced = (name: string, amountMinor = 1000) => [line(name, 'dr', amountMinor), line(name, 'cr', amountMinor)];

interface Folders {
  readonly root: string;
  readonly outboxDir: string;
  readonly inboxDir: string;
  readonly archiveDir: string;
}

async function withSimulator(options: Partial<FileErpSimulatorOptions>, run: (sim: FileErpSimulator, folders: Folders) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'file-erp-sim-'));
  const folders = { root, outboxDir: join(root, 'outbox'), inboxDir: join(root, 'inbox'), archiveDir: join(root, 'erp-archive') };
  await mkdir(folders.outboxDir);
  await mkdir(folders.inboxDir);
  const sim = await startFileErpSimulator({ outboxDir: folders.outboxDir, inboxDir: folders.inboxDir, archiveDir: folders.archiveDir, filePrefix: 'FSGL', seed: 3, masterData: MASTER_DATA, autoPoll: false, ...options });
  try {
    await run(sim, folders);
  } finally {
    await sim.close();
    await rm(root, { recursive: true, force: true });
  }
}

/** Drops a batch file as a careful sender does (atomically), optionally dated so the order of pickup is fixed. */
async function drop(folders: Folders, file: BatchFile, mtimeSeconds?: number): Promise<string> {
  const name = `FSGL_${file.header.batchId}.csv`;
  await writeFileAtomic(folders.outboxDir, name, writeBatchFile(file));
  if (mtimeSeconds !== undefined) await utimes(join(folders.outboxDir, name), mtimeSeconds, mtimeSeconds);
  return name;
}

const hex = (n: number) => n.toString(16).padStart(20, '0');

describe('file ERP simulator', () => {
  test('the same seed and the same files give the same faults', async () => {
    const deferredSets: string[][] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      await withSimulator({ seed: 42, faults: { slowPickupRate: 0.5 } }, async (sim, folders) => {
        for (let i = 0; i < 12; i++) await drop(folders, batchFile(hex(i + 1), balanced(`fs_${i}_r1`)), 1_000_000 + i);
        const round = await sim.runOnce();
        assert.equal(round.processed.length + round.deferred.length, 12);
        deferredSets.push([...round.deferred]);
      });
    }
    assert.deepEqual(deferredSets[0], deferredSets[1]);
    assert.ok(deferredSets[0].length > 0 && deferredSets[0].length < 12, 'with rate 0.5 some files are slow and some are not');
  });

  test('a maintenance stop or stop() leaves files waiting; afterwards they are taken oldest first with sequential journal ids', async () => {
    await withSimulator({ faults: { maintenance: true } }, async (sim, folders) => {
      const second = await drop(folders, batchFile(hex(2), balanced('fs_b_r1')), 2_000_000);
      const first = await drop(folders, batchFile(hex(1), [...balanced('fs_a_r1'), ...balanced('fs_a2_r1')]), 1_000_000);
      assert.deepEqual(await sim.runOnce(), { processed: [], deferred: [] });
      sim.setFaults({});
      await sim.stop();
      assert.equal(sim.status(), 'stopped');
      assert.deepEqual(await sim.runOnce(), { processed: [], deferred: [] });
      assert.equal((await readdir(folders.outboxDir)).length, 2);
      await sim.start();
      assert.deepEqual(await sim.runOnce(), { processed: [first, second], deferred: [] });
      assert.deepEqual(sim.documents().map((j) => [j.id, j.journalName, j.runId]), [['100001', 'fs_a_r1', 'R000001'], ['100002', 'fs_a2_r1', 'R000001'], ['100003', 'fs_b_r1', 'R000002']]);
      assert.deepEqual((await readdir(folders.archiveDir)).sort(), [`R000001_${first}`, `R000002_${second}`, 'work']);
    });
  });

  test('each journal check rejects only its journal, with its own reason code and column', async () => {
    await withSimulator({}, async (sim, folders) => {
      const lines = [
        ...balanced('fs_good_r1'),
        line('fs_unbalanced_r1', 'dr', 1000), line('fs_unbalanced_r1', 'cr', 999),
        line('fs_mixed_r1', 'dr', 500), line('fs_mixed_r1', 'cr', 500, { accountingDate: '2026-04-29' }),
        ...balanced('fs_ledger_r1').map((l) => ({ ...l, ledgerId: 'L9' })),
        line('fs_company_r1', 'dr', 100, { company: 'FR01' }), line('fs_company_r1', 'cr', 100),
        line('fs_status_r1', 'dr', 100, { status: 'CORRECTED', actualFlag: 'B' }), line('fs_status_r1', 'cr', 100),
        ...balanced(''),
      ];
      await drop(folders, batchFile(hex(7), lines));
      await sim.runOnce();
      const rej = readRejFile(await readFile(join(folders.inboxDir, `FSGL_${hex(7)}.rej`), 'utf8'));
      assert.deepEqual(rej.header.journalCount, 7);
      assert.deepEqual([rej.header.acceptedCount, rej.header.rejectedCount], [1, 6]);
      assert.deepEqual(rej.rejected.map((r) => [r.lineNumber, r.journalName, r.column, r.reasonCode]), [
        [4, 'fs_unbalanced_r1', 'ENTERED_DR', 'UNBALANCED'],
        [7, 'fs_mixed_r1', 'ACCOUNTING_DATE', 'JOURNAL_INCONSISTENT'],
        [8, 'fs_ledger_r1', 'LEDGER_ID', 'LEDGER_UNKNOWN'],
        [10, 'fs_company_r1', 'SEGMENT1', 'COMPANY_UNKNOWN'],
        [12, 'fs_status_r1', 'STATUS', 'STATUS_INVALID'],
        [12, 'fs_status_r1', 'ACTUAL_FLAG', 'ACTUAL_FLAG_INVALID'],
        [14, '', 'REFERENCE4', 'JOURNAL_NAME_MISSING'],
      ]);
      assert.match(rej.rejected[0].message, /debits 10\.00, credits 9\.99/);
      const ack = readAckFile(await readFile(join(folders.inboxDir, `FSGL_${hex(7)}.ack`), 'utf8'));
      assert.deepEqual(ack.accepted.map((a) => a.journalName), ['fs_good_r1']);
      assert.deepEqual(sim.runs().map((r) => [r.outcome, r.accepted, r.rejected]), [['partly_rejected', 1, 6]]);
    });
  });

  test('a header that names another batch than the file name is refused as a whole', async () => {
    await withSimulator({}, async (sim, folders) => {
      await writeFileAtomic(folders.outboxDir, `FSGL_${hex(9)}.csv`, writeBatchFile(batchFile(hex(8), balanced('fs_a_r1'))));
      await sim.runOnce();
      const rej = readRejFile(await readFile(join(folders.inboxDir, `FSGL_${hex(9)}.rej`), 'utf8'));
      assert.deepEqual([rej.fileRejections[0].reasonCode, rej.fileRejections[0].column, rej.header.fileId], ['BAD_HEADER', 'BATCH_ID', `f-${hex(8)}`]);
      assert.deepEqual(sim.documents(), []);
    });
  });

  test('an answer never replaces an earlier one: a name in use gets the next number', async () => {
    await withSimulator({}, async (sim, folders) => {
      await writeFile(join(folders.inboxDir, `FSGL_${hex(5)}.rej`), 'an earlier answer\n');
      await drop(folders, batchFile(hex(5), [line('fs_a_r1', 'dr', 100), line('fs_a_r1', 'cr', 99)]));
      await sim.runOnce();
      assert.equal(await readFile(join(folders.inboxDir, `FSGL_${hex(5)}.rej`), 'utf8'), 'an earlier answer\n');
      assert.equal(readRejFile(await readFile(join(folders.inboxDir, `FSGL_${hex(5)}.2.rej`), 'utf8')).rejected[0].reasonCode, 'UNBALANCED');
    });
  });

  test('a naive ERP that imports a repeated batch again holds the journal twice', async () => {
    await withSimulator({ duplicateBatches: 'import' }, async (sim, folders) => {
      await drop(folders, batchFile(hex(6), balanced('fs_a_r1'), 'first'));
      await sim.runOnce();
      await drop(folders, batchFile(hex(6), balanced('fs_a_r1'), 'second'));
      await sim.runOnce();
      assert.deepEqual(sim.documents().map((j) => j.journalName), ['fs_a_r1', 'fs_a_r1']);
      assert.ok((await readdir(folders.inboxDir)).includes(`FSGL_${hex(6)}.2.ack`));
    });
  });

  test('a malformed export request is answered with an export rejection', async () => {
    await withSimulator({}, async (sim, folders) => {
      await writeFileAtomic(folders.outboxDir, 'FSGL_EXPORT_q1.req', 'H,FSGLEXPQ1,q1,L1,April\nT,0\n');
      await sim.runOnce();
      const rej = readRejFile(await readFile(join(folders.inboxDir, 'FSGL_EXPORT_q1.rej'), 'utf8'));
      assert.deepEqual([rej.fileRejections[0].reasonCode, rej.fileRejections[0].column], ['FILE_UNREADABLE', 'PERIOD']);
      assert.deepEqual(sim.runs().map((r) => r.outcome), ['export_refused']);
    });
  });
});
