/** Helpers of the reconciliation tests: lines with defaults, and running the engine in memory. */
import { linesSource } from '../../src/reconciliation/line-file.ts';
import { reconcile } from '../../src/reconciliation/engine.ts';
import type { Break, LineStatus, ReconcileResult, ReconLine, Side } from '../../src/reconciliation/types.ts';

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
