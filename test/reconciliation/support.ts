/** Helpers of the reconciliation tests: lines with defaults, running the engine in memory, and a naive oracle of what it should find. */
import { linesSource } from '../../src/reconciliation/line-file.ts';
import { reconcile } from '../../src/reconciliation/engine.ts';
import { BREAK_CLASSES, type AccountAmount, type BalanceRow, type Break, type BreakClass, type LineStatus, type ReconcileResult, type ReconLine, type Side, type SideValues } from '../../src/reconciliation/types.ts';

export function line(key: string, account: string, amountMinor: number, status: LineStatus = '', document = '', more: Partial<ReconLine> = {}): ReconLine {
  return { key, entity: 'DE01', currency: 'EUR', period: '2026-11', account, amountMinor, status, document, ...more };
}

export type Sides = Readonly<Record<Side, readonly ReconLine[]>>;

/** Runs the engine on lines held in memory; the breaks come back collected (fine for small tests). */
export async function run(sides: Sides, partitions: number, batchSize = 3): Promise<{ result: ReconcileResult; breaks: Break[] }> {
  const breaks: Break[] = [];
  const result = await reconcile(
    { platform: linesSource('platform', 'platform', sides.platform, batchSize), finsync: linesSource('finsync', 'finsync', sides.finsync, batchSize), erp: linesSource('erp', 'erp', sides.erp, batchSize) },
    { partitions, onBreak: (found) => breaks.push(found) },
  );
  return { result, breaks };
}

export function sortBreaks(breaks: readonly Break[]): Break[] {
  return [...breaks].sort((a, b) => (a.key === b.key ? (a.class < b.class ? -1 : a.class > b.class ? 1 : 0) : a.key < b.key ? -1 : 1));
}

/** Net per account of some lines, zero nets left out, sorted: built as an object of sums. */
function nets(lines: readonly ReconLine[]): AccountAmount[] {
  const sums: Record<string, number> = {};
  for (const l of lines) sums[l.account] = (sums[l.account] ?? 0) + l.amountMinor;
  return Object.keys(sums)
    .sort()
    .filter((account) => sums[account] !== 0)
    .map((account) => ({ account, amountMinor: sums[account] }));
}

/**
 * What the engine should find, by a different algorithm: filter every side per key, compare
 * canonical strings. Sums in plain numbers: for amounts whose sums stay below 2^53.
 */
export function oracle(sides: Sides): { breaks: Break[]; matched: number; approved: number; balances: BalanceRow[] } {
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
