/**
 * Validation v0: every record a report points at exists and is active for its entity on the
 * expense date of each line (GL accounts on the approval date, which is the posting date). Each
 * finding names the record, so a quarantine says exactly what to fix. The master-data hub of a
 * later issue implements the same `ReferenceData` interface.
 */
import type { ExpenseReport } from '../domain/report.ts';
import type { ErrorCode } from '../errors.ts';
import type { Lookup, ReferenceData } from '../masterdata/company.ts';

export interface Finding {
  readonly code: ErrorCode;
  readonly params: Record<string, string | number>;
  /** The path of the offending field in the report, e.g. lines[2].allocations[0].costCenter. */
  readonly path: string;
}

export function validateReport(report: ExpenseReport, reference: ReferenceData, accountsUsed: readonly string[]): Finding[] {
  const entity = reference.entity(report.entity);
  if (!entity) return [{ code: 'MD_ENTITY_UNKNOWN', params: { entity: report.entity }, path: 'entity' }];
  const findings: Finding[] = [];
  const approvalDate = report.approvedAt.slice(0, 10);
  const base = { entity: report.entity };
  const check = <T>(lookup: Lookup<T>, unknown: ErrorCode, inactive: ErrorCode, params: Record<string, string>, path: string, date: string) => {
    if (!lookup.found) findings.push({ code: unknown, params: { ...base, ...params }, path });
    else if (!lookup.active) findings.push({ code: inactive, params: { ...base, ...params, date }, path });
  };
  if (report.currency !== entity.currency) {
    findings.push({ code: 'REPORT_CURRENCY_NOT_FUNCTIONAL', params: { ...base, currency: report.currency, functionalCurrency: entity.currency }, path: 'currency' });
  }
  report.lines.forEach((line, i) => {
    check(reference.employee(report.entity, report.employeeId, line.date), 'MD_EMPLOYEE_UNKNOWN', 'MD_EMPLOYEE_INACTIVE', { employeeId: report.employeeId }, 'employeeId', line.date);
    line.allocations.forEach((allocation, j) => {
      check(reference.costCenter(report.entity, allocation.costCenter, line.date), 'MD_COST_CENTER_UNKNOWN', 'MD_COST_CENTER_CLOSED', { costCenter: allocation.costCenter }, `lines[${i}].allocations[${j}].costCenter`, line.date);
    });
    if (line.tax) {
      check(reference.taxCode(report.entity, line.tax.code, line.date), 'MD_TAX_CODE_UNKNOWN', 'MD_TAX_CODE_INACTIVE', { taxCode: line.tax.code }, `lines[${i}].tax.code`, line.date);
    }
  });
  for (const account of accountsUsed) {
    check(reference.glAccount(report.entity, account, approvalDate), 'MD_GL_ACCOUNT_UNKNOWN', 'MD_GL_ACCOUNT_BLOCKED', { account }, 'mapping', approvalDate);
  }
  return dedupe(findings);
}

function dedupe(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.code}:${JSON.stringify(f.params)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
