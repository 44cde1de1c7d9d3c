// Proves that the expense-platform simulator is deterministic per seed, that every report it generates or revises passes the public schema and normalization, that its mix covers every feature the pipeline must handle (including the intended share of business-invalid reports), and that its CloudEvents carry the expected envelope.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Compile } from 'typebox/compile';
import { CloudEventSchema, RecallDataSchema } from '../../src/domain/events.ts';
import { divideRounded, parseAmount } from '../../src/domain/money.ts';
import { normalizeReport, ReportInputSchema, type ReportInput } from '../../src/domain/report.ts';
import { isValidOn } from '../../src/masterdata/company.ts';
import {
  createRng,
  DEFAULT_EVENT_SOURCE,
  EVENT_TYPES,
  generateReports,
  reviseReport,
  toCloudEvent,
  toRecallEvent,
} from '../../src/demo/expense-platform.ts';
import { SAMPLE_CATEGORIES, SAMPLE_COMPANY } from '../../src/demo/sample-company.ts';

const checkReport = Compile(ReportInputSchema);
const checkEnvelope = Compile(CloudEventSchema);
const checkRecall = Compile(RecallDataSchema);
const APPROVED_ON = new Date('2026-08-15T09:30:00.000Z');
const PER_DIEM_LIMIT_MINOR: Record<string, number> = { US01: 7_900, DE01: 2_800, JP01: 5_000 };

function assertWellFormed(report: ReportInput): void {
  assert.ok(checkReport.Check(report), `${report.reportId}: ${JSON.stringify([...checkReport.Errors(report)].slice(0, 3))}`);
  assert.doesNotThrow(() => normalizeReport(report), `${report.reportId} fails normalizeReport`);
}

/** What validation and mapping would object to, checked straight against the sample master data. */
function findBusinessProblems(report: ReportInput): string[] {
  const problems: string[] = [];
  for (const line of report.lines) {
    const employee = SAMPLE_COMPANY.employees.find((e) => e.entity === report.entity && e.employeeId === report.employeeId);
    if (!employee) problems.push('employee unknown');
    else if (!isValidOn(employee, line.date)) problems.push('employee inactive');
    for (const allocation of line.allocations) {
      const center = SAMPLE_COMPANY.costCenters.find((c) => c.entity === report.entity && c.code === allocation.costCenter);
      if (!center) problems.push('cost center unknown');
      else if (!isValidOn(center, line.date)) problems.push('cost center closed');
    }
    if (!SAMPLE_CATEGORIES.some(([code]) => code === line.category)) problems.push('category unknown');
    if (line.tax && !SAMPLE_COMPANY.taxCodes.some((t) => t.entity === report.entity && t.code === line.tax?.code && isValidOn(t, line.date))) {
      problems.push('tax code invalid');
    }
  }
  return [...new Set(problems)];
}

function minorOf(value: string, currency: string): number {
  return parseAmount(value, currency).amountMinor;
}

describe('createRng', () => {
  it('repeats its sequence for a seed and keeps int() within bounds', () => {
    const a = createRng(7);
    const b = createRng(7);
    for (let i = 0; i < 1000; i++) {
      const value = a.int(-3, 5);
      assert.equal(value, b.int(-3, 5));
      assert.ok(value >= -3 && value <= 5 && Number.isInteger(value));
    }
    assert.notEqual(createRng(1).next(), createRng(2).next());
  });
});

describe('generateReports', () => {
  it('gives identical reports for the same seed, other reports for another seed, and a prefix for a smaller count', () => {
    const first = generateReports({ count: 50, seed: 11, approvedOn: APPROVED_ON });
    assert.deepEqual(generateReports({ count: 50, seed: 11, approvedOn: APPROVED_ON }), first);
    assert.deepEqual(generateReports({ count: 20, seed: 11, approvedOn: APPROVED_ON }), first.slice(0, 20));
    assert.notDeepEqual(generateReports({ count: 50, seed: 12, approvedOn: APPROVED_ON }).map((r) => r.lines), first.map((r) => r.lines));
  });

  it('passes the schema and normalizeReport for seeds 1..5 with 300 reports each', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const reports = generateReports({ count: 300, seed, approvedOn: APPROVED_ON });
      assert.equal(reports.length, 300);
      reports.forEach((report, i) => {
        assert.equal(report.reportId, `RPT-${seed}-${i + 1}`);
        assert.equal(report.revision, 1);
        assert.equal(report.approvedAt, APPROVED_ON.toISOString());
        assert.equal(report.currency, SAMPLE_COMPANY.entities.find((e) => e.code === report.entity)?.currency);
        assert.ok(report.lines.length >= 1 && report.lines.length <= 6);
        assertWellFormed(report);
      });
    }
  });

  it('keeps expense dates in the 60 days up to approval and never nets a report to zero', () => {
    const earliest = new Date(APPROVED_ON.getTime() - 60 * 86_400_000).toISOString().slice(0, 10);
    for (const report of generateReports({ count: 500, seed: 3, approvedOn: APPROVED_ON })) {
      for (const line of report.lines) assert.ok(line.date >= earliest && line.date <= '2026-08-15', `${report.reportId} ${line.date}`);
      const domestic = report.lines.filter((l) => l.amount.currency === report.currency).reduce((sum, l) => sum + minorOf(l.amount.value, report.currency), 0);
      assert.ok(domestic > 0, `${report.reportId} nets to ${domestic}`);
    }
  });

  it('produces no business-invalid report when invalidShare is 0', () => {
    for (const report of generateReports({ count: 500, seed: 4, approvedOn: APPROVED_ON, invalidShare: 0 })) {
      assert.deepEqual(findBusinessProblems(report), [], report.reportId);
    }
  });

  it('covers every feature of the mix over 500 reports', () => {
    const reports = generateReports({ count: 500, seed: 42, approvedOn: APPROVED_ON });
    const counts = countFeatures(reports);
    for (const [feature, count] of Object.entries(counts)) {
      if (feature !== 'invalid') assert.ok(count > 0, `no ${feature} in 500 reports`);
    }
    assert.ok(counts.invalid >= 5 && counts.invalid <= 30, `${counts.invalid} invalid reports of 500, expected about 15`);
  });

  it('computes every explicit tax amount exactly from the gross', () => {
    const rateBp = new Map(SAMPLE_COMPANY.taxCodes.map((t) => [t.code, t.rateBp]));
    for (const report of generateReports({ count: 500, seed: 8, approvedOn: APPROVED_ON })) {
      for (const line of report.lines.filter((l) => l.tax?.amount !== undefined)) {
        const rate = BigInt(rateBp.get(line.tax?.code ?? '') ?? 0);
        const gross = BigInt(minorOf(line.amount.value, line.amount.currency));
        assert.equal(BigInt(minorOf(line.tax?.amount ?? '', line.amount.currency)), divideRounded(gross * rate, 10_000n + rate), `${report.reportId} ${line.lineId}`);
      }
    }
  });

  it('spreads invalid reports over all five kinds (a new hire is an employee the ERP does not know yet) and keeps them schema-valid', () => {
    const reports = generateReports({ count: 400, seed: 5, approvedOn: APPROVED_ON, invalidShare: 0.5 });
    const problems = new Set(reports.flatMap((r) => findBusinessProblems(r)));
    assert.deepEqual([...problems].sort(), ['category unknown', 'cost center closed', 'cost center unknown', 'employee inactive', 'employee unknown']);
    for (const report of reports) assertWellFormed(report);
  });

  it('falls back to unknown records when approval is too early for the terminated employee or closed cost center', () => {
    const reports = generateReports({ count: 200, seed: 6, approvedOn: new Date('2026-03-20T12:00:00Z'), invalidShare: 1 });
    const problems = new Set(reports.flatMap((r) => findBusinessProblems(r)));
    assert.deepEqual([...problems].sort(), ['category unknown', 'cost center unknown', 'employee unknown']);
    for (const report of reports) {
      assertWellFormed(report);
      assert.ok(findBusinessProblems(report).length > 0, report.reportId);
    }
  });
});

function countFeatures(reports: readonly ReportInput[]): Record<string, number> {
  const counts: Record<string, number> = {
    out_of_pocket: 0, company_card: 0, individual_card: 0, cash_advance: 0, personal: 0,
    DE19: 0, DE7: 0, 'DE19-ENT': 0, JP10: 0, JP8: 0, 'US-NT': 0, untaxedUs: 0, explicitTax: 0, implicitTax: 0,
    foreign: 0, percentSplit: 0, amountSplit: 0, negativeByPercent: 0, negativeByAmount: 0, perDiemAboveLimit: 0,
    perDiemWithinLimit: 0, merchant: 0, receipt: 0, noReceipt: 0, invalid: 0,
  };
  for (const report of reports) {
    if (findBusinessProblems(report).length > 0) counts.invalid++;
    for (const line of report.lines) {
      counts[line.paymentType]++;
      if (line.personal === true && line.paymentType === 'company_card') counts.personal++;
      if (line.tax) counts[line.tax.code]++;
      if (line.tax?.amount !== undefined) counts.explicitTax++;
      if (line.tax && line.tax.amount === undefined && line.tax.code !== 'US-NT') counts.implicitTax++;
      if (report.entity === 'US01' && !line.tax) counts.untaxedUs++;
      if (line.amount.currency !== report.currency && line.exchangeRate && /^\d+\.\d{1,6}$/.test(line.exchangeRate.rate)) counts.foreign++;
      const byAmount = line.allocations.every((a) => a.amount !== undefined);
      if (!byAmount && line.allocations.length >= 2) counts.percentSplit++;
      if (byAmount && line.allocations.length >= 2) counts.amountSplit++;
      if (line.amount.value.startsWith('-')) counts[byAmount ? 'negativeByAmount' : 'negativeByPercent']++;
      if (line.perDiem) {
        const limit = PER_DIEM_LIMIT_MINOR[report.entity] * line.perDiem.days;
        counts[minorOf(line.amount.value, report.currency) > limit ? 'perDiemAboveLimit' : 'perDiemWithinLimit']++;
      }
      if (line.merchant) counts.merchant++;
      counts[line.receipt ? 'receipt' : 'noReceipt']++;
    }
  }
  return counts;
}

describe('reviseReport', () => {
  it('increments the revision, keeps the identity, changes something and stays valid', () => {
    const reports = generateReports({ count: 200, seed: 9, approvedOn: APPROVED_ON, invalidShare: 0 });
    for (const report of reports) {
      const revised = reviseReport(report, 9, new Date('2026-08-16T10:00:00Z'));
      assert.equal(revised.revision, 2);
      for (const key of ['reportId', 'entity', 'employeeId', 'currency'] as const) assert.equal(revised[key], report[key]);
      assert.notDeepEqual(revised.lines, report.lines, `${report.reportId} did not change`);
      assert.ok(revised.approvedAt > report.approvedAt);
      assertWellFormed(revised);
      assert.deepEqual(findBusinessProblems(revised), [], report.reportId);
      const third = reviseReport(revised, 9, new Date('2026-08-16T10:00:00Z'));
      assert.equal(third.revision, 3);
      assertWellFormed(third);
    }
  });

  it('is deterministic for a seed and leaves its input untouched', () => {
    const [report] = generateReports({ count: 1, seed: 10, approvedOn: APPROVED_ON });
    const before = structuredClone(report);
    const at = new Date('2026-08-20T00:00:00Z');
    assert.deepEqual(reviseReport(report, 3, at), reviseReport(report, 3, at));
    assert.deepEqual(report, before);
  });
});

describe('toCloudEvent and toRecallEvent', () => {
  const [report] = generateReports({ count: 1, seed: 13, approvedOn: APPROVED_ON });

  it('builds a structured CloudEvent 1.0 with a deterministic id and the report as data', () => {
    const event = toCloudEvent(report, { type: 'approved' });
    assert.equal(event.specversion, '1.0');
    assert.equal(event.id, `${report.reportId}-r1-approved`);
    assert.equal(event.type, EVENT_TYPES.approved);
    assert.equal(event.type, 'com.finsync.expense.report.approved.v1');
    assert.equal(event.source, DEFAULT_EVENT_SOURCE);
    assert.equal(event.subject, report.reportId);
    assert.equal(event.datacontenttype, 'application/json');
    assert.ok(!Number.isNaN(Date.parse(event.time)));
    assert.deepEqual(event.data, report);
    assert.ok(checkEnvelope.Check(event));
    assert.equal(toCloudEvent(report, { type: 'approved' }).id, event.id, 'a redelivery keeps the id');
    assert.equal(JSON.stringify(JSON.parse(JSON.stringify(event))), JSON.stringify(event), 'the event is plain JSON');
  });

  it('honours type, source and id options', () => {
    const revised = reviseReport(report, 1, APPROVED_ON);
    const event = toCloudEvent(revised, { type: 'updated', source: 'urn:test:platform', id: 'evt-1' });
    assert.equal(event.type, EVENT_TYPES.updated);
    assert.equal(event.source, 'urn:test:platform');
    assert.equal(event.id, 'evt-1');
    assert.equal(toCloudEvent(revised, { type: 'updated' }).id, `${report.reportId}-r2-updated`);
  });

  it('builds a recall event', () => {
    const event = toRecallEvent(report.reportId, 2, 'Employee withdrew the report');
    assert.equal(event.specversion, '1.0');
    assert.equal(event.type, EVENT_TYPES.recalled);
    assert.equal(event.id, `${report.reportId}-r2-recalled`);
    assert.equal(event.subject, report.reportId);
    assert.deepEqual(event.data, { reportId: report.reportId, revision: 2, reason: 'Employee withdrew the report' });
    assert.ok(checkEnvelope.Check(event));
    assert.ok(checkRecall.Check(event.data));
  });

  it('lets the SDK reject an invalid envelope', () => {
    assert.throws(() => toCloudEvent(report, { type: 'approved', source: 'not a uri ^' }), /uri-reference/);
    assert.throws(() => toRecallEvent(report.reportId, 1, 'test', ''), /source/);
  });
});
