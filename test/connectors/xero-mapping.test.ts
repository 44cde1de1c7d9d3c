// Proves the pure parts of the Xero connector: a balanced journal becomes JournalLines whose LineAmounts, written and read back as exact JSON decimals, sum to exactly zero in minor units (property); references and tracking map as documented; the exact JSON reader and writer never round; and the simulator's where/order reader accepts the filters the connector sends and refuses the rest.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { PostingRequest } from '../../src/connectors/contract.ts';
import type { JournalLine } from '../../src/domain/journal.ts';
import { allocate } from '../../src/domain/money.ts';
import { JsonDecimal, JsonSyntaxError, parseJsonExact, stringifyJson } from '../../src/connectors/xero/exact-json.ts';
import {
  formatMsDate,
  keyFromNarration,
  lookupWhere,
  narrationFor,
  parseXeroDate,
  periodWhere,
  readAmountMinor,
  readManualJournal,
  toXeroManualJournals,
  XeroShapeError,
} from '../../src/connectors/xero/mapping.ts';
import { parseOrder, parseWhere, QueryParseError } from '../../src/connectors/xero/simulator-where.ts';

const MAPPING = { costCenterCategory: 'Cost Center', projectCategory: 'Project' };

function request(lines: readonly JournalLine[], currency = 'EUR', references: Partial<PostingRequest['references']> = {}): PostingRequest {
  return {
    externalKey: 'fs_0123456789abcdef01234567_r2',
    correlationId: 'c',
    references: { subsidiaryId: '', accounts: {}, costCenters: {}, employees: {}, taxCodes: {}, ...references },
    journal: { kind: 'journal', reportId: 'R-1', revision: 2, entity: 'DE01', currency, postingDate: '2026-04-30', memo: 'Expense report R-1', conversions: [], lines: [...lines] },
  };
}

describe('Xero mapping', () => {
  test('a journal becomes one POSTED NoTax manual journal; references translate where given, else our codes go as they are', () => {
    const body = toXeroManualJournals(
      request(
        [
          { account: '6100', debitMinor: 8450, creditMinor: 0, costCenter: 'CC1', project: 'FAIR26', taxCode: 'VAT19', memo: 'Hotel' },
          { account: '2100', debitMinor: 0, creditMinor: 8450, memo: 'Owed' },
        ],
        'EUR',
        { accounts: { '6100': '610' }, costCenters: { CC1: 'DE4120' }, taxCodes: { VAT19: 'INPUT2' } },
      ),
      MAPPING,
    );
    assert.equal(
      stringifyJson(body),
      '{"ManualJournals":[{"Narration":"fs_0123456789abcdef01234567_r2: Expense report R-1","Date":"2026-04-30","Status":"POSTED","LineAmountTypes":"NoTax","JournalLines":[' +
        '{"LineAmount":84.50,"AccountCode":"610","Description":"Hotel","TaxType":"INPUT2","Tracking":[{"Name":"Cost Center","Option":"DE4120"},{"Name":"Project","Option":"FAIR26"}]},' +
        '{"LineAmount":-84.50,"AccountCode":"2100","Description":"Owed"}]}]}',
    );
    const withoutProjects = toXeroManualJournals(request([{ account: '6100', debitMinor: 1, creditMinor: 0, project: 'P', memo: '' }, { account: '2100', debitMinor: 0, creditMinor: 1, memo: '' }]), { costCenterCategory: 'Dept' });
    assert.equal(withoutProjects.ManualJournals[0].JournalLines[0].Tracking, undefined);
  });

  test('a line without exactly one positive side, or a key Xero cannot take, is a programmer error', () => {
    assert.throws(() => toXeroManualJournals(request([{ account: '6100', debitMinor: 5, creditMinor: 5, memo: '' }]), MAPPING), /exactly one positive side/);
    assert.throws(() => toXeroManualJournals(request([{ account: '6100', debitMinor: 0, creditMinor: 0, memo: '' }]), MAPPING), /exactly one positive side/);
    assert.throws(() => narrationFor('fs_bad key', 'x'), /not 1 to 128/);
    assert.throws(() => narrationFor(`fs_${'a'.repeat(126)}`, 'x'), /not 1 to 128/);
  });

  for (const currency of ['EUR', 'JPY', 'KWD']) {
    test(`property: any balanced ${currency} journal maps to LineAmounts summing to exactly zero in minor units`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 1, max: 999_999_999_999 }), { minLength: 1, maxLength: 8 }),
          fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 5 }),
          (debits, weights) => {
            const total = debits.reduce((a, b) => a + b, 0);
            const credits = allocate(total, weights).filter((part) => part > 0);
            const lines: JournalLine[] = [
              ...debits.map((amount) => ({ account: '6100', debitMinor: amount, creditMinor: 0, memo: 'expense' })),
              ...credits.map((amount) => ({ account: '2100', debitMinor: 0, creditMinor: amount, memo: 'owed' })),
            ];
            const wire = stringifyJson(toXeroManualJournals(request(lines, currency), MAPPING));
            const journal = readManualJournal((parseJsonExact(wire) as { ManualJournals: unknown[] }).ManualJournals[0], currency, 'ManualJournals[0]');
            const amounts = journal.lines.map((line) => line.amountMinor);
            assert.deepEqual(amounts, lines.map((line) => line.debitMinor - line.creditMinor));
            assert.equal(amounts.reduce((sum, amount) => sum + BigInt(amount), 0n), 0n);
          },
        ),
        { seed: 20260502, numRuns: 300 },
      );
    });
  }

  test('LineAmounts are read as exact digits: too many decimals or a non-number are refused, never rounded', () => {
    assert.equal(readAmountMinor(new JsonDecimal('-96.80'), 'EUR', 'x'), -9680);
    assert.equal(readAmountMinor(new JsonDecimal('1.2345678901234e13'), 'EUR', 'x'), 1_234_567_890_123_400);
    assert.equal(readAmountMinor(new JsonDecimal('0.1e1'), 'JPY', 'x'), 1);
    assert.throws(() => readAmountMinor(new JsonDecimal('10.005'), 'EUR', 'LineAmount'), (error: unknown) => error instanceof XeroShapeError && /more decimals than EUR/.test(error.detail));
    assert.throws(() => readAmountMinor('84.50', 'EUR', 'LineAmount'), /Expected a number/);
    assert.throws(() => readAmountMinor(new JsonDecimal('99999999999999999999'), 'EUR', 'LineAmount'), XeroShapeError);
  });

  test('the narration carries the key; keys, lookups and periods become Xero where filters', () => {
    assert.equal(keyFromNarration('fs_abc_r1: Expense report R-1'), 'fs_abc_r1');
    assert.equal(keyFromNarration('fs_abc_r1_rev'), 'fs_abc_r1_rev');
    assert.equal(keyFromNarration('Accrual: April'), undefined);
    assert.equal(keyFromNarration('fs_a b: x'), undefined);
    assert.equal(lookupWhere('fs_abc_r1'), 'Narration.StartsWith("fs_abc_r1: ")');
    assert.equal(periodWhere('2026-12'), 'Status=="POSTED" AND Date >= DateTime(2026, 12, 01) AND Date < DateTime(2027, 01, 01) AND Narration.StartsWith("fs_")');
    assert.throws(() => periodWhere('2026-13'), /YYYY-MM/);
  });

  test("Xero's JSON dates read as days; anything else is refused", () => {
    assert.equal(formatMsDate(Date.UTC(2026, 3, 30)), '/Date(1777507200000+0000)/');
    assert.equal(parseXeroDate('/Date(1777507200000+0000)/'), '2026-04-30');
    assert.equal(parseXeroDate('/Date(1777507200000)/'), '2026-04-30');
    assert.equal(parseXeroDate('2026-04-30T00:00:00'), '2026-04-30');
    assert.equal(parseXeroDate('2026-04-30'), '2026-04-30');
    assert.equal(parseXeroDate('30/04/2026'), undefined);
    assert.throws(() => readManualJournal({ Narration: 'x', Date: 'soon' }, 'EUR', 'j'), /is not a date/);
  });
});

describe('exact JSON', () => {
  test('numbers keep their digits both ways, far beyond what a double holds', () => {
    const text = '{"a":12345678901234567890.125,"b":[-0.10,1e-3,2E+2],"c":"\\u00e9\\"","d":null,"e":true}';
    const parsed = parseJsonExact(text) as { a: JsonDecimal; b: JsonDecimal[] };
    assert.equal(parsed.a.text, '12345678901234567890.125');
    assert.deepEqual(parsed.b.map((n) => n.plain()), ['-0.10', '0.001', '200']);
    assert.equal(stringifyJson(parsed), '{"a":12345678901234567890.125,"b":[-0.10,1e-3,2E+2],"c":"é\\"","d":null,"e":true}');
    assert.equal(stringifyJson({ skipped: undefined, n: 3 }), '{"n":3}');
  });

  test('a float never reaches the writer, and broken JSON is a syntax error with its offset', () => {
    assert.throws(() => stringifyJson({ LineAmount: 84.5 }), /not a safe integer/);
    assert.throws(() => new JsonDecimal('1.'), /not a JSON number/);
    for (const bad of ['{"a":1,}', '[1 2]', '{"a":01}', '"x', '{"a":1} x', '']) {
      assert.throws(() => parseJsonExact(bad), JsonSyntaxError, bad);
    }
    const tricky = parseJsonExact('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(Object.keys(tricky), ['__proto__']);
  });
});

describe('simulator where and order', () => {
  const row = { Narration: 'fs_a_r1: April', Status: 'POSTED', Date: Date.UTC(2026, 3, 30), ManualJournalID: 'x', LineAmountTypes: 'NoTax', UpdatedDateUTC: 0, ShowOnCashBasisReports: true, HasAttachments: false };

  test('reads the filters the connector sends, with AND, OR, parentheses and text methods', () => {
    assert.equal(parseWhere(periodWhere('2026-04'))(row), true);
    assert.equal(parseWhere(periodWhere('2026-05'))(row), false);
    assert.equal(parseWhere(lookupWhere('fs_a_r1'))(row), true);
    assert.equal(parseWhere(lookupWhere('fs_a'))(row), false);
    assert.equal(parseWhere('Status=="DRAFT" OR (Narration.Contains("April") && Date == DateTime(2026, 4, 30))')(row), true);
    assert.equal(parseWhere('Narration.EndsWith("May") || Status != "POSTED"')(row), false);
    assert.equal(parseWhere('HasAttachments == false AND Date < DateTime(2026, 04, 30, 00, 00, 01)')(row), true);
  });

  test('refuses what it cannot read, as a QueryParseException would', () => {
    for (const bad of ['Amount > 5', 'Narration.ToLower() == "x"', 'Status == POSTED', 'Date >= DateTime(2026, 02, 30)', 'Status == "POSTED" AND', '(Status == "POSTED"', 'Status ~ "x"']) {
      assert.throws(() => parseWhere(bad), QueryParseError, bad);
    }
    assert.throws(() => parseOrder('Amount DESC'), QueryParseError);
  });

  test('orders by several keys, missing values last', () => {
    const rows: Record<string, string | number>[] = [{ Date: 2, Narration: 'b' }, { Date: 1, Narration: 'z' }, { Date: 2, Narration: 'a' }, { Narration: 'n' }];
    assert.deepEqual([...rows].sort(parseOrder('Date DESC, Narration')).map((r) => r.Narration), ['a', 'b', 'z', 'n']);
  });
});
