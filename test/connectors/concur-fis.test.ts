// Proves the Concur FIS client and simulator keep the contract together: pull with paging and its filters, the acknowledge -> posting -> payment state machine with every service code, tokens and scopes, the 400 error body, and seeded faults classified into the right error kinds.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createConcurFisClient, type ConcurFisClientOptions, type DocumentResult, type FisPostingConfirmation } from '../../src/connectors/concur-fis/client.ts';
import { fromFisDocument } from '../../src/connectors/concur-fis/document.ts';
import { startConcurFisSimulator, type ConcurFisSimulator, type ConcurFisSimulatorOptions } from '../../src/connectors/concur-fis/simulator.ts';
import { generateReports } from '../../src/demo/expense-platform.ts';

const TOKEN = 'company-token';
const APPROVED_ON = new Date('2026-05-01T12:00:00Z');
const REPORTS = generateReports({ count: 12, seed: 41, approvedOn: APPROVED_ON });

async function withSimulator(run: (sim: ConcurFisSimulator) => Promise<void>, overrides: Partial<ConcurFisSimulatorOptions> = {}): Promise<void> {
  const sim = await startConcurFisSimulator({
    seed: 5,
    tokens: { [TOKEN]: ['FISVC', 'expense.report.read'], 'read-only': ['expense.report.read'], 'fis-only': ['FISVC'] },
    ...overrides,
  });
  try {
    await run(sim);
  } finally {
    await sim.close();
  }
}

function connect(sim: ConcurFisSimulator, overrides: Partial<ConcurFisClientOptions> = {}) {
  return createConcurFisClient({ baseUrl: sim.url, token: TOKEN, systemId: 'ERP-A', requestTimeoutMs: 5000, ...overrides });
}

function success(docId: string, documentNumber = '5100000001'): FisPostingConfirmation {
  return { docId, overallPostingStatusCode: 'success', postingDocs: [{ companyId: 'DE01', documentNumber, fiscalYear: 2026, postingDate: '2026-05-02' }], systemMessages: [] };
}

function only<T>(outcome: { ok: true; results: readonly T[] } | { ok: false; error: unknown }): T {
  assert.ok(outcome.ok, JSON.stringify(outcome));
  assert.equal(outcome.results.length, 1);
  return outcome.results[0];
}

function expectCode(result: DocumentResult, code: number, outcome: DocumentResult['outcome']): void {
  assert.equal(result.code, code, JSON.stringify(result));
  assert.equal(result.outcome, outcome);
  assert.equal(result.error === undefined, outcome === 'ok' || outcome === 'already_done');
}

describe('Concur FIS: pull', () => {
  test('a pull lists the READY documents, each readable back into its report', async () => {
    await withSimulator(async (sim) => {
      const ids = REPORTS.slice(0, 3).map((report) => sim.publish(report));
      const outcome = await connect(sim).pull();
      assert.ok(outcome.ok, JSON.stringify(outcome));
      assert.deepEqual(outcome.page.content.map((item) => item.id), ids);
      assert.deepEqual(outcome.page.page, { size: 25, totalElements: 3, totalPages: 1, number: 0 });
      const item = outcome.page.content[0];
      assert.equal(item.docStatus, 'READY');
      assert.equal(typeof item.document, 'string');
      const parsed = fromFisDocument(item);
      assert.ok(parsed.ok, JSON.stringify(parsed));
      assert.equal(parsed.report.reportId, REPORTS[0].reportId);
      assert.equal(parsed.docId, ids[0]);
    });
  });

  test('pages walk all documents once, with links, a default limit of 25 and an empty page past the end', async () => {
    await withSimulator(async (sim) => {
      const ids = Array.from({ length: 30 }, (_, i) => sim.publish(REPORTS[i % REPORTS.length]));
      const client = connect(sim);
      const first = await client.pull();
      assert.ok(first.ok);
      assert.equal(first.page.content.length, 25);
      assert.deepEqual(first.page.links.map((link) => link.rel), ['first', 'self', 'next', 'last']);
      const seen: string[] = [];
      let pages = 0;
      for await (const outcome of client.pages({ limit: 7 })) {
        assert.ok(outcome.ok);
        assert.equal(outcome.page.page.number, pages);
        assert.equal(outcome.page.page.totalPages, 5);
        seen.push(...outcome.page.content.map((item) => item.id));
        pages += 1;
      }
      assert.equal(pages, 5);
      assert.deepEqual(seen, ids);
      const past = await client.pull({ page: 9, limit: 7 });
      assert.ok(past.ok);
      assert.deepEqual(past.page.content, []);
      assert.equal(past.page.page.totalElements, 30);
    });
  });

  test('docId picks one document; ignoreDocumentStatus=yes also lists acknowledged and recalled ones', async () => {
    await withSimulator(async (sim) => {
      const [a, b, c] = REPORTS.slice(0, 3).map((report) => sim.publish(report));
      const client = connect(sim);
      only(await client.acknowledge([a]));
      sim.recall(c);
      const byId = await client.pull({ docId: b });
      assert.ok(byId.ok);
      assert.deepEqual(byId.page.content.map((item) => item.id), [b]);
      const unknown = await client.pull({ docId: 'ffffffffffffffffffffffffffffffff' });
      assert.ok(unknown.ok);
      assert.equal(unknown.page.content.length, 0);
      const waiting = await client.pull();
      assert.ok(waiting.ok);
      assert.deepEqual(waiting.page.content.map((item) => item.id), [b]);
      const all = await client.pull({ ignoreDocumentStatus: true });
      assert.ok(all.ok);
      assert.deepEqual(all.page.content.map((item) => [item.id, item.docStatus, item.erpSystemId]), [[a, 'ACKNOWLEDGED', 'ERP-A'], [b, 'READY', null], [c, 'READY', null]]);
      const acknowledgedById = await client.pull({ docId: a });
      assert.ok(acknowledgedById.ok);
      assert.equal(acknowledgedById.page.content.length, 0, 'the status filter applies to a docId pull too');
    });
  });

  test('DocumentFormatAs: json embeds the document as an object, which reads the same', async () => {
    await withSimulator(async (sim) => {
      sim.publish(REPORTS[1]);
      const outcome = await connect(sim, { documentFormat: 'json' }).pull();
      assert.ok(outcome.ok);
      assert.equal(typeof outcome.page.content[0].document, 'object');
      const parsed = fromFisDocument(outcome.page.content[0]);
      assert.ok(parsed.ok, JSON.stringify(parsed));
      assert.equal(parsed.report.reportId, REPORTS[1].reportId);
    });
  });

  test('a document amended into broken JSON is pulled as is, and the reader reports it instead of throwing', async () => {
    await withSimulator(async (sim) => {
      const docId = sim.publish(REPORTS[2]);
      sim.amend(docId, (document) => ({ ...document, report: { ...document.report, totalApprovedAmount: '12.345' } }));
      const outcome = await connect(sim).pull();
      assert.ok(outcome.ok);
      const parsed = fromFisDocument(outcome.page.content[0]);
      assert.equal(parsed.ok, false);
      assert.ok(!parsed.ok && parsed.problems.some((p) => p.path === 'document.report.totalApprovedAmount'), JSON.stringify(parsed));
      sim.amend(docId, () => '{"employee": ');
      const again = await connect(sim).pull();
      assert.ok(again.ok);
      const broken = fromFisDocument(again.page.content[0]);
      assert.ok(!broken.ok && broken.problems[0].path === 'transaction.document');
    });
  });
});

describe('Concur FIS: acknowledgements', () => {
  test('an acknowledgement takes the document out of the queue; a repeat is 101, already done', async () => {
    await withSimulator(async (sim) => {
      const docId = sim.publish(REPORTS[0]);
      const client = connect(sim);
      expectCode(only(await client.acknowledge([docId])), 0, 'ok');
      const after = await client.pull();
      assert.ok(after.ok);
      assert.equal(after.page.content.length, 0);
      const repeat = only(await client.acknowledge([docId, docId]));
      expectCode(repeat, 101, 'already_done');
      assert.equal(repeat.result, 'FAILURE');
      const [view] = sim.documents();
      assert.equal(view.status, 'ACKNOWLEDGED');
      assert.deepEqual(view.acknowledgements, { successful: 1, repeats: 1, refused: 0 });
    });
  });

  test('unknown, recalled, not ready, wrong type and another system get 104, 102, 103, 105 and 99', async () => {
    await withSimulator(async (sim) => {
      const recalled = sim.publish(REPORTS[0]);
      const pending = sim.publish(REPORTS[1], { ready: false });
      const invoice = sim.publish(REPORTS[2], { docType: 'invoice' });
      const taken = sim.publish(REPORTS[3]);
      sim.recall(recalled);
      const client = connect(sim);
      only(await client.acknowledge([taken]));
      const outcome = await client.acknowledge(['0000000000000000000000000000dead', recalled, pending, invoice]);
      assert.ok(outcome.ok);
      const byId = new Map(outcome.results.map((r) => [r.docId, r]));
      expectCode(byId.get('0000000000000000000000000000dead') as DocumentResult, 104, 'not_found');
      expectCode(byId.get(recalled) as DocumentResult, 102, 'recalled');
      expectCode(byId.get(pending) as DocumentResult, 103, 'state');
      expectCode(byId.get(invoice) as DocumentResult, 105, 'invalid');
      assert.equal(byId.get(recalled)?.error?.kind, 'conflict');
      const other = only(await connect(sim, { systemId: 'ERP-B' }).acknowledge([taken]));
      expectCode(other, 99, 'config');
      assert.equal(other.error?.kind, 'auth');
      sim.release(pending);
      expectCode(only(await client.acknowledge([pending])), 0, 'ok');
    });
  });

  test('a configured systemId refuses every other one with 99', async () => {
    await withSimulator(async (sim) => {
      const docId = sim.publish(REPORTS[0]);
      expectCode(only(await connect(sim, { systemId: 'ERP-B' }).acknowledge([docId])), 99, 'config');
      expectCode(only(await connect(sim, { systemId: 'ERP-A' }).acknowledge([docId])), 0, 'ok');
    }, { systemId: 'ERP-A' });
  });
});

describe('Concur FIS: posting confirmations', () => {
  test('READY -> 111; ACKNOWLEDGED -> success 0; a repeat -> 113; the document number is kept', async () => {
    await withSimulator(async (sim) => {
      const docId = sim.publish(REPORTS[0]);
      const client = connect(sim);
      const early = only(await client.confirmPosting([success(docId)]));
      expectCode(early, 111, 'state');
      assert.equal(early.result, 'NOT_YET_ACKNOWLEDGED');
      only(await client.acknowledge([docId]));
      expectCode(only(await client.confirmPosting([success(docId)])), 0, 'ok');
      expectCode(only(await client.confirmPosting([success(docId, '5100000002')])), 113, 'already_done');
      const [view] = sim.documents();
      assert.equal(view.status, 'POSTING_CONFIRMED_SUCCESS');
      assert.deepEqual(view.postingConfirmations.map((p) => [p.code, p.documentNumbers]), [[111, ['5100000001']], [0, ['5100000001']], [113, ['5100000002']]]);
    });
  });

  test('a failure confirmation keeps its messages and can be followed by a corrected success', async () => {
    await withSimulator(async (sim) => {
      const docId = sim.publish(REPORTS[0]);
      const client = connect(sim);
      only(await client.acknowledge([docId]));
      const failure: FisPostingConfirmation = { docId, overallPostingStatusCode: 'error', postingDocs: [], systemMessages: [{ messageId: 'CC-CLOSED', messageLanguage: 'EN', messageShortText: 'Cost center DE4190 is closed.' }] };
      expectCode(only(await client.confirmPosting([failure])), 0, 'ok');
      assert.equal(sim.documents()[0].status, 'POSTING_CONFIRMED_FAILURE');
      expectCode(only(await client.confirmPosting([success(docId)])), 0, 'ok');
      const [view] = sim.documents();
      assert.equal(view.status, 'POSTING_CONFIRMED_SUCCESS');
      assert.deepEqual(view.postingConfirmations[0].messages, ['Cost center DE4190 is closed.']);
    });
  });

  test('unknown, recalled, wrong type, not ready, invalid entries and another system get 116, 112, 115, 114, 198 and 99', async () => {
    await withSimulator(async (sim) => {
      const recalled = sim.publish(REPORTS[0]);
      const invoice = sim.publish(REPORTS[1], { docType: 'invoice' });
      const pending = sim.publish(REPORTS[2], { ready: false });
      const valid = sim.publish(REPORTS[3]);
      const client = connect(sim);
      only(await client.acknowledge([recalled]));
      sim.recall(recalled);
      const invalidEntry = { ...success(valid), postingDocs: [{ documentNumber: '1' }] } as unknown as FisPostingConfirmation;
      const outcome = await client.confirmPosting([success('0000000000000000000000000000dead'), success(recalled), success(invoice), success(pending), invalidEntry]);
      assert.ok(outcome.ok);
      const codes = outcome.results.map((r) => [r.code, r.outcome, r.error?.kind]);
      assert.deepEqual(codes, [[116, 'not_found', 'not_found'], [112, 'recalled', 'conflict'], [115, 'invalid', 'invalid'], [114, 'state', 'conflict'], [198, 'invalid', 'invalid']]);
      assert.match(outcome.results[4].detailMessage ?? '', /companyId/);
      only(await client.acknowledge([valid]));
      const otherSystem = only(await connect(sim, { systemId: 'ERP-B' }).confirmPosting([success(valid)]));
      expectCode(otherSystem, 99, 'config');
      assert.equal(sim.documents().find((d) => d.docId === valid)?.status, 'ACKNOWLEDGED');
    });
  });
});

describe('Concur FIS: payment confirmations', () => {
  test('paid after posting -> 0 and P_PAID in Expense v4; the same paymentRef again -> 298 NOOP', async () => {
    await withSimulator(async (sim) => {
      const report = REPORTS[0];
      const docId = sim.publish(report);
      const client = connect(sim);
      const payment = { docId, processingStatusCode: 'CP' as const, clearingDetails: [{ clearingDate: '2026-05-05T10:00:00Z', clearingAmount: '120.00', clearingCurrency: report.currency, clearingReference: { paymentRef: 'PAY-1', paymentMethod: 'E' as const } }] };
      expectCode(only(await client.confirmPayment([payment])), 111, 'state');
      only(await client.acknowledge([docId]));
      expectCode(only(await client.confirmPayment([payment])), 114, 'state');
      only(await client.confirmPosting([success(docId)]));
      const paid = only(await client.confirmPayment([payment]));
      expectCode(paid, 0, 'ok');
      assert.equal(paid.paymentRef, 'PAY-1');
      const again = only(await client.confirmPayment([payment]));
      expectCode(again, 298, 'already_done');
      assert.equal(again.result, 'NOOP');
      const read = await client.getReport(report.employeeId, report.reportId);
      assert.ok(read.ok, JSON.stringify(read));
      assert.equal(read.report.paymentStatusId, 'P_PAID');
      assert.deepEqual(sim.documents()[0].paymentConfirmations.map((p) => p.code), [111, 114, 0, 298]);
    });
  });

  test('unknown documents get 116 and an unknown status code 198', async () => {
    await withSimulator(async (sim) => {
      const docId = sim.publish(REPORTS[0]);
      const outcome = await connect(sim).confirmPayment([
        { docId: '0000000000000000000000000000dead', processingStatusCode: 'CP' },
        { docId, processingStatusCode: 'XX' as 'CP' },
      ]);
      assert.ok(outcome.ok);
      assert.deepEqual(outcome.results.map((r) => [r.code, r.outcome]), [[116, 'not_found'], [198, 'invalid']]);
    });
  });
});

describe('Concur Expense v4: report status', () => {
  test('a published report reads as approved and unpaid; a recall sends it back; unknown ones are not_found', async () => {
    await withSimulator(async (sim) => {
      const report = REPORTS[4];
      const docId = sim.publish(report);
      const client = connect(sim);
      const read = await client.getReport(report.employeeId, report.reportId);
      assert.ok(read.ok, JSON.stringify(read));
      assert.equal(read.report.approvalStatusId, 'A_APPR');
      assert.equal(read.report.paymentStatusId, 'P_NOTP');
      assert.equal(read.report.ledger, report.entity);
      assert.equal(read.report.reportTotal.currencyCode, report.currency);
      sim.recall(docId);
      const recalled = await client.getReport(report.employeeId, report.reportId);
      assert.ok(recalled.ok);
      assert.equal(recalled.report.approvalStatusId, 'A_RESU');
      const unknown = await client.getReport(report.employeeId, 'NOPE');
      assert.ok(!unknown.ok && unknown.error.kind === 'not_found' && unknown.error.httpStatus === 404);
      const otherUser = await client.getReport('US01-E0001', report.reportId);
      assert.ok(!otherUser.ok && otherUser.error.kind === 'not_found');
    });
  });
});

describe('Concur FIS: auth, errors and faults', () => {
  test('no or an unknown token is 401, a token without the scope 403, both auth', async () => {
    await withSimulator(async (sim) => {
      sim.publish(REPORTS[0]);
      const unknown = await connect(sim, { token: 'nope' }).pull();
      assert.ok(!unknown.ok && unknown.error.kind === 'auth' && unknown.error.httpStatus === 401);
      const noScope = await connect(sim, { token: 'read-only' }).pull();
      assert.ok(!noScope.ok && noScope.error.kind === 'auth' && noScope.error.httpStatus === 403);
      assert.match(noScope.error.message, /FISVC/);
      const noRead = await connect(sim, { token: 'fis-only' }).getReport(REPORTS[0].employeeId, REPORTS[0].reportId);
      assert.ok(!noRead.ok && noRead.error.httpStatus === 403);
      const bare = await fetch(`${sim.url}/financialintegration/fi/v4/companies/transactiontypes/expense/transactions`);
      assert.equal(bare.status, 401);
      assert.equal(bare.headers.get('www-authenticate'), 'Bearer');
    });
  });

  test('a request Concur cannot read is 400 with the error body, classified invalid', async () => {
    await withSimulator(async (sim) => {
      const url = `${sim.url}/financialintegration/fi/v4/companies/transactiontypes/expense/transactions`;
      const post = (path: string, body: string) => fetch(`${url}/${path}`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, body });
      for (const [path, body] of [['acknowledgements', '{not json'], ['postingconfirmations', '{"postingConfirmations": []}'], ['paymentconfirmations', '{"systemId": 7, "processingConfirmation": []}'], ['acknowledgements', '{"ids": []}']]) {
        const response = await post(path, body);
        assert.equal(response.status, 400, `${path} ${body}`);
        const error = (await response.json()) as Record<string, unknown>;
        assert.deepEqual(Object.keys(error).sort(), ['errorId', 'errorMessage', 'httpStatus', 'path', 'timestamp']);
        assert.equal(error.httpStatus, 400);
        assert.equal(error.path, `/financialintegration/fi/v4/companies/transactiontypes/expense/transactions/${path}`);
      }
      const tooLarge = await connect(sim).pull({ limit: 5000 });
      assert.ok(!tooLarge.ok && tooLarge.error.kind === 'invalid' && tooLarge.error.httpStatus === 400);
      assert.match(tooLarge.error.message, /limit must be an integer/);
      const badType = await fetch(`${sim.url}/financialintegration/fi/v4/companies/transactiontypes/travel/transactions`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      assert.equal(badType.status, 400);
    });
  });

  test('every answer carries a concur-correlationid, errors and unknown paths included', async () => {
    await withSimulator(async (sim) => {
      const base = `${sim.url}/financialintegration/fi/v4/companies/transactiontypes/expense/transactions`;
      const auth = { Authorization: `Bearer ${TOKEN}` };
      const answers = await Promise.all([
        fetch(base, { headers: auth }),
        fetch(base),
        fetch(`${sim.url}/nothing/here`),
        fetch(`${base}/acknowledgements`, { method: 'POST', headers: auth, body: '{"ids": ["x"]}' }),
      ]);
      const ids = answers.map((response) => response.headers.get('concur-correlationid'));
      for (const id of ids) assert.match(id ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(new Set(ids).size, ids.length);
      assert.deepEqual(answers.map((r) => r.status), [200, 401, 404, 200]);
    });
  });

  test('maintenance is 503 unavailable with Retry-After; a rate-limit fault is 429 rate_limited with Retry-After', async () => {
    await withSimulator(async (sim) => {
      const client = connect(sim);
      sim.setFaults({ down: true, retryAfterSeconds: 30 });
      const down = await client.pull();
      assert.ok(!down.ok);
      assert.deepEqual([down.error.kind, down.error.httpStatus, down.error.retryAfterMs], ['unavailable', 503, 30_000]);
      const downNoToken = await connect(sim, { token: 'nope' }).pull();
      assert.ok(!downNoToken.ok && downNoToken.error.httpStatus === 503, 'maintenance answers before authentication');
      sim.setFaults({ rateLimitRate: 1, retryAfterSeconds: 2 });
      const limited = await client.acknowledge(['x']);
      assert.ok(!limited.ok);
      assert.deepEqual([limited.error.kind, limited.error.httpStatus, limited.error.retryAfterMs], ['rate_limited', 429, 2000]);
      sim.setFaults({});
      assert.ok((await client.pull()).ok);
    });
  });

  test('server errors are 500 transient or 503 unavailable, and per-document faults 199 retry', async () => {
    await withSimulator(async (sim) => {
      const docId = sim.publish(REPORTS[0]);
      const client = connect(sim);
      sim.setFaults({ serverErrorRate: 1 });
      const kinds = new Set<string>();
      for (let i = 0; i < 16; i++) {
        const outcome = await client.pull();
        assert.ok(!outcome.ok);
        kinds.add(`${outcome.error.httpStatus} ${outcome.error.kind}`);
      }
      assert.deepEqual([...kinds].sort(), ['500 transient', '503 unavailable']);
      sim.setFaults({ documentErrorRate: 1 });
      const fault = only(await client.acknowledge([docId]));
      expectCode(fault, 199, 'retry');
      assert.equal(fault.error?.kind, 'transient');
      assert.equal(sim.documents()[0].status, 'READY', 'a 199 changes nothing');
      sim.setFaults({});
      expectCode(only(await client.acknowledge([docId])), 0, 'ok');
      sim.setFaults({ documentErrorRate: 1 });
      expectCode(only(await client.confirmPosting([success(docId)])), 199, 'retry');
      expectCode(only(await client.confirmPayment([{ docId, processingStatusCode: 'CP' }])), 199, 'retry');
      assert.equal(sim.documents()[0].status, 'ACKNOWLEDGED');
    });
  });

  test('the same seed gives the same answers', async () => {
    const run = async (): Promise<string[]> => {
      const answers: string[] = [];
      await withSimulator(async (sim) => {
        const ids = REPORTS.slice(0, 6).map((report) => sim.publish(report));
        sim.setFaults({ serverErrorRate: 0.3, rateLimitRate: 0.1, documentErrorRate: 0.4 });
        const client = connect(sim);
        for (let i = 0; i < 12; i++) {
          const outcome = await client.acknowledge(ids);
          answers.push(outcome.ok ? outcome.results.map((r) => r.code).join(',') : String(outcome.error.httpStatus));
        }
      }, { seed: 77 });
      return answers;
    };
    const first = await run();
    assert.deepEqual(await run(), first);
    assert.ok(new Set(first).size > 2, `faults should vary the answers: ${first.join(' | ')}`);
  });
});
