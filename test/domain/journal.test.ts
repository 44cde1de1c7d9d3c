// Proves that checkBalance accepts only non-empty journals of well-formed lines whose debits equal their credits (and names every malformed line instead of crashing), that a reversal is balanced and nets every account of the original to zero, that posting keys are deterministic, distinct per (report, revision, target, kind) and safe for every ERP, and that canonical JSON and its hash ignore key order.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkBalance, reverseJournal, type JournalEntry, type JournalLine } from '../../src/domain/journal.ts';
import { canonicalJson, hashJson, postingKey } from '../../src/domain/keys.ts';
import { allocate } from '../../src/domain/money.ts';

/** Run properties with a random seed (fast-check prints it on failure); FC_SEED=<n> replays one. */
const FC_SEED = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };

function journalOf(lines: JournalLine[]): JournalEntry {
  return {
    kind: 'journal',
    reportId: 'R-1',
    revision: 1,
    entity: 'DE01',
    currency: 'EUR',
    postingDate: '2026-05-04',
    memo: 'Expense report R-1 revision 1',
    lines,
    conversions: [],
  };
}

const debit = (account: string, amountMinor: number): JournalLine => ({ account, debitMinor: amountMinor, creditMinor: 0, memo: account });
const credit = (account: string, amountMinor: number): JournalLine => ({ account, debitMinor: 0, creditMinor: amountMinor, memo: account });

describe('checkBalance', () => {
  test('accepts a balanced journal and reports its totals', () => {
    const result = checkBalance(journalOf([debit('6110', 5000), debit('6110', 5000), debit('1410', 2000), credit('2110', 12000)]));
    assert.deepEqual(result, { balanced: true, currency: 'EUR', debitMinor: 12000, creditMinor: 12000, malformedLines: [] });
  });

  test('detects debits that differ from credits', () => {
    const result = checkBalance(journalOf([debit('6110', 10000), credit('2110', 9999)]));
    assert.equal(result.balanced, false);
    assert.equal(result.debitMinor, 10000);
    assert.equal(result.creditMinor, 9999);
    assert.deepEqual(result.malformedLines, []);
  });

  test('refuses an empty journal', () => {
    const result = checkBalance(journalOf([]));
    assert.equal(result.balanced, false);
    assert.deepEqual(result.malformedLines, []);
  });

  test('names negative, both-sided, empty-sided and non-integer lines even when the totals match', () => {
    const cases: [string, JournalLine][] = [
      ['negative debit', { account: '6110', debitMinor: -100, creditMinor: 0, memo: '' }],
      ['negative credit', { account: '6110', debitMinor: 0, creditMinor: -100, memo: '' }],
      ['both sides', { account: '6110', debitMinor: 100, creditMinor: 100, memo: '' }],
      ['neither side', { account: '6110', debitMinor: 0, creditMinor: 0, memo: '' }],
      ['fractional', { account: '6110', debitMinor: 100.5, creditMinor: 0, memo: '' }],
      ['NaN', { account: '6110', debitMinor: Number.NaN, creditMinor: 0, memo: '' }],
      ['Infinity', { account: '6110', debitMinor: Number.POSITIVE_INFINITY, creditMinor: 0, memo: '' }],
      ['unsafe integer', { account: '6110', debitMinor: 2 ** 53, creditMinor: 0, memo: '' }],
    ];
    for (const [name, bad] of cases) {
      const result = checkBalance(journalOf([debit('6110', 100), bad, credit('2110', 100)]));
      assert.equal(result.balanced, false, name);
      assert.deepEqual(result.malformedLines, [1], name);
    }
    // Offsetting malformed lines cannot make a journal balanced.
    const offset = checkBalance(journalOf([debit('6110', -100), credit('2110', -100)]));
    assert.equal(offset.balanced, false);
    assert.deepEqual(offset.malformedLines, [0, 1]);
  });

  test('sums exactly beyond the float range of the parts', () => {
    const big = Number.MAX_SAFE_INTEGER;
    const result = checkBalance(journalOf([debit('6110', big), debit('6110', big), credit('2110', big), credit('2110', big - 1)]));
    assert.equal(result.balanced, false);
  });
});

const accountArb = fc.constantFrom('6110', '6120', '6130', '1410', '2110', '2120', '1250');

/** A balanced journal: random debit lines and credit lines that split the same total. */
const balancedJournalArb = fc
  .tuple(
    fc.array(fc.tuple(accountArb, fc.integer({ min: 1, max: 1e12 })), { minLength: 1, maxLength: 12 }),
    fc.array(fc.tuple(accountArb, fc.integer({ min: 1, max: 1000 })), { minLength: 1, maxLength: 6 }),
    fc.boolean(),
  )
  .map(([debits, creditWeights, swap]) => {
    const total = debits.reduce((sum, [, amount]) => sum + amount, 0);
    const parts = allocate(total, creditWeights.map(([, w]) => w));
    const lines = [
      ...debits.map(([account, amount]) => debit(account, amount)),
      ...creditWeights.map(([account], i) => credit(account, parts[i])).filter((line) => line.creditMinor > 0),
    ];
    // Swapping sides keeps balance and exercises journals whose credits come first.
    return journalOf(swap ? reverseJournal(journalOf(lines), '2026-01-01').lines.slice() : lines);
  });

function netByAccount(lines: readonly JournalLine[]): Map<string, number> {
  const net = new Map<string, number>();
  for (const line of lines) net.set(line.account, (net.get(line.account) ?? 0) + line.debitMinor - line.creditMinor);
  return net;
}

describe('reverseJournal', () => {
  test('the reversal of a balanced journal is balanced, and journal plus reversal nets every account to zero', () => {
    fc.assert(
      fc.property(balancedJournalArb, (journal) => {
        assert.ok(checkBalance(journal).balanced, 'the generator makes balanced journals');
        const before = structuredClone(journal);
        const reversal = reverseJournal(journal, '2026-06-01');
        assert.deepEqual(journal, before, 'the original is not changed');
        const check = checkBalance(reversal);
        assert.ok(check.balanced);
        assert.equal(check.debitMinor, checkBalance(journal).creditMinor);
        assert.equal(reversal.kind, 'reversal');
        assert.equal(reversal.postingDate, '2026-06-01');
        assert.equal(reversal.lines.length, journal.lines.length);
        for (const [account, net] of netByAccount([...journal.lines, ...reversal.lines])) assert.equal(net, 0, account);
        reversal.lines.forEach((line, i) => {
          assert.equal(line.account, journal.lines[i].account);
          assert.equal(line.debitMinor, journal.lines[i].creditMinor);
          assert.equal(line.creditMinor, journal.lines[i].debitMinor);
        });
      }),
      { numRuns: 300, ...FC_SEED },
    );
  });

  test('keeps dimensions and identity, and says it is a reversal', () => {
    const journal = journalOf([
      { account: '6110', debitMinor: 5000, creditMinor: 0, costCenter: 'DE4110', project: 'P1', taxCode: 'DE19', memo: 'hotel' },
      { account: '2110', debitMinor: 0, creditMinor: 5000, employeeId: 'DE01-E0001', memo: 'employee' },
    ]);
    const reversal = reverseJournal(journal, '2026-06-01');
    assert.equal(reversal.reportId, journal.reportId);
    assert.equal(reversal.revision, journal.revision);
    assert.equal(reversal.entity, journal.entity);
    assert.equal(reversal.currency, journal.currency);
    assert.match(reversal.memo, /^Reversal of /);
    assert.deepEqual(reversal.lines[0], { account: '6110', debitMinor: 0, creditMinor: 5000, costCenter: 'DE4110', project: 'P1', taxCode: 'DE19', memo: 'Reversal: hotel' });
    assert.equal(reversal.lines[1].employeeId, 'DE01-E0001');
  });
});

const idArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}$/);
const postingArb = fc.record({
  reportId: idArb,
  revision: fc.integer({ min: 1, max: 1_000_000 }),
  target: fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/),
  kind: fc.constantFrom('journal' as const, 'reversal' as const),
});

describe('postingKey', () => {
  test('is deterministic and uses only characters every ERP accepts (never "|")', () => {
    fc.assert(
      fc.property(postingArb, ({ reportId, revision, target, kind }) => {
        const key = postingKey(reportId, revision, target, kind);
        assert.equal(postingKey(reportId, revision, target, kind), key);
        assert.match(key, /^[A-Za-z0-9_-]+$/);
        assert.ok(!key.includes('|'));
        assert.ok(key.length <= 64, `${key} is short enough for an external id`);
      }),
      { numRuns: 300, ...FC_SEED },
    );
  });

  test('differs whenever report, revision, target or kind differs', () => {
    fc.assert(
      fc.property(postingArb, postingArb, (a, b) => {
        fc.pre(a.reportId !== b.reportId || a.revision !== b.revision || a.target !== b.target || a.kind !== b.kind);
        assert.notEqual(postingKey(a.reportId, a.revision, a.target, a.kind), postingKey(b.reportId, b.revision, b.target, b.kind));
      }),
      { numRuns: 300, ...FC_SEED },
    );
    const base = postingKey('R-1', 1, 'netsuite');
    assert.equal(postingKey('R-1', 1, 'netsuite', 'journal'), base, 'journal is the default kind');
    for (const other of [postingKey('R-2', 1, 'netsuite'), postingKey('R-1', 2, 'netsuite'), postingKey('R-1', 1, 'xero'), postingKey('R-1', 1, 'netsuite', 'reversal')]) {
      assert.notEqual(other, base);
    }
  });
});

/** The same JSON value with every object's keys in a shuffled order. */
function reorderKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((item, i) => reorderKeys(item, seed + i));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  const shuffled = entries
    .map(([key, item], i) => ({ key, item, order: (seed * 7919 + i * 104_729) % 1_000_003 }))
    .sort((a, b) => a.order - b.order)
    .map(({ key, item }, i) => [key, reorderKeys(item, seed + i + 1)] as const);
  // fromEntries defines own properties, so a "__proto__" key stays a key.
  return Object.fromEntries(seed % 2 === 0 ? shuffled.reverse() : shuffled);
}

describe('canonicalJson and hashJson', () => {
  test('do not depend on key order, and canonical JSON parses back to the same value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat({ max: 1_000_000 }), (value, seed) => {
        const reordered = reorderKeys(value, seed);
        assert.equal(canonicalJson(reordered), canonicalJson(value));
        assert.equal(hashJson(reordered), hashJson(value));
        assert.deepEqual(JSON.parse(canonicalJson(value)), JSON.parse(JSON.stringify(value)));
        assert.match(hashJson(value), /^[0-9a-f]{64}$/);
      }),
      { numRuns: 300, ...FC_SEED },
    );
  });

  test('sort keys, drop undefined properties and keep array order and value types', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [2, 1], c: null } }), '{"a":{"c":null,"d":[2,1]},"b":1}');
    assert.equal(canonicalJson({ a: 1, b: undefined }), canonicalJson({ a: 1 }));
    assert.notEqual(hashJson([1, 2]), hashJson([2, 1]));
    assert.notEqual(hashJson({ a: 1 }), hashJson({ a: '1' }));
    assert.notEqual(hashJson({ a: 1 }), hashJson({ A: 1 }));
    assert.notEqual(hashJson({}), hashJson([]));
  });
});
