// Proves the S/4HANA connector reads answers in S/4HANA's shapes (fixtures/ holds our own renderings: a success confirmation, a severity-3 confirmation with log items, SOAP faults, an OData page and error, a logon page) into the right outcomes and error kinds, that the request it builds is the documented one, that our keys survive the split into the reference fields, and that any balanced journal round-trips through the request XML and the simulator's parser to the same minor units.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import type { PostingRequest } from '../../src/connectors/contract.ts';
import { createS4HanaConnector, outcomeOf } from '../../src/connectors/s4hana/client.ts';
import { readBulkConfirmation } from '../../src/connectors/s4hana/confirmation.ts';
import { classifyLogItems, classifyODataError, classifyPostAnswer, readSoapFault } from '../../src/connectors/s4hana/errors.ts';
import { buildBulkRequestContent, keyOfReference, keyProblem, parseBulkRequestContent, referenceOfKey, xmlText } from '../../src/connectors/s4hana/mapping.ts';
import { createODataReader } from '../../src/connectors/s4hana/odata.ts';
import { s4hanaJournalLines } from '../../src/connectors/s4hana/readback.ts';
import { readSoapBody, soapEnvelope } from '../../src/connectors/s4hana/xml.ts';
import type { JournalLine } from '../../src/domain/journal.ts';
import { postingKey } from '../../src/domain/keys.ts';
import { ReconciliationInputError } from '../../src/reconciliation/line-file.ts';
import type { ReconLine } from '../../src/reconciliation/types.ts';

const fixture = (name: string) => readFileSync(new URL(`../../src/connectors/s4hana/fixtures/${name}`, import.meta.url), 'utf8');

const EXAMPLE: PostingRequest = {
  externalKey: 'fs_3c46a60978f9185b49872df5_r1',
  correlationId: 'corr-R-1001',
  references: { subsidiaryId: '1010', accounts: { '6100': '61000000', '2100': '21000000' }, costCenters: { CC1: '4100' }, employees: {}, taxCodes: { VAT19: 'V1' } },
  journal: {
    kind: 'journal',
    reportId: 'R-1001',
    revision: 1,
    entity: 'DE01',
    currency: 'EUR',
    postingDate: '2026-04-30',
    memo: 'Expense report R-1001',
    conversions: [],
    lines: [
      { account: '6100', debitMinor: 8450, creditMinor: 0, costCenter: 'CC1', taxCode: 'VAT19', memo: 'Hotel Berlin' },
      { account: '2100', debitMinor: 0, creditMinor: 8450, memo: 'Owed to employee E1' },
    ],
  },
};

function confirmationOf(name: string) {
  const body = readSoapBody(fixture(name));
  assert.ok(typeof body !== 'string', String(body));
  const confirmation = readBulkConfirmation(body);
  assert.ok(typeof confirmation !== 'string', String(confirmation));
  return confirmation;
}

describe('the request S/4HANA receives', () => {
  test('the built request is the documented one (fixtures/request-journal.xml, shown in the README)', () => {
    const xml = soapEnvelope('JournalEntryBulkCreateRequest', buildBulkRequestContent([{ request: EXAMPLE, companyCode: '1010' }], { createdByUser: 'CC_FINSYNC', creationDateTime: '2026-04-30T10:15:00Z' }));
    assert.equal(xml, fixture('request-journal.xml'));
  });

  test('the request fixture reads back into exact minor units and our key', () => {
    const body = readSoapBody(fixture('request-journal.xml'));
    assert.ok(typeof body !== 'string');
    assert.deepEqual([body.name, body.namespace], ['JournalEntryBulkCreateRequest', 'http://sap.com/xi/SAPSCORE/SFIN']);
    const request = parseBulkRequestContent(body.element);
    assert.ok(typeof request !== 'string');
    const [entry] = request.entries;
    assert.ok(!('problem' in entry.journal));
    assert.deepEqual(entry.journal.items.map((item) => [item.glAccount, item.amountMinor, item.debitCreditCode, item.costCenter, item.taxCode]), [['61000000', 8450, 'S', '4100', 'V1'], ['21000000', -8450, 'H', undefined, undefined]]);
    assert.equal(keyOfReference(entry.journal.documentReferenceId, entry.journal.items[0].assignmentReference), EXAMPLE.externalKey);
    assert.equal(entry.messageId, 'FS3C46A60978F9185B49872DF5R1');
  });

  test('a document that cannot be read carries its problem; the others still parse', () => {
    const xml = fixture('request-journal.xml').replace('>84.50<', '>84.505<');
    const body = readSoapBody(xml);
    assert.ok(typeof body !== 'string');
    const request = parseBulkRequestContent(body.element);
    assert.ok(typeof request !== 'string');
    assert.deepEqual(request.entries[0].journal, { problem: '"84.505" is not an amount in EUR (at most its minor-unit decimals)', path: 'JournalEntryCreateRequest[0].JournalEntry.Item[0].AmountInTransactionCurrency' });
    assert.equal(readSoapBody('<a><b></a>').toString().startsWith('the body is not well-formed XML'), true);
    assert.equal(readSoapBody('<Envelope><Body/></Envelope>'), 'the body is not a SOAP 1.1 envelope');
  });

  test('every key finsync makes for S/4HANA survives the split into DocumentReferenceID and AssignmentReference', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 9999 }), fc.boolean(), (reportId, revision, reversal) => {
        const key = postingKey(reportId, revision, 's4hana', reversal ? 'reversal' : 'journal');
        assert.equal(keyProblem(key), undefined);
        const reference = referenceOfKey(key);
        assert.equal(reference.documentReferenceId.length, 16);
        assert.ok(`${reference.documentReferenceId}${reference.assignmentReference}`.length <= 35);
        assert.ok(reference.assignmentReference.length <= 18);
        assert.equal(keyOfReference(reference.documentReferenceId, reference.assignmentReference), key);
        assert.equal(keyOfReference(reference.documentReferenceId.toLowerCase(), reference.assignmentReference.toLowerCase()), key);
      }),
      { seed: 20260430, numRuns: 300 },
    );
    assert.match(keyProblem(postingKey('R-1', 10_000, 's4hana', 'reversal')) ?? '', /revision up to 9999/);
    assert.match(keyProblem('fs_key_r1') ?? '', /not a finsync posting key/);
    assert.equal(keyOfReference('FS3C46A60978F918', '5B49872DF5R12REV'), 'fs_3c46a60978f9185b49872df5_r12_rev');
    assert.equal(keyOfReference('FS_HANDMADE_0001', 'REPORT 1001'), undefined);
    assert.equal(keyOfReference('INV-2026-0042', ''), undefined);
  });
});

describe('confirmations and errors in S/4HANA shapes', () => {
  test('a success confirmation gives created with <CompanyCode>/<AccountingDocument>/<FiscalYear>; warnings do not fail it', () => {
    const confirmation = confirmationOf('confirmation-success.xml');
    assert.equal(confirmation.referenceId, 'FSB4A1C2E3F40516273849AB0C1D2E3F405');
    assert.deepEqual(confirmation.documents.map(outcomeOf), [
      { status: 'created', documentId: '1010/0100000431/2026' },
      { status: 'created', documentId: '1010/0100000432/2026' },
    ]);
  });

  test('a severity-3 confirmation fails each refused document alone, classified by its own messages', () => {
    const confirmation = confirmationOf('confirmation-severity3.xml');
    const outcomes = confirmation.documents.map(outcomeOf);
    assert.deepEqual(outcomes[0], { status: 'created', documentId: '1010/0100000433/2026' });
    const errors = outcomes.slice(1).map((outcome) => {
      assert.equal(outcome.status, 'failed');
      return outcome.status === 'failed' ? outcome.error : undefined;
    });
    assert.deepEqual(errors.map((e) => [e?.kind, e?.vendorCode, e?.field, e?.value]), [
      ['invalid', '351(F5)', 'account', '61500000'],
      ['invalid', '248(KI)', 'costCenter', '4999'],
      ['transient', '601(MC)', undefined, undefined],
      ['invalid', '077(ZFIN)', undefined, undefined],
    ]);
    assert.match(errors[0]?.message ?? '', /G\/L account 61500000 is blocked.*and 1 more error message.*unblock/);
    assert.match(errors[0]?.raw ?? '', /FS222222222222222222222222R1/);
    assert.doesNotMatch(errors[0]?.raw ?? '', /FS333333333333333333333333R1/);
  });

  test('log items: the wrapper message alone, no error item, and a raw answer cut to 4 KB', () => {
    const wrapperOnly = classifyLogItems([{ typeId: '609(RW)', severityCode: '3', note: 'Document BKPFF could not be posted' }], '');
    assert.deepEqual([wrapperOnly.kind, wrapperOnly.vendorCode], ['invalid', '609(RW)']);
    const none = classifyLogItems([{ typeId: '605(RW)', severityCode: '1', note: 'ok' }], 'x'.repeat(10_000));
    assert.deepEqual([none.kind, none.vendorCode, none.raw?.length], ['invalid', 'UNCLASSIFIED', 4000]);
    const duplicate = classifyLogItems([{ typeId: '012(FINS_JE_API)', severityCode: '3', note: 'Message fs_x_r1 has already been processed (document 1010/0100000001/2026); a message ID is processed once' }], '');
    assert.equal(duplicate.kind, 'conflict');
  });

  test('SOAP faults: a Client fault is invalid and nothing was posted; a Server fault may have posted', () => {
    assert.deepEqual(readSoapFault(fixture('soap-fault-client.xml'))?.code, 'soap-env:Client');
    const client = classifyPostAnswer(500, fixture('soap-fault-client.xml'), new Headers());
    assert.deepEqual([client.error.kind, client.error.vendorCode, client.maybeCommitted], ['invalid', 'SOAP_FAULT_CLIENT', false]);
    assert.equal(client.error.raw, fixture('soap-fault-client.xml'));
    const server = classifyPostAnswer(500, fixture('soap-fault-server.xml'), new Headers());
    assert.deepEqual([server.error.kind, server.error.vendorCode, server.maybeCommitted], ['transient', 'SOAP_FAULT_SERVER', true]);
  });

  test('HTTP statuses without a confirmation map to kinds, with Retry-After and whether a document may exist', () => {
    const nowMs = Date.parse('2026-04-30T10:00:00Z');
    const cases: [number, Record<string, string>, string, string, boolean, number | undefined][] = [
      [401, {}, 'auth', 'HTTP_401', false, undefined],
      [403, {}, 'auth', 'HTTP_403', false, undefined],
      [404, {}, 'not_found', 'HTTP_404', false, undefined],
      [429, { 'Retry-After': '3' }, 'rate_limited', 'HTTP_429', false, 3000],
      [503, { 'Retry-After': 'Thu, 30 Apr 2026 10:02:00 GMT' }, 'unavailable', 'HTTP_503', false, 120_000],
      [502, {}, 'unavailable', 'HTTP_502', true, undefined],
      [504, {}, 'unavailable', 'HTTP_504', true, undefined],
      [500, {}, 'transient', 'HTTP_500', true, undefined],
      [418, {}, 'invalid', 'UNCLASSIFIED', false, undefined],
      [302, {}, 'invalid', 'UNCLASSIFIED', false, undefined],
    ];
    for (const [status, headers, kind, vendorCode, maybeCommitted, retryAfterMs] of cases) {
      const failure = classifyPostAnswer(status, fixture('logon-page.html'), new Headers(headers), nowMs);
      assert.deepEqual([failure.error.kind, failure.error.vendorCode, failure.maybeCommitted, failure.error.retryAfterMs], [kind, vendorCode, maybeCommitted, retryAfterMs], String(status));
    }
  });

  test('an OData error body keeps its code; a status finsync does not know is UNCLASSIFIED', () => {
    const error = classifyODataError(400, fixture('odata-error.json'), new Headers());
    assert.deepEqual([error.kind, error.vendorCode], ['invalid', '/IWBEP/CM_MGW_RT/022']);
    assert.match(error.message, /not filterable/);
    assert.deepEqual([classifyODataError(403, '', new Headers()).kind, classifyODataError(418, '', new Headers()).vendorCode], ['auth', 'UNCLASSIFIED']);
  });

  test('the callback route takes the success fixture as a confirmation for no pending message', () => {
    const connector = createS4HanaConnector({ target: 's4hana', baseUrl: 'http://127.0.0.1:9', user: 'u', password: 'p', mode: 'async', requestTimeoutMs: 1000 });
    assert.deepEqual(connector.receiveConfirmation(fixture('confirmation-success.xml')), { status: 'accepted', documents: 2, matched: 0 });
    assert.equal(connector.receiveConfirmation(fixture('soap-fault-client.xml')).status, 'rejected');
  });
});

describe('the OData page fixture through the read-back', () => {
  let pages: string[] = [];
  const requested: string[] = [];
  const server = createServer((req, res) => {
    requested.push(req.url ?? '');
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(pages.shift() ?? '{"d":{"results":[]}}');
  });
  const listening = new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const read = async (period: string) => {
    const reader = createODataReader({ baseUrl: await listening, user: 'u', password: 'p', requestTimeoutMs: 5000 });
    const lines: ReconLine[] = [];
    const accountCodeOf = (gl: string) => ({ '61000000': '6100', '21000000': '2100' })[gl];
    for await (const batch of s4hanaJournalLines(reader, { companyCode: '1010', entity: 'DE01', period, accountCodeOf }).batches) lines.push(...batch);
    return lines;
  };

  test('items become exact lines: three-decimal amounts, accounts with leading zeros, foreign references left out, __next followed', async () => {
    pages = [fixture('odata-page.json').replace(/https:\/\/my123456-api\.s4hana\.cloud\.sap/g, await listening)];
    const lines = await read('2026-04');
    const document = (n: string) => `1010/${n}/2026`;
    assert.deepEqual(lines, [
      { key: 'fs_3c46a60978f9185b49872df5_r1', entity: 'DE01', currency: 'EUR', period: '2026-04', account: '6100', amountMinor: 8450, status: '', document: document('0100000431') },
      { key: 'fs_3c46a60978f9185b49872df5_r1', entity: 'DE01', currency: 'EUR', period: '2026-04', account: '2100', amountMinor: -8450, status: '', document: document('0100000431') },
      { key: 'fs_9d0e1f2a3b4c5d6e7f8a9b0c_r2_rev', entity: 'DE01', currency: 'JPY', period: '2026-04', account: '2100', amountMinor: 12000, status: '', document: document('0100000452') },
    ]);
    assert.equal(requested.length, 2);
    assert.match(decodeURIComponent(requested[0]), /\$filter=Ledger eq '0L' and CompanyCode eq '1010' and PostingDate ge datetime'2026-04-01T00:00:00' and PostingDate le datetime'2026-04-30T00:00:00' and startswith\(DocumentReferenceID,'FS'\) eq true/);
    assert.match(requested[1], /\$skiptoken=4/);
  });

  test('an item that cannot be read stops the read-back, naming the document', async () => {
    pages = [fixture('odata-page.json').replace('"-84.500"', '"-84.505"')];
    await assert.rejects(read('2026-04'), (error: unknown) => error instanceof ReconciliationInputError && error.column === 'AmountInTransactionCurrency' && /1010\/0100000431\/2026/.test(error.message));
    pages = [fixture('odata-page.json').replace('"DebitCreditCode":"H"', '"DebitCreditCode":"S"')];
    await assert.rejects(read('2026-04'), (error: unknown) => error instanceof ReconciliationInputError && error.column === 'DebitCreditCode');
    pages = [fixture('odata-page.json')];
    await assert.rejects(read('2026-05'), (error: unknown) => error instanceof ReconciliationInputError && error.column === 'PostingDate');
  });
});

describe('journals round-trip through the request XML', () => {
  test('texts lose what XML cannot carry and are cut without splitting a character', () => {
    const memo = `${'x'.repeat(48)}\u0001\u000b😀tail`;
    const request: PostingRequest = { ...EXAMPLE, journal: { ...EXAMPLE.journal, lines: EXAMPLE.journal.lines.map((line) => ({ ...line, memo })) } };
    const xml = soapEnvelope('JournalEntryBulkCreateRequest', buildBulkRequestContent([{ request, companyCode: '1010' }], { createdByUser: 'CC_FINSYNC', creationDateTime: '2026-04-30T10:15:00Z' }));
    const body = readSoapBody(xml);
    assert.ok(typeof body !== 'string', String(body));
    const parsed = parseBulkRequestContent(body.element);
    assert.ok(typeof parsed !== 'string' && !('problem' in parsed.entries[0].journal));
    assert.equal(parsed.entries[0].journal.items[0].itemText, `${'x'.repeat(48)}😀`);
    assert.equal(xmlText(`${'y'.repeat(49)}😀`, 50), 'y'.repeat(49));
  });

  const currencies = ['EUR', 'JPY', 'KWD', 'USD', 'CHF'];
  const text = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary-ascii', maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }), fc.constantFrom('a & b <c> "d" \'e\'', '&lt;not an entity&gt;', ']]>'));

  test('any balanced journal comes back from the simulator\'s parser with the same minor units, debits equal to credits', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...currencies),
        fc.array(fc.record({ amount: fc.integer({ min: 1, max: 99_999_999_999 }), account: fc.constantFrom('6100', '6200', '6300'), costCenter: fc.option(fc.constantFrom('CC1', 'CC2'), { nil: undefined }), memo: text }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 3 }),
        text,
        (currency, debits, creditLines, memo) => {
          const total = debits.reduce((sum, d) => sum + d.amount, 0);
          const credits = Array.from({ length: creditLines }, (_, i) => Math.floor(total / creditLines) + (i < total % creditLines ? 1 : 0)).filter((amount) => amount > 0);
          const lines: JournalLine[] = [
            ...debits.map((d) => ({ account: d.account, debitMinor: d.amount, creditMinor: 0, memo: d.memo, ...(d.costCenter !== undefined && { costCenter: d.costCenter }) })),
            ...credits.map((amount) => ({ account: '2100', debitMinor: 0, creditMinor: amount, memo: 'owed' })),
          ];
          const request: PostingRequest = {
            ...EXAMPLE,
            references: { ...EXAMPLE.references, accounts: { '6100': '61000000', '6200': '62000000', '6300': '63000000', '2100': '21000000' }, costCenters: { CC1: '4100', CC2: '4200' } },
            journal: { ...EXAMPLE.journal, currency, memo, lines },
          };
          const xml = soapEnvelope('JournalEntryBulkCreateRequest', buildBulkRequestContent([{ request, companyCode: '1010' }], { createdByUser: 'CC_FINSYNC', creationDateTime: '2026-04-30T10:15:00Z' }));
          const body = readSoapBody(xml);
          assert.ok(typeof body !== 'string', String(body));
          const parsed = parseBulkRequestContent(body.element);
          assert.ok(typeof parsed !== 'string');
          const journal = parsed.entries[0].journal;
          assert.ok(!('problem' in journal), JSON.stringify(journal));
          assert.equal(journal.currency, currency);
          assert.deepEqual(journal.items.map((item) => item.amountMinor), lines.map((line) => line.debitMinor - line.creditMinor));
          assert.deepEqual(journal.items.map((item) => item.debitCreditCode), lines.map((line) => (line.debitMinor > 0 ? 'S' : 'H')));
          const debitSum = journal.items.filter((item) => item.amountMinor > 0).reduce((sum, item) => sum + item.amountMinor, 0);
          const creditSum = journal.items.filter((item) => item.amountMinor < 0).reduce((sum, item) => sum - item.amountMinor, 0);
          assert.equal(debitSum, creditSum);
          assert.deepEqual(journal.items.map((item) => item.itemText), lines.map((line) => xmlText(line.memo, 50).trim()));
        },
      ),
      { seed: 20260430, numRuns: 300 },
    );
  });
});
