/**
 * Journal entries: what finsync posts to a ledger. A journal has one currency; each line is a
 * debit or a credit in minor units of it (never both, never negative). Debits equal credits exactly;
 * `checkBalance` is run before any journal leaves the hub.
 */
export interface JournalLine {
  readonly account: string;
  readonly debitMinor: number;
  readonly creditMinor: number;
  readonly costCenter?: string;
  readonly project?: string;
  readonly employeeId?: string;
  readonly taxCode?: string;
  readonly memo: string;
  /** The mapping rule that coded this line, e.g. `DE01@3#LODGING`; absent on lines of mapping v0. */
  readonly rule?: string;
}

export type JournalKind = 'journal' | 'reversal';

export interface JournalEntry {
  readonly kind: JournalKind;
  readonly reportId: string;
  readonly revision: number;
  readonly entity: string;
  readonly currency: string;
  /** YYYY-MM-DD */
  readonly postingDate: string;
  readonly memo: string;
  readonly lines: readonly JournalLine[];
  /** Conversions applied, so the journal can be reproduced: line id -> rate, source, date. */
  readonly conversions: readonly { lineId: string; from: string; to: string; rate: string; source: string; date: string }[];
}

export interface BalanceCheck {
  readonly balanced: boolean;
  readonly currency: string;
  readonly debitMinor: number;
  readonly creditMinor: number;
  /** Lines that break the shape rules (negative, both sides, neither side, not an integer). */
  readonly malformedLines: readonly number[];
}

export function checkBalance(journal: JournalEntry): BalanceCheck {
  let debit = 0n;
  let credit = 0n;
  const malformedLines: number[] = [];
  journal.lines.forEach((line, index) => {
    const ok =
      Number.isSafeInteger(line.debitMinor) &&
      Number.isSafeInteger(line.creditMinor) &&
      line.debitMinor >= 0 &&
      line.creditMinor >= 0 &&
      (line.debitMinor === 0) !== (line.creditMinor === 0);
    if (!ok) malformedLines.push(index);
    // NaN and Infinity are reported as malformed, not summed: BigInt() would throw on them.
    debit += Number.isFinite(line.debitMinor) ? BigInt(Math.trunc(line.debitMinor)) : 0n;
    credit += Number.isFinite(line.creditMinor) ? BigInt(Math.trunc(line.creditMinor)) : 0n;
  });
  return {
    balanced: debit === credit && malformedLines.length === 0 && journal.lines.length > 0,
    currency: journal.currency,
    debitMinor: Number(debit),
    creditMinor: Number(credit),
    malformedLines,
  };
}

/** The reversal of a posted journal: same lines, sides swapped, dated on the reversal date. */
export function reverseJournal(journal: JournalEntry, postingDate: string): JournalEntry {
  return {
    ...journal,
    kind: 'reversal',
    postingDate,
    memo: `Reversal of ${journal.memo}`,
    lines: journal.lines.map((line) => ({
      ...line,
      debitMinor: line.creditMinor,
      creditMinor: line.debitMinor,
      memo: `Reversal: ${line.memo}`,
    })),
  };
}
