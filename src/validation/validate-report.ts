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

interface Check {
  readonly kind: Kind;
  readonly key: string;
  readonly unknown: ErrorCode;
  readonly inactive: ErrorCode;
  readonly param: string;
  readonly path: string;
  readonly date: string;
}

/** Master-data findings for a normalized report; `accountsUsed` are the GL accounts its mapping posts to. */
export function validateMasterData(report: ExpenseReport, reference: ReferenceData, accountsUsed: readonly string[] = []): Finding[] {
  const entity = reference.entity(report.entity);
  if (!entity) {
    const configured = reference.entities().map((e) => e.code).join(', ');
    return [finding('MD_ENTITY_UNKNOWN', 'error', { entity: report.entity, configured }, 'entity')];
  }
  const findings: Finding[] = [];
  const approvalDate = report.approvedAt.slice(0, 10);
  if (report.currency !== entity.currency) {
    findings.push(finding('REPORT_CURRENCY_NOT_FUNCTIONAL', 'error', { entity: report.entity, currency: report.currency, functionalCurrency: entity.currency }, 'currency'));
  }
  const checks: Check[] = [];
  report.lines.forEach((line, i) => {
    checks.push({ kind: 'employee', key: report.employeeId, unknown: 'MD_EMPLOYEE_UNKNOWN', inactive: 'MD_EMPLOYEE_INACTIVE', param: 'employeeId', path: 'employeeId', date: line.date });
    checks.push({ kind: 'category', key: line.category, unknown: 'MD_CATEGORY_UNKNOWN', inactive: 'MD_CATEGORY_INACTIVE', param: 'category', path: `lines[${i}].category`, date: line.date });
    line.allocations.forEach((allocation, j) => {
      checks.push({ kind: 'cost_center', key: allocation.costCenter, unknown: 'MD_COST_CENTER_UNKNOWN', inactive: 'MD_COST_CENTER_CLOSED', param: 'costCenter', path: `lines[${i}].allocations[${j}].costCenter`, date: line.date });
      if (allocation.project !== undefined) {
        checks.push({ kind: 'project', key: allocation.project, unknown: 'MD_PROJECT_UNKNOWN', inactive: 'MD_PROJECT_CLOSED', param: 'project', path: `lines[${i}].allocations[${j}].project`, date: line.date });
      }
    });
    if (line.tax) checks.push({ kind: 'tax_code', key: line.tax.code, unknown: 'MD_TAX_CODE_UNKNOWN', inactive: 'MD_TAX_CODE_INACTIVE', param: 'taxCode', path: `lines[${i}].tax.code`, date: line.date });
  });
  for (const account of accountsUsed) {
    checks.push({ kind: 'gl_account', key: account, unknown: 'MD_GL_ACCOUNT_UNKNOWN', inactive: 'MD_GL_ACCOUNT_BLOCKED', param: 'account', path: 'mapping', date: approvalDate });
  }
  const seen = new Set<string>();
  for (const check of checks) {
    const result = checkRecord(report.entity, check, reference.lookup(check.kind, report.entity, check.key, check.date));
    if (!result) continue;
    // One finding per record and problem: a missing employee is reported once, not once per line.
    const dedupe = `${result.code}\u0000${result.record?.key}\u0000${result.record?.state === 'inactive' ? result.params.date : ''}`;
    if (seen.has(dedupe)) continue;
    seen.add(dedupe);
    findings.push(result);
  }
  return findings;
}

function checkRecord(entity: string, check: Check, lookup: Lookup): Finding | undefined {
  const record = { kind: check.kind, entity, key: check.key };
  if (!lookup.found) return finding(check.unknown, 'error', { entity, [check.param]: check.key }, check.path, { ...record, state: 'missing' });
  if (lookup.active) return undefined;
  const { validFrom, validTo } = lookup.record;
  return finding(check.inactive, 'error', { entity, [check.param]: check.key, date: check.date }, check.path, { ...record, state: 'inactive', validFrom, validTo });
}

/** True when every error is a record that no system holds yet: the report can wait for a sync. */
export function onlyMissingData(findings: readonly Finding[]): boolean {
  const errors = findings.filter((f) => f.severity === 'error');
  return errors.length > 0 && errors.every((f) => f.record?.state === 'missing' && f.record.kind !== 'gl_account');
}
