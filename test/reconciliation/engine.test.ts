// Proves that the reconciliation engine finds every break class exactly on hand-made data (nets per key × account, the ERP's first document, statuses), counts completeness as an exact ratio, totals balances per entity × currency × period × account, gives the same result with 1 and with many partitions, reports progress, leaves no temp files, and writes breaks as CSV and JSON lines.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BREAK_CSV_HEADER, openBreakWriter } from '../../src/reconciliation/break-writer.ts';
import { formatPercent, reconcile } from '../../src/reconciliation/engine.ts';
import { linesSource } from '../../src/reconciliation/line-file.ts';
import type { ReconcileProgress } from '../../src/reconciliation/types.ts';
import { line, run, sortBreaks, type Sides } from './support.ts';

/** A journal of `amountMinor` on 6110 against the payable 2000, as one side holds it. */
const journal = (key: string, status: Parameters<typeof line>[3], amountMinor = 5000, document = '', expense = '6110') => [line(key, expense, amountMinor, status, document), line(key, '2000', -amountMinor, status, document)];

const SIDES: Sides = {
  platform: [
    ...journal('K01-clean', 'approved'),
    ...journal('K02-missing-erp', 'approved'),
    ...journal('K04-duplicate', 'approved'),
    ...journal('K05-amount', 'approved'),
    ...journal('K06-account', 'approved'),
    ...journal('K07-recalled', 'recalled'),
    ...journal('K08-unconfirmed', 'approved'),
    ...journal('K09-missing-finsync', 'approved'),
    ...journal('K10-recalled-unposted', 'recalled'),
    ...journal('K11-netted', 'approved'),
  ],
  finsync: [
    ...journal('K01-clean', 'confirmed'),
    ...journal('K02-missing-erp', 'confirmed'),
    ...journal('K04-duplicate', 'confirmed'),
    ...journal('K05-amount', 'confirmed'),
    ...journal('K06-account', 'confirmed'),
    ...journal('K07-recalled', 'confirmed'),
    ...journal('K08-unconfirmed', 'posted'),
    // Two lines on 6110 net to the platform's one line; a zero line on 1410 is no account held.
    line('K11-netted', '6110', 2000, 'confirmed'),
    line('K11-netted', '6110', 3000, 'confirmed'),
    line('K11-netted', '1410', 0, 'confirmed'),
    line('K11-netted', '2000', -5000, 'confirmed'),
  ],
  erp: [
    ...journal('K01-clean', '', 5000, 'JE1'),
    ...journal('K03-extra', '', 5000, 'JE3'),
    ...journal('K04-duplicate', '', 5000, 'JE4'),
    ...journal('K04-duplicate', '', 5000, 'JE4-b'),
    ...journal('K05-amount', '', 5100, 'JE5'),
    ...journal('K06-account', '', 5000, 'JE6', '6999'),
    ...journal('K07-recalled', '', 5000, 'JE7'),
    ...journal('K08-unconfirmed', '', 5000, 'JE8'),
    ...journal('K11-netted', '', 5000, 'JE11'),
  ],
};

describe('reconcile: transaction level', () => {
  test('finds every break class exactly, and nothing else', async () => {
    const { result, breaks } = await run(SIDES, 4);
    assert.deepEqual(
      sortBreaks(breaks).map((b) => `${b.key} ${b.class}`),
      ['K02-missing-erp missing_in_erp', 'K03-extra extra_in_erp', 'K04-duplicate extra_in_erp', 'K05-amount amount_mismatch', 'K06-account account_mismatch', 'K07-recalled status_mismatch', 'K08-unconfirmed status_mismatch', 'K09-missing-finsync missing_in_finsync'],
    );
    assert.deepEqual(result.breaks, { missing_in_erp: 1, extra_in_erp: 2, amount_mismatch: 1, account_mismatch: 1, status_mismatch: 2, missing_in_finsync: 1 });
    assert.equal(result.keys, 11);
    assert.deepEqual(result.linesRead, { platform: 20, finsync: 18, erp: 18 });
  });

  test('a break carries what each side holds', async () => {
    const { breaks } = await run(SIDES, 1);
    const amount = breaks.find((b) => b.class === 'amount_mismatch');
    assert.deepEqual(amount, {
      class: 'amount_mismatch',
      key: 'K05-amount',
      entity: 'DE01',
      currency: 'EUR',
      period: '2026-11',
      platform: { status: 'approved', amounts: [{ account: '2000', amountMinor: -5000 }, { account: '6110', amountMinor: 5000 }], documents: [] },
      finsync: { status: 'confirmed', amounts: [{ account: '2000', amountMinor: -5000 }, { account: '6110', amountMinor: 5000 }], documents: [] },
      erp: { status: '', amounts: [{ account: '2000', amountMinor: -5100 }, { account: '6110', amountMinor: 5100 }], documents: ['JE5'] },
    });
    const duplicate = breaks.find((b) => b.key === 'K04-duplicate');
    assert.deepEqual(duplicate?.erp?.documents, ['JE4', 'JE4-b']);
    // The amounts compared are the first document's: a duplicate is not also an amount mismatch.
    assert.deepEqual(duplicate?.erp?.amounts, [{ account: '2000', amountMinor: -5000 }, { account: '6110', amountMinor: 5000 }]);
    assert.equal(breaks.find((b) => b.key === 'K09-missing-finsync')?.finsync, null);
  });

  test('a key can have several breaks, one per class', async () => {
    const sides: Sides = { platform: journal('K', 'recalled'), finsync: journal('K', 'posted', 4000), erp: [...journal('K', '', 5000, 'D1'), ...journal('K', '', 5000, 'D2')] };
    const { breaks } = await run(sides, 2);
    assert.deepEqual(breaks.map((b) => b.class), ['extra_in_erp', 'amount_mismatch', 'status_mismatch']);
  });
});

describe('reconcile: reversed postings', () => {
  test('a recall honoured by a reversal is no break; a key only partly reversed still is', async () => {
    const sides: Sides = {
      platform: [...journal('R1-recalled-reversed', 'recalled'), ...journal('R2-partly-reversed', 'recalled'), ...journal('R3-recalled-confirmed', 'recalled')],
      finsync: [
        ...journal('R1-recalled-reversed', 'reversed'),
        // The reversal is its own key: finsync holds it confirmed, the ERP holds its document.
        ...journal('R1-recalled-reversed_rev', 'confirmed', -5000),
        line('R2-partly-reversed', '6110', 5000, 'reversed'),
        line('R2-partly-reversed', '2000', -5000, 'confirmed'),
        ...journal('R3-recalled-confirmed', 'confirmed'),
      ],
      erp: [...journal('R1-recalled-reversed', '', 5000, 'JE1'), ...journal('R1-recalled-reversed_rev', '', -5000, 'JE2'), ...journal('R2-partly-reversed', '', 5000, 'JE3'), ...journal('R3-recalled-confirmed', '', 5000, 'JE4')],
    };
    const { result, breaks } = await run(sides, 3);
    assert.deepEqual(sortBreaks(breaks).map((b) => `${b.key} ${b.class} ${b.finsync?.status}`), ['R2-partly-reversed status_mismatch reversed', 'R3-recalled-confirmed status_mismatch confirmed']);
    // Recalled keys are not approved: nothing counts for completeness.
    assert.deepEqual(result.completeness, { matchedKeys: 0, approvedKeys: 0, percent: null });
    // The reversal nets the original out of the balances on both sides.
    assert.deepEqual(result.balances.map((b) => [b.account, b.finsyncMinor, b.erpMinor]), [['2000', -10_000, -10_000], ['6110', 10_000, 10_000]]);
  });

  test("finsync's status of a key whose lines differ: posted before reversed before confirmed", async () => {
    const sides: Sides = {
      platform: [],
      finsync: [line('P', '6110', 1, 'reversed'), line('P', '2000', -1, 'posted'), line('R', '6110', 1, 'confirmed'), line('R', '2000', -1, 'reversed'), line('C', '6110', 1, 'confirmed'), line('C', '2000', -1, 'confirmed')],
      // Each key held in the ERP with one document too many, so each shows in a break.
      erp: ['P', 'R', 'C'].flatMap((key) => [...journal(key, '', 1, 'D1'), ...journal(key, '', 1, 'D2')]),
    };
    const { breaks } = await run(sides, 2);
    assert.deepEqual(sortBreaks(breaks).map((b) => `${b.key} ${b.class} ${b.finsync?.status}`), ['C extra_in_erp confirmed', 'P extra_in_erp posted', 'P status_mismatch posted', 'R extra_in_erp reversed']);
  });

  test('a reversed key the ERP no longer holds is missing there; one the platform approves is no break', async () => {
    const sides: Sides = { platform: journal('A', 'approved'), finsync: [...journal('A', 'reversed'), ...journal('M', 'reversed')], erp: journal('A', '', 5000, 'JE1') };
    const { result, breaks } = await run(sides, 1);
    assert.deepEqual(breaks.map((b) => `${b.key} ${b.class}`), ['M missing_in_erp']);
    assert.deepEqual(result.completeness, { matchedKeys: 1, approvedKeys: 1, percent: '100.00' });
  });
});

describe('reconcile: completeness and balances', () => {
  test('completeness is matched ÷ approved keys, from integers', async () => {
    const { result } = await run(SIDES, 3);
    // Approved: K01, K02, K04, K05, K06, K08, K09, K11 (K07 and K10 recalled, K03 not in the platform); matched: K01, K11.
    assert.deepEqual(result.completeness, { matchedKeys: 2, approvedKeys: 8, percent: '25.00' });
    assert.equal(formatPercent(2, 3), '66.67');
    assert.equal(formatPercent(1, 3), '33.33');
    assert.equal(formatPercent(1, 8, 3), '12.500');
    assert.equal(formatPercent(199_999, 200_000), '100.00');
    assert.equal(formatPercent(0, 5, 0), '0');
    assert.equal(formatPercent(0, 0), null);
  });

  test('balances total each side per entity × currency × period × account, recalled platform lines left out', async () => {
    const { result } = await run(SIDES, 5);
    const row = (account: string) => result.balances.find((b) => b.account === account);
    // 6110: platform 8 approved keys × 5000; finsync 8 keys × 5000; ERP 7 documents × 5000 (K03 unposted, K04 twice) + 5100 (K05), K06 on 6999.
    assert.deepEqual(row('6110'), { entity: 'DE01', currency: 'EUR', period: '2026-11', account: '6110', platformMinor: 40_000, finsyncMinor: 40_000, erpMinor: 40_100, finsyncMinusPlatformMinor: 0, erpMinusFinsyncMinor: 100 });
    assert.deepEqual(row('6999')?.erpMinor, 5000);
    assert.deepEqual(row('1410'), { entity: 'DE01', currency: 'EUR', period: '2026-11', account: '1410', platformMinor: 0, finsyncMinor: 0, erpMinor: 0, finsyncMinusPlatformMinor: 0, erpMinusFinsyncMinor: 0 });
    assert.deepEqual(result.balances.map((b) => b.account), ['1410', '2000', '6110', '6999']);
  });
});

describe('reconcile: partitions, progress, temp files', () => {
  test('1 partition and many give the same breaks and result', async () => {
    const one = await run(SIDES, 1);
    for (const partitions of [2, 7, 64]) {
      const many = await run(SIDES, partitions);
      assert.deepEqual(sortBreaks(many.breaks), sortBreaks(one.breaks));
      assert.deepEqual({ ...many.result, partitions: 1 }, one.result);
    }
  });

  test('reports progress per batch and per partition, and removes its temp files', async () => {
    const tempDir = await mkdtemp(join(tmpdir(), 'finsync-reconcile-test-'));
    try {
      const progress: ReconcileProgress[] = [];
      const sources = { platform: linesSource('p', 'platform', SIDES.platform, 5), finsync: linesSource('f', 'finsync', SIDES.finsync, 5), erp: linesSource('e', 'erp', SIDES.erp, 5) };
      await reconcile(sources, { partitions: 3, tempDir, onBreak: () => undefined, onProgress: (p) => progress.push(p) });
      const reads = progress.filter((p) => p.phase === 'partition');
      assert.equal(reads.length, 4 + 4 + 4);
      assert.deepEqual(reads.at(-1)?.linesRead, { platform: 20, finsync: 18, erp: 18 });
      assert.deepEqual(progress.filter((p) => p.phase === 'compare').map((p) => p.partitionsDone), [1, 2, 3]);
      assert.deepEqual(await readdir(tempDir), []);
    } finally {
      await rm(tempDir, { recursive: true, force: true });
    }
  });
});

describe('break writers', () => {
  test('CSV and JSON lines, one break per line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'finsync-breaks-test-'));
    try {
      const { breaks } = await run(SIDES, 1);
      for (const format of ['csv', 'jsonl'] as const) {
        const writer = openBreakWriter(join(dir, `breaks.${format}`), format);
        for (const found of breaks) writer.write(found);
        writer.close();
      }
      const csv = (await readFile(join(dir, 'breaks.csv'), 'utf8')).trimEnd().split('\n');
      assert.equal(csv[0], BREAK_CSV_HEADER);
      assert.equal(csv.length, breaks.length + 1);
      assert.ok(csv.includes('amount_mismatch,K05-amount,DE01,EUR,2026-11,approved,2000=-5000;6110=5000,confirmed,2000=-5000;6110=5000,,2000=-5100;6110=5100,JE5'));
      assert.ok(csv.includes('missing_in_finsync,K09-missing-finsync,DE01,EUR,2026-11,approved,2000=-5000;6110=5000,,,,,'));
      for (const row of csv) assert.equal(row.split(',').length, BREAK_CSV_HEADER.split(',').length);
      const jsonl = (await readFile(join(dir, 'breaks.jsonl'), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(jsonl, JSON.parse(JSON.stringify(breaks)));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
