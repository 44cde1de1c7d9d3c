// Proves that POST /v1/validate on a real hub answers a draft report or a single line with master-data and policy findings that name the record and the request path (effective-dated: a cost center closed on the 31st takes the 30th and the 31st, not the 1st), takes the hub's FX rate for a foreign line without one, refuses malformed bodies with 400 and the field's path, needs an API key, stores nothing, sees reports the pipeline validated (duplicates), and never answers 5xx to random bodies (fast-check).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CLOSED_COST_CENTER_SINCE, costCenterCode, employeeId } from '../../src/demo/sample-company.ts';
import type { LineInput, ReportInput } from '../../src/domain/report.ts';
import { ERRORS } from '../../src/errors.ts';
import { normalizeRecord } from '../../src/masterdata/records.ts';
import { sql } from '../../src/store/db.ts';
import { DuplicateIndex, loadRecentRevisions } from '../../src/validation/duplicates.ts';
import { APPROVED_ON, approvedEvent, clone, startApiHarness, validReport, type ApiHarness, type ApiResponse } from '../support/api-harness.ts';
import { storeKinds } from '../support/stores.ts';
import { parentOf, pathsOf, type Json } from '../support/json-paths.ts';

const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20_261_126);
const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 200);

async function validate(h: ApiHarness, payload: unknown, options: { key?: string | false; raw?: boolean } = {}): Promise<ApiResponse> {
  const key = options.key === undefined ? h.key : options.key;
  const response = await h.hub.app.inject({
    method: 'POST',
    url: '/v1/validate',
    headers: { 'content-type': 'application/json', ...(key !== false && { authorization: `Bearer ${key}` }) },
    payload: options.raw ? (payload as string) : JSON.stringify(payload),
  });
  let body: any;
  try {
    body = JSON.parse(response.body);
  } catch {
    body = undefined;
  }
  return { status: response.statusCode, body, text: response.body, headers: response.headers };
}

/** A valid report of the simulator as a draft: no id, revision or approval time. */
function draft(seed: number): Omit<ReportInput, 'reportId' | 'revision' | 'approvedAt'> {
  const { reportId: _id, revision: _revision, approvedAt: _approvedAt, ...rest } = validReport(seed);
  return rest;
}

const DE_EMPLOYEE = employeeId('DE01', 3);
// 2026-03-24 is a Tuesday, away from DE01's holidays.
function deLine(overrides: Partial<LineInput> = {}): LineInput {
  return {
    lineId: 'L1',
    date: '2026-03-24',
    category: 'TAXI',
    merchant: 'FreeNow',
    amount: { value: '23.80', currency: 'EUR' },
    paymentType: 'out_of_pocket',
    tax: { code: 'DE7' },
    receipt: true,
    allocations: [{ costCenter: costCenterCode('DE01', 2), percent: '100' }],
    ...overrides,
  };
}
const deReport = (lines: LineInput[], overrides: Record<string, unknown> = {}) => ({ report: { entity: 'DE01', employeeId: DE_EMPLOYEE, currency: 'EUR', lines, ...overrides } });

describe('POST /v1/validate', () => {
  let h: ApiHarness;
  before(async () => {
    h = await startApiHarness('sqlite');
  });
  after(async () => h?.close());

  test('a valid draft report is valid, with no error findings, a check time and the master-data position', async () => {
    for (const seed of [1, 2, 3]) {
      const response = await validate(h, { report: draft(seed) });
      assert.equal(response.status, 200, response.text);
      assert.equal(response.body.valid, true, response.text);
      assert.deepEqual(response.body.findings.filter((f: { severity: string }) => f.severity === 'error'), []);
      assert.ok(Math.abs(Date.parse(response.body.checkedAt) - Date.now()) < 60_000);
      assert.equal(response.body.masterDataSeq, h.hub.masterData.index.seq);
      assert.ok(response.body.masterDataSeq > 0);
    }
  });

  test('a finding carries code, severity, message, path and record, and no internal params', async () => {
    const response = await validate(h, deReport([deLine({ allocations: [{ costCenter: costCenterCode('DE01', 1), percent: '50' }, { costCenter: 'DE9999', percent: '50' }] })]));
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.valid, false);
    assert.deepEqual(response.body.findings, [
      {
        code: 'MD_COST_CENTER_UNKNOWN',
        severity: 'error',
        message: 'Cost center DE9999 does not exist in entity DE01. Add it to master data or change the allocation, then replay.',
        path: 'report.lines[0].allocations[1].costCenter',
        record: { kind: 'cost_center', entity: 'DE01', key: 'DE9999', state: 'missing' },
      },
    ]);
  });

  test('one line, with entity, employee and currency, is checked as a report of that line; paths point into "line"', async () => {
    const ok = await validate(h, { entity: 'DE01', employeeId: DE_EMPLOYEE, currency: 'EUR', line: deLine() });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.body.findings, []);
    assert.equal(ok.body.valid, true);
    const bad = await validate(h, { entity: 'DE01', employeeId: DE_EMPLOYEE, currency: 'EUR', line: deLine({ category: 'GIFTS', receipt: false, amount: { value: '60.00', currency: 'EUR' }, tax: undefined }) });
    assert.equal(bad.status, 200, bad.text);
    assert.deepEqual(
      bad.body.findings.map((f: { code: string; severity: string; path: string }) => [f.code, f.severity, f.path]),
      [
        ['MD_CATEGORY_UNKNOWN', 'error', 'line.category'],
        ['POLICY_RECEIPT_REQUIRED', 'warning', 'line.receipt'],
      ],
    );
    assert.match(bad.body.findings[1].message, /60\.00 EUR, above 50\.00 EUR/);
  });

  test(`effective dating: a cost center closed since ${CLOSED_COST_CENTER_SINCE} takes expenses of the 30th and 31st, and refuses one of the 1st`, async () => {
    const closed = costCenterCode('DE01', 8);
    const on = (date: string) => validate(h, { entity: 'DE01', employeeId: DE_EMPLOYEE, currency: 'EUR', line: deLine({ date, allocations: [{ costCenter: closed, percent: '100' }] }) });
    for (const date of ['2026-03-30', '2026-03-31']) {
      const response = await on(date);
      assert.equal(response.status, 200);
      assert.equal(response.body.valid, true, `${date}: ${response.text}`);
    }
    const response = await on('2026-04-01');
    assert.equal(response.body.valid, false);
    assert.deepEqual(response.body.findings, [
      {
        code: 'MD_COST_CENTER_CLOSED',
        severity: 'error',
        message: `Cost center ${closed} is closed in entity DE01 on 2026-04-01. Reopen it or change the allocation, then replay.`,
        path: 'line.allocations[0].costCenter',
        record: { kind: 'cost_center', entity: 'DE01', key: closed, state: 'inactive', validFrom: '2020-01-01', validTo: CLOSED_COST_CENTER_SINCE },
      },
    ]);
  });

  test('an unknown entity is a finding, not a failure', async () => {
    const response = await validate(h, deReport([deLine()], { entity: 'FR01' }));
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.valid, false);
    assert.deepEqual(response.body.findings.map((f: { code: string; path: string }) => [f.code, f.path]), [['MD_ENTITY_UNKNOWN', 'report.entity']]);
  });

  test('policy findings come back with formatted amounts; warnings and info leave the draft valid, a policy error does not', async () => {
    const lines = [
      deLine({ category: 'MEALS', merchant: 'Vapiano', amount: { value: '130.00', currency: 'EUR' }, tax: { code: 'DE19' } }),
      deLine({ lineId: 'L2', date: '2026-03-28', merchant: 'Uber' }),
    ];
    const warned = await validate(h, deReport(lines));
    assert.equal(warned.body.valid, true, warned.text);
    assert.deepEqual(
      warned.body.findings.map((f: { code: string; severity: string; path: string }) => [f.code, f.severity, f.path]),
      [
        ['POLICY_LINE_LIMIT', 'warning', 'report.lines[0].amount'],
        ['POLICY_WEEKEND', 'info', 'report.lines[1].date'],
      ],
    );
    assert.match(warned.body.findings[0].message, /130\.00 EUR, above the per-line limit of 120\.00 EUR/);
    const jpy = deLine({ amount: { value: '3000', currency: 'JPY' }, exchangeRate: { rate: '0.0061', source: 'ECB', date: '2026-03-24' }, tax: undefined });
    const refused = await validate(h, deReport([jpy]));
    assert.equal(refused.body.valid, false);
    assert.deepEqual(refused.body.findings.map((f: { code: string; path: string }) => [f.code, f.path]), [['POLICY_CURRENCY_NOT_ALLOWED', 'report.lines[0].amount.currency']]);
  });

  test('a foreign line without a rate gets MD_FX_RATE_MISSING when the hub holds no rate for its date', async () => {
    const usd = deLine({ lineId: 'L2', amount: { value: '20.00', currency: 'USD' }, tax: undefined });
    const response = await validate(h, deReport([deLine(), usd]));
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.valid, false);
    assert.deepEqual(response.body.findings.map((f: { code: string; path: string }) => [f.code, f.path]), [['MD_FX_RATE_MISSING', 'report.lines[1].exchangeRate']]);
    assert.match(response.body.findings[0].message, /from USD to EUR on 2026-03-24/);
  });

  test('malformed bodies are refused with 400, a stable code and the path of the field', async () => {
    const cases: [unknown, string, string][] = [
      [deReport([deLine({ amount: { value: 'abc', currency: 'EUR' } })]), 'REQUEST_INVALID', 'report.lines[0].amount.value'],
      [deReport([deLine({ reciept: true } as Partial<LineInput>)]), 'REQUEST_INVALID', 'report.lines[0].reciept'],
      [deReport([{ ...deLine(), allocations: undefined } as unknown as LineInput]), 'REQUEST_INVALID', 'report.lines[0].allocations'],
      [deReport([deLine()], { currency: 'ABC' }), 'CURRENCY_UNKNOWN', 'report.currency'],
      [deReport([deLine({ amount: { value: '12.345', currency: 'EUR' } })]), 'AMOUNT_PRECISION', 'report.lines[0].amount'],
      [deReport([deLine({ amount: { value: '10.00', currency: 'ABC' } })]), 'CURRENCY_UNKNOWN', 'report.lines[0].amount.currency'],
      [deReport([deLine({ allocations: [{ costCenter: 'DE4110', percent: '60' }, { costCenter: 'DE4120', percent: '30' }] })]), 'ALLOCATION_INVALID', 'report.lines[0].allocations'],
      [deReport([deLine(), deLine()]), 'REPORT_INVALID', 'report.lines[1].lineId'],
      [{ entity: 'DE01', employeeId: DE_EMPLOYEE, currency: 'EUR', line: deLine({ amount: { value: '1.5', currency: 'JPY' } }) }, 'AMOUNT_PRECISION', 'line.amount'],
      [{ entity: 'DE01', employeeId: DE_EMPLOYEE, currency: 'EUR', line: { ...deLine(), date: '26-03-2026' } }, 'REQUEST_INVALID', 'line.date'],
      [{ entity: 'DE01', currency: 'EUR', line: deLine() }, 'REQUEST_INVALID', 'employeeId'],
      [{ report: deReport([deLine()]).report, extra: 1 }, 'REQUEST_INVALID', 'extra'],
      [[deReport([deLine()])], 'REQUEST_INVALID', '(root)'],
      ['just a string', 'REQUEST_INVALID', '(root)'],
    ];
    for (const [body, code, path] of cases) {
      const response = await validate(h, body);
      assert.equal(response.status, 400, `${path}: ${response.text}`);
      assert.equal(response.body.code, code, `${path}: ${response.text}`);
      assert.equal(response.body.details?.[0]?.path, path, `${path}: ${response.text}`);
      assert.ok(response.body.message.includes(path), `the message names ${path}: ${response.body.message}`);
    }
  });

  test('a body that is not JSON, or not a JSON media type, is refused with its own code', async () => {
    assert.equal((await validate(h, '{"report":', { raw: true })).body.code, 'BODY_INVALID_JSON');
    const text = await h.hub.app.inject({ method: 'POST', url: '/v1/validate', headers: { 'content-type': 'text/plain', authorization: `Bearer ${h.key}` }, payload: 'hello' });
    assert.equal(text.statusCode, 415);
  });

  test('an API key is required', async () => {
    const missing = await validate(h, { report: draft(1) }, { key: false });
    assert.equal(missing.status, 401);
    assert.equal(missing.body.code, 'AUTH_MISSING');
    const wrong = await validate(h, { report: draft(1) }, { key: 'fsk_not-a-key' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, 'AUTH_INVALID');
  });

  test('validating stores nothing', async () => {
    const before = await h.counts();
    const mdBefore = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM md_records`.execute(h.store.db);
    for (const seed of [4, 5]) assert.equal((await validate(h, { report: draft(seed) })).status, 200);
    assert.equal((await validate(h, deReport([deLine()], { currency: 'ABC' }))).status, 400);
    assert.deepEqual(await h.counts(), before);
    assert.deepEqual((await sql<{ n: number }>`SELECT COUNT(*) AS n FROM md_records`.execute(h.store.db)).rows, mdBefore.rows);
  });

  test('is listed in /openapi.json with its body and answer', async () => {
    const doc = (await h.get('/openapi.json', { key: false })).body;
    const operation = doc.paths['/v1/validate']?.post;
    assert.ok(operation, 'POST /v1/validate is listed');
    assert.ok(operation.requestBody?.content?.['application/json']?.schema, 'the body schema is documented');
    assert.ok(operation.responses?.['200']?.content?.['application/json']?.schema?.properties?.findings, 'the answer is documented');
    assert.equal(operation.security, undefined, 'it inherits the key requirement');
  });

  test('random and mutated bodies never get a 5xx: a 200 with findings, or a 4xx with a registered code (fast-check)', async () => {
    const bases = [{ report: draft(7) }, { report: draft(8) }, { entity: 'DE01', employeeId: DE_EMPLOYEE, currency: 'EUR', line: deLine() }] as unknown as Json[];
    await fc.assert(
      fc.asyncProperty(body(bases), async (payload) => {
        const response = await validate(h, payload);
        assert.ok(response.status < 500, `${response.status}: ${response.text}`);
        if (response.status === 200) {
          assert.equal(typeof response.body.valid, 'boolean');
          assert.ok(Array.isArray(response.body.findings));
          for (const f of response.body.findings) assert.ok(f.code in ERRORS, f.code);
        } else {
          assert.ok(response.body.code in ERRORS, response.text);
        }
      }),
      { seed: FUZZ_SEED, numRuns: FUZZ_RUNS },
    );
  });
});

for (const s of await storeKinds()) {
  describe(`POST /v1/validate and the pipeline share reference data and the duplicate index, on ${s.kind}`, { skip: s.skip }, () => {
    let h: ApiHarness;
    before(async () => {
      h = await startApiHarness(s.kind);
    });
    after(async () => h?.close());

    test('a foreign line without a rate takes the rate the hub holds for its date, and its policy amounts use it', async () => {
      const rate = normalizeRecord('erp', { kind: 'fx_rate', entity: 'DE01', key: 'USD/EUR', validFrom: '2026-01-01', attributes: { rate: '0.92', source: 'ECB' } }, 'rate');
      await h.hub.masterData.apply('erp', 'test', [rate]);
      // MEALS: 120.00 EUR per line in DE01. 130.00 USD × 0.92 = 119.60 EUR; 131.00 USD × 0.92 = 120.52 EUR.
      const meal = (value: string) => deLine({ category: 'MEALS', merchant: 'Chipotle', amount: { value, currency: 'USD' }, tax: undefined });
      const under = await validate(h, deReport([meal('130.00')]));
      assert.equal(under.status, 200, under.text);
      assert.deepEqual(under.body.findings, []);
      const over = await validate(h, deReport([meal('131.00')]));
      assert.deepEqual(over.body.findings.map((f: { code: string; message: string }) => f.code), ['POLICY_LINE_LIMIT']);
      assert.match(over.body.findings[0].message, /120\.52 EUR/);
      assert.equal(over.body.masterDataSeq, h.hub.masterData.index.seq);
    });

    test('a report the pipeline validated is a duplicate candidate for a draft with the same expense', async () => {
      const event = approvedEvent(31);
      assert.equal((await h.postEvents(event)).status, 202);
      h.hub.startWorkers();
      try {
        await waitForState(h, event.data.reportId, 'queued');
      } finally {
        await h.hub.stopWorkers();
      }
      const copy = clone(event.data) as Partial<ReportInput>;
      delete copy.reportId;
      delete copy.revision;
      const response = await validate(h, { report: { ...copy, approvedAt: APPROVED_ON.toISOString() } });
      assert.equal(response.status, 200, response.text);
      const suspected = response.body.findings.filter((f: { code: string }) => f.code === 'POLICY_DUPLICATE_SUSPECTED');
      assert.equal(suspected.length, event.data.lines.length, response.text);
      assert.match(suspected[0].message, new RegExp(`of report ${event.data.reportId}\\b`));
      // The same report, named by its id, is never its own duplicate.
      const own = await validate(h, { report: { ...copy, reportId: event.data.reportId, approvedAt: APPROVED_ON.toISOString() } });
      assert.deepEqual(own.body.findings.filter((f: { code: string }) => f.code === 'POLICY_DUPLICATE_SUSPECTED'), []);
    });

    test('at start the index is filled with the latest revision of recent reports, except recalled ones', async () => {
      for (const seed of [41, 42, 43]) assert.equal((await h.postEvents(approvedEvent(seed))).status, 202);
      const load = async () => {
        const index = new DuplicateIndex({ retentionDays: () => 30 });
        await loadRecentRevisions(h.store.db, index, 0);
        return index.reports;
      };
      const all = await load();
      assert.equal(all, 4, 'the three reports and the one the pipeline queued');
      const recalled = approvedEvent(42).data.reportId;
      await h.store.db.updateTable('revisions').set({ state: 'recalled' }).where('report_id', '=', recalled).execute();
      assert.equal(await load(), 3);
      const index = new DuplicateIndex({ retentionDays: () => 30 });
      await loadRecentRevisions(h.store.db, index, APPROVED_ON.getTime() + 1);
      assert.equal(index.reports, 0, 'reports approved before sinceMs are left out');
    });
  });
}

async function waitForState(h: ApiHarness, reportId: string, state: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const view = await h.get(`/v1/reports/${reportId}`);
    if (view.body?.state === state) return;
    assert.ok(Date.now() < deadline, `report ${reportId} did not reach ${state}: ${view.text.slice(0, 300)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}


/** Arbitrary JSON, or a valid body with one to three nodes replaced, deleted or given an extra key. */
function body(bases: readonly Json[]): fc.Arbitrary<Json> {
  const anyJson = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>;
  const scalar = fc.oneof(
    fc.constantFrom<Json>('EUR', 'USD', 'JPY', 'XAU', '', '0', '-0.00', '12.345', '999999999999999.99', '2026-02-30', '2026-04-01', 'DE4180', 'DE9999', 'PERDIEM', 'MEALS', '100', '33.33', null, true, 0, -1, 1e300),
    fc.string({ maxLength: 12 }),
    fc.stringMatching(/^-?\d{1,16}(\.\d{1,4})?$/),
    fc.integer(),
  );
  const mutation = fc.record({ at: fc.nat(), kind: fc.constantFrom('replace', 'delete', 'add', 'scalar'), value: fc.oneof(anyJson, scalar), key: fc.constantFrom('extra', 'exchangeRate', 'perDiem', 'tax', 'approvedAt', 'reportId', '__proto__') });
  const mutated = fc.tuple(fc.constantFrom(...bases), fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([base, mutations]) => {
    const root = structuredClone(base) as Json;
    for (const m of mutations) {
      const paths = pathsOf(root);
      if (paths.length === 0) break;
      const { parent, key } = parentOf(root, paths[m.at % paths.length]);
      if (m.kind === 'delete') {
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key];
      } else if (m.kind === 'add') {
        const target = parent[key];
        if (target && typeof target === 'object' && !Array.isArray(target)) target[m.key] = m.value;
      } else {
        parent[key] = m.value;
      }
    }
    return root;
  });
  return fc.oneof({ arbitrary: mutated, weight: 4 }, { arbitrary: anyJson, weight: 1 });
}
