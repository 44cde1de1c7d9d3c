// Proves that finsync's side of a reconciliation, read from the postings table on SQLite and PostgreSQL, holds exactly the postings finsync sent or believes the ERP holds (posted; in flight; queued after an unknown outcome) with the right status (confirmed, posted, reversed), leaves out the rest (never sent, quarantined, superseded, skipped, other entities, periods and targets), finds journals by their own date even across time zones and after a revision moved the report to another entity, reads in bounded pages, and refuses a journal that is not in integers; then, through the hub and the NetSuite simulator, that a clean run with one recall and one unconfirmed posting gives exactly those lines and reconciles against the ERP with one break only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConnectorError, TargetConnector } from '../../src/connectors/contract.ts';
import { netsuiteJournalLines } from '../../src/connectors/netsuite/readback.ts';
import { generateReports, toCloudEvent, toRecallEvent } from '../../src/demo/expense-platform.ts';
import { SAMPLE_COMPANY, SAMPLE_TARGET } from '../../src/demo/sample-company.ts';
import type { JournalEntry } from '../../src/domain/journal.ts';
import { postingKey } from '../../src/domain/keys.ts';
import { reconcile } from '../../src/reconciliation/engine.ts';
import { finsyncLines } from '../../src/reconciliation/finsync-lines.ts';
import { linesSource, ReconciliationInputError } from '../../src/reconciliation/line-file.ts';
import type { Break, LineSource, ReconLine } from '../../src/reconciliation/types.ts';
import type { Db, Store } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import type { PostingState } from '../../src/store/schema.ts';
import { reportState, startHarness, type Harness } from '../support/hub-harness.ts';
import { createTestStorage, storeKinds, type TestStorage } from '../support/stores.ts';

async function readAll(source: LineSource): Promise<{ lines: ReconLine[]; batches: number }> {
  const lines: ReconLine[] = [];
  let batches = 0;
  for await (const batch of source.batches) (batches++, lines.push(...batch));
  return { lines, batches };
}

const byKeyAccount = (a: ReconLine, b: ReconLine) => (a.key === b.key ? (a.account < b.account ? -1 : a.account > b.account ? 1 : 0) : a.key < b.key ? -1 : 1);
const sorted = (lines: readonly ReconLine[]) => [...lines].sort(byKeyAccount);

interface Row {
  readonly report: string;
  readonly revision?: number;
  readonly kind?: 'journal' | 'reversal';
  readonly state: PostingState;
  readonly unknown?: 0 | 1;
  readonly documentId?: string | null;
  readonly entity?: string;
  readonly postingDate: string;
  /** The report's approvedAt, as written (the posting keeps its instant). */
  readonly approvedAt: string;
  readonly amountMinor: number;
  readonly target?: string;
  readonly lines?: JournalEntry['lines'];
}

function keyOf(row: Row): string {
  return postingKey(row.report, row.revision ?? 1, row.target ?? SAMPLE_TARGET, row.kind ?? 'journal');
}

async function insertRows(db: Db, rows: readonly Row[], reports: Readonly<Record<string, { entity: string; latest: number }>>): Promise<void> {
  for (const [reportId, { entity, latest }] of Object.entries(reports)) {
    await db.insertInto('reports').values({ report_id: reportId, source: 'test', entity, latest_revision: latest, correlation_id: `c-${reportId}`, recalled_at: null, created_at: 0, updated_at: 0 }).execute();
  }
  for (const row of rows) {
    const sign = row.kind === 'reversal' ? -1 : 1;
    const journal: JournalEntry = {
      kind: row.kind ?? 'journal', reportId: row.report, revision: row.revision ?? 1, entity: row.entity ?? 'DE01', currency: 'EUR', postingDate: row.postingDate, memo: 'test', conversions: [],
      lines: row.lines ?? [
        { account: '6110', debitMinor: sign > 0 ? row.amountMinor : 0, creditMinor: sign > 0 ? 0 : row.amountMinor, memo: '' },
        { account: '2110', debitMinor: sign > 0 ? 0 : row.amountMinor, creditMinor: sign > 0 ? row.amountMinor : 0, memo: '' },
      ],
    };
    await db
      .insertInto('postings')
      .values({
        report_id: row.report, revision: row.revision ?? 1, target: row.target ?? SAMPLE_TARGET, kind: row.kind ?? 'journal', external_key: keyOf(row), state: row.state,
        journal: JSON.stringify(journal), erp_refs: '{}', correlation_id: `c-${row.report}`, attempts: 1, next_attempt_at: 0, lease_until: null, unknown_outcome: row.unknown ?? 0,
        document_id: row.documentId === undefined ? (row.state === 'posted' ? `D-${keyOf(row)}` : null) : row.documentId, reason_code: null, reason_detail: null,
        approved_at: Date.parse(row.approvedAt), created_at: 0, updated_at: 0, posted_at: null,
      })
      .execute();
  }
}

/** The lines of a row as the finsync side should give them. */
function expected(row: Row, status: ReconLine['status'], period = '2026-11'): ReconLine[] {
  const sign = row.kind === 'reversal' ? -1 : 1;
  const base = { key: keyOf(row), entity: row.entity ?? 'DE01', currency: 'EUR', period, status, document: '' };
  return [{ ...base, account: '2110', amountMinor: -sign * row.amountMinor }, { ...base, account: '6110', amountMinor: sign * row.amountMinor }];
}

const NOV = '2026-11-10T09:00:00Z';
const ROWS = {
  confirmed: { report: 'R01', state: 'posted', postingDate: '2026-11-10', approvedAt: NOV, amountMinor: 100 },
  postedNoDocument: { report: 'R02', state: 'posted', documentId: null, postingDate: '2026-11-10', approvedAt: NOV, amountMinor: 200 },
  inFlight: { report: 'R03', state: 'posting', postingDate: '2026-11-10', approvedAt: NOV, amountMinor: 300 },
  queuedUnknown: { report: 'R04', state: 'queued', unknown: 1, postingDate: '2026-11-10', approvedAt: NOV, amountMinor: 400 },
  queuedNeverSent: { report: 'R05', state: 'queued', postingDate: '2026-11-10', approvedAt: NOV, amountMinor: 500 },
  quarantinedUnknown: { report: 'R06', state: 'quarantined', unknown: 1, postingDate: '2026-11-10', approvedAt: NOV, amountMinor: 600 },
  quarantined: { report: 'R07', state: 'quarantined', postingDate: '2026-11-10', approvedAt: NOV, amountMinor: 700 },
  superseded: { report: 'R08', state: 'superseded', postingDate: '2026-11-10', approvedAt: NOV, amountMinor: 800 },
  // Reversed in December: the journal reads reversed in November, the reversal belongs to December.
  reversedLater: { report: 'R09', state: 'posted', postingDate: '2026-11-10', approvedAt: NOV, amountMinor: 900 },
  reversalLater: { report: 'R09', kind: 'reversal', state: 'posted', postingDate: '2026-12-02', approvedAt: '2026-12-02T08:00:00Z', amountMinor: 900 },
  reversedSame: { report: 'R10', state: 'posted', postingDate: '2026-11-10', approvedAt: NOV, amountMinor: 1000 },
  reversalSame: { report: 'R10', kind: 'reversal', state: 'posted', postingDate: '2026-11-20', approvedAt: '2026-11-20T08:00:00Z', amountMinor: 1000 },
  // A reversal still queued settles nothing: the journal stays confirmed.
  reversalPending: { report: 'R01', kind: 'reversal', state: 'queued', postingDate: '2026-11-21', approvedAt: '2026-11-21T08:00:00Z', amountMinor: 100 },
  neverPosted: { report: 'R11', state: 'superseded', postingDate: '2026-11-10', approvedAt: NOV, amountMinor: 1100 },
  reversalSkipped: { report: 'R11', kind: 'reversal', state: 'skipped', postingDate: '2026-11-12', approvedAt: '2026-11-12T08:00:00Z', amountMinor: 1100 },
  otherEntity: { report: 'R12', entity: 'US01', state: 'posted', postingDate: '2026-11-10', approvedAt: NOV, amountMinor: 1200 },
  // Approved at 23:30 UTC on 30 November, written in +01:00: booked on 1 December.
  nextPeriodByOffset: { report: 'R13', state: 'posted', postingDate: '2026-12-01', approvedAt: '2026-12-01T00:30:00+01:00', amountMinor: 1300 },
  // Approved at 04:30 UTC on 1 December, written in -05:00: booked on 30 November.
  thisPeriodByOffset: { report: 'R14', state: 'posted', postingDate: '2026-11-30', approvedAt: '2026-11-30T23:30:00-05:00', amountMinor: 1400 },
  // Revision 1 was DE01's; revision 2 moved the report to US01, and the reports row follows the latest revision.
  movedAway: { report: 'R15', state: 'posted', postingDate: '2026-11-10', approvedAt: NOV, amountMinor: 1500 },
  movedAwayReversal: { report: 'R15', kind: 'reversal', state: 'posted', postingDate: '2026-11-11', approvedAt: '2026-11-11T08:00:00Z', amountMinor: 1500 },
  movedTo: { report: 'R15', revision: 2, entity: 'US01', state: 'posted', postingDate: '2026-11-11', approvedAt: '2026-11-11T07:00:00Z', amountMinor: 1550 },
  otherTarget: { report: 'R16', target: 'xero', state: 'posted', postingDate: '2026-11-10', approvedAt: NOV, amountMinor: 1600 },
  lastMonth: { report: 'R17', state: 'posted', postingDate: '2026-10-31', approvedAt: '2026-10-31T12:00:00Z', amountMinor: 1700 },
} satisfies Record<string, Row>;

const REPORTS = Object.fromEntries(
  Object.values(ROWS as Record<string, Row>).map((row) => [row.report, { entity: row.report === 'R15' ? 'US01' : (row.entity ?? 'DE01'), latest: row.report === 'R15' ? 2 : 1 }]),
);

for (const store of await storeKinds()) {
  describe(`finsync lines from the postings table on ${store.kind}`, { skip: store.skip }, () => {
    let storage: TestStorage;
    let opened: Store;
    before(async () => {
      storage = createTestStorage(store.kind);
      opened = await storage.open();
      await migrate(opened);
      await insertRows(opened.db, Object.values(ROWS), REPORTS);
    });
    after(async () => {
      await opened?.close();
      await storage?.cleanup();
    });

    test('every state counts as the table in finsync-lines.ts says, in id ranges of two postings', async () => {
      const { lines, batches } = await readAll(finsyncLines(opened.db, { entity: 'DE01', period: '2026-11', target: SAMPLE_TARGET, pageRows: 2 }));
      const want = [
        ...expected(ROWS.confirmed, 'confirmed'),
        ...expected(ROWS.postedNoDocument, 'posted'),
        ...expected(ROWS.inFlight, 'posted'),
        ...expected(ROWS.queuedUnknown, 'posted'),
        ...expected(ROWS.reversedLater, 'reversed'),
        ...expected(ROWS.reversedSame, 'reversed'),
        ...expected(ROWS.reversalSame, 'confirmed'),
        ...expected(ROWS.thisPeriodByOffset, 'confirmed'),
        ...expected(ROWS.movedAway, 'reversed'),
        ...expected(ROWS.movedAwayReversal, 'confirmed'),
      ];
      assert.deepEqual(sorted(lines), sorted(want));
      assert.ok(batches >= 5, `read in pages (${batches} batches)`);
    });

    test('another period, another entity, every target', async () => {
      const december = await readAll(finsyncLines(opened.db, { entity: 'DE01', period: '2026-12' }));
      assert.deepEqual(sorted(december.lines), sorted([...expected(ROWS.reversalLater, 'confirmed', '2026-12'), ...expected(ROWS.nextPeriodByOffset, 'confirmed', '2026-12')]));
      const us = await readAll(finsyncLines(opened.db, { entity: 'US01', period: '2026-11' }));
      assert.deepEqual(sorted(us.lines), sorted([...expected(ROWS.otherEntity, 'confirmed'), ...expected(ROWS.movedTo, 'confirmed')]));
      const everyTarget = await readAll(finsyncLines(opened.db, { entity: 'DE01', period: '2026-11' }));
      assert.deepEqual(sorted(everyTarget.lines.filter((l) => l.key === keyOf(ROWS.otherTarget))), expected(ROWS.otherTarget, 'confirmed'));
      const none = await readAll(finsyncLines(opened.db, { entity: 'DE01', period: '2027-01' }));
      assert.deepEqual(none, { lines: [], batches: 0 });
    });

    test('a journal line that is not in integers stops the read, naming the posting', async () => {
      const bad: Row = { report: 'R99', state: 'posted', postingDate: '2026-09-10', approvedAt: '2026-09-10T08:00:00Z', amountMinor: 0, lines: [{ account: '6110', debitMinor: 1.5, creditMinor: 0, memo: '' }] };
      await insertRows(opened.db, [bad], { R99: { entity: 'DE01', latest: 1 } });
      await assert.rejects(readAll(finsyncLines(opened.db, { entity: 'DE01', period: '2026-09' })), (error: unknown) => {
        assert.ok(error instanceof ReconciliationInputError);
        assert.equal(error.column, 'amount_minor');
        assert.match(error.detail, new RegExp(`\\(${keyOf(bad)}\\), journal line 0: debitMinor 1.5`));
        return true;
      });
      assert.throws(() => finsyncLines(opened.db, { entity: 'DE01', period: '2026-13' }), /Assertion failed/);
    });
  });
}

/** The connector, except that one external key's post commits in the ERP and then looks lost: the posting waits, unconfirmed. */
function losingAnswersFor(key: string) {
  const lost: ConnectorError = { kind: 'transient', vendorCode: 'TIMEOUT', message: 'NetSuite did not answer in time' };
  return (connector: TargetConnector): TargetConnector => ({
    ...connector,
    async post(request) {
      if (request.externalKey !== key) return connector.post(request);
      await connector.post(request);
      return { status: 'unknown', error: lost };
    },
    async lookup(externalKey) {
      return externalKey === key ? { status: 'failed', error: lost } : connector.lookup(externalKey);
    },
  });
}

const accountCodes = (entity: string) => new Map(SAMPLE_COMPANY.glAccounts.filter((a) => a.entity === entity).map((a) => [a.erpId, a.number]));

for (const store of await storeKinds()) {
  describe(`finsync lines after a run through the hub on ${store.kind}`, { skip: store.skip }, () => {
    // Seed 43: six valid reports, five outside JP01 (whose policy flags a recall rather than reversing it).
    const reports = generateReports({ count: 6, seed: 43, invalidShare: 0 }).filter((r) => r.entity !== 'JP01');
    const [recalled, unconfirmed] = reports;
    const stuckKey = postingKey(unconfirmed.reportId, 1, SAMPLE_TARGET);
    let h: Harness;
    before(async () => {
      h = await startHarness(store.kind, { wrapConnector: losingAnswersFor(stuckKey), config: { inProcessAttempts: 0, retryDelayMs: 600_000, retryDelayMsMax: 600_000 } });
    });
    after(async () => h?.close());

    test('posted, reversed and unconfirmed postings give exactly their lines, and one break against NetSuite', async () => {
      assert.ok(reports.length >= 3, 'the seed gives enough reports outside JP01');
      assert.equal((await h.send(reports.map((r) => toCloudEvent(r, { type: 'approved' })))).status, 202);
      const postings = () => h.hub.store.db.selectFrom('postings').selectAll().orderBy('id').execute();
      await h.waitUntil('every journal is posted, one waiting after an unknown outcome', async () => {
        const rows = await postings();
        return rows.length === reports.length && rows.every((p) => (p.external_key === stuckKey ? p.state === 'queued' && p.unknown_outcome === 1 : p.state === 'posted'));
      });
      assert.equal((await h.send(toRecallEvent(recalled.reportId, 1, 'recalled by the employee'))).status, 202);
      await h.waitUntil('the recall is reversed', async () => (await reportState(h, recalled.reportId)) === 'recalled' && (await postings()).some((p) => p.kind === 'reversal' && p.state === 'posted'));

      const rows = await postings();
      const recalledKey = postingKey(recalled.reportId, 1, SAMPLE_TARGET);
      const statusOf = (key: string) => (key === stuckKey ? 'posted' : key === recalledKey ? 'reversed' : 'confirmed');
      const scopes = [...new Set(rows.map((p) => JSON.stringify([(JSON.parse(p.journal) as JournalEntry).entity, (JSON.parse(p.journal) as JournalEntry).postingDate.slice(0, 7)])))].map((s) => JSON.parse(s) as [string, string]);
      const read: ReconLine[] = [];
      for (const [entity, period] of scopes) read.push(...(await readAll(finsyncLines(h.hub.store.db, { entity, period, target: SAMPLE_TARGET }))).lines);
      const want = rows.flatMap((p) => {
        const journal = JSON.parse(p.journal) as JournalEntry;
        return journal.lines.map((l) => ({ key: p.external_key, entity: journal.entity, currency: journal.currency, period: journal.postingDate.slice(0, 7), account: l.account, amountMinor: l.debitMinor - l.creditMinor, status: statusOf(p.external_key), document: '' }));
      });
      assert.equal(rows.filter((p) => p.kind === 'reversal').length, 1);
      assert.deepEqual(sorted(read), sorted(want as ReconLine[]));

      // Against what NetSuite holds: the unconfirmed posting is there (its post committed), so it is the one break.
      const breaks: Break[] = [];
      for (const [entity, period] of scopes) {
        const subsidiaryId = SAMPLE_COMPANY.entities.find((e) => e.code === entity)!.erpSubsidiaryId;
        const codes = accountCodes(entity);
        const erp = netsuiteJournalLines({ baseUrl: h.simulator.url, token: h.hub.sync.netsuite!.token!, requestTimeoutMs: 5_000 }, { subsidiaryId, entity, period, accountCodeOf: (id) => codes.get(id) });
        await reconcile({ platform: linesSource('platform', 'platform', []), finsync: finsyncLines(h.hub.store.db, { entity, period, target: SAMPLE_TARGET }), erp }, { partitions: 2, onBreak: (b) => breaks.push(b) });
      }
      assert.deepEqual(breaks.map((b) => `${b.key} ${b.class} ${b.finsync?.status}`), [`${stuckKey} status_mismatch posted`]);
    });
  });
}
