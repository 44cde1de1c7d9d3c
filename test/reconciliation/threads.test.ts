// Proves that reconciling CSV files on several threads (the calling thread and worker threads taking units of byte ranges of the files in phase 1 and partitions in phase 2 as they come free; every thread doing some) gives exactly the breaks, in the same order, and the same result as one thread, names the right file and line for a bad line in any range (the first in side and file order), and leaves no temp files behind, on success and on failure.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reconcileFiles, reconcileFilesInPool } from '../../src/reconciliation/engine.ts';
import { ReconciliationInputError } from '../../src/reconciliation/line-file.ts';
import type { Break, ReconcileResult, Side } from '../../src/reconciliation/types.ts';
import { WorkerPool } from '../../src/reconciliation/worker-pool.ts';

const HEADER = 'key,entity,currency,period,account,amount,status,document';

/** Lines of `keys` keys per side, with a fault in every seventh key (a different kind by key number). */
function sideRows(side: Side, keys: number): string[] {
  const rows: string[] = [];
  for (let k = 0; k < keys; k++) {
    const fault = k % 7 === 0 ? (k / 7) % 6 : -1;
    if ((fault === 0 && side === 'erp') || (fault === 1 && side === 'finsync')) continue;
    const status = side === 'platform' ? (fault === 2 ? 'recalled' : 'approved') : side === 'finsync' ? (fault === 3 ? 'posted' : 'confirmed') : '';
    const [entity, currency] = k % 2 === 0 ? ['DE01', 'EUR'] : ['US01', 'USD'];
    const amount = (10 + (k % 13)).toFixed(2);
    const expense = side === 'erp' && fault === 4 ? '6999' : '6110';
    const documents = side !== 'erp' ? [''] : fault === 5 ? [`JE${k}`, `JE${k}-b`] : [`JE${k}`];
    for (const document of documents) {
      rows.push(`fs_${k.toString(16).padStart(6, '0')}_r1,${entity},${currency},2026-${String(1 + (k % 12)).padStart(2, '0')},${expense},${amount},${status},${document}`);
      rows.push(`fs_${k.toString(16).padStart(6, '0')}_r1,${entity},${currency},2026-${String(1 + (k % 12)).padStart(2, '0')},2000,-${amount},${status},${document}`);
    }
  }
  // Not in key order: every side in a different order.
  const step = { platform: 7, finsync: 11, erp: 13 }[side];
  return rows.map((_, i) => rows[(i * step) % rows.length]);
}

async function withFiles(rows: Readonly<Record<Side, string[]>>, body: (paths: Record<Side, string>, tempDir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'finsync-reconcile-threads-'));
  try {
    const paths = { platform: join(dir, 'platform.csv'), finsync: join(dir, 'finsync.csv'), erp: join(dir, 'erp.csv') };
    for (const side of ['platform', 'finsync', 'erp'] as const) await writeFile(paths[side], `${HEADER}\n${rows[side].join('\n')}\n`);
    const tempDir = join(dir, 'temp');
    await mkdir(tempDir);
    await body(paths, tempDir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * With more than one thread, on a pool whose worker threads have started: the calling thread takes
 * work too, and on data this small it would otherwise be done before a worker thread could start.
 */
async function runFiles(paths: Record<Side, string>, threads: number, partitions: number, tempDir: string): Promise<{ result: ReconcileResult; breaks: Break[]; tasksDone: number[] }> {
  const breaks: Break[] = [];
  const options = { threads, partitions, tempDir, onBreak: (found: Break) => breaks.push(found) };
  if (threads === 1) return { result: await reconcileFiles(paths, options), breaks, tasksDone: [] };
  const pool = new WorkerPool(threads);
  try {
    await pool.started();
    const result = await reconcileFilesInPool(pool, paths, options);
    return { result, breaks, tasksDone: pool.tasksDone };
  } finally {
    await pool.stop();
  }
}

describe('reconcileFiles with worker threads', () => {
  test('gives the same breaks, in the same order, and the same result as one thread', async () => {
    // 1,000 keys: phase 1 cuts the files in mid-file; 7 partitions hand out more than the threads.
    const rows = { platform: sideRows('platform', 1000), finsync: sideRows('finsync', 1000), erp: sideRows('erp', 1000) };
    await withFiles(rows, async (paths, tempDir) => {
      for (const partitions of [1, 7]) {
        const one = await runFiles(paths, 1, partitions, tempDir);
        assert.ok(one.breaks.length > 100);
        for (const threads of [2, 3]) {
          const many = await runFiles(paths, threads, partitions, tempDir);
          assert.equal(many.tasksDone.length, threads);
          assert.ok(many.tasksDone.every((tasks) => tasks > 0), `every thread did work: ${many.tasksDone.join(', ')}`);
          assert.deepEqual(many.breaks, one.breaks);
          assert.deepEqual(many.result, one.result);
        }
      }
      assert.deepEqual(await readdir(tempDir), []);
    });
  });

  test('names the file and line of a bad line in a later range, the first bad line in side and file order', async () => {
    const rows = { platform: sideRows('platform', 20), finsync: sideRows('finsync', 20), erp: sideRows('erp', 400) };
    const erp = [...rows.erp];
    erp[700] = erp[700].replace('2026-', '2026/');
    await withFiles({ ...rows, erp }, async (paths, tempDir) => {
      // Two threads: the cut falls inside the ERP file, so line 702 (header = line 1) is in the second range.
      await assert.rejects(runFiles(paths, 2, 3, tempDir), (error: unknown) => error instanceof ReconciliationInputError && error.source === paths.erp && error.line === 702 && error.column === 'period');
      assert.deepEqual(await readdir(tempDir), []);
    });
    const platform = [...rows.platform];
    platform[4] = platform[4].replace('2026-', '2026/');
    await withFiles({ ...rows, platform, erp }, async (paths, tempDir) => {
      await assert.rejects(runFiles(paths, 2, 3, tempDir), (error: unknown) => error instanceof ReconciliationInputError && error.source === paths.platform && error.line === 6 && error.column === 'period');
      assert.deepEqual(await readdir(tempDir), []);
    });
  });
});
