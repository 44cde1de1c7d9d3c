/**
 * The simulator's OData V2 read service of journal entry items: the ledger's documents as rows of
 * `A_JournalEntryItemBasic` (one per item and ledger), the query options the connector uses
 * (`$filter`, `$select`, `$orderby`, `$top`, `$skip`, `$format=json`), JSON V2 answers
 * `{ d: { results, __next? } }` with server-driven paging, and OData's error body. The row shape
 * is our choice [S/U]: the standard service's public EDMX has no AccountingDocument, PostingDate or
 * reference fields, so the simulator serves what a custom read view over I_JournalEntryItem would
 * (README). Filters: `Field op literal` joined by `and`, op eq/ne/gt/ge/lt/le, literals
 * 'text' (quotes doubled), datetime'YYYY-MM-DDTHH:MM:SS' and numbers, and
 * `startswith(Field,'text') eq true`; anything else is refused with HTTP 400.
 */
import { formatAmount } from '../../domain/money.ts';
import type { S4SimDocument } from './simulator-ledger.ts';

export type ODataValue = string;
export type ODataSimRow = Readonly<Record<string, ODataValue>>;

export interface ODataAnswer {
  readonly status: number;
  readonly body: unknown;
}

export interface RowOptions {
  readonly ledgers: readonly string[];
  /** Print numeric G/L accounts with leading zeros to 10 digits, as S/4HANA's internal format does [U]. */
  readonly glAccountLeadingZeros: boolean;
}

/** The properties of a row (our choice of the entity's shape, README). */
export const ROW_FIELDS: ReadonlySet<string> = new Set([
  'ID', 'Ledger', 'CompanyCode', 'FiscalYear', 'FiscalPeriod', 'AccountingDocument', 'AccountingDocumentItem', 'AccountingDocumentType',
  'PostingDate', 'DocumentDate', 'DocumentReferenceID', 'AccountingDocumentHeaderText', 'AssignmentReference', 'DocumentItemText',
  'GLAccount', 'CostCenter', 'TaxCode', 'DebitCreditCode', 'TransactionCurrency', 'AmountInTransactionCurrency',
]);

/** Properties that exist but cannot be filtered (sap:filterable="false" in the EDMX). */
const NOT_FILTERABLE = new Set(['ID', 'AmountInTransactionCurrency']);

export function documentRows(documents: readonly S4SimDocument[], options: RowOptions): ODataSimRow[] {
  const rows: ODataSimRow[] = [];
  for (const document of documents) {
    for (const ledger of options.ledgers) {
      for (const item of document.items) {
        rows.push({
          ID: `${ledger}${document.companyCode}${document.fiscalYear}${document.accountingDocument}${item.item}`,
          Ledger: ledger,
          CompanyCode: document.companyCode,
          FiscalYear: document.fiscalYear,
          FiscalPeriod: document.postingDate.slice(5, 7).padStart(3, '0'),
          AccountingDocument: document.accountingDocument,
          AccountingDocumentItem: item.item,
          AccountingDocumentType: document.documentType,
          PostingDate: odataDate(document.postingDate),
          DocumentDate: odataDate(document.documentDate),
          DocumentReferenceID: document.documentReferenceId,
          AccountingDocumentHeaderText: document.headerText,
          AssignmentReference: item.assignmentReference,
          DocumentItemText: item.itemText,
          GLAccount: options.glAccountLeadingZeros && /^\d+$/.test(item.glAccount) ? item.glAccount.padStart(10, '0') : item.glAccount,
          CostCenter: item.costCenter ?? '',
          TaxCode: item.taxCode ?? '',
          DebitCreditCode: item.debitCreditCode,
          TransactionCurrency: document.currency,
          AmountInTransactionCurrency: formatAmount(item.amountMinor, document.currency),
        });
      }
    }
  }
  return rows;
}

function odataDate(day: string): string {
  return `/Date(${Date.parse(`${day}T00:00:00Z`)})/`;
}

/** Answers one GET of the entity set. `requestUrl` is the absolute URL, for the __next link. */
export function answerQuery(rows: readonly ODataSimRow[], requestUrl: URL, pageSizeMax: number): ODataAnswer {
  const params = requestUrl.searchParams;
  const known = new Set(['$filter', '$select', '$orderby', '$top', '$skip', '$format', '$inlinecount', 'sap-client']);
  const unknown = [...params.keys()].find((name) => !known.has(name));
  if (unknown !== undefined) return odataError(400, 'SY/530', `The query option ${unknown} is not supported`);
  if ((params.get('$format') ?? 'json') !== 'json') return odataError(400, 'SY/530', 'Only $format=json is served');
  const filter = parseFilter(params.get('$filter') ?? '', ROW_FIELDS);
  if (typeof filter === 'string') return odataError(400, '/IWBEP/CM_MGW_RT/022', filter);
  const order = parseOrderBy(params.get('$orderby') ?? '', ROW_FIELDS);
  if (typeof order === 'string') return odataError(400, '/IWBEP/CM_MGW_RT/022', order);
  const select = params.get('$select');
  const selected = select ? select.split(',').map((name) => name.trim()) : undefined;
  const badSelect = selected?.find((name) => !ROW_FIELDS.has(name));
  if (badSelect !== undefined) return odataError(400, '/IWBEP/CM_MGW_RT/021', `Property ${badSelect} not found in type A_JournalEntryItemBasicType`);
  const top = readCount(params.get('$top'));
  const skip = readCount(params.get('$skip')) ?? 0;
  if (top === null || skip === null) return odataError(400, '/IWBEP/CM_MGW_RT/004', '$top and $skip take non-negative integers');
  const matching = rows.filter((row) => filter.every((condition) => condition(row))).sort(order);
  const wanted = top === undefined ? matching.length - skip : top;
  const served = matching.slice(skip, skip + Math.min(wanted, pageSizeMax));
  const results = served.map((row) => ({ __metadata: { id: `${requestUrl.origin}${requestUrl.pathname}('${row.ID}')`, type: 'API_JOURNALENTRYITEMBASIC_SRV.A_JournalEntryItemBasicType' }, ...pick(row, selected) }));
  const more = served.length < wanted && skip + served.length < matching.length;
  const next = more ? nextLink(requestUrl, skip + served.length, top === undefined ? undefined : top - served.length) : undefined;
  return { status: 200, body: { d: { results, ...(next !== undefined && { __next: next }) } } };
}

function pick(row: ODataSimRow, selected: readonly string[] | undefined): Record<string, string> {
  if (!selected) return { ...row };
  return Object.fromEntries(selected.map((name) => [name, row[name]]));
}

function nextLink(requestUrl: URL, skip: number, top: number | undefined): string {
  const next = new URL(requestUrl.toString());
  next.searchParams.set('$skip', String(skip));
  if (top !== undefined) next.searchParams.set('$top', String(top));
  return next.toString();
}

/** undefined when absent, null when malformed. */
function readCount(value: string | null): number | undefined | null {
  if (value === null) return undefined;
  return /^\d{1,9}$/.test(value) ? Number(value) : null;
}

export function odataError(status: number, code: string, message: string): ODataAnswer {
  return { status, body: { error: { code, message: { lang: 'en', value: message }, innererror: { application: { component_id: 'FI-GL-IS', service_namespace: '/SAP/', service_id: 'API_JOURNALENTRYITEMBASIC_SRV', service_version: '0001' } } } } };
}

type Condition = (row: ODataSimRow) => boolean;

const COMPARISON = /^(\w+)\s+(eq|ne|gt|ge|lt|le)\s+(.+)$/i;
const STARTSWITH = /^startswith\(\s*(\w+)\s*,\s*'((?:[^']|'')*)'\s*\)\s+eq\s+true$/i;

function parseFilter(filter: string, fields: ReadonlySet<string>): Condition[] | string {
  if (filter.trim() === '') return [];
  const conditions: Condition[] = [];
  for (const part of splitAnd(filter)) {
    const starts = STARTSWITH.exec(part);
    if (starts) {
      const [, field, raw] = starts;
      if (!fields.has(field)) return `Property ${field} not found in type A_JournalEntryItemBasicType`;
      const prefix = raw.replace(/''/g, "'");
      conditions.push((row) => (row[field] ?? '').startsWith(prefix));
      continue;
    }
    const comparison = COMPARISON.exec(part);
    if (!comparison) return `Invalid filter expression: "${part}"`;
    const [, field, op, literal] = comparison;
    if (!fields.has(field)) return `Property ${field} not found in type A_JournalEntryItemBasicType`;
    if (NOT_FILTERABLE.has(field)) return `Property ${field} is not filterable`;
    const value = readLiteral(literal.trim());
    if (value === undefined) return `Invalid literal ${literal} in filter expression`;
    conditions.push((row) => compare(comparable(row[field] ?? '', value.kind), value.value, op.toLowerCase()));
  }
  return conditions;
}

/** Splits on `and` outside quoted literals. */
function splitAnd(filter: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < filter.length; i++) {
    const char = filter[i];
    if (char === "'") quoted = !quoted;
    if (!quoted && /\s/.test(char) && /^\s+and\s+/i.test(filter.slice(i))) {
      parts.push(current.trim());
      current = '';
      i += (/^\s+and\s+/i.exec(filter.slice(i)) as RegExpExecArray)[0].length - 1;
      continue;
    }
    current += char;
  }
  parts.push(current.trim());
  return parts;
}

function readLiteral(literal: string): { kind: 'text' | 'date' | 'number'; value: string } | undefined {
  const text = /^'((?:[^']|'')*)'$/.exec(literal);
  if (text) return { kind: 'text', value: text[1].replace(/''/g, "'") };
  const date = /^datetime'(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}(?::\d{2})?'$/.exec(literal);
  if (date) return { kind: 'date', value: date[1] };
  if (/^-?\d+(\.\d+)?$/.test(literal)) return { kind: 'number', value: literal };
  return undefined;
}

/** A row value in the literal's terms: Edm.DateTime rows as YYYY-MM-DD. */
function comparable(value: string, kind: 'text' | 'date' | 'number'): string {
  if (kind !== 'date') return value;
  const ms = /^\/Date\((-?\d+)\)\/$/.exec(value);
  return ms ? new Date(Number(ms[1])).toISOString().slice(0, 10) : value;
}

function compare(left: string, right: string, op: string): boolean {
  const order = left < right ? -1 : left > right ? 1 : 0;
  switch (op) {
    case 'eq':
      return order === 0;
    case 'ne':
      return order !== 0;
    case 'gt':
      return order > 0;
    case 'ge':
      return order >= 0;
    case 'lt':
      return order < 0;
    default:
      return order <= 0;
  }
}

function parseOrderBy(orderby: string, fields: ReadonlySet<string>): ((a: ODataSimRow, b: ODataSimRow) => number) | string {
  const keys: { field: string; direction: number }[] = [];
  for (const part of orderby.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const match = /^(\w+)(?:\s+(asc|desc))?$/i.exec(part);
    if (!match || !fields.has(match[1])) return `Invalid $orderby expression: "${part}"`;
    keys.push({ field: match[1], direction: match[2]?.toLowerCase() === 'desc' ? -1 : 1 });
  }
  // Without $orderby, the simulator keeps the ledger's order (S/4HANA promises none).
  return (a, b) => {
    for (const { field, direction } of keys) {
      const order = (a[field] ?? '') < (b[field] ?? '') ? -1 : (a[field] ?? '') > (b[field] ?? '') ? 1 : 0;
      if (order !== 0) return order * direction;
    }
    return 0;
  };
}
