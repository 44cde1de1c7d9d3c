// Proves the file ERP's documented layout holds: any set of balanced journals written as a batch file and read back gives the same lines, counts and control totals in minor units (fast-check); the recorded fixtures (a valid batch, an acknowledgement, rejections, a GL export) read as documented and a batch file writes back byte for byte; every malformed file is refused naming its line and column, and no text makes the reader throw anything else; each rejection reason maps to the right error kind, naming the account or cost center, with unknown codes kept raw as UNCLASSIFIED; and a bad export line stops the read-back naming file, line and column.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import type { PostingRequest } from '../../src/connectors/contract.ts';
import { classifyRejection, REASON_CODES } from '../../src/connectors/file-erp/errors.ts';
import { readAckFile, readExportFile, readRejFile } from '../../src/connectors/file-erp/layout-answers.ts';
import { checkControls, LayoutError, parseFileName, readBatchFile, writeBatchFile, type BatchFileRead } from '../../src/connectors/file-erp/layout.ts';
import { batchIdOf, buildBatchFile, fieldText, groupIdOf, TEXT_CHARS_MAX, toInterfaceLines } from '../../src/connectors/file-erp/mapping.ts';
import { exportLines } from '../../src/connectors/file-erp/readback.ts';
import { RETRYABLE_KINDS } from '../../src/connectors/contract.ts';
import { allocate } from '../../src/domain/money.ts';
import type { JournalEntry } from '../../src/domain/journal.ts';
import { ReconciliationInputError } from '../../src/reconciliation/line-file.ts';

const FIXTURES = fileURLToPath(new URL('../../src/connectors/file-erp/fixtures/', import.meta.url));
const fixture = (name: string) => readFileSync(`${FIXTURES}${name}`, 'utf8');
const TEXTS = { category: 'Expense Report', source: 'finsync', createdBy: 'FINSYNC' };
const K1 = 'fs_354989d735cfe189fc71ad43_r1';
const K2 = 'fs_048e90040faf6a303145a1af_r1';
const K3 = 'fs_ede1f13bce36cf2ae8bef83c_r1';

function layoutError(run: () => unknown): LayoutError {
  try {
    run();
  } catch (error) {
    if (error instanceof LayoutError) return error;
    throw error;
  }
  return assert.fail('expected a LayoutError');
}

/** A set of balanced journals in a mix of currencies (0, 2 and 3 decimals), with texts of any characters. */
const journalsArb = fc.uniqueArray(
  fc.record({
    reportId: fc.stringMatching(/^R-[0-9]{1,6}$/),
    currency: fc.constantFrom('EUR', 'JPY', 'KWD', 'USD'),
    debits: fc.array(fc.record({ amountMinor: fc.integer({ min: 1, max: 99_999_999_999 }), costCenter: fc.option(fc.constantFrom('CC1', 'CC2'), { nil: undefined }), memo: fc.string({ unit: 'binary', maxLength: 300 }) }), { minLength: 1, maxLength: 4 }),
    creditParts: fc.integer({ min: 1, max: 3 }),
    memo: fc.string({ maxLength: 60 }),
    day: fc.integer({ min: 1, max: 28 }),
  }),
  { minLength: 1, maxLength: 12, selector: (journal) => journal.reportId },
);

type GeneratedJournal = typeof journalsArb extends fc.Arbitrary<(infer T)[]> ? T : never;

function toRequests(journals: readonly GeneratedJournal[]): PostingRequest[] {
  return journals.map((j) => {
    const total = j.debits.reduce((sum, line) => sum + line.amountMinor, 0);
    const credits = allocate(total, Array.from({ length: j.creditParts }, () => 1)).filter((part) => part > 0);
    const journal: JournalEntry = {
      kind: 'journal', reportId: j.reportId, revision: 1, entity: 'DE01', currency: j.currency, postingDate: `2026-04-${String(j.day).padStart(2, '0')}`, memo: j.memo, conversions: [],
      lines: [
        ...j.debits.map((line) => ({ account: '6100', debitMinor: line.amountMinor, creditMinor: 0, memo: line.memo, ...(line.costCenter && { costCenter: line.costCenter }) })),
        ...credits.map((part) => ({ account: '2100', debitMinor: 0, creditMinor: part, memo: 'Owed' })),
      ],
    };
    return {
      externalKey: `fs_${j.reportId.replace('-', '')}_r1`, correlationId: 'c', journal,
      references: { subsidiaryId: 'L1', accounts: { '6100': 'A6100', '2100': 'A2100' }, costCenters: { CC1: '4100', CC2: '4200' }, employees: {}, taxCodes: {} },
    };
  });
}

describe('file ERP layout: batch files', () => {
  test('any set of balanced journals written and read back gives the same lines, counts and control totals in minor units', () => {
    fc.assert(
      fc.property(journalsArb, (journals) => {
        const requests = toRequests(journals);
        const file = buildBatchFile(requests, { fileId: '20260430101500000-abcd1234', dateCreated: '2026-04-30' }, TEXTS);
        const read = readBatchFile(writeBatchFile(file));
        assert.deepEqual(read.header, file.header);
        assert.deepEqual(read.lines, file.lines);
        const allLines = requests.flatMap((r) => r.journal.lines.map((line) => ({ currency: r.journal.currency, ...line })));
        assert.deepEqual(read.lines.map((l) => [l.journalName, l.debitMinor, l.creditMinor]), requests.flatMap((r) => r.journal.lines.map((l) => [r.externalKey, l.debitMinor, l.creditMinor])));
        // Control totals, counted independently: BigInt sums per currency.
        const currencies = [...new Set(allLines.map((l) => l.currency))].sort();
        assert.deepEqual(
          read.controls.map((c) => [c.currency, c.lineCount, BigInt(c.debitMinor), BigInt(c.creditMinor)]),
          currencies.map((currency) => {
            const mine = allLines.filter((l) => l.currency === currency);
            return [currency, mine.length, mine.reduce((s, l) => s + BigInt(l.debitMinor), 0n), mine.reduce((s, l) => s + BigInt(l.creditMinor), 0n)];
          }),
        );
        for (const c of read.controls) assert.equal(c.debitMinor, c.creditMinor, 'balanced journals give equal control totals');
        assert.deepEqual(read.trailer, { lineCount: allLines.length, journalCount: requests.length, controlCount: currencies.length });
        assert.equal(checkControls(read.lines.map((l) => ({ ...l, journal: l.journalName })), read), undefined);
        for (const line of read.lines) assert.ok(Array.from(line.lineDescription).length <= TEXT_CHARS_MAX && !/[\x00-\x1f\x7f]/.test(line.lineDescription));
      }),
      { numRuns: 150 },
    );
  });

  test('the fixture batch reads as documented and writes back byte for byte', () => {
    const text = fixture('batch-valid.csv');
    const read = readBatchFile(text);
    assert.equal(read.header.batchId, '5d30500cc042f79e988d');
    assert.deepEqual(read.trailer, { lineCount: 7, journalCount: 3, controlCount: 2 });
    assert.deepEqual(read.controls, [{ currency: 'EUR', lineCount: 5, debitMinor: 12_180, creditMinor: 12_180 }, { currency: 'JPY', lineCount: 2, debitMinor: 15_000, creditMinor: 15_000 }]);
    assert.deepEqual(read.lines[3], {
      status: 'NEW', ledgerId: '1001', accountingDate: '2026-04-28', currency: 'EUR', actualFlag: 'A', category: 'Expense Report', source: 'finsync', company: 'DE01', account: '6130', costCenter: '4200',
      debitMinor: 2500, creditMinor: 0, batchName: '5d30500cc042f79e988d', journalName: K2, journalDescription: 'Expense report R-1002', lineDescription: 'Client dinner "Q2"', groupId: '102462082826306',
    });
    assert.deepEqual(read.lineNumbers, { lines: [2, 3, 4, 5, 6, 7, 8], controls: [9, 10], trailer: 11 });
    assert.equal(writeBatchFile(read), text);
    assert.equal(checkControls(read.lines.map((l) => ({ ...l, journal: l.journalName })), read), undefined);
  });

  test('counts and control totals that disagree with the lines are found, naming the record and column', () => {
    const check = (text: string) => {
      const read: BatchFileRead = readBatchFile(text);
      return checkControls(read.lines.map((l) => ({ ...l, journal: l.journalName })), read);
    };
    const text = fixture('batch-valid.csv');
    assert.deepEqual(check(text.replace('C,EUR,5,121.80,121.80', 'C,EUR,5,121.81,121.80')), { code: 'CONTROL_TOTAL_MISMATCH', line: 9, column: 'TOTAL_DR', value: '121.81', detail: 'the EUR debits add up to 121.80' });
    assert.equal(check(text.replace('C,EUR,5,121.80,121.80', 'C,EUR,5,121.80,121.79'))?.column, 'TOTAL_CR');
    assert.equal(check(text.replace('C,EUR,5,', 'C,EUR,4,'))?.column, 'LINE_COUNT');
    assert.equal(check(text.replace('T,7,3,2', 'T,8,3,2'))?.code, 'LINE_COUNT_MISMATCH');
    assert.equal(check(text.replace('T,7,3,2', 'T,7,2,2'))?.code, 'JOURNAL_COUNT_MISMATCH');
    assert.equal(check(text.replace('C,JPY,2,15000,15000\n', '').replace('T,7,3,2', 'T,7,3,1'))?.detail, 'no control record for the JPY lines');
    assert.equal(check(text.replace('C,JPY,2,15000,15000\n', 'C,USD,2,150.00,150.00\n'))?.column, 'CURRENCY_CODE');
  });

  test('a malformed batch file is refused, naming line and column', () => {
    const text = fixture('batch-valid.csv');
    const cases: [string, string, number, string, RegExp][] = [
      ['too many decimals', text.replace(',12.30,,', ',12.305,,'), 3, 'ENTERED_DR', /more decimals than EUR/],
      ['debit and credit', text.replace(',12.30,,', ',12.30,1.00,'), 3, 'ENTERED_CR', /exactly one/],
      ['neither side', text.replace(',12.30,,', ',,,'), 3, 'ENTERED_DR', /exactly one/],
      ['negative', text.replace(',12.30,,', ',-12.30,,'), 3, 'ENTERED_DR', /negative/],
      ['ISO date', text.replace('2026/04/28,EUR,A,Expense Report,finsync,DE01,6120', '2026-04-28,EUR,A,Expense Report,finsync,DE01,6120'), 3, 'ACCOUNTING_DATE', /YYYY\/MM\/DD/],
      ['no such day', text.replace('2026/04/28,EUR,A,Expense Report,finsync,DE01,6120', '2026/02/30,EUR,A,Expense Report,finsync,DE01,6120'), 3, 'ACCOUNTING_DATE', /YYYY\/MM\/DD/],
      ['unknown currency', text.replace('2026/04/28,EUR,A,Expense Report,finsync,DE01,6120', '2026/04/28,EUX,A,Expense Report,finsync,DE01,6120'), 3, 'CURRENCY_CODE', /ISO 4217/],
      ['a field missing', text.replace(',Taxi,102462082826306', ',Taxi'), 3, 'GROUP_ID', /18 fields/],
      ['no account', text.replace('DE01,6120,', 'DE01,,'), 3, 'SEGMENT2', /empty/],
      ['unknown record type', text.replace('C,JPY', 'X,JPY'), 10, 'RECORD_TYPE', /unknown record type/],
      ['a record type named like a prototype key', text.replace('C,JPY', 'constructor,JPY'), 10, 'RECORD_TYPE', /unknown record type/],
      ['detail after control', text.replace('C,EUR,5,121.80,121.80\n', '').replace('T,7,3,2', 'C,EUR,5,121.80,121.80\nT,7,3,2').replace(/^(C,JPY.*\n)/m, '$1D' + text.split('\n')[1].slice(1) + '\n'), 10, 'RECORD_TYPE', /after the control records/],
      ['no trailer', text.replace('T,7,3,2\n', ''), 10, 'RECORD_TYPE', /incomplete/],
      ['no header', text.slice(text.indexOf('\n') + 1), 1, 'RECORD_TYPE', /first record must be the header/],
      ['another format', text.replace('H,FSGL1,', 'H,FSGL2,'), 1, 'FORMAT', /FSGL1/],
      ['an open quote', text.replace('"Hotel, Berlin"', '"Hotel, Berlin'), 2, '-', /not well-formed CSV/],
      ['empty', '', 1, 'RECORD_TYPE', /empty/],
    ];
    for (const [what, bad, line, column, message] of cases) {
      const error = layoutError(() => readBatchFile(bad));
      assert.deepEqual([error.line, error.column], [line, column], what);
      assert.match(error.detail, message, what);
    }
    assert.equal(layoutError(() => readBatchFile(text.replace('H,FSGL1,', 'H,FSGL2,'))).code, 'BAD_HEADER');
  });

  test('no text makes the batch reader throw anything but a LayoutError', () => {
    const text = fixture('batch-valid.csv');
    const edits = fc.array(fc.tuple(fc.nat({ max: text.length }), fc.nat({ max: 3 }), fc.string({ unit: fc.constantFrom(',', '"', '\n', '\r', 'T', 'D', 'C', 'H', '9', '.', '-', '/', '\ufeff', 'x'), maxLength: 3 })), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), edits.map((list) => list.reduce((t, [at, cut, insert]) => t.slice(0, at) + insert + t.slice(at + cut), text))), (input) => {
        try {
          readBatchFile(input);
        } catch (error) {
          assert.ok(error instanceof LayoutError, String(error));
          assert.ok(error.line >= 1);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('file ERP layout: answers and classification', () => {
  test('the acknowledgement fixture names each journal with its ERP journal id', () => {
    const ack = readAckFile(fixture('batch-valid.ack'));
    assert.deepEqual(ack.header, { batchId: '5d30500cc042f79e988d', fileId: '20260430101459123-5e1c8a7d', runId: 'R000001', processedAt: '2026-04-30T10:15:00Z', journalCount: 3, acceptedCount: 3, rejectedCount: 0 });
    assert.deepEqual(ack.accepted.map((a) => [a.journalName, a.journalId, a.lineCount]), [[K1, '100001', 3], [K2, '100002', 2], [K3, '100003', 2]]);
    assert.equal(layoutError(() => readAckFile(fixture('batch-valid.ack').replace('T,3', 'T,2'))).column, 'RECORD_COUNT');
  });

  test('a rejected line is invalid and names the account or cost center; a whole-file rejection is transient', () => {
    const partly = readRejFile(fixture('batch-partly-rejected.rej'));
    const context = { batchId: partly.header.batchId, answerName: 'FSGL_5d30500cc042f79e988d.rej' };
    const account = classifyRejection(partly.rejected[0], partly.raw.rejected[0], context);
    assert.deepEqual([account.kind, account.vendorCode, account.field, account.value], ['invalid', 'ACCOUNT_CLOSED', 'account', '6999']);
    assert.equal(account.raw, `R,5,${K2},SEGMENT2,6999,ACCOUNT_CLOSED,Account 6999 is closed for posting,`);
    assert.match(account.message, new RegExp(`journal ${K2} of batch 5d30500cc042f79e988d \\(FSGL_5d30500cc042f79e988d\\.rej, line 5, SEGMENT2 "6999"\\)`));
    const costCenter = classifyRejection(partly.rejected[1], partly.raw.rejected[1], context);
    assert.deepEqual([costCenter.field, costCenter.value], ['department', '4300']);
    const whole = readRejFile(fixture('batch-control-total.rej'));
    assert.deepEqual(whole.rejected, []);
    const file = classifyRejection(whole.fileRejections[0], whole.raw.fileRejections[0], context);
    assert.deepEqual([file.kind, file.vendorCode, file.field], ['transient', 'CONTROL_TOTAL_MISMATCH', undefined]);
    assert.ok(RETRYABLE_KINDS.has(file.kind));
  });

  test('Oracle Journal Import codes are understood, and an unknown code is invalid UNCLASSIFIED with the raw line kept', () => {
    const rej = readRejFile(fixture('rejection-oracle-codes.rej'));
    const [ef04, ep01, unknown] = rej.rejected.map((line, i) => classifyRejection(line, rej.raw.rejected[i], { batchId: rej.header.batchId, answerName: 'x.rej' }));
    assert.deepEqual([ef04.kind, ef04.vendorCode, ef04.field, ef04.value], ['invalid', 'EF04', 'department', '4100']);
    assert.deepEqual([ep01.field, ep01.value], ['period', '2026/04/28']);
    assert.deepEqual([unknown.kind, unknown.vendorCode, unknown.field], ['invalid', 'UNCLASSIFIED', undefined]);
    assert.equal(unknown.raw, `R,7,${K3},ENTERED_DR,15000,ZZ99,Journal held by the local approval workflow,`);
    assert.match(unknown.message, /ZZ99: Journal held by the local approval workflow/);
  });

  test('the reason table lists each code once; damage to a file retries, duplicates are conflicts', () => {
    assert.equal(new Set(REASON_CODES.map((r) => r.code)).size, REASON_CODES.length);
    const kindOf = (code: string) => REASON_CODES.find((r) => r.code === code)?.kind;
    for (const code of ['FILE_UNREADABLE', 'LINE_COUNT_MISMATCH', 'JOURNAL_COUNT_MISMATCH', 'CONTROL_TOTAL_MISMATCH']) assert.equal(kindOf(code), 'transient', code);
    for (const code of ['DUPLICATE_BATCH', 'DUPLICATE_JOURNAL']) assert.equal(kindOf(code), 'conflict', code);
  });
});

describe('file ERP layout: GL export', () => {
  const scope = { entity: 'DE01', subsidiaryId: '1001', period: '2026-04', accountCodeOf: (id: string) => (id === '2110' ? undefined : `GL${id}`) };

  test('the export fixture gives our journals\' lines in minor units; journals that are not ours are left out', () => {
    const lines = exportLines(fixture('gl-export.csv'), 'gl-export.csv', scope, 'ledger-file');
    const line = (key: string, document: string, currency: string, account: string, amountMinor: number) => ({ key, entity: 'DE01', currency, period: '2026-04', account, amountMinor, status: '', document });
    assert.deepEqual(lines, [
      line(K1, '100001', 'EUR', 'GL6110', 8450), line(K1, '100001', 'EUR', 'GL6120', 1230), line(K1, '100001', 'EUR', 'ledger-file:2110', -9680),
      line(K3, '100002', 'JPY', 'GL6110', 15_000), line(K3, '100002', 'JPY', 'ledger-file:2110', -15_000),
    ]);
    assert.equal(readExportFile(fixture('gl-export.csv')).lines.length, 7);
  });

  test('a bad export line stops the read-back naming file, line and column', () => {
    const refused = (text: string, source = 'inbox/FSGL_EXPORT_x.csv'): ReconciliationInputError => {
      try {
        exportLines(text, source, scope, 'ledger-file');
      } catch (error) {
        if (error instanceof ReconciliationInputError) return error;
        throw error;
      }
      return assert.fail('expected a ReconciliationInputError');
    };
    const bad = refused(fixture('gl-export-bad.csv'));
    assert.deepEqual([bad.source, bad.line, bad.column], ['inbox/FSGL_EXPORT_x.csv', 3, 'ENTERED_DR']);
    assert.match(bad.message, /inbox\/FSGL_EXPORT_x\.csv, line 3, column ENTERED_DR: "12\.305" has more decimals than EUR allows/);
    const text = fixture('gl-export.csv');
    assert.deepEqual([refused(text.replace('C,EUR,5,106.80,106.80', 'C,EUR,5,106.80,106.70')).column, refused(text.replace('C,EUR,5,106.80,106.80', 'C,EUR,5,106.80,106.70')).line], ['TOTAL_CR', 9]);
    assert.equal(refused(text.replace('T,7,3,2', 'T,6,3,2')).column, 'LINE_COUNT', 'a cut-off export');
    assert.deepEqual([refused(text.replace('H,FSGLEXP1,20260430103000000-e5bb572b,1001,', 'H,FSGLEXP1,20260430103000000-e5bb572b,1002,')).column], ['LEDGER_ID']);
    const outside = refused(text.replace('E,100001,3,1001,2026/04/28', 'E,100001,3,1001,2026/05/01'));
    assert.deepEqual([outside.line, outside.column], [4, 'ACCOUNTING_DATE']);
  });
});

describe('file ERP mapping and names', () => {
  test('the batch id depends on the set of keys only; GROUP_ID is its number', () => {
    assert.equal(batchIdOf(['fs_b_r1', 'fs_a_r1']), batchIdOf(['fs_a_r1', 'fs_b_r1']));
    assert.notEqual(batchIdOf(['fs_a_r1']), batchIdOf(['fs_a_r1', 'fs_b_r1']));
    assert.match(batchIdOf(['fs_a_r1']), /^[0-9a-f]{20}$/);
    assert.equal(groupIdOf('5d30500cc042f79e988d'), String(0x5d30500cc042));
  });

  test('texts become one field: no line breaks or control characters, at most 240 characters', () => {
    assert.equal(fieldText('Hotel,\r\nBerlin\t"Q2"'), 'Hotel,  Berlin "Q2"');
    assert.equal(fieldText('€'.repeat(300)), '€'.repeat(240));
    assert.equal(Array.from(fieldText('😀'.repeat(241))).length, 240);
  });

  test('a reference the pipeline did not resolve is a programmer error', () => {
    const request = toRequests([{ reportId: 'R-1', currency: 'EUR', debits: [{ amountMinor: 100, costCenter: undefined, memo: '' }], creditParts: 1, memo: '', day: 1 }])[0];
    const unresolved = { ...request, journal: { ...request.journal, lines: [{ ...request.journal.lines[0], account: '9999' }, request.journal.lines[1]] } };
    assert.throws(() => toInterfaceLines(unresolved, batchIdOf([request.externalKey]), TEXTS), /Assertion failed: no ERP segment value for account 9999/);
  });

  test('file names: batches, answers (numbered when a name was taken), export requests and exports; temp names never match', () => {
    assert.deepEqual(parseFileName('FSGL', 'FSGL_5d30500cc042f79e988d.csv'), { kind: 'batch', id: '5d30500cc042f79e988d' });
    assert.deepEqual(parseFileName('FSGL', 'FSGL_5d30500cc042f79e988d.2.rej'), { kind: 'rej', id: '5d30500cc042f79e988d' });
    assert.deepEqual(parseFileName('FSGL', 'FSGL_EXPORT_2026-ab.req'), { kind: 'export-request', id: '2026-ab' });
    assert.deepEqual(parseFileName('FSGL', 'FSGL_EXPORT_2026-ab.csv'), { kind: 'export', id: '2026-ab' });
    for (const name of ['.FSGL_5d30500cc042f79e988d.csv.20260430-1.tmp', 'FSGL_5d30500cc042f79e988d.csv.tmp', 'OTHER_5d30500cc042f79e988d.csv', 'FSGL_a_b.csv', 'FSGL_x.txt']) {
      assert.equal(parseFileName('FSGL', name), undefined, name);
    }
  });
});
