/**
 * The validator: master-data and policy findings for a report, from the in-memory reference data
 * only (no database round trip). The pipeline calls `validateReport` for every revision it
 * processes, which also records the report in the duplicate index; the API calls `validateDraft`
 * for a report (or a single line) that is not submitted yet, which stores nothing anywhere.
 *
 * A draft is a report input where reportId, revision and approvedAt may be missing (approvedAt
 * then means now). A draft line in a foreign currency without an exchange rate takes the hub's
 * rate for the line's date, or gets an MD_FX_RATE_MISSING finding. Input that is not a report at
 * all (an amount that does not parse, allocations that do not add up) is an AppError with the
 * path of the field, like a refused event; everything else is a finding.
 */
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { DomainError } from '../domain/domain-error.ts';
import { LineInputSchema, normalizeReport, postingDateOf, ReportInputSchema, type ExpenseReport, type ReportInput } from '../domain/report.ts';
import { AppError, formatErrorMessage } from '../errors.ts';
import type { MappingService } from '../mapping/mapping-service.ts';
import type { ReferenceData } from '../masterdata/md-index.ts';
import { systemClock, type Clock } from '../pipeline/clock.ts';
import type { DuplicateIndex } from './duplicates.ts';
import { evaluatePolicy } from './policy-rules.ts';
import { finding, validateMasterData, type Finding } from './validate-report.ts';

const R = ReportInputSchema.properties;

/** A report as the expense platform would send it, before it is submitted. */
export const DraftReportSchema = Type.Object(
  {
    ...R,
    reportId: Type.Optional(R.reportId),
    revision: Type.Optional(R.revision),
    approvedAt: Type.Optional(Type.String({ format: 'date-time', description: 'default: now' })),
  },
  { additionalProperties: false, description: 'A report input (docs/events.md) in which reportId, revision and approvedAt may be left out' },
);

export const DraftReportBodySchema = Type.Object({ report: DraftReportSchema }, { additionalProperties: false });

export const DraftLineBodySchema = Type.Object(
  { entity: R.entity, employeeId: R.employeeId, currency: R.currency, line: LineInputSchema },
  { additionalProperties: false, description: 'One line, checked as a report of that line approved now' },
);

export const ValidateBodySchema = Type.Union([DraftReportBodySchema, DraftLineBodySchema]);
export type ValidateBody = Static<typeof ValidateBodySchema>;

export interface ValidateResponse {
  /** True when no finding is an error: the report would not be quarantined by validation. */
  readonly valid: boolean;
  readonly findings: readonly Finding[];
  readonly checkedAt: string;
  /** The master-data change-feed position the answer was computed at. */
  readonly masterDataSeq: number;
}

export interface Validator {
  /** Master-data and policy findings; records the report in the duplicate index. The pipeline's step. */
  validateReport(report: ExpenseReport, accountsUsed: readonly string[]): Finding[];
  /** Findings for a draft (schema-valid body); stores nothing. Throws AppError (400) for input that is not a report. */
  validateDraft(body: ValidateBody, mapping: Pick<MappingService, 'accountsUsed' | 'versionFor'>): ValidateResponse;
}

export interface ValidatorOptions {
  readonly reference: ReferenceData;
  readonly duplicates: DuplicateIndex;
  readonly clock?: Clock;
}

/** The report id a draft without one gets; never the id of a stored report (ids start with a letter or digit). */
export const DRAFT_REPORT_ID = '(draft)';

export function createValidator(options: ValidatorOptions): Validator {
  const { reference, duplicates } = options;
  const clock = options.clock ?? systemClock;
  return {
    validateReport(report, accountsUsed) {
      const findings = validateMasterData(report, reference, accountsUsed);
      for (const f of evaluatePolicy(report, reference, duplicates)) findings.push(f);
      duplicates.add(report);
      return findings;
    },
    validateDraft(body, mapping) {
      const nowIso = isoOf(clock.now());
      const draft = toReportInput(body, nowIso);
      const unconverted = fillExchangeRates(draft, reference);
      const report = normalizeDraft(draft);
      const entityKnown = reference.entity(report.entity) !== undefined;
      const findings = validateMasterData(report, reference, entityKnown ? mapping.accountsUsed(report) : []);
      if (entityKnown && mapping.versionFor(report) === 'none') {
        findings.push(finding('MAP_NO_RULE_SET', 'error', { entity: report.entity, date: postingDateOf(report) }, 'entity'));
      }
      if (entityKnown && unconverted) {
        for (const i of unconverted) {
          const line = report.lines[i];
          findings.push(finding('MD_FX_RATE_MISSING', 'error', { from: line.amount.currency, to: report.currency, date: line.date, entity: report.entity }, `lines[${i}].exchangeRate`));
        }
      }
      if (entityKnown) for (const f of evaluatePolicy(report, reference, duplicates, unconverted && { unconvertedLines: unconverted })) findings.push(f);
      let valid = true;
      for (let i = 0; i < findings.length; i++) {
        const f = findings[i];
        if (f.severity === 'error') valid = false;
        findings[i] = { ...f, path: requestPath(f.path, draft.form) };
      }
      return { valid, findings, checkedAt: nowIso, masterDataSeq: reference.seq };
    },
  };
}

interface DraftInput {
  readonly input: ReportInput;
  /** Which body it came from, to turn report paths back into request paths. */
  readonly form: 'report' | 'line';
}

function toReportInput(body: ValidateBody, nowIso: string): DraftInput {
  if ('report' in body) {
    const r = body.report;
    // Fields listed one by one: spreading the parsed body costs more than the whole schema check.
    const input: ReportInput = {
      reportId: r.reportId ?? DRAFT_REPORT_ID,
      revision: r.revision ?? 1,
      entity: r.entity,
      employeeId: r.employeeId,
      currency: r.currency,
      title: r.title,
      submittedAt: r.submittedAt,
      approvedAt: r.approvedAt ?? nowIso,
      total: r.total,
      lines: r.lines,
    };
    return { input, form: 'report' };
  }
  const input: ReportInput = { reportId: DRAFT_REPORT_ID, revision: 1, entity: body.entity, employeeId: body.employeeId, currency: body.currency, approvedAt: nowIso, lines: [body.line] };
  return { input, form: 'line' };
}

/**
 * Gives each foreign-currency line without a rate the hub's rate for its date. A line with no rate
 * anywhere gets a placeholder so the draft can be normalized, and its index is returned: it is
 * reported as MD_FX_RATE_MISSING and left out of the amount rules.
 */
function fillExchangeRates(draft: DraftInput, reference: ReferenceData): Set<number> | undefined {
  const { input } = draft;
  let unconverted: Set<number> | undefined;
  let lines: ReportInput['lines'] | undefined;
  for (let i = 0; i < input.lines.length; i++) {
    const line = input.lines[i];
    if (line.exchangeRate || line.amount.currency === input.currency) continue;
    const held = reference.fxRate(input.entity, line.amount.currency, input.currency, line.date);
    if (!held) (unconverted ??= new Set()).add(i);
    // Copied on the first change: the body stays as it was sent.
    lines ??= input.lines.slice();
    lines[i] = { ...line, exchangeRate: held ?? { rate: '1', source: 'none', date: line.date } };
  }
  if (lines) (input as { lines: ReportInput['lines'] }).lines = lines;
  return unconverted;
}

let lastMs = Number.NaN;
let lastIso = '';

/** The ISO form of an instant; under load many requests share a millisecond, and formatting a Date is not free. */
function isoOf(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

function normalizeDraft(draft: DraftInput): ExpenseReport {
  try {
    return normalizeReport(draft.input, '$');
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    const path = requestPath(String(error.params.path ?? '$').replace(/^\$\.?/, ''), draft.form);
    const params = { ...error.params, path };
    throw new AppError(error.code, params, [{ path, message: formatErrorMessage(error.code, params) }]);
  }
}

/** A path in the normalized report (lines[2].amount) as a path in the request body. */
export function requestPath(path: string, form: 'report' | 'line'): string {
  if (path === 'mapping') return path;
  if (form === 'report') return path === '' ? 'report' : `report.${path}`;
  if (path.startsWith('lines[0]')) return `line${path.slice('lines[0]'.length)}`;
  return path === '' ? '(root)' : path;
}

/** Checks a body against the draft schemas; the branch is picked by the presence of `report`, so the error names the field that is wrong. */
const checkReportBody = Compile(DraftReportBodySchema);
const checkLineBody = Compile(DraftLineBodySchema);

export interface BodyProblem {
  readonly path: string;
  readonly message: string;
}

/** Undefined when the body is valid; else up to ten problems, the first being the one to fix first. */
export function checkValidateBody(body: unknown): BodyProblem[] | undefined {
  const isReport = typeof body === 'object' && body !== null && !Array.isArray(body) && 'report' in body;
  const check = isReport ? checkReportBody : checkLineBody;
  if (check.Check(body)) return undefined;
  const problems: BodyProblem[] = [];
  for (const error of check.Errors(body)) {
    problems.push(describeSchemaError(error));
    if (problems.length === 10) break;
  }
  if (problems.length === 0) problems.push({ path: '(root)', message: 'is not a validation request' });
  return problems;
}

interface SchemaError {
  readonly keyword: string;
  readonly instancePath: string;
  readonly params: unknown;
  readonly message: string;
}

function describeSchemaError(error: SchemaError): BodyProblem {
  const base = error.instancePath.replace(/^\//, '').split('/').filter(Boolean).map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'));
  const params = error.params as { requiredProperties?: string[]; additionalProperties?: string[] };
  const toPath = (parts: string[]) => parts.reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '') || '(root)';
  if (error.keyword === 'required' && params.requiredProperties?.length) {
    return { path: toPath([...base, params.requiredProperties[0]]), message: `is required (missing: ${params.requiredProperties.join(', ')})` };
  }
  if (error.keyword === 'additionalProperties' && params.additionalProperties?.length) {
    return { path: toPath([...base, params.additionalProperties[0]]), message: 'is not a field of this request' };
  }
  if (error.keyword === 'boolean') return { path: toPath(base), message: 'is not a field of this request' };
  return { path: toPath(base), message: error.message };
}
