/**
 * `mapping.per_report`: what the mapping engine costs per report, on its own, with a realistic rule
 * set, and that cost as a share of the whole pipeline's time per report measured in the same run.
 *
 * The rule set is generated for DE01: every category × every cost center (half as exact values,
 * half as globs) × two tax-code groups (full reclaim; DE19-ENT at 70%) × three trip types (a
 * report custom field: customer trips take their project and memo from expressions; per diem is
 * not split by trip and has the `taxable` expression), and the personal rows per payment type:
 * 308 rows, no overlaps, and no gaps together with the sample GROUP rule set (which also gives the
 * settings, and codes the trip types no row names). The reports are DE01's among the demo
 * generator's (seed 7, all valid), normalized once, a quarter each marked as customer, internal
 * and training trips by custom fields (the generator sets none).
 *
 * The measurement runs in a process of its own (this file, started by bench/run.ts), so nothing
 * of another measurement shares its heap or its JIT state:
 *
 *   node --import tsx bench/mapping.ts '{"seconds":3,"warmupSeconds":1}'
 */
import { fileURLToPath } from 'node:url';
import { SAMPLE_CATEGORIES, SAMPLE_COMPANY } from '../src/demo/sample-company.ts';
import { sampleRuleFiles } from '../src/demo/sample-rules.ts';
import { generateReports } from '../src/demo/expense-platform.ts';
import { normalizeReport, PAYMENT_TYPES, type ExpenseReport, type ReportInput } from '../src/domain/report.ts';
import { accountsUsed, mapWithRules } from '../src/mapping/engine.ts';
import { parseRuleFile } from '../src/mapping/rule-file.ts';
import { GROUP_SCOPE, type CompiledRuleSet, type ResolvedRules, type TaxLookup } from '../src/mapping/rule-set.ts';
import { note, round, runScript, withBaseline, type Figure } from './output.ts';

const ENTITY = 'DE01';
const SEED = 7;
/** Generated reports; about a third of them are DE01's. */
const GENERATED_REPORTS = 3000;
const EXPENSE_ACCOUNTS: Readonly<Record<string, string>> = { LODGING: '6110', AIRFARE: '6120', MEALS: '6130', TAXI: '6140', PERDIEM: '6150', SUPPLIES: '6170', ENTERTAINMENT: '6180' };
const COST_CENTERS = 8;
const TAX_GROUPS = [
  { id: 'STD', when: '-|DE19|DE7|DE16', tax: 'reclaim' },
  { id: 'ENT', when: 'DE19-ENT', tax: '70%' },
] as const;
const TRIP_TYPES = [
  {
    id: 'CUST',
    when: 'customer',
    then: {
      project: '= report.customFields.projectCode',
      memo: "= report.reportId & ' r' & $string(report.revision) & ' ' & line.category & ' for ' & report.customFields.customer",
    },
  },
  { id: 'INT', when: 'internal', then: {} },
  { id: 'OTHER', when: '-|training', then: {} },
] as const;
const PER_DIEM_TAXABLE = '= days = 0 ? 0 : $max([0, expenseMinor - 2800 * days])';

export interface MappingTask {
  readonly seconds: number;
  readonly warmupSeconds: number;
}

export interface MappingResult {
  readonly reports: number;
  readonly rules: number;
  readonly calls: number;
  readonly usPerReport: number;
  readonly p99Us: number;
  readonly accountsUsedUsPerReport: number;
}

/** A YAML string value, quoted: every generated value is plain text without quotes or backslashes. */
const q = (value: string) => `"${value}"`;

/** The rule file described at the top, as YAML text. */
export function benchRuleFile(): string {
  const rows: string[] = [];
  for (const [category] of SAMPLE_CATEGORIES) {
    for (let n = 1; n <= COST_CENTERS; n++) {
      // DE4110 ... DE4180: odd ones as exact values, even ones as globs (DE412?).
      const costCenter = n % 2 === 1 ? `DE41${n}0` : `DE41${n}?`;
      for (const taxGroup of TAX_GROUPS) {
        const when = [`category: ${category}`, `costCenter: ${q(costCenter)}`, `taxCode: ${q(taxGroup.when)}`, `personal: false`];
        const then = [`account: ${q(EXPENSE_ACCOUNTS[category])}`, `tax: ${q(taxGroup.tax)}`, `taxAccount: "1410"`];
        const id = `${category}-${n}-${taxGroup.id}`;
        // Per diem is not split by trip type: the group has no per diem row to take the trip types no row names.
        if (category === 'PERDIEM') {
          rows.push(`  - id: ${id}`, `    when: { ${when.join(', ')} }`, `    then: { ${[...then, `taxable: ${q(PER_DIEM_TAXABLE)}`, `taxableAccount: "6155"`].join(', ')} }`);
          continue;
        }
        for (const trip of TRIP_TYPES) {
          const tripThen = 'project' in trip.then ? [`project: ${q(trip.then.project)}`, `memo: ${q(trip.then.memo)}`] : [];
          rows.push(`  - id: ${id}-${trip.id}`, `    when: { ${[...when, `cf.tripType: ${q(trip.when)}`].join(', ')} }`, `    then: { ${[...then, ...tripThen].join(', ')} }`);
        }
      }
    }
  }
  for (const paymentType of PAYMENT_TYPES) {
    rows.push(`  - id: PERSONAL-${paymentType}`, `    when: { personal: true, paymentType: ${paymentType} }`, `    then: { account: "1250", employee: yes, costCenter: "-", project: "-", tax: none }`);
  }
  return [`description: Bench rule set of ${ENTITY}`, 'rules:', ...rows, ''].join('\n');
}

function compile(input: { text: string; file: string; format: 'yaml' | 'csv'; scope: string }): CompiledRuleSet {
  const result = parseRuleFile(input);
  if (!result.ok) throw new Error(`Assertion failed: ${input.file} does not compile: ${JSON.stringify(result.problems.slice(0, 3))}`);
  return result.ruleSet;
}

export function benchRules(): ResolvedRules {
  const group = sampleRuleFiles().find((f) => f.scope === GROUP_SCOPE);
  if (!group) throw new Error('Assertion failed: the sample rule files have no GROUP set');
  return {
    own: { ref: `${ENTITY}@1`, set: compile({ text: benchRuleFile(), file: `${ENTITY}.yaml`, format: 'yaml', scope: ENTITY }) },
    group: { ref: `${GROUP_SCOPE}@1`, set: compile(group) },
  };
}

/** DE01's reports of the demo generator, a quarter each marked as customer, internal and training trips. */
export function benchReports(): ExpenseReport[] {
  const inputs = generateReports({ count: GENERATED_REPORTS, seed: SEED, invalidShare: 0, approvedOn: new Date('2026-06-15T12:00:00Z') }).filter((r) => r.entity === ENTITY);
  return inputs.map((input, i) => normalizeReport(withTrip(input, i)));
}

function withTrip(input: ReportInput, i: number): ReportInput {
  switch (i % 4) {
    case 0:
      return { ...input, customFields: { tripType: 'customer', projectCode: `PRJ-${100 + (i % 37)}`, customer: `Customer ${i % 11}` } };
    case 1:
      return { ...input, customFields: { tripType: 'internal' } };
    case 2:
      return { ...input, customFields: { tripType: 'training' } };
    default:
      return input;
  }
}

const taxRates = new Map(SAMPLE_COMPANY.taxCodes.filter((t) => t.entity === ENTITY).map((t) => [t.code, t.rateBp]));
/** As the pipeline's look-up answers for the sample company: master data's rate, all reclaimable. */
const benchTax: TaxLookup = (code) => {
  const rateBp = taxRates.get(code);
  return rateBp === undefined ? undefined : { rateBp, reclaimBp: 10_000 };
};

/** Maps every report once, in order; the time of each call in µs when `times` is given. */
async function mapAll(rules: ResolvedRules, reports: readonly ExpenseReport[], times?: number[]): Promise<void> {
  for (const report of reports) {
    const startedAt = process.hrtime.bigint();
    const result = await mapWithRules(rules, report, benchTax);
    if (times) times.push(Number(process.hrtime.bigint() - startedAt) / 1000);
    if (!result.ok) throw new Error(`Assertion failed: ${report.reportId} was refused: ${result.code} ${JSON.stringify(result.params)}`);
  }
}

export async function measureMapping(task: MappingTask): Promise<MappingResult> {
  const rules = benchRules();
  const reports = benchReports();
  note(`mapping.per_report: ${reports.length} reports of ${ENTITY} (${reports.reduce((n, r) => n + r.lines.length, 0)} lines), ${rules.own?.set.rules.length} rows`);
  const warmUntil = performance.now() + task.warmupSeconds * 1000;
  while (performance.now() < warmUntil) await mapAll(rules, reports);
  const times: number[] = [];
  const startedAt = performance.now();
  while (performance.now() - startedAt < task.seconds * 1000) await mapAll(rules, reports, times);
  const elapsedMs = performance.now() - startedAt;
  times.sort((a, b) => a - b);
  // accountsUsed runs once per report too (validation checks its accounts before mapping).
  const accountsStartedAt = performance.now();
  let accountCalls = 0;
  while (performance.now() - accountsStartedAt < 500) for (const report of reports) (accountsUsed(rules, report), accountCalls++);
  return {
    reports: reports.length,
    rules: rules.own?.set.rules.length ?? 0,
    calls: times.length,
    usPerReport: (elapsedMs * 1000) / times.length,
    p99Us: times[Math.min(times.length - 1, Math.floor(times.length * 0.99))],
    accountsUsedUsPerReport: ((performance.now() - accountsStartedAt) * 1000) / accountCalls,
  };
}

/** Runs measureMapping in a child process (this file) and returns its result. */
export function measureMappingInChild(task: MappingTask, timeoutMs: number): Promise<MappingResult> {
  return runScript<MappingResult>(fileURLToPath(import.meta.url), [JSON.stringify(task)], timeoutMs);
}

/**
 * The figures: µs per report (mean, with the pipeline's µs per report of this run as baseline and
 * their ratio), the p99 of single calls, and the share of pipeline time as a figure of its own.
 */
export function mappingFigures(result: MappingResult, pipeline: { bench: string; reportsPerS: number } | undefined): Figure[] {
  const bench = 'mapping.per_report';
  const pipelineUs = pipeline && pipeline.reportsPerS > 0 ? round(1e6 / pipeline.reportsPerS, 1) : undefined;
  const usPerReport = round(result.usPerReport, 2);
  const baseline = pipelineUs === undefined ? undefined : { bench: pipeline!.bench, value: pipelineUs };
  return [
    withBaseline({ bench, metric: 'us_per_report', value: usPerReport, unit: 'µs' }, baseline),
    { bench, metric: 'p99_us', value: round(result.p99Us, 1), unit: 'µs' },
    {
      bench,
      metric: 'share_of_pipeline',
      value: pipelineUs === undefined ? null : round(result.usPerReport / pipelineUs, 4),
      unit: 'share',
      ...(baseline ? { baseline: baseline.bench, baselineValue: baseline.value } : { skipped: 'no pipeline.sqlite figure in this run' }),
    },
  ];
}

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? '{}') as Partial<MappingTask>;
  const result = await measureMapping({ seconds: task.seconds ?? 3, warmupSeconds: task.warmupSeconds ?? 1 });
  note(
    `mapping.per_report: ${result.calls} calls, ${result.usPerReport.toFixed(2)} µs per report (p99 ${result.p99Us.toFixed(1)} µs); accountsUsed ${result.accountsUsedUsPerReport.toFixed(2)} µs per report`,
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    note(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  });
}
