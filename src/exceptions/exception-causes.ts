/**
 * What an exception is about: its kind (from the quarantine code), the record it names, and the
 * cause it is grouped under. Pure; the queries that gather the items are in exceptions.ts.
 */
import { ERRORS } from '../errors.ts';
import { MAPPING_DEFECT_CODES } from '../mapping/rule-set.ts';

/**
 * The kinds of exception, one per way to fix it:
 *
 * | kind | codes | the fix is in |
 * |---|---|---|
 * | `mapping` | `MAP_*` and the other mapping defect codes (`MD_GL_ACCOUNT_*`, `JOURNAL_UNBALANCED`; `MAPPING_DEFECT_CODES`) | the rule sets |
 * | `master_data` | every other `MD_*` | the master data (a record missing, closed or inactive) |
 * | `report` | `REPORT_*`, `JOURNAL_*`, `CURRENCY_*`, `AMOUNT_*`, `ALLOCATION_*` | the report, in the expense platform |
 * | `policy` | `POLICY_*` | the report, or the expense policy |
 * | `invalid` | `ERP_INVALID`, `ERP_INVALID_REFERENCE` | the data the ERP named |
 * | `auth` | `ERP_AUTH` | the connection's credentials |
 * | `conflict` | `ERP_CONFLICT` | the document already in the ERP |
 * | `unclassified` | `ERP_UNCLASSIFIED` | unknown: read the vendor's raw answer |
 * | `retries_exhausted` | `ERP_RETRIES_EXHAUSTED` | the connection (the item's `erp.errorKind` says which failure kept recurring) |
 * | `reconciliation` | `RECON_*` | whichever side the break shows wrong (platform, finsync or the ERP) |
 * | `other` | anything else | see the message |
 */
export const EXCEPTION_KINDS = ['master_data', 'mapping', 'report', 'policy', 'invalid', 'auth', 'conflict', 'unclassified', 'retries_exhausted', 'reconciliation', 'other'] as const;
export type ExceptionKind = (typeof EXCEPTION_KINDS)[number];

const ERP_CODE_KINDS: Readonly<Record<string, ExceptionKind>> = {
  ERP_INVALID: 'invalid',
  ERP_INVALID_REFERENCE: 'invalid',
  ERP_AUTH: 'auth',
  ERP_CONFLICT: 'conflict',
  ERP_UNCLASSIFIED: 'unclassified',
  ERP_RETRIES_EXHAUSTED: 'retries_exhausted',
};

const PREFIX_KINDS: readonly (readonly [string, ExceptionKind])[] = [
  ['MAP_', 'mapping'],
  ['MD_', 'master_data'],
  ['REPORT_', 'report'],
  ['JOURNAL_', 'report'],
  ['CURRENCY_', 'report'],
  ['AMOUNT_', 'report'],
  ['ALLOCATION_', 'report'],
  ['POLICY_', 'policy'],
  ['RECON_', 'reconciliation'],
];

export function kindOfCode(code: string): ExceptionKind {
  if ((MAPPING_DEFECT_CODES as readonly string[]).includes(code)) return 'mapping';
  const erp = ERP_CODE_KINDS[code];
  if (erp) return erp;
  return PREFIX_KINDS.find(([prefix]) => code.startsWith(prefix))?.[1] ?? 'other';
}

/** The registered codes of a kind, for filtering in SQL: `in` the list, or for `other`, `notIn` every classified code. */
export function codesOfKind(kind: ExceptionKind): { readonly in: readonly string[] } | { readonly notIn: readonly string[] } {
  const codes = Object.keys(ERRORS);
  if (kind === 'other') return { notIn: codes.filter((c) => kindOfCode(c) !== 'other') };
  return { in: codes.filter((c) => kindOfCode(c) === kind) };
}

/** The record an exception is about. */
export interface OffendingRecord {
  /** A master-data kind (cost_center, employee, gl_account, …), or `erp:<field>` for an ERP field finsync could not trace to one of its records. */
  readonly kind: string;
  readonly entity: string;
  readonly key: string;
  /** For a master-data blocker: the record is missing, or exists but is inactive (closed, terminated, blocked). */
  readonly state: 'missing' | 'inactive' | null;
  /** For an ERP refusal: the field and the ERP's value it named (its internal id). */
  readonly erpField: string | null;
  readonly erpValue: string | null;
}

/** The master-data kind each MD_* code names (`MD_COST_CENTER_CLOSED` names a cost_center). */
const CODE_RECORD_KINDS: readonly (readonly [string, string])[] = [
  ['MD_EMPLOYEE_', 'employee'],
  ['MD_COST_CENTER_', 'cost_center'],
  ['MD_GL_ACCOUNT_', 'gl_account'],
  ['MD_TAX_CODE_', 'tax_code'],
  ['MD_PROJECT_', 'project'],
  ['MD_CATEGORY_', 'category'],
  ['MD_FX_RATE_', 'fx_rate'],
];

/** Of a revision's master-data blockers, the one its code names (the first by key), if any. */
export function recordNamedByCode(code: string, blockers: readonly OffendingRecord[]): OffendingRecord | null {
  const kind = CODE_RECORD_KINDS.find(([prefix]) => code.startsWith(prefix))?.[1];
  if (kind === undefined) return null;
  return blockers.find((b) => b.kind === kind) ?? null;
}

/** ERP references as the pipeline resolved them for the posting (postings.erp_refs). */
interface ErpRefs {
  readonly subsidiaryId?: string;
  readonly accounts?: Readonly<Record<string, string>>;
  readonly costCenters?: Readonly<Record<string, string>>;
  readonly employees?: Readonly<Record<string, string>>;
  readonly taxCodes?: Readonly<Record<string, string>>;
}

/** The ERP fields a refusal can name (NetSuite's names), and where the posting's references hold our key for them. */
const ERP_FIELDS: Readonly<Record<string, readonly [kind: string, refs: 'accounts' | 'costCenters' | 'employees' | 'taxCodes']>> = {
  account: ['gl_account', 'accounts'],
  department: ['cost_center', 'costCenters'],
  entity: ['employee', 'employees'],
  employee: ['employee', 'employees'],
  taxCode: ['tax_code', 'taxCodes'],
};

/**
 * The record an ERP refusal names: the ERP's field and value traced back, through the references
 * the posting was sent with, to finsync's own key (department 2001 → cost_center DE4110).
 */
export function recordFromErpField(entity: string, field: string, value: string, refs: ErpRefs): OffendingRecord {
  const erp = { state: null, erpField: field, erpValue: value };
  if (field === 'subsidiary') return { kind: 'entity', entity, key: entity, ...erp };
  const known = ERP_FIELDS[field];
  const key = known && Object.entries(refs[known[1]] ?? {}).find(([, erpId]) => erpId === value)?.[0];
  return known && key !== undefined ? { kind: known[0], entity, key, ...erp } : { kind: `erp:${field}`, entity, key: value, ...erp };
}

/** What the grouping needs of an item. */
export interface CauseParts {
  readonly code: string;
  readonly entity: string;
  readonly target: string | null;
  readonly record: OffendingRecord | null;
  readonly vendorCode: string | null;
}

/**
 * The cause an item is grouped under, as a stable string of `/`-separated, URI-encoded parts:
 * code/kind/entity/key of the record when one is known (every report blocked by one closed cost
 * center shares it), else code/entity/target, plus the vendor's code for ERP codes.
 */
export function causeKey(item: CauseParts): string {
  const parts = item.record
    ? [item.code, item.record.kind, item.record.entity, item.record.key]
    : [item.code, item.entity, item.target ?? '-', ...(item.code.startsWith('ERP_') ? [item.vendorCode ?? '-'] : [])];
  return parts.map(encodeURIComponent).join('/');
}
