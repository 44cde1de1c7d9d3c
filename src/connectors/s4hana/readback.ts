/**
 * S/4HANA's side of a reconciliation: the journal entry items S/4HANA holds under our references
 * for one company code and accounting period, read through the OData read service (odata.ts
 * pages and retries) as a LineSource for the engine (src/reconciliation).
 *
 *   $filter=Ledger eq '0L' and CompanyCode eq '1010'
 *     and PostingDate ge datetime'2026-04-01T00:00:00' and PostingDate le datetime'2026-04-30T00:00:00'
 *     and startswith(DocumentReferenceID,'FS_') eq true
 *   $orderby=FiscalYear,AccountingDocument,AccountingDocumentItem   (unique, so $skip paging is stable)
 *
 * The posting date, not the fiscal year, selects the period: with a non-calendar fiscal year
 * variant one month can belong to either of two fiscal years. Only the leading ledger is read:
 * every item exists once per ledger, and reading all ledgers would count each line twice.
 *
 * Each item becomes one ReconLine: key = DocumentReferenceID + AssignmentReference, lower-cased
 * (mapping.ts; items whose references are not a key of ours are left out), document =
 * `<CompanyCode>/<AccountingDocument>/<FiscalYear>` (what the posting recorded), account =
 * `accountCodeOf(GLAccount)` (also tried without leading zeros, as S/4HANA may print numeric
 * accounts with them), else `s4hana:<GLAccount>` so it shows as an account mismatch, amountMinor =
 * the signed AmountInTransactionCurrency in minor units via money.ts. An item that cannot be read
 * (an amount money.ts refuses, a sign that contradicts DebitCreditCode, an unknown currency, a
 * date outside the period) stops the reconciliation with a ReconciliationInputError naming the
 * document: a line left out would make a break disappear.
 */
import { DomainError } from '../../domain/domain-error.ts';
import { isKnownCurrency, parseAmount } from '../../domain/money.ts';
import { ReconciliationInputError } from '../../reconciliation/line-file.ts';
import type { LineSource, ReconLine } from '../../reconciliation/types.ts';
import { documentIdOf } from './confirmation.ts';
import { keyOfReference, REFERENCE_PREFIX } from './mapping.ts';
import { odataString, readODataDate, type ODataReader, type ODataRow } from './odata.ts';

export interface S4ReadbackOptions {
  readonly companyCode: string;
  /** Our entity code, written on every line. */
  readonly entity: string;
  /** `YYYY-MM`: items whose posting date falls in it. */
  readonly period: string;
  /** Our GL account code for an S/4HANA G/L account; undefined when finsync knows none. */
  readonly accountCodeOf: (glAccount: string) => string | undefined;
  /** The leading ledger; default 0L. */
  readonly ledger?: string;
  /** Rows per page ($top); default 1000. */
  readonly pageSize?: number;
}

export const READBACK_FIELDS = [
  'CompanyCode',
  'FiscalYear',
  'AccountingDocument',
  'AccountingDocumentItem',
  'PostingDate',
  'DocumentReferenceID',
  'AssignmentReference',
  'GLAccount',
  'TransactionCurrency',
  'AmountInTransactionCurrency',
  'DebitCreditCode',
] as const;
export const READBACK_ORDER = ['FiscalYear', 'AccountingDocument', 'AccountingDocumentItem'] as const;
export const LEADING_LEDGER = '0L';
const PERIOD = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** The $filter of one company code and period. */
export function journalLinesFilter(companyCode: string, period: string, ledger: string = LEADING_LEDGER): string {
  const match = PERIOD.exec(period);
  if (!match) throw new Error(`Assertion failed: period ${period} is not YYYY-MM`);
  const lastDay = new Date(Date.UTC(Number(match[1]), Number(match[2]), 0)).getUTCDate();
  return [
    `Ledger eq ${odataString(ledger)}`,
    `CompanyCode eq ${odataString(companyCode)}`,
    `PostingDate ge datetime'${period}-01T00:00:00'`,
    `PostingDate le datetime'${period}-${String(lastDay).padStart(2, '0')}T00:00:00'`,
    `startswith(DocumentReferenceID,${odataString(REFERENCE_PREFIX)}) eq true`,
  ].join(' and ');
}

export function s4hanaJournalLines(reader: ODataReader, options: S4ReadbackOptions): LineSource {
  const filter = journalLinesFilter(options.companyCode, options.period, options.ledger);
  const name = `S/4HANA journal entry items of company code ${options.companyCode} (${options.entity}) in ${options.period}`;
  async function* batches(): AsyncGenerator<readonly ReconLine[]> {
    let row = 0;
    for await (const page of reader.pages({ filter, select: READBACK_FIELDS, orderby: READBACK_ORDER, top: options.pageSize ?? 1000 })) {
      const lines: ReconLine[] = [];
      for (const item of page) {
        row++;
        const line = toLine(item, options, name, row);
        if (line) lines.push(line);
      }
      if (lines.length > 0) yield lines;
    }
  }
  return { name, side: 'erp', checked: false, batches: batches() };
}

function field(item: ODataRow, name: string): string {
  const value = item[name];
  return typeof value === 'string' ? value : '';
}

/** One item as a ReconLine; undefined for an item that is not ours; a ReconciliationInputError for one that cannot be read. */
function toLine(item: ODataRow, options: S4ReadbackOptions, name: string, row: number): ReconLine | undefined {
  const key = keyOfReference(field(item, 'DocumentReferenceID'), field(item, 'AssignmentReference'));
  if (key === undefined) return undefined;
  const companyCode = field(item, 'CompanyCode');
  const document = documentIdOf(companyCode, field(item, 'AccountingDocument'), field(item, 'FiscalYear'));
  const refuse = (column: string, detail: string): never => {
    throw new ReconciliationInputError(name, row, column, `document ${document} (${key}), item ${field(item, 'AccountingDocumentItem') || '?'}: ${detail}; check the document in S/4HANA`);
  };
  if (companyCode !== options.companyCode) refuse('CompanyCode', `the item belongs to company code ${JSON.stringify(companyCode)}`);
  if (!/^\d{1,10}$/.test(field(item, 'AccountingDocument')) || !/^\d{4}$/.test(field(item, 'FiscalYear'))) refuse('AccountingDocument', 'the document number or fiscal year is malformed');
  const postingDate = readODataDate(item.PostingDate);
  if (postingDate === undefined || postingDate.slice(0, 7) !== options.period) refuse('PostingDate', `the posting date ${JSON.stringify(item.PostingDate)} is not a day of ${options.period}`);
  const currency = field(item, 'TransactionCurrency');
  if (!isKnownCurrency(currency)) refuse('TransactionCurrency', `${JSON.stringify(currency)} is not an ISO 4217 code finsync knows`);
  const amountMinor = readAmount(item.AmountInTransactionCurrency, currency, (detail) => refuse('AmountInTransactionCurrency', detail));
  const code = field(item, 'DebitCreditCode');
  if ((code === 'S' && amountMinor < 0) || (code === 'H' && amountMinor > 0) || (code !== 'S' && code !== 'H')) {
    refuse('DebitCreditCode', `the code ${JSON.stringify(code)} contradicts the amount's sign`);
  }
  const glAccount = field(item, 'GLAccount');
  if (glAccount === '') refuse('GLAccount', 'the item has no G/L account');
  const account = options.accountCodeOf(glAccount) ?? options.accountCodeOf(glAccount.replace(/^0+(?=\d)/, '')) ?? `s4hana:${glAccount}`;
  return { key, entity: options.entity, currency, period: options.period, account, amountMinor, status: '', document };
}

/** Edm.Decimal comes as a string in JSON V2 ("-96.80"; S/4HANA may print three decimals, "84.500"). */
function readAmount(value: unknown, currency: string, refuse: (detail: string) => never): number {
  if (typeof value !== 'string') return refuse(`${JSON.stringify(value)} is not a decimal string`);
  try {
    return parseAmount(value.trim(), currency).amountMinor;
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return refuse(error.code === 'AMOUNT_PRECISION' ? `"${value}" has more decimals than ${currency} allows` : `"${value}" is not a decimal amount in ${currency}`);
  }
}
