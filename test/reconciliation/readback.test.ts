// Proves that the NetSuite read-back gives exactly the journal lines NetSuite holds under our external ids for one subsidiary and period (joined transaction and transactionline rows from the simulator's ledger, decimal strings read into integer minor units, accounts mapped to our codes), pages through several pages, splits a period beyond the per-query result cap by days and then by id ranges without losing or repeating a line, and refuses a malformed answer naming the transaction; and, end to end through the hub, that reconciling the platform, finsync and NetSuite after a clean run (one report recalled and reversed) finds no break, and after tampering with NetSuite (a document deleted, an amount and an account changed, a document duplicated, a foreign fs_ document added) finds exactly those breaks on exactly those keys.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { netsuiteJournalLines, splitRange, type NetSuiteReadbackOptions } from '../../src/connectors/netsuite/readback.ts';
import { startNetSuiteSimulator, type NetSuiteSimulator, type SimDocument } from '../../src/connectors/netsuite/simulator.ts';
import type { NormalizedNetSuiteJournal } from '../../src/connectors/netsuite/mapping.ts';
import { createSuiteQlClient, SuiteQlError } from '../../src/connectors/netsuite/suiteql.ts';
import { generateReports, toCloudEvent, toRecallEvent } from '../../src/demo/expense-platform.ts';
import { SAMPLE_COMPANY, SAMPLE_TARGET } from '../../src/demo/sample-company.ts';
import type { JournalEntry } from '../../src/domain/journal.ts';
import { postingKey } from '../../src/domain/keys.ts';
import { reconcile } from '../../src/reconciliation/engine.ts';
import { finsyncLines } from '../../src/reconciliation/finsync-lines.ts';
import { linesSource, ReconciliationInputError } from '../../src/reconciliation/line-file.ts';
import type { Break, LineSource, ReconcileResult, ReconLine } from '../../src/reconciliation/types.ts';
import { openPostings, reportState, startHarness, type Harness } from '../support/hub-harness.ts';

const TOKEN = 'readback-token';
const ACCOUNT_CODES = new Map([['10', '6110'], ['20', '2110'], ['30', '1410']]);

async function readAll(source: LineSource): Promise<ReconLine[]> {
  const lines: ReconLine[] = [];
  for await (const batch of source.batches) lines.push(...batch);
  return lines;
}

const byKeyDocAccount = (a: ReconLine, b: ReconLine) => `${a.key}\t${a.document}\t${a.account}\t${a.amountMinor}`.localeCompare(`${b.key}\t${b.document}\t${b.account}\t${b.amountMinor}`);

function journal(externalId: string, tranDate: string, amountMinor: number, more: Partial<NormalizedNetSuiteJournal> = {}): NormalizedNetSuiteJournal {
  return {
    externalId, subsidiaryId: '2', currency: 'EUR', tranDate, memo: 'test',
    lines: [{ accountId: '10', debitMinor: amountMinor, creditMinor: 0, memo: '' }, { accountId: '20', debitMinor: 0, creditMinor: amountMinor, memo: '' }],
    ...more,
  };
}

/** Twenty of our journals in November (nine on the 7th), and what must not be read: other ids, subsidiaries and months. */
function fillLedger(sim: NetSuiteSimulator): void {
  for (let i = 0; i < 20; i++) {
    const day = i < 8 ? '07' : String(1 + ((i * 3) % 30)).padStart(2, '0');
    sim.insertDocument(journal(`fs_${i.toString(16).padStart(24, '0')}_r1`, `2026-11-${day}`, [50, 12_000, 1234][i % 3] + i));
  }
  // Three lines, one on an account finsync does not know; a yen journal; a reversal key.
  sim.insertDocument(journal('fs_split_r2', '2026-11-30', 0, { lines: [{ accountId: '10', debitMinor: 700, creditMinor: 0, memo: '' }, { accountId: '40', debitMinor: 300, creditMinor: 0, memo: '' }, { accountId: '20', debitMinor: 0, creditMinor: 1000, memo: '' }] }));
  sim.insertDocument(journal('fs_yen_r1', '2026-11-15', 1200, { currency: 'JPY' }));
  sim.insertDocument(journal('fs_yen_r1_rev', '2026-11-16', 0, { currency: 'JPY', lines: [{ accountId: '20', debitMinor: 1200, creditMinor: 0, memo: '' }, { accountId: '10', debitMinor: 0, creditMinor: 1200, memo: '' }] }));
  sim.insertDocument(journal('fsX_looks_like_ours', '2026-11-08', 10));
  sim.insertDocument(journal('other-integration-1', '2026-11-08', 10));
  sim.insertDocument(journal('', '2026-11-08', 10));
  sim.insertDocument(journal('fs_other_subsidiary_r1', '2026-11-08', 10, { subsidiaryId: '1' }));
  sim.insertDocument(journal('fs_october_r1', '2026-10-31', 10));
  sim.insertDocument(journal('fs_december_r1', '2026-12-01', 10));
}

/** What the read-back should give for the ledger: every line of our November journals of subsidiary 2. */
function expectedLines(documents: readonly SimDocument[]): ReconLine[] {
  return documents
    .filter((d) => d.externalId?.startsWith('fs_') && d.subsidiaryId === '2' && d.tranDate.startsWith('2026-11'))
    .flatMap((d) =>
      d.lines.map((l) => ({
        key: d.externalId!, entity: 'DE01', currency: d.currency, period: '2026-11', account: ACCOUNT_CODES.get(l.accountId) ?? `netsuite:${l.accountId}`,
        amountMinor: l.debitMinor - l.creditMinor, status: '' as const, document: d.id,
      })),
    )
    .sort(byKeyDocAccount);
}

const OPTIONS: NetSuiteReadbackOptions = { subsidiaryId: '2', entity: 'DE01', period: '2026-11', accountCodeOf: (id) => ACCOUNT_CODES.get(id) };

async function startLedger(suiteQlResultsMax?: number): Promise<NetSuiteSimulator> {
  const sim = await startNetSuiteSimulator({
    token: TOKEN, seed: 5, subsidiaries: ['1', '2'], accounts: ['10', '20', '30', '40'],
    masterData: { currency: [{ id: '1', symbol: 'USD', name: 'US Dollar' }, { id: '2', symbol: 'EUR', name: 'Euro' }, { id: '3', symbol: 'JPY', name: 'Yen' }] },
    ...(suiteQlResultsMax !== undefined && { suiteQlResultsMax }),
  });
  fillLedger(sim);
  return sim;
}

describe('NetSuite read-back against the simulator', () => {
  test('gives exactly our journal lines of the subsidiary and period, in pages of 7 rows', async () => {
    const sim = await startLedger();
    try {
      const lines = await readAll(netsuiteJournalLines({ baseUrl: sim.url, token: TOKEN, requestTimeoutMs: 5_000 }, { ...OPTIONS, pageSize: 7 }));
      const want = expectedLines(sim.documents());
      assert.equal(want.length, 20 * 2 + 3 + 2 + 2);
      assert.deepEqual([...lines].sort(byKeyDocAccount), want);
      // The currency table once, then ceil(47 / 7) pages of the journal query.
      assert.equal(sim.stats().requests, 1 + 7);
      const split = lines.filter((l) => l.key === 'fs_split_r2').map((l) => [l.account, l.amountMinor]);
      assert.deepEqual(split, [['6110', 700], ['netsuite:40', 300], ['2110', -1000]]);
      assert.deepEqual(lines.filter((l) => l.key === 'fs_yen_r1').map((l) => [l.currency, l.amountMinor]), [['JPY', 1200], ['JPY', -1200]]);
    } finally {
      await sim.close();
    }
  });

  test('a period beyond the result cap is read in parts (days, then id ranges), every line once', async () => {
    const sim = await startLedger(10);
    try {
      const client = { baseUrl: sim.url, token: TOKEN, requestTimeoutMs: 5_000, resultsMax: 10 };
      const inner = createSuiteQlClient(client);
      const queries: string[] = [];
      const recording = { query: (q: string, pageSize?: number) => (queries.push(q), inner.query(q, pageSize)) };
      const lines = await readAll(netsuiteJournalLines(recording, { ...OPTIONS, pageSize: 4, currencyOf: (id) => ({ '2': 'EUR', '3': 'JPY' })[id] }));
      assert.deepEqual([...lines].sort(byKeyDocAccount), expectedLines(sim.documents()));
      // Only the 7th (nine journals, 18 lines) is beyond the cap of 10 on its own: its id bounds are asked, then it is read in id ranges.
      assert.equal(queries.filter((q) => q.startsWith('SELECT t.id FROM transaction t ')).length, 2);
      assert.ok(queries.every((q) => !q.includes('t.id >=') || q.includes("t.trandate >= TO_DATE('2026-11-07', 'YYYY-MM-DD') AND t.trandate <= TO_DATE('2026-11-07', 'YYYY-MM-DD')")));
      assert.ok(queries.filter((q) => q.includes('t.id >=')).length >= 3, queries.join('\n'));

      // One journal with more lines than the cap cannot be split.
      const many = Array.from({ length: 6 }, () => [{ accountId: '10', debitMinor: 1, creditMinor: 0, memo: '' }, { accountId: '20', debitMinor: 0, creditMinor: 1, memo: '' }]).flat();
      sim.insertDocument(journal('fs_long_r1', '2026-11-07', 0, { lines: many }));
      await assert.rejects(readAll(netsuiteJournalLines(client, OPTIONS)), (error: unknown) => error instanceof SuiteQlError && error.vendorCode === 'RESULT_LIMIT' && /alone has more journal lines/.test(error.message));
    } finally {
      await sim.close();
    }
  });

  test("the simulator's journal tables: a join, LIKE, Oracle's numbers, and what it refuses", async () => {
    const sim = await startLedger();
    try {
      const ask = async (q: string) => {
        const response = await fetch(`${sim.url}/services/rest/query/v1/suiteql?limit=1000`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, Prefer: 'transient', 'Content-Type': 'application/json' }, body: JSON.stringify({ q }) });
        return { status: response.status, body: (await response.json()) as { items: Record<string, string>[]; 'o:errorDetails': { detail: string }[] } };
      };
      const split = await ask("SELECT t.tranid, t.type, t.posting, tl.id AS line, tl.account, tl.debitforeignamount, tl.creditforeignamount FROM transaction AS t JOIN transactionline tl ON t.id = tl.transaction WHERE t.externalid = 'fs_split_r2' ORDER BY tl.id DESC");
      const id = sim.documents().find((d) => d.externalId === 'fs_split_r2')!.id;
      assert.deepEqual(split.body.items, [
        { links: [], tranid: `JE${id}`, type: 'Journal', posting: 'T', line: '2', account: '20', creditforeignamount: '10' },
        { links: [], tranid: `JE${id}`, type: 'Journal', posting: 'T', line: '1', account: '40', debitforeignamount: '3' },
        { links: [], tranid: `JE${id}`, type: 'Journal', posting: 'T', line: '0', account: '10', debitforeignamount: '7' },
      ]);
      const like = async (pattern: string) => (await ask(`SELECT externalid FROM transaction WHERE externalid LIKE '${pattern}' ORDER BY id`)).body.items.map((i) => i.externalid);
      assert.deepEqual(await like('fs_yen%'), ['fs_yen_r1', 'fs_yen_r1_rev']);
      assert.deepEqual(await like('fs_yen_r_'), ['fs_yen_r1']);
      assert.deepEqual(await like('fs%ours'), ['fsX_looks_like_ours']);
      assert.deepEqual(await like('FS_YEN%'), [], 'LIKE is case-sensitive');
      assert.deepEqual(await like('fs.yen%'), [], 'a dot is a dot');
      const halfEuro = await ask("SELECT tl.debitforeignamount FROM transaction t JOIN transactionline tl ON tl.transaction = t.id WHERE t.externalid = 'fs_000000000000000000000000_r1' AND tl.id = 0");
      assert.deepEqual(halfEuro.body.items, [{ links: [], debitforeignamount: '.5' }]);
      for (const [q, detail] of [
        ['SELECT id FROM transaction t JOIN transactionline tl ON tl.transaction = t.id', /the column id is in both tables/],
        ['SELECT * FROM transaction t JOIN transactionline tl ON tl.transaction = t.id', /SELECT \* over a join/],
        ['SELECT x.id FROM transaction t', /Unknown identifier 'x\.id'\. Available identifiers are: \{t=transaction\}/],
        ['SELECT t.id FROM transaction t JOIN transactionline tl ON t.id = t.id', /must compare a column of each table/],
        ['SELECT t.id FROM transaction t WHERE t.id LIKE 1', /could not read the query/],
        ["SELECT t.id FROM transaction t WHERE t.trandate LIKE '2026%'", /LIKE on trandate \(date\), which is not text/],
        ['SELECT t.id FROM transaction t JOIN transaction t ON t.id = t.id', /both named t/],
      ] as const) {
        const answer = await ask(q);
        assert.equal(answer.status, 400, q);
        assert.match(answer.body['o:errorDetails'][0].detail, detail, q);
      }
    } finally {
      await sim.close();
    }
  });

  test('ranges split into halves: days first, then ids', () => {
    assert.deepEqual(splitRange({ from: '2026-11-01', to: '2026-11-30' }), [{ from: '2026-11-01', to: '2026-11-15' }, { from: '2026-11-16', to: '2026-11-30' }]);
    assert.deepEqual(splitRange({ from: '2026-11-07', to: '2026-11-08' }), [{ from: '2026-11-07', to: '2026-11-07' }, { from: '2026-11-08', to: '2026-11-08' }]);
    assert.deepEqual(splitRange({ from: '2026-11-07', to: '2026-11-07' }), [{ from: '2026-11-07', to: '2026-11-07', ids: [0, 2 ** 52] }, { from: '2026-11-07', to: '2026-11-07', ids: [2 ** 52, 2 ** 53] }]);
    assert.deepEqual(splitRange({ from: '2026-11-07', to: '2026-11-07', ids: [10, 13] }).map((r) => r.ids), [[10, 11], [11, 13]]);
  });

  test('NetSuite refusing the query stops the read with its classified error', async () => {
    const sim = await startLedger();
    try {
      await assert.rejects(readAll(netsuiteJournalLines({ baseUrl: sim.url, token: 'wrong', requestTimeoutMs: 5_000, attempts: 1 }, OPTIONS)), (error: unknown) => error instanceof SuiteQlError && error.kind === 'auth');
    } finally {
      await sim.close();
    }
  });
});

describe('NetSuite read-back on malformed answers', () => {
  let items: Record<string, string>[] = [];
  let server: Server;
  let url = '';
  before(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ links: [], count: items.length, hasMore: false, items: items.map((i) => ({ links: [], ...i })), offset: 0, totalResults: items.length }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const row = (more: Record<string, string>) => ({ id: '77', externalid: 'fs_abc_r1', trandate: '2026-11-03', currency: '2', line: '1', account: '10', debitforeignamount: '12.5', ...more });
  const read = (answer: Record<string, string>[]) => {
    items = answer;
    return readAll(netsuiteJournalLines({ baseUrl: url, token: TOKEN, requestTimeoutMs: 5_000, attempts: 1 }, { ...OPTIONS, currencyOf: (id) => ({ '2': 'EUR', '9': 'XYZ' })[id] }));
  };

  test('reads Oracle-style decimals exactly: no leading zero, no trailing zeros, signed', async () => {
    const lines = await read([row({ debitforeignamount: '.5' }), row({ line: '2', debitforeignamount: '120' }), row({ line: '3', debitforeignamount: '-.25' }), row({ line: '4', debitforeignamount: '3', creditforeignamount: '1.10' })]);
    assert.deepEqual(lines.map((l) => l.amountMinor), [50, 12_000, -25, 190]);
  });

  for (const [name, answer, column, detail] of [
    ['a malformed amount', row({ debitforeignamount: '12.3.4' }), 'debitforeignamount', /"12\.3\.4" is not a decimal amount in EUR/],
    ['an exponent', row({ creditforeignamount: '1e3' }), 'creditforeignamount', /"1e3" is not a decimal amount/],
    ['more decimals than the currency has', row({ debitforeignamount: '1.234' }), 'debitforeignamount', /more decimals than EUR allows/],
    ['an unknown currency id', row({ currency: '5' }), 'currency', /currency id "5" is not in NetSuite's currency table/],
    ['a currency code finsync does not know', row({ currency: '9' }), 'currency', /"XYZ" \(id 9\) is not an ISO 4217 code/],
    ['a row without currency', { id: '77', externalid: 'fs_abc_r1', trandate: '2026-11-03', line: '1', account: '10', debitforeignamount: '1' }, 'currency', /no currency/],
    ['a date outside the period', row({ trandate: '2026-12-01' }), 'trandate', /not a day of 2026-11/],
    ['a line without account', row({ account: '' }), 'account', /no account/],
  ] as const) {
    test(`refuses ${name}, naming the transaction`, async () => {
      await assert.rejects(read([row({ line: '0' }), answer]), (error: unknown) => {
        assert.ok(error instanceof ReconciliationInputError, String(error));
        assert.equal(error.line, 2);
        assert.equal(error.column, column);
        assert.match(error.detail, /^transaction 77 \(fs_abc_r1\), line 1: /);
        assert.match(error.detail, detail);
        assert.match(error.message, /^NetSuite journals of subsidiary 2 \(DE01\) in 2026-11, line 2/);
        return true;
      });
    });
  }
});

const accountCodes = (entity: string) => new Map(SAMPLE_COMPANY.glAccounts.filter((a) => a.entity === entity).map((a) => [a.erpId, a.number]));

describe('reconciling the platform, finsync and NetSuite after a run through the hub', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness('sqlite');
  });
  after(async () => h?.close());

  /** Reconciles every entity and period finsync posted in; the platform's lines are the journals, approved or recalled. */
  async function reconcileAll(recalledKey: string): Promise<{ breaks: Break[]; results: ReconcileResult[] }> {
    const postings = await h.hub.store.db.selectFrom('postings').select(['kind', 'external_key', 'journal']).execute();
    const platform = postings
      .filter((p) => p.kind === 'journal')
      .flatMap((p) => {
        const j = JSON.parse(p.journal) as JournalEntry;
        return j.lines.map((l) => ({ key: p.external_key, entity: j.entity, currency: j.currency, period: j.postingDate.slice(0, 7), account: l.account, amountMinor: l.debitMinor - l.creditMinor, status: p.external_key === recalledKey ? ('recalled' as const) : ('approved' as const), document: '' }));
      });
    const scopes = [...new Set(postings.map((p) => JSON.stringify([(JSON.parse(p.journal) as JournalEntry).entity, (JSON.parse(p.journal) as JournalEntry).postingDate.slice(0, 7)])))].map((s) => JSON.parse(s) as [string, string]);
    const breaks: Break[] = [];
    const results: ReconcileResult[] = [];
    for (const [entity, period] of scopes.sort()) {
      const codes = accountCodes(entity);
      const subsidiaryId = SAMPLE_COMPANY.entities.find((e) => e.code === entity)!.erpSubsidiaryId;
      const sources = {
        platform: linesSource('platform', 'platform', platform.filter((l) => l.entity === entity && l.period === period)),
        finsync: finsyncLines(h.hub.store.db, { entity, period, target: SAMPLE_TARGET }),
        erp: netsuiteJournalLines({ baseUrl: h.simulator.url, token: h.hub.sync.netsuite!.token!, requestTimeoutMs: 5_000 }, { subsidiaryId, entity, period, accountCodeOf: (id) => codes.get(id) }),
      };
      results.push(await reconcile(sources, { partitions: 3, onBreak: (b) => breaks.push(b) }));
    }
    return { breaks, results };
  }

  test('no break after a clean run; exactly the injected breaks after tampering with NetSuite', async () => {
    const reports = generateReports({ count: 6, seed: 43, invalidShare: 0 });
    assert.equal((await h.send(reports.map((r) => toCloudEvent(r, { type: 'approved' })))).status, 202);
    await h.waitUntil('every report is posted', async () => (await Promise.all(reports.map((r) => reportState(h, r.reportId)))).every((s) => s === 'posted'));
    const recalled = reports.find((r) => r.entity !== 'JP01')!;
    await h.send(toRecallEvent(recalled.reportId, 1, 'recalled by the employee'));
    await h.waitUntil('the recall is reversed', async () => (await reportState(h, recalled.reportId)) === 'recalled' && (await openPostings(h)) === 0);
    const recalledKey = postingKey(recalled.reportId, 1, SAMPLE_TARGET);

    const clean = await reconcileAll(recalledKey);
    assert.deepEqual(clean.breaks, []);
    const approved = clean.results.reduce((n, r) => n + r.completeness.approvedKeys, 0);
    assert.equal(approved, reports.length - 1);
    assert.equal(clean.results.reduce((n, r) => n + r.completeness.matchedKeys, 0), approved);

    // Tamper: one document per break class, on journals of reports that were not recalled.
    const documentOf = (key: string) => h.simulator.documents().find((d) => d.externalId === key)!;
    const [a, b, c, d] = reports.filter((r) => r !== recalled).map((r) => postingKey(r.reportId, 1, SAMPLE_TARGET));
    assert.ok(h.simulator.removeDocument(documentOf(a).id));
    const bLine = documentOf(b).lines[0];
    h.simulator.changeDocumentLine(documentOf(b).id, 0, bLine.debitMinor > 0 ? { debitMinor: bLine.debitMinor + 1 } : { creditMinor: bLine.creditMinor + 1 });
    const cDocument = documentOf(c);
    const cEntity = SAMPLE_COMPANY.entities.find((e) => e.erpSubsidiaryId === cDocument.subsidiaryId)!.code;
    const unused = SAMPLE_COMPANY.glAccounts.find((g) => g.entity === cEntity && g.postable && !cDocument.lines.some((l) => l.accountId === g.erpId))!;
    h.simulator.changeDocumentLine(cDocument.id, 0, { accountId: unused.erpId });
    const { id: _id, externalId, ...dJournal } = documentOf(d);
    h.simulator.insertDocument({ ...dJournal, externalId: externalId! });
    // A journal entered by hand under an external id that looks like ours.
    const foreign = 'fs_000000000000000000000000_r1';
    h.simulator.insertDocument({ ...dJournal, externalId: foreign, memo: 'entered by hand', lines: dJournal.lines.map((l) => ({ ...l, debitMinor: l.creditMinor, creditMinor: l.debitMinor })) });

    const tampered = await reconcileAll(recalledKey);
    const found = tampered.breaks.map((x) => `${x.key} ${x.class}`).sort();
    assert.deepEqual(found, [`${a} missing_in_erp`, `${b} amount_mismatch`, `${c} account_mismatch`, `${d} extra_in_erp`, `${foreign} extra_in_erp`].sort());
    const duplicate = tampered.breaks.find((x) => x.key === d)!;
    assert.equal(duplicate.erp?.documents.length, 2);
    const renamed = tampered.breaks.find((x) => x.key === c)!;
    assert.ok(renamed.erp?.amounts.some((x) => x.account === unused.number), 'the ERP side shows the changed account by our code');
  });
});
