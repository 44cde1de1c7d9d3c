// Proves that a report survives the trip to a Concur FIS expense document and back (up to the normalisations README.md lists), and that the reader answers any malformed, mutated or arbitrary input with problems naming the field, never with an exception.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Compile } from 'typebox/compile';
import { fromFisDocument, toFisDocument, type FisExpenseDocument, type FromFisOptions, type ToFisOptions } from '../../src/connectors/concur-fis/document.ts';
import { generateReports } from '../../src/demo/expense-platform.ts';
import { convert, formatAmount, parseAmount, parseRate } from '../../src/domain/money.ts';
import { normalizeReport, ReportInputSchema, type LineInput, type ReportInput } from '../../src/domain/report.ts';

const APPROVED_ON = new Date('2026-05-01T12:00:00Z');
const checkReportInput = Compile(ReportInputSchema);

function transaction(document: unknown, id = '0a1b2c3d4e5f60718293a4b5c6d7e8f9') {
  return { id, docType: 'expense', companyId: 'C1', entityId: 'E1', companyUuid: null, erpSystemId: null, document: typeof document === 'string' ? document : JSON.stringify(document), docStatus: 'READY' };
}

/** The documented normalisations of a round trip (README.md, "Reading a document"). */
function expectedAfterRoundTrip(report: ReportInput): ReportInput {
  const expected = structuredClone(report);
  const toReport = (line: LineInput) => {
    const amount = parseAmount(line.amount.value, line.amount.currency);
    return amount.currency === report.currency ? amount.amountMinor : convert(amount, report.currency, parseRate(line.exchangeRate?.rate ?? '1')).amountMinor;
  };
  expected.total = formatAmount(parseAmount(report.total ?? formatAmount(report.lines.reduce((sum, line) => sum + toReport(line), 0), report.currency), report.currency).amountMinor, report.currency);
  if (expected.customFields && Object.keys(expected.customFields).length === 0) delete expected.customFields;
  for (const line of expected.lines) {
    line.amount.value = formatAmount(parseAmount(line.amount.value, line.amount.currency).amountMinor, line.amount.currency);
    if (line.personal === false) delete line.personal;
    if (line.customFields && Object.keys(line.customFields).length === 0) delete line.customFields;
    for (const allocation of line.allocations) {
      if (allocation.percent !== undefined) {
        const [whole, fraction = ''] = allocation.percent.split('.');
        allocation.percent = `${whole}.${fraction.padEnd(2, '0')}`;
      }
    }
  }
  return expected;
}

function roundTrip(report: ReportInput, toOptions: ToFisOptions = {}, fromOptions: FromFisOptions = {}) {
  return fromFisDocument(transaction(toFisDocument(report, toOptions)), fromOptions);
}

describe('FIS document round trip', () => {
  test('generated reports come back equal, and pass the schema and normalizeReport', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 6 }), fc.double({ min: 0, max: 0.5, noNaN: true }), (seed, count, invalidShare) => {
        for (const report of generateReports({ count, seed, approvedOn: APPROVED_ON, invalidShare })) {
          const result = roundTrip(report);
          assert.ok(result.ok, JSON.stringify(result));
          assert.deepStrictEqual(result.report, expectedAfterRoundTrip(report));
          assert.ok(checkReportInput.Check(result.report));
          assert.deepStrictEqual(normalizeReport(result.report).lines, normalizeReport(expectedAfterRoundTrip(report)).lines);
        }
      }),
      { numRuns: 60 },
    );
  });

  const REPORT_FIELDS = ['tripPurpose', 'costObject'] as const;
  const LINE_FIELDS = ['attendees', 'projectPhase'] as const;
  const layout = { reportCustomFields: { tripPurpose: 3, costObject: 7 }, entryCustomFields: { attendees: 4, projectPhase: 12 } };
  const fieldValue = fc.string({ minLength: 1, maxLength: 200 });

  test('custom fields, a report id prefix, a total and projects travel through the layout', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000 }),
        fc.record(Object.fromEntries(REPORT_FIELDS.map((name) => [name, fieldValue])), { requiredKeys: [] }),
        fc.record(Object.fromEntries(LINE_FIELDS.map((name) => [name, fieldValue])), { requiredKeys: [] }),
        fc.boolean(),
        (seed, reportFields, lineFields, withTotal) => {
          const [generated] = generateReports({ count: 1, seed, approvedOn: APPROVED_ON });
          const report: ReportInput = {
            ...generated,
            reportId: `concur:${generated.reportId}`,
            customFields: reportFields as Record<string, string>,
            lines: generated.lines.map((line, i) => ({
              ...line,
              customFields: lineFields as Record<string, string>,
              allocations: line.allocations.map((a, j) => (i === 0 && j === 0 ? { ...a, project: 'P-1' } : a)),
            })),
          };
          if (withTotal) report.total = expectedAfterRoundTrip(report).total;
          const result = roundTrip(report, { layout, reportIdPrefix: 'concur:' }, { layout, reportIdPrefix: 'concur:' });
          assert.ok(result.ok, JSON.stringify(result));
          assert.deepStrictEqual(result.report, expectedAfterRoundTrip(report));
        },
      ),
      { numRuns: 40 },
    );
  });

  test('a domestic line with an explicit rate, a line without receipt flag and a JPY "5.00" amount come back as documented', () => {
    const report: ReportInput = {
      reportId: 'R-1', revision: 1, entity: 'JP01', employeeId: 'JP01-E0001', currency: 'JPY', approvedAt: '2026-05-01T12:00:00Z',
      lines: [
        { lineId: 'L1', date: '2026-04-01', category: 'TAXI', amount: { value: '5.00', currency: 'JPY' }, exchangeRate: { rate: '1', source: 'BOJ', date: '2026-04-01' }, paymentType: 'cash_advance', personal: false, allocations: [{ costCenter: 'JP4110', percent: '100' }] },
      ],
    };
    const result = roundTrip(report);
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepStrictEqual(result.report, expectedAfterRoundTrip(report));
    assert.equal(result.report.lines[0].amount.value, '5');
    assert.equal(result.report.lines[0].receipt, undefined);
  });
});

/** A valid document to break: a domestic line split 60/40 with tax, and a foreign line. */
function baseDocument(): FisExpenseDocument {
  return toFisDocument({
    reportId: 'B0719B539ED64FE612AB', revision: 1, entity: 'DE01', employeeId: 'DE01-E0002', currency: 'EUR', approvedAt: '2026-05-01T12:00:00.000Z',
    lines: [
      { lineId: 'L1', date: '2026-04-10', category: 'LODGING', amount: { value: '200.00', currency: 'EUR' }, paymentType: 'out_of_pocket', tax: { code: 'DE7', amount: '13.08' }, allocations: [{ costCenter: 'DE4120', percent: '60' }, { costCenter: 'DE4130', percent: '40' }] },
      { lineId: 'L2', date: '2026-04-11', category: 'MEALS', amount: { value: '20.00', currency: 'USD' }, exchangeRate: { rate: '0.9223', source: 'ECB', date: '2026-04-11' }, paymentType: 'company_card', allocations: [{ costCenter: 'DE4120', amount: '20.00' }] },
    ],
  });
}

type Mutable = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function problemsOf(mutate: (document: Mutable) => unknown, options: FromFisOptions = {}) {
  const document = structuredClone(baseDocument()) as Mutable;
  const replaced = mutate(document);
  const result = fromFisDocument(transaction(replaced === undefined ? document : replaced), options);
  assert.equal(result.ok, false, 'the document should be refused');
  return result.ok ? [] : result.problems;
}

function expectProblem(mutate: (document: Mutable) => unknown, path: string, message: RegExp, options: FromFisOptions = {}) {
  const problems = problemsOf(mutate, options);
  assert.ok(problems.some((p) => p.path === path && message.test(p.message)), `expected ${path} ~ ${message}, got ${JSON.stringify(problems)}`);
}

describe('FIS document reader refuses bad input with the path of the problem', () => {
  test('the base document itself is fine', () => {
    const result = fromFisDocument(transaction(baseDocument()));
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.report.lines[1].exchangeRate, { rate: '0.9223', source: 'ECB', date: '2026-04-11' });
  });

  test('the transaction: not an object, not JSON, another document type', () => {
    for (const value of [null, 42, 'x', []]) {
      const result = fromFisDocument(value);
      assert.ok(!result.ok && result.problems[0].path === 'transaction', JSON.stringify(result));
    }
    expectProblem(() => '{"employee": {', 'transaction.document', /not valid JSON/);
    expectProblem(() => '[1, 2]', 'document', /must be an object/);
    const invoice = fromFisDocument({ ...transaction(baseDocument()), docType: 'invoice' });
    assert.ok(!invoice.ok && invoice.problems.some((p) => p.path === 'transaction.docType'));
    const noId = fromFisDocument({ ...transaction(baseDocument()), id: undefined });
    assert.ok(!noId.ok && noId.docId === undefined && noId.problems.some((p) => p.path === 'transaction.id'));
  });

  test('report fields: missing, wrong form, wrong type', () => {
    expectProblem((d) => void delete d.report.reportId, 'document.report.reportId', /is required/);
    expectProblem((d) => void (d.report.reportId = 'has space'), 'document.report.reportId', /is "has space"/);
    expectProblem((d) => void (d.employee.employeeId = 'jana@example.com'), 'document.employee.employeeId', /letters, digits/);
    expectProblem((d) => void (d.report.employeeCurrencyAlphaCode = 'XAU'), 'document.report.employeeCurrencyAlphaCode', /not a currency/);
    expectProblem((d) => void (d.report.reportPaymentProcessingDate = '2026-05-01 12:00'), 'document.report.reportPaymentProcessingDate', /RFC 3339/);
    expectProblem((d) => void (d.report.reportSubmitDate = '2026-13-01T00:00:00Z'), 'document.report.reportSubmitDate', /RFC 3339/);
    expectProblem((d) => void (d.report.reportName = 7), 'document.report.reportName', /must be a string/);
    expectProblem((d) => void (d.expenseEntry = []), 'document.expenseEntry', /has 0 items/);
    const tooLong = problemsOf(() => undefined, { reportIdPrefix: 'x'.repeat(50) });
    assert.ok(tooLong.some((p) => p.path === 'document.report.reportId'));
  });

  test('amounts: too many decimals for the currency, JSON numbers, malformed', () => {
    expectProblem((d) => void (d.report.totalApprovedAmount = '12.345'), 'document.report.totalApprovedAmount', /more decimals than EUR allows \(2\)/);
    expectProblem((d) => void (d.expenseEntry[0].entryApprovedAmount = 200), 'document.expenseEntry[0].entryApprovedAmount', /JSON number/);
    expectProblem((d) => void (d.expenseEntry[1].reportEntryTransactionAmount = '1e3'), 'document.expenseEntry[1].reportEntryTransactionAmount', /not a decimal amount/);
    expectProblem((d) => void (d.expenseEntry[0].allocation[0].tax[0].taxTransactionAmount = '7.845'), 'document.expenseEntry[0].allocation[0].tax[0].taxTransactionAmount', /more decimals/);
    expectProblem((d) => void (d.expenseEntry[1].entryExchangeRate = '0'), 'document.expenseEntry[1].entryExchangeRate', /AMOUNT_INVALID/);
  });

  test('a foreign entry whose approved amount is not its converted claim is refused', () => {
    expectProblem((d) => void (d.expenseEntry[1].entryApprovedAmount = '15.00'), 'document.expenseEntry[1].entryApprovedAmount', /approver's change/);
    expectProblem((d) => void (d.expenseEntry[1].entryExchangeRateDirection = 'D'), 'document.expenseEntry[1].entryExchangeRateDirection', /multiply/);
  });

  test('payment codes: unknown ones are refused, IBCP reads as company card', () => {
    expectProblem((d) => void (d.expenseEntry[0].reportEntryPatKey = 'PENDC'), 'document.expenseEntry[0].reportEntryPatKey', /payment type finsync does not know/);
    const document = structuredClone(baseDocument()) as Mutable;
    document.expenseEntry[0].reportEntryPatKey = 'IBCP';
    const result = fromFisDocument(transaction(document));
    assert.ok(result.ok && result.report.lines[0].paymentType === 'company_card');
  });

  test('flags and dates: personal, receipt, entry date, per diem days', () => {
    expectProblem((d) => void (d.expenseEntry[0].entryIsPersonal = 'maybe'), 'document.expenseEntry[0].entryIsPersonal', /one of Y, N/);
    expectProblem((d) => void (d.expenseEntry[0].entryReceiptType = 'X'), 'document.expenseEntry[0].entryReceiptType', /one of R, T, N/);
    expectProblem((d) => void (d.expenseEntry[0].entryDate = '2026-02-30T00:00:00.000Z'), 'document.expenseEntry[0].entryDate', /not a date/);
    expectProblem((d) => void (d.expenseEntry[0].entryCustom38Code = '0'), 'document.expenseEntry[0].entryCustom38Code', /per diem days/);
  });

  test('allocations: percentages that do not add up, a missing cost center, disagreeing taxes', () => {
    expectProblem((d) => void (d.expenseEntry[0].allocation[1].allocationPercentage = '30.00'), 'document.expenseEntry[0].allocation', /add up to 90.00%/);
    expectProblem((d) => void (d.expenseEntry[0].allocation[1].allocationPercentage = '39.999'), 'document.expenseEntry[0].allocation', /add up to 99.99900000%/);
    expectProblem((d) => void (d.expenseEntry[0].allocation[0].allocationPercentage = '60%'), 'document.expenseEntry[0].allocation[0].allocationPercentage', /percentage string/);
    expectProblem((d) => void (d.expenseEntry[0].allocation[0].allocationCustom1Code = null), 'document.expenseEntry[0].allocation[0].allocationCustom1Code', /is required/);
    expectProblem((d) => void (d.expenseEntry[0].allocation[1].tax[0].taxCode = 'DE19'), 'document.expenseEntry[0].allocation', /one tax code per line/);
    expectProblem((d) => void (d.expenseEntry[0].allocation[1].tax[0].taxTransactionAmount = null), 'document.expenseEntry[0].allocation', /only some allocations/);
    expectProblem((d) => void d.expenseEntry[0].allocation[1].tax.push({ taxCode: 'DE19' }), 'document.expenseEntry[0].allocation[1].tax', /has 2 items/);
  });

  test('the safety net: a tax larger than its line is refused by normalizeReport with the report path', () => {
    const problems = problemsOf((d) => {
      for (const allocation of d.expenseEntry[0].allocation) allocation.tax[0].taxTransactionAmount = '150.00';
    });
    assert.ok(problems.some((p) => p.path === 'report.lines[0].tax.amount' && /REPORT_INVALID/.test(p.message)), JSON.stringify(problems));
  });

  test('ledger table and journal account options', () => {
    const withLedger = structuredClone(baseDocument()) as Mutable;
    withLedger.report.ledgerCode = 'DEFAULT';
    const mapped = fromFisDocument(transaction(withLedger), { ledgerEntities: { DEFAULT: 'DE01' } });
    assert.ok(mapped.ok && mapped.report.entity === 'DE01');
    expectProblem((d) => void (d.report.ledgerCode = 'toString'), 'document.report.ledgerCode', /ledger table/, { ledgerEntities: { DEFAULT: 'DE01' } });
    const base = fromFisDocument(transaction(baseDocument()));
    assert.ok(base.ok);
    const accounts = fromFisDocument(transaction(toFisDocument(base.report, { accountOf: (line) => (line.category === 'MEALS' ? '6640' : '6650') })), { journalAccountField: 'glAccount' });
    assert.ok(accounts.ok, JSON.stringify(accounts));
    assert.deepEqual(accounts.report.lines.map((line) => line.customFields?.glAccount), ['6650', '6640']);
    expectProblem((d) => void (d.expenseEntry[0].allocation[1].journal[0].journalAccountCode = '9999'), 'document.expenseEntry[0].allocation', /several accounts/, { journalAccountField: 'glAccount' });
  });
});

/** Every path to a value in a JSON tree, as key lists. */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  const keys: (string | number)[] = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return [prefix, ...keys.flatMap((key) => pathsOf((value as Mutable)[key], [...prefix, key]))];
}

function assertSound(result: ReturnType<typeof fromFisDocument>): void {
  if (result.ok) {
    assert.ok(checkReportInput.Check(result.report));
    assert.doesNotThrow(() => normalizeReport(result.report));
  } else {
    assert.ok(result.problems.length > 0);
    for (const problem of result.problems) assert.ok(typeof problem.path === 'string' && typeof problem.message === 'string');
  }
}

describe('FIS document reader under fuzzing', () => {
  const base = baseDocument();
  const paths = pathsOf(base).filter((path) => path.length > 0);

  test('arbitrary values as the transaction or the document never throw', () => {
    fc.assert(
      fc.property(fc.anything(), fc.jsonValue(), fc.string(), (anything, json, text) => {
        assertSound(fromFisDocument(anything));
        assertSound(fromFisDocument(transaction(JSON.stringify(json) ?? 'null')));
        assertSound(fromFisDocument(transaction(text)));
        assertSound(fromFisDocument({ ...transaction(''), document: anything }));
      }),
      { numRuns: 300 },
    );
  });

  test('a valid document with fields replaced, deleted or truncated never throws, and whatever it accepts is a sound report', () => {
    const mutation = fc.record({
      path: fc.constantFrom(...paths),
      kind: fc.constantFrom('replace', 'delete', 'truncate'),
      value: fc.oneof(fc.jsonValue(), fc.constantFrom('', '0', '-0.00', '100.00', '1e9', 'NaN', '2026-02-29', 'Y', 'N', 'CASH', 'EUR', null)),
      cut: fc.integer({ min: 0, max: 4000 }),
    });
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        const document = structuredClone(base) as Mutable;
        let text: string | undefined;
        for (const { path, kind, value, cut } of mutations) {
          if (kind === 'truncate') {
            text = JSON.stringify(document).slice(0, cut);
            continue;
          }
          const parent = path.slice(0, -1).reduce<Mutable | undefined>((node, key) => (typeof node === 'object' && node !== null ? node[key] : undefined), document);
          if (typeof parent !== 'object' || parent === null) continue;
          const key = path[path.length - 1];
          if (kind === 'delete') delete parent[key];
          else parent[key] = value;
        }
        assertSound(fromFisDocument(transaction(text ?? document)));
      }),
      { numRuns: 500 },
    );
  });
});
