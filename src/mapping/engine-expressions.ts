/**
 * Expressions for the mapping engine (engine.ts): builds the input of each row expression (taxable
 * part, cost center, project, memo), evaluates them one at a time in item order, and checks each
 * result and stores it in the line plan, or refuses it.
 */
import { postingDateOf } from '../domain/report.ts';
import { CODE_PATTERN } from './expressions.ts';
import { allocate } from '../domain/money.ts';
import { ExpressionError } from './expressions.ts';
import type { CompiledExpression, ExpressionInput } from './rule-set.ts';
import { applyLineTaxable, fail, type Failure, type ItemPlan, type LinePlan, type MapContext } from './engine-items.ts';

type ExpressionField = 'taxable' | 'costCenter' | 'project' | 'memo';

interface ExpressionJob {
  readonly plan: LinePlan;
  /** The item the result goes to; for a line-level taxable part, the line's first item. */
  readonly item: ItemPlan;
  readonly field: ExpressionField;
  readonly expression: CompiledExpression;
  readonly input: ExpressionInput;
}

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly detail: string };

const MEMO_MAX_CHARS = 200;
const EMPTY_FIELDS: Readonly<Record<string, string>> = Object.freeze({});

function reportInputOf(ctx: MapContext): ExpressionInput['report'] {
  if (ctx.reportInput) return ctx.reportInput;
  const r = ctx.report;
  ctx.reportInput = {
    reportId: r.reportId,
    revision: r.revision,
    entity: r.entity,
    employeeId: r.employeeId,
    currency: r.currency,
    ...(r.title !== undefined && { title: r.title }),
    approvedAt: r.approvedAt,
    postingDate: postingDateOf(r),
    customFields: r.customFields ?? EMPTY_FIELDS,
  };
  return ctx.reportInput;
}

function lineInputOf(plan: LinePlan): ExpressionInput['line'] {
  if (plan.input) return plan.input;
  const l = plan.line;
  plan.input = {
    lineId: l.lineId,
    date: l.date,
    category: l.category,
    ...(l.merchant !== undefined && { merchant: l.merchant }),
    ...(l.description !== undefined && { description: l.description }),
    paymentType: l.paymentType,
    personal: l.personal,
    ...(l.tax !== undefined && { taxCode: l.tax.code }),
    currency: l.amount.currency,
    amountMinor: l.amount.amountMinor,
    customFields: l.customFields ?? EMPTY_FIELDS,
  };
  return plan.input;
}

function expressionInput(ctx: MapContext, plan: LinePlan, index: number, lineLevel: boolean): ExpressionInput {
  const item = plan.items[index];
  let grossMinor = plan.grossMinor;
  if (!lineLevel && plan.items.length > 1) grossMinor = (plan.grossParts ??= allocate(plan.grossMinor, plan.weights))[index];
  return {
    report: reportInputOf(ctx),
    line: lineInputOf(plan),
    allocation: item.allocation.project === undefined ? { costCenter: item.allocation.costCenter } : { costCenter: item.allocation.costCenter, project: item.allocation.project },
    grossMinor,
    expenseMinor: lineLevel ? plan.lineExpenseMinor : item.expenseMinor,
    days: plan.line.perDiem?.days ?? 0,
  };
}

function collectJobs(ctx: MapContext, plans: readonly LinePlan[]): ExpressionJob[] {
  const jobs: ExpressionJob[] = [];
  for (const plan of plans) {
    const items = plan.items;
    if (plan.lineTaxable) {
      jobs.push({ plan, item: items[0], field: 'taxable', expression: items[0].rule.taxable as CompiledExpression, input: expressionInput(ctx, plan, 0, true) });
    }
    for (let i = 0; i < items.length; i++) {
      const rule = items[i].rule;
      if (rule.taxable && !plan.lineTaxable) addJob(ctx, jobs, plan, i, 'taxable', rule.taxable);
      if (rule.costCenter.kind === 'expression') addJob(ctx, jobs, plan, i, 'costCenter', rule.costCenter.expression);
      if (rule.project.kind === 'expression') addJob(ctx, jobs, plan, i, 'project', rule.project.expression);
      if (rule.memo?.kind === 'expression') addJob(ctx, jobs, plan, i, 'memo', rule.memo.expression);
    }
  }
  return jobs;
}

function addJob(ctx: MapContext, jobs: ExpressionJob[], plan: LinePlan, index: number, field: ExpressionField, expression: CompiledExpression): void {
  jobs.push({ plan, item: plan.items[index], field, expression, input: expressionInput(ctx, plan, index, false) });
}

export function hasExpressions(plans: readonly LinePlan[]): boolean {
  for (const plan of plans) {
    for (const { rule } of plan.items) {
      if (rule.taxable || rule.costCenter.kind === 'expression' || rule.project.kind === 'expression' || rule.memo?.kind === 'expression') return true;
    }
  }
  return false;
}

/**
 * Evaluates one expression. A stop by the time limit is already tried a second time by the compiled
 * expression (expressions.ts), so a runaway expression costs two limits, not four.
 */
async function evaluate(job: ExpressionJob): Promise<Outcome> {
  try {
    return { ok: true, value: await job.expression.evaluate(job.input) };
  } catch (error) {
    return failed(error);
  }
}

function failed(error: unknown): Outcome {
  // Compiled expressions reject with an Error; a bare JSONata error is a plain object with a message.
  const message = typeof error === 'object' && error !== null && 'message' in error ? (error as { message: unknown }).message : error;
  return { ok: false, detail: String(message) };
}

function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}

/** Checks a result and stores it in the plan; a refusal when it is out of its range. */
function applyOutcome(ctx: MapContext, job: ExpressionJob, outcome: Outcome): Failure | undefined {
  if (!outcome.ok) return fail(ctx, 'MAP_EXPRESSION_FAILED', { ...expressionParams(ctx, job), detail: outcome.detail });
  const value = outcome.value;
  switch (job.field) {
    case 'taxable': {
      const expense = job.input.expenseMinor;
      const [low, high] = expense < 0 ? [expense, 0] : [0, expense];
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < low || value > high) {
        return refuseResult(ctx, job, value, `expected a whole number of minor units from ${low} to ${high}`);
      }
      if (job.plan.lineTaxable) applyLineTaxable(job.plan, value);
      else job.item.taxableMinor = value;
      return undefined;
    }
    case 'costCenter':
    case 'project': {
      if (value === null || value === undefined) job.item[job.field] = undefined;
      else if (typeof value === 'string' && CODE_PATTERN.test(value)) job.item[job.field] = value;
      else return refuseResult(ctx, job, value, `expected a ${job.field === 'costCenter' ? 'cost center' : 'project'} code (a letter or digit, then up to 39 of letters, digits, _ . -) or null for none`);
      return undefined;
    }
    case 'memo': {
      if (typeof value !== 'string' || value.length > MEMO_MAX_CHARS) return refuseResult(ctx, job, value, `expected a text of at most ${MEMO_MAX_CHARS} characters`);
      job.item.memo = value;
      return undefined;
    }
  }
}

function expressionParams(ctx: MapContext, job: ExpressionJob): Record<string, string> {
  return { rule: job.item.ruleRef, version: ctx.version, field: job.field, lineId: job.plan.line.lineId };
}

function refuseResult(ctx: MapContext, job: ExpressionJob, value: unknown, expected: string): Failure {
  return fail(ctx, 'MAP_EXPRESSION_RESULT', { ...expressionParams(ctx, job), value: shown(value), expected });
}

/**
 * One evaluation at a time, in item order: evaluations run side by side would each see the others'
 * time on their wall-time limit, and the refusal reported is always the first item's.
 */
export async function runExpressions(ctx: MapContext, plans: readonly LinePlan[]): Promise<Failure | undefined> {
  const jobs = collectJobs(ctx, plans);
  for (let i = 0; i < jobs.length; i++) {
    const failure = applyOutcome(ctx, jobs[i], await evaluate(jobs[i]));
    if (failure) return failure;
  }
  return undefined;
}
