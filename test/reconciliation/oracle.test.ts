// Proves, with fast-check, that on random small three-sided data sets (finsync's lines posted, confirmed or reversed) the engine's breaks, completeness and balance totals equal those of a naive in-memory oracle with a different algorithm (support.ts: filter every side per key, compare canonical strings), with 1 partition and with many.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BREAK_CLASSES, type LineStatus, type ReconLine } from '../../src/reconciliation/types.ts';
import { oracle, run, sortBreaks, type Sides } from './support.ts';

const FC_SEED = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };

function lineArb(statuses: readonly LineStatus[], documents: readonly string[]): fc.Arbitrary<ReconLine> {
  return fc.record({
    key: fc.constantFrom('fs_a_r1', 'fs_b_r1', 'fs_c_r1', 'fs_d_r2', 'fs_e_r1', 'fs_f_r1'),
    entity: fc.constantFrom('DE01', 'US01'),
    currency: fc.constantFrom('EUR', 'JPY'),
    period: fc.constantFrom('2026-10', '2026-11'),
    account: fc.constantFrom('6110', '1410', '2000'),
    amountMinor: fc.integer({ min: -3, max: 3 }),
    status: fc.constantFrom(...statuses),
    document: fc.constantFrom(...documents),
  });
}

const sidesArb: fc.Arbitrary<Sides> = fc.record({
  platform: fc.array(lineArb(['approved', 'approved', 'recalled'], ['']), { maxLength: 14 }),
  finsync: fc.array(lineArb(['confirmed', 'confirmed', 'posted', 'reversed', 'reversed'], ['']), { maxLength: 14 }),
  erp: fc.array(lineArb([''], ['D1', 'D1', 'D1', 'D2', '']), { maxLength: 14 }),
});

test('the engine agrees with the naive oracle on random data, with 1 and with many partitions', async () => {
  await fc.assert(
    fc.asyncProperty(sidesArb, fc.integer({ min: 2, max: 9 }), fc.integer({ min: 1, max: 5 }), async (sides, partitions, batchSize) => {
      const expected = oracle(sides);
      for (const n of [1, partitions]) {
        const { result, breaks } = await run(sides, n, batchSize);
        assert.deepEqual(sortBreaks(breaks), sortBreaks(expected.breaks));
        assert.deepEqual(result.balances, expected.balances);
        assert.deepEqual([result.completeness.matchedKeys, result.completeness.approvedKeys], [expected.matched, expected.approved]);
        for (const cls of BREAK_CLASSES) assert.equal(result.breaks[cls], expected.breaks.filter((b) => b.class === cls).length);
      }
    }),
    { numRuns: 150, ...FC_SEED },
  );
});
