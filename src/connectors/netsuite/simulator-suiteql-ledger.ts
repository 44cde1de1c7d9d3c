/**
 * The simulator's journal entries as SuiteQL answers them: the read-only tables `transaction` (one
 * row per document) and `transactionline` (one row per line), built from the ledger for every
 * query, so a change to the ledger shows at once. Column names and value forms follow the public
 * queries we know of (README.md, "SuiteQL: journal read-back"); what they do not settle is our choice.
 */
import { formatAmount } from '../../domain/money.ts';
import type { SimDocument } from './simulator-ledger.ts';
import type { ColumnType, StoredRow } from './simulator-suiteql.ts';

export const LEDGER_TABLES = {
  transaction: { id: 'id', tranid: 'text', externalid: 'text', type: 'text', trandate: 'date', currency: 'id', posting: 'bool', memo: 'text' },
  transactionline: {
    transaction: 'id', id: 'id', subsidiary: 'id', account: 'id', debitforeignamount: 'number', creditforeignamount: 'number',
    memo: 'text', department: 'id', entity: 'id',
  },
} as const satisfies Record<string, Readonly<Record<string, ColumnType>>>;

export type LedgerTable = keyof typeof LEDGER_TABLES;

export type LedgerRows = Readonly<Record<LedgerTable, readonly StoredRow[]>>;

/**
 * Oracle prints a NUMBER without trailing zeros and without the zero before the point ("120",
 * "120.5", ".5"); that NetSuite's REST answer keeps this form is [M]. The read-back accepts both.
 */
export function oracleNumberText(decimal: string): string {
  const trimmed = decimal.includes('.') ? decimal.replace(/0+$/, '').replace(/\.$/, '') : decimal;
  return trimmed.replace(/^(-?)0\./, '$1.');
}

/**
 * The ledger's documents as table rows. `type` is 'Journal' and `posting` T for every document
 * (the simulator holds approved journals only); `tranid` is `JE` and the internal id. `currency` is
 * the internal id of the currency table's row with the document's code, left out (NULL) when the
 * simulator holds no such row. Line ids count from 0 within each document; an amount is in the
 * document's currency, on the side it was written, the other side left out (NULL).
 */
export function ledgerTableRows(documents: readonly SimDocument[], currencyIdOf: (code: string) => string | undefined): LedgerRows {
  const transaction: StoredRow[] = [];
  const transactionline: StoredRow[] = [];
  for (const document of documents) {
    const currency = currencyIdOf(document.currency);
    transaction.push({
      id: document.id, tranid: `JE${document.id}`, ...(document.externalId !== null && { externalid: document.externalId }), type: 'Journal',
      trandate: document.tranDate, ...(currency !== undefined && { currency }), posting: true, ...(document.memo !== '' && { memo: document.memo }),
    });
    document.lines.forEach((line, index) => {
      const amount = (minor: number) => oracleNumberText(formatAmount(minor, document.currency));
      transactionline.push({
        transaction: document.id, id: String(index), subsidiary: document.subsidiaryId, account: line.accountId,
        ...(line.debitMinor !== 0 && { debitforeignamount: amount(line.debitMinor) }),
        ...(line.creditMinor !== 0 && { creditforeignamount: amount(line.creditMinor) }),
        ...(line.memo !== '' && { memo: line.memo }),
        ...(line.departmentId !== undefined && { department: line.departmentId }),
        ...(line.entityId !== undefined && { entity: line.entityId }),
      });
    });
  }
  return { transaction, transactionline };
}
