// Proves, with fast-check, that on random small three-sided data sets (finsync's lines posted, confirmed or reversed) the engine's breaks, completeness and balance totals equal those of a naive in-memory oracle written here with a different algorithm (filter every side per key, compare canonical strings), with 1 partition and with many.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BREAK_CLASSES, type AccountAmount, type BalanceRow, type Break, type BreakClass, type LineStatus, type ReconLine, type SideValues } from '../../src/reconciliation/types.ts';
import { run, sortBreaks, type Sides } from './support.ts';

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

/** Net per account of some lines, zero nets left out, sorted: built as an object of sums. */
function nets(lines: readonly ReconLine[]): AccountAmount[] {
  const sums: Record<string, number> = {};
  for (const l of lines) sums[l.account] = (sums[l.account] ?? 0) + l.amountMinor;
  return Object.keys(sums)
    .sort()
    .filter((account) => sums[account] !== 0)
    .map((account) => ({ account, amountMinor: sums[account] }));
}

function oracle(sides: Sides): { breaks: Break[]; matched: number; approved: number; balances: BalanceRow[] } {
  const keys = [...new Set([...sides.platform, ...sides.finsync, ...sides.erp].map((l) => l.key))];
  const breaks: Break[] = [];
  let matched = 0;
  let approved = 0;
  for (const key of keys) {
    const p = sides.platform.filter((l) => l.key === key);
    const f = sides.finsync.filter((l) => l.key === key);
    const e = sides.erp.filter((l) => l.key === key);
    const documents = [...new Set(e.map((l) => l.document))].sort();
    const platform: SideValues | null = p.length ? { status: p.some((l) => l.status === 'recalled') ? 'recalled' : 'approved', amounts: nets(p), documents: [] } : null;
    // The least settled status wins: posted, then reversed, then confirmed.
    const finsyncStatus = f.some((l) => l.status === 'posted') ? 'posted' : f.some((l) => l.status === 'reversed') ? 'reversed' : 'confirmed';
    const finsync: SideValues | null = f.length ? { status: finsyncStatus, amounts: nets(f), documents: [] } : null;
    const erp: SideValues | null = e.length ? { status: '', amounts: nets(e.filter((l) => l.document === documents[0])), documents } : null;
    const present = [platform, finsync, erp].filter((v) => v !== null);
    const accountLists = new Set(present.map((v) => v.amounts.map((a) => a.account).join('|')));
    const amountLists = new Set(present.map((v) => JSON.stringify(v.amounts)));
    const classes = new Set<BreakClass>();
    if (finsync && !erp) classes.add('missing_in_erp');
    if (erp && (!finsync || documents.length > 1)) classes.add('extra_in_erp');
    if (accountLists.size > 1) classes.add('account_mismatch');
    else if (amountLists.size > 1) classes.add('amount_mismatch');
    // A recall is honoured when every finsync line of the key is reversed.
    const honoured = f.every((l) => l.status === 'reversed');
    if ((platform?.status === 'recalled' && finsync && !honoured) || (finsync?.status === 'posted' && erp)) classes.add('status_mismatch');
    if (platform?.status === 'approved' && !finsync) classes.add('missing_in_finsync');
    const first = f[0] ?? p[0] ?? e[0];
    for (const cls of BREAK_CLASSES) if (classes.has(cls)) breaks.push({ class: cls, key, entity: first.entity, currency: first.currency, period: first.period, platform, finsync, erp });
    if (platform?.status === 'approved') (approved++, classes.size === 0 && matched++);
  }
  const totals = new Map<string, [number, number, number]>();
  const add = (l: ReconLine, side: 0 | 1 | 2) => {
    const group = JSON.stringify([l.entity, l.currency, l.period, l.account]);
    const t = totals.get(group) ?? [0, 0, 0];
    t[side] += l.amountMinor;
    totals.set(group, t);
  };
  // Every line makes its group, but a recalled platform line adds nothing to it.
  sides.platform.forEach((l) => add({ ...l, amountMinor: l.status === 'approved' ? l.amountMinor : 0 }, 0));
  sides.finsync.forEach((l) => add(l, 1));
  sides.erp.forEach((l) => add(l, 2));
  const balances = [...totals]
    .map(([group, [pm, fm, em]]) => {
      const [entity, currency, period, account] = JSON.parse(group) as string[];
      return { entity, currency, period, account, platformMinor: pm, finsyncMinor: fm, erpMinor: em, finsyncMinusPlatformMinor: fm - pm, erpMinusFinsyncMinor: em - fm };
    })
    .sort((a, b) => (`${a.entity}\t${a.currency}\t${a.period}\t${a.account}` < `${b.entity}\t${b.currency}\t${b.period}\t${b.account}` ? -1 : 1));
  return { breaks, matched, approved, balances };
}

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
