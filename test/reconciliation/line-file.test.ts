// Proves that the CSV reader of reconciliation reads decimal and minor-unit amounts exactly in any column order, and that every bad line (bad amount, too many decimals, missing column, bad period, unknown currency, wrong status, a quote, an empty line, a bad header) stops the run with a ReconciliationInputError naming file, line and column, leaving no temp files: nothing is skipped silently.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reconcile, reconcileFiles } from '../../src/reconciliation/engine.ts';
import { linesSource, ReconciliationInputError } from '../../src/reconciliation/line-file.ts';
import type { Break, Side } from '../../src/reconciliation/types.ts';
import { line } from './support.ts';

const HEADER = 'key,entity,currency,period,account,amount,status,document';
const GOOD: Record<Side, string> = {
  platform: `${HEADER}\nK1,DE01,EUR,2026-11,6110,12.30,approved,\nK1,DE01,EUR,2026-11,2000,-12.3,approved,\n`,
  finsync: `${HEADER}\r\nK1,DE01,EUR,2026-11,6110,12.30,confirmed,\r\nK1,DE01,EUR,2026-11,2000,-12.30,confirmed,\r\n`,
  // Another column order, integer minor units, no status column, no final newline.
  erp: 'document,account,amount_minor,key,entity,currency,period\nJE1,6110,1230,K1,DE01,EUR,2026-11\nJE1,2000,-1230,K1,DE01,EUR,2026-11',
};

async function withFiles<T>(files: Partial<Record<Side, string>>, fn: (paths: Record<Side, string>, dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'finsync-recon-files-'));
  try {
    const paths = { platform: join(dir, 'platform.csv'), finsync: join(dir, 'finsync.csv'), erp: join(dir, 'erp.csv') };
    for (const side of ['platform', 'finsync', 'erp'] as const) await writeFile(paths[side], files[side] ?? GOOD[side]);
    await mkdtemp(join(dir, 'work-'));
    return await fn(paths, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function refused(side: Side, text: string, expected: { line: number; column: string; detail: RegExp }): Promise<void> {
  await withFiles({ [side]: text }, async (paths, dir) => {
    const work = join(dir, (await readdir(dir)).find((n) => n.startsWith('work-'))!);
    await assert.rejects(reconcileFiles(paths, { partitions: 2, tempDir: work, onBreak: () => undefined }), (error: unknown) => {
      assert.ok(error instanceof ReconciliationInputError, String(error));
      assert.equal(error.source, paths[side]);
      assert.deepEqual([error.line, error.column], [expected.line, expected.column]);
      assert.match(error.detail, expected.detail);
      assert.match(error.message, new RegExp(`${side}\\.csv, line ${expected.line}, column ${expected.column}: `));
      return true;
    });
    assert.deepEqual(await readdir(work), [], 'the temp files are removed');
  });
}

describe('readLineFile', () => {
  test('reads decimal amounts and minor units exactly, any column order, \\r\\n or \\n', async () => {
    await withFiles({}, async (paths) => {
      const breaks: unknown[] = [];
      const result = await reconcileFiles(paths, { onBreak: (b) => breaks.push(b) });
      assert.deepEqual(breaks, []);
      assert.deepEqual(result.linesRead, { platform: 2, finsync: 2, erp: 2 });
      assert.deepEqual(result.completeness, { matchedKeys: 1, approvedKeys: 1, percent: '100.00' });
      assert.deepEqual(result.balances.map((b) => [b.account, b.platformMinor, b.finsyncMinor, b.erpMinor]), [['2000', -1230, -1230, -1230], ['6110', 1230, 1230, 1230]]);
    });
  });

  const row = (fields: Partial<Record<'key' | 'currency' | 'period' | 'amount' | 'status', string>>) =>
    `${fields.key ?? 'K1'},DE01,${fields.currency ?? 'EUR'},${fields.period ?? '2026-11'},6110,${fields.amount ?? '1.00'},${fields.status ?? 'approved'},`;

  test('refuses a decimal comma (a field too many)', () => refused('platform', `${HEADER}\n${row({})}\n${row({ amount: '1,5' })}\n`, { line: 3, column: '-', detail: /expected 8 fields .* found 9/ }));
  test('refuses a non-numeric amount', () => refused('platform', `${HEADER}\n${row({ amount: '12a' })}\n`, { line: 2, column: 'amount', detail: /not a decimal amount/ }));
  test('refuses more decimals than the currency has', () => refused('platform', `${HEADER}\n${row({ currency: 'JPY', amount: '10.5' })}\n`, { line: 2, column: 'amount', detail: /more decimals than JPY/ }));
  test('refuses a float in amount_minor', () => refused('erp', 'key,entity,currency,period,account,amount_minor\nK1,DE01,EUR,2026-11,6110,12.5\n', { line: 2, column: 'amount_minor', detail: /signed integer/ }));
  test('refuses a missing column', () => refused('finsync', `${HEADER}\n${row({ status: 'confirmed' })}\nK1,DE01,EUR,2026-11,6110\n`, { line: 3, column: 'amount', detail: /expected 8 fields .* found 5/ }));
  test('refuses a bad period', () => refused('platform', `${HEADER}\n${row({ period: '2026-13' })}\n`, { line: 2, column: 'period', detail: /YYYY-MM/ }));
  test('refuses an unknown currency', () => refused('platform', `${HEADER}\n${row({ currency: 'EURO' })}\n`, { line: 2, column: 'currency', detail: /ISO 4217/ }));
  test('refuses an empty key', () => refused('platform', `${HEADER}\n${row({ key: '' })}\n`, { line: 2, column: 'key', detail: /empty/ }));
  test("refuses a status of another side's", () => refused('platform', `${HEADER}\n${row({ status: 'confirmed' })}\n`, { line: 2, column: 'status', detail: /approved, recalled/ }));
  test('refuses a status on the ERP side', () => refused('erp', `${HEADER}\n${row({ status: 'posted' })}\n`, { line: 2, column: 'status', detail: /empty on the ERP side/ }));
  test("refuses finsync's reversed on the platform side", () => refused('platform', `${HEADER}\n${row({ status: 'reversed' })}\n`, { line: 2, column: 'status', detail: /approved, recalled/ }));
  test('reads reversed on the finsync side', async () => {
    const finsync = `${HEADER}\nK1,DE01,EUR,2026-11,6110,12.30,reversed,\nK1,DE01,EUR,2026-11,2000,-12.30,reversed,\n`;
    await withFiles({ finsync }, async (paths) => {
      const breaks: Break[] = [];
      await reconcileFiles(paths, { onBreak: (b) => breaks.push(b) });
      assert.deepEqual(breaks, []);
    });
  });
  test('refuses a quoted field', () => refused('platform', `${HEADER}\n${row({ key: '"K1"' })}\n`, { line: 2, column: '-', detail: /double quote/ }));
  test('refuses a tab inside a field (the partition files are tab-separated)', () => refused('platform', `${HEADER}\n${row({ key: 'K\t1' })}\n`, { line: 2, column: '-', detail: /control character/ }));
  test('refuses an empty line in the middle', () => refused('platform', `${HEADER}\n${row({})}\n\n${row({})}\n`, { line: 3, column: '-', detail: /empty/ }));
  test('refuses an unknown column', () => refused('erp', 'key,entity,currency,period,account,amount,memo\n', { line: 1, column: 'memo', detail: /unknown column/ }));
  test('refuses a header without an amount', () => refused('erp', 'key,entity,currency,period,account\n', { line: 1, column: 'amount', detail: /exactly one of amount/ }));
  test('refuses a platform file without status', () => refused('platform', 'key,entity,currency,period,account,amount\n', { line: 1, column: 'status', detail: /needs a status column/ }));
  test('refuses an empty file', () => refused('finsync', '', { line: 1, column: '-', detail: /empty/ }));
});

describe('lines from other sources', () => {
  test('are checked by the engine, the error naming the source and the line number', async () => {
    const sources = {
      platform: linesSource('platform read-back', 'platform', [line('K1', '6110', 100, 'approved'), line('K1', '6110', 100, 'approved', '', { period: '2026-1' })]),
      finsync: linesSource('finsync', 'finsync', []),
      erp: linesSource('netsuite read-back', 'erp', [line('K1', '6110', 1.5)]),
    };
    await assert.rejects(reconcile(sources, { partitions: 1, onBreak: () => undefined }), (error: unknown) => {
      assert.ok(error instanceof ReconciliationInputError);
      assert.deepEqual([error.source, error.line, error.column], ['platform read-back', 2, 'period']);
      return true;
    });
    const erpOnly = { ...sources, platform: linesSource('p', 'platform', []) };
    await assert.rejects(reconcile(erpOnly, { partitions: 1, onBreak: () => undefined }), { source: 'netsuite read-back', line: 1, column: 'amount_minor' });
    const tab = { ...erpOnly, erp: linesSource('e', 'erp', [line('K\t1', '6110', 1)]) };
    await assert.rejects(reconcile(tab, { partitions: 1, onBreak: () => undefined }), { column: 'key' });
  });
});
