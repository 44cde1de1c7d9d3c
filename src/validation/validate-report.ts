/**
 * Master-data validation: every record a report points at exists and is active for its entity on
 * the expense date of each line (GL accounts on the approval date, which is the posting date). Each
 * finding names the field, the record and whether the record is missing or inactive, so the
 * pipeline can park a report that only waits for data, and a user sees exactly what to fix.
 * Policy rules are in policy-rules.ts; both feed POST /v1/validate and the pipeline.
 */
import type { ExpenseReport } from '../domain/report.ts';
import { formatErrorMessage, type ErrorCode } from '../errors.ts';
import type { Lookup, ReferenceData } from '../masterdata/md-index.ts';
import type { Kind } from '../masterdata/records.ts';

export type Severity = 'error' | 'warning' | 'info';

export interface FindingRecord {
  readonly kind: Kind;
  readonly entity: string;
  readonly key: string;
  /** missing: no system of record holds it; inactive: held, but closed, terminated or blocked on the date. */
  readonly state: 'missing' | 'inactive';
  readonly validFrom?: string;
  readonly validTo?: string;
}

export interface Finding {
  readonly code: ErrorCode;
  readonly severity: Severity;
  readonly params: Record<string, string | number>;
  /** The path of the offending field in the report, e.g. lines[2].allocations[0].costCenter. */
  readonly path: string;
  readonly message: string;
  readonly record?: FindingRecord;
}

export function finding(code: ErrorCode, severity: Severity, params: Record<string, string | number>, path: string, record?: FindingRecord): Finding {
  return { code, severity, params, path, message: formatErrorMessage(code, params), ...(record && { record }) };
}

/** What a record reference checks: its kind, the codes of its two findings, and the param naming it. */
interface Check {
  readonly kind: Kind;
  readonly unknown: ErrorCode;
  readonly inactive: ErrorCode;
  readonly param: string;
}

const EMPLOYEE: Check = { kind: 'employee', unknown: 'MD_EMPLOYEE_UNKNOWN', inactive: 'MD_EMPLOYEE_INACTIVE', param: 'employeeId' };
const CATEGORY: Check = { kind: 'category', unknown: 'MD_CATEGORY_UNKNOWN', inactive: 'MD_CATEGORY_INACTIVE', param: 'category' };
const COST_CENTER: Check = { kind: 'cost_center', unknown: 'MD_COST_CENTER_UNKNOWN', inactive: 'MD_COST_CENTER_CLOSED', param: 'costCenter' };
const PROJECT: Check = { kind: 'project', unknown: 'MD_PROJECT_UNKNOWN', inactive: 'MD_PROJECT_CLOSED', param: 'project' };
const TAX_CODE: Check = { kind: 'tax_code', unknown: 'MD_TAX_CODE_UNKNOWN', inactive: 'MD_TAX_CODE_INACTIVE', param: 'taxCode' };
const GL_ACCOUNT: Check = { kind: 'gl_account', unknown: 'MD_GL_ACCOUNT_UNKNOWN', inactive: 'MD_GL_ACCOUNT_BLOCKED', param: 'account' };

/** What one report's checks share; findings and the set that keeps them unique are made on first use. */
interface Checking {
  readonly report: ExpenseReport;
  readonly reference: ReferenceData;
  readonly findings: Finding[];
  seen?: Set<string>;
}

/**
 * Master-data findings for a normalized report; `accountsUsed` are the GL accounts its mapping posts
 * to. Findings come in a fixed order: per line the employee, the category, each allocation's cost
 * center and project, the tax code; then the GL accounts on the approval date.
 */
export function validateMasterData(report: ExpenseReport, reference: ReferenceData, accountsUsed: readonly string[] = []): Finding[] {
  // The validation API's hot path: one look-up per reference, no object per check, and a
  // finding's path written only when there is a finding.
  const entity = reference.entity(report.entity);
  if (!entity) {
    const configured = reference.entities().map((e) => e.code).join(', ');
    return [finding('MD_ENTITY_UNKNOWN', 'error', { entity: report.entity, configured }, 'entity')];
  }
  const checking: Checking = { report, reference, findings: [] };
  if (report.currency !== entity.currency) {
    checking.findings.push(finding('REPORT_CURRENCY_NOT_FUNCTIONAL', 'error', { entity: report.entity, currency: report.currency, functionalCurrency: entity.currency }, 'currency'));
  }
  let employeeCheckedOn = '';
  for (let i = 0; i < report.lines.length; i++) {
    const line = report.lines[i];
    // The same employee on the date just checked would give the same finding, which is said once.
    if (line.date !== employeeCheckedOn) checkReference(checking, EMPLOYEE, report.employeeId, line.date, i, 0);
    employeeCheckedOn = line.date;
    checkReference(checking, CATEGORY, line.category, line.date, i, 0);
    for (let j = 0; j < line.allocations.length; j++) {
      const allocation = line.allocations[j];
      checkReference(checking, COST_CENTER, allocation.costCenter, line.date, i, j);
      if (allocation.project !== undefined) checkReference(checking, PROJECT, allocation.project, line.date, i, j);
    }
    if (line.tax) checkReference(checking, TAX_CODE, line.tax.code, line.date, i, 0);
  }
  if (accountsUsed.length > 0) {
    const approvalDate = report.approvedAt.slice(0, 10);
    for (const account of accountsUsed) checkReference(checking, GL_ACCOUNT, account, approvalDate, 0, 0);
  }
  return checking.findings;
}

function checkReference(checking: Checking, check: Check, key: string, date: string, line: number, allocation: number): void {
  const lookup = checking.reference.lookup(check.kind, checking.report.entity, key, date);
  if (lookup.found && lookup.active) return;
  const result = checkRecord(checking.report.entity, check, key, date, pathOf(check.kind, line, allocation), lookup);
  // One finding per record and problem: a missing employee is reported once, not once per line.
  const dedupe = `${result.code}\u0000${result.record?.key}\u0000${result.record?.state === 'inactive' ? result.params.date : ''}`;
  const seen = (checking.seen ??= new Set());
  if (seen.has(dedupe)) return;
  seen.add(dedupe);
  checking.findings.push(result);
}

/** The field of the report a finding about a record of `kind` points at. */
function pathOf(kind: Kind, line: number, allocation: number): string {
  switch (kind) {
    case 'employee':
      return 'employeeId';
    case 'category':
      return `lines[${line}].category`;
    case 'cost_center':
      return `lines[${line}].allocations[${allocation}].costCenter`;
    case 'project':
      return `lines[${line}].allocations[${allocation}].project`;
    case 'tax_code':
      return `lines[${line}].tax.code`;
    case 'gl_account':
      return 'mapping';
    default:
      throw new Error(`Assertion failed: validateMasterData does not check records of kind ${kind}`);
  }
}

/** The finding of a record that is missing or not active. */
function checkRecord(entity: string, check: Check, key: string, date: string, path: string, lookup: Lookup): Finding {
  const record = { kind: check.kind, entity, key };
  if (!lookup.found) return finding(check.unknown, 'error', { entity, [check.param]: key }, path, { ...record, state: 'missing' });
  const { validFrom, validTo } = lookup.record;
  return finding(check.inactive, 'error', { entity, [check.param]: key, date }, path, { ...record, state: 'inactive', validFrom, validTo });
}

/** True when every error is a record that no system holds yet: the report can wait for a sync. */
export function onlyMissingData(findings: readonly Finding[]): boolean {
  const errors = findings.filter((f) => f.severity === 'error');
  return errors.length > 0 && errors.every((f) => f.record?.state === 'missing' && f.record.kind !== 'gl_account');
}
