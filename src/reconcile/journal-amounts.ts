/** A journal's lines netted per account, as the reconciliation engine compares them (debit positive, credit negative). */
import type { JournalEntry } from '../domain/journal.ts';
import type { AccountAmount } from '../reconciliation/types.ts';

export function journalAmounts(journal: Pick<JournalEntry, 'lines'>): AccountAmount[] {
  const net = new Map<string, number>();
  for (const line of journal.lines) net.set(line.account, (net.get(line.account) ?? 0) + line.debitMinor - line.creditMinor);
  return [...net]
    .filter(([, amount]) => amount !== 0)
    .map(([account, amountMinor]) => ({ account, amountMinor }))
    .sort((a, b) => (a.account < b.account ? -1 : a.account > b.account ? 1 : 0));
}
