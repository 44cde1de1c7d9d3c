// Proves that reading CSV files straight from bytes into partition records (reconcileFiles: partition-csv.ts, and phase 2 deciding clean keys on numbers) gives exactly the breaks, in the same order, and the result of the same lines read as objects (reconcile with lines in memory, or with the CSV reader's objects), on random journals that every side holds alike but for injected faults, written in ways that take every slower path: non-ASCII and unusual codes, amounts of 15 digits and spelt with extra zeros or as "-0.00", \r\n line ends, integer minor units, a side with no line, keys whose lines differ in entity, keys on more accounts than the fast check holds, several documents; that amounts the format refuses are refused alike; and that a sum beyond 2^53 is refused alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { formatAmount } from '../../src/domain/money.ts';
import { reconcile, reconcileFiles } from '../../src/reconciliation/engine.ts';
import { linesSource, readLineFile } from '../../src/reconciliation/line-file.ts';
import { SIDES, type Break, type LineStatus, type ReconcileResult, type ReconLine, type Side } from '../../src/reconciliation/types.ts';
import { oracle, sortBreaks, type Sides } from './support.ts';

const FC_SEED = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };
/** Near the largest amount the CSV format takes in JPY (15 digits; a fault adds or takes 1); ten of them pass 2^53. */
const BIG = 999_999_999_999_998;

const KEYS = ['fs_a_r1', 'fs_b_r1', 'K 1', "K'#1(x)", 'fs_ä_r1', 'fs_😀_r1', 'k~1', 'fs_c_r1'];
const ACCOUNTS = ['6110', '2000', '1410 b', 'Ä1'];
/** More accounts than compare-key.ts's KeyNets holds per side (16). */
const MANY_ACCOUNTS = Array.from({ length: 20 }, (_, i) => `A${i}`);
const AMOUNTS = [1, -1, 5000, -5000, 123_456_789_012_345, -123_456_789_012_345, BIG, -BIG];
/** What a side does to a journal: nothing mostly, else one of the ways the sides differ. */
const FAULTS = ['none', 'none', 'none', 'none', 'none', 'absent', 'drop', 'amount', 'account', 'zero', 'split', 'entity', 'recalled', 'posted', 'reversed', 'document', 'documents'] as const;
type Fault = (typeof FAULTS)[number];

interface Journal {
  readonly key: string;
  readonly entity: string;
  readonly currency: string;
  readonly period: string;
  readonly lines: readonly { readonly account: string; readonly amountMinor: number }[];
  readonly faults: Readonly<Record<Side, Fault>>;
}

function journalsArb(accounts: readonly string[], minLines: number, maxLines: number): fc.Arbitrary<Journal[]> {
  const journal = fc.record({
    key: fc.constantFrom(...KEYS),
    entity: fc.constantFrom('DE01', 'Ü01'),
    currency: fc.constantFrom('EUR', 'JPY'),
    period: fc.constantFrom('2026-10', '2026-11'),
    lines: fc.array(fc.record({ account: fc.constantFrom(...accounts), amountMinor: fc.constantFrom(...AMOUNTS) }), { minLength: minLines, maxLength: maxLines }),
    faults: fc.record({ platform: fc.constantFrom(...FAULTS), finsync: fc.constantFrom(...FAULTS), erp: fc.constantFrom(...FAULTS) }),
  });
  return fc.uniqueArray(journal, { selector: (j) => j.key, maxLength: KEYS.length });
}

/** A journal's lines as one side holds it, after the side's fault. */
function sideLines(j: Journal, side: Side): ReconLine[] {
  const fault = j.faults[side];
  if (fault === 'absent') return [];
  const status: LineStatus = side === 'platform' ? (fault === 'recalled' ? 'recalled' : 'approved') : side === 'finsync' ? (fault === 'posted' ? 'posted' : fault === 'reversed' ? 'reversed' : 'confirmed') : '';
  const lines: ReconLine[] = [];
  j.lines.forEach(({ account, amountMinor }, i) => {
    const first = i === 0;
    // 'documents': the ERP holds the journal in two documents, its first line in one, the rest in the other.
    const document = side !== 'erp' ? '' : fault === 'documents' && !first ? 'D0' : 'D1';
    const base = { key: j.key, entity: first && fault === 'entity' ? 'XX9' : j.entity, currency: j.currency, period: j.period, status, document };
    if (first && fault === 'drop' && j.lines.length > 1) return;
    const amount = first && fault === 'amount' ? amountMinor + 1 : first && fault === 'zero' ? 0 : amountMinor;
    const line = { ...base, account: first && fault === 'account' ? '6999' : account, amountMinor: amount };
    if (first && fault === 'split') lines.push({ ...line, amountMinor: amount - 1 }, { ...line, amountMinor: 1 });
    else lines.push(line);
    if (side === 'erp' && fault === 'document') lines.push({ ...line, document: 'Dé2' });
  });
  return lines;
}

/** The journals' lines per side, each side in an order of its own. */
function sidesOf(journals: readonly Journal[], shuffle: number): Sides {
  // Sorted by a hash of the line's place, the side and `shuffle`.
  const rank = (i: number, side: number) => Math.imul(Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(shuffle + side, 0x85ebca6b), 0xc2b2ae35) >>> 0;
  const spread = (side: Side) =>
    journals
      .flatMap((j) => sideLines(j, side))
      .map((line, i) => [rank(i, SIDES.indexOf(side)), line] as const)
      .sort((a, b) => a[0] - b[0])
      .map(([, line]) => line);
  return { platform: spread('platform'), finsync: spread('finsync'), erp: spread('erp') };
}

/** Spellings 0 to 3 the format takes; from 4 on, ones it refuses, some only for large amounts. */
const REFUSED_FROM = 4;

/**
 * Ways to write an amount in the CSV format: the formatted one, one with trailing zeros, one with
 * leading zeros, `-0.00` for zero; and ways it refuses (too many decimals, a sign, no digits,
 * more than 15 digits before the point, another character for the point).
 */
function amountText(amountMinor: number, currency: string, variant: number): string {
  const plain = formatAmount(amountMinor, currency);
  const decimals = currency === 'JPY' ? '' : plain.slice(plain.indexOf('.'));
  switch (variant) {
    case 7:
      return plain.startsWith('-') ? `-00${plain.slice(1)}` : `00${plain}`;
    case 8:
      return currency === 'JPY' ? `${plain}+0` : plain.replace('.', '+');
    case 1:
      return currency === 'JPY' ? `${plain}.00` : `${plain}00`;
    case 2:
      // The format takes at most 15 digits before the point.
      if (plain.replace('-', '').split('.')[0].length > 13) return plain;
      return plain.startsWith('-') ? `-00${plain.slice(1)}` : `00${plain}`;
    case 3:
      return amountMinor === 0 ? '-0.00' : plain;
    case 4:
      return `${plain}${decimals === '' ? '.5' : '5'}`;
    case 5:
      return `+${plain}`;
    case 6:
      return `${plain.split('.')[0]}.`;
    default:
      return plain;
  }
}

/**
 * A side's lines as CSV, in a format that differs by side: decimal amounts, \r\n, integer minor
 * units in another column order. `variants[i]`: line i's amount spelling; on the platform's side,
 * 9 and 10 spell the period or the currency in a way the format refuses.
 */
function csvOf(side: Side, lines: readonly ReconLine[], variants: readonly number[]): string {
  const decimal = (l: ReconLine, i: number) => amountText(l.amountMinor, l.currency, variants[i % variants.length]);
  const period = (l: ReconLine, i: number) => (variants[i % variants.length] === 9 ? l.period.replace('-', '/') : l.period);
  const currency = (l: ReconLine, i: number) => (variants[i % variants.length] === 10 ? l.currency.toLowerCase() : l.currency);
  if (side === 'platform') return ['key,entity,currency,period,account,amount,status,document', ...lines.map((l, i) => `${l.key},${l.entity},${currency(l, i)},${period(l, i)},${l.account},${decimal(l, i)},${l.status},${l.document}`)].join('\n') + '\n';
  if (side === 'finsync') return ['status,key,entity,currency,period,account,amount', ...lines.map((l, i) => `${l.status},${l.key},${l.entity},${l.currency},${l.period},${l.account},${decimal(l, i)}`)].join('\r\n') + '\r\n';
  // No final line end, and integer minor units where the amounts take at most 15 digits.
  if (lines.some((l) => Math.abs(l.amountMinor) >= 1e15)) return ['document,account,amount,key,entity,currency,period', ...lines.map((l, i) => `${l.document},${l.account},${decimal(l, i)},${l.key},${l.entity},${l.currency},${l.period}`)].join('\n');
  return ['document,account,amount_minor,key,entity,currency,period', ...lines.map((l) => `${l.document},${l.account},${l.amountMinor},${l.key},${l.entity},${l.currency},${l.period}`)].join('\n');
}

type Outcome = { result: ReconcileResult; breaks: Break[] } | { error: string };

async function outcomeOf(run: (onBreak: (found: Break) => void) => Promise<ReconcileResult>): Promise<Outcome> {
  const breaks: Break[] = [];
  try {
    return { result: await run((found) => breaks.push(found)), breaks };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/** The engine on the same lines: as objects, as files read into the CSV reader's objects, as files read as bytes (reconcileFiles, and reconcile with readLineFile's sources). */
async function threeWays(sides: Sides, partitions: number, variants: readonly number[] = [0]): Promise<Outcome[]> {
  const dir = await mkdtemp(join(tmpdir(), 'finsync-records-test-'));
  try {
    const paths = { platform: join(dir, 'platform.csv'), finsync: join(dir, 'finsync.csv'), erp: join(dir, 'erp.csv') };
    for (const side of SIDES) await writeFile(paths[side], csvOf(side, sides[side], variants));
    const objects = await outcomeOf((onBreak) => reconcile({ platform: linesSource('p', 'platform', sides.platform), finsync: linesSource('f', 'finsync', sides.finsync), erp: linesSource('e', 'erp', sides.erp) }, { partitions, onBreak }));
    // A copy of readLineFile's source is not known as a file's: the engine pulls its batches (every line through parseRow).
    const pulled = (side: Side) => ({ ...readLineFile(paths[side], side) });
    const fileObjects = await outcomeOf((onBreak) => reconcile({ platform: pulled('platform'), finsync: pulled('finsync'), erp: pulled('erp') }, { partitions, onBreak }));
    const bytes = await outcomeOf((onBreak) => reconcileFiles(paths, { partitions, threads: 1, onBreak }));
    const fileBytes = await outcomeOf((onBreak) => reconcile({ platform: readLineFile(paths.platform, 'platform'), finsync: readLineFile(paths.finsync, 'finsync'), erp: readLineFile(paths.erp, 'erp') }, { partitions, onBreak }));
    assert.deepEqual(fileBytes, bytes);
    return [objects, fileObjects, bytes];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Bytes as the CSV reader's objects always; as the lines in memory too unless an amount was spelt
 * in a way the format refuses; and, when the run got through, as the naive oracle (support.ts),
 * which shares no code with the engine's phase 2.
 */
function assertAlike(sides: Sides, [objects, fileObjects, bytes]: Outcome[], refusedSpelling = false): void {
  assert.deepEqual(bytes, fileObjects);
  if (refusedSpelling) return;
  assert.deepEqual(bytes, objects);
  if (!('result' in bytes)) return;
  const expected = oracle(sides);
  assert.deepEqual(sortBreaks(bytes.breaks), sortBreaks(expected.breaks));
  assert.deepEqual(bytes.result.balances, expected.balances);
  assert.deepEqual([bytes.result.completeness.matchedKeys, bytes.result.completeness.approvedKeys], [expected.matched, expected.approved]);
}

/** Amount spellings: the plain one, or any the format takes, or (two runs in five) any, some refused. */
const variantsArb = fc.oneof(
  { arbitrary: fc.constant([0]), weight: 1 },
  { arbitrary: fc.array(fc.integer({ min: 0, max: REFUSED_FROM - 1 }), { minLength: 1, maxLength: 7 }), weight: 2 },
  { arbitrary: fc.array(fc.integer({ min: 0, max: 10 }), { minLength: 1, maxLength: 7 }), weight: 2 },
);

test('CSV files read as bytes give what the same lines give as objects, breaks in the same order', async () => {
  await fc.assert(
    fc.asyncProperty(journalsArb(ACCOUNTS, 1, 4), fc.nat(), fc.constantFrom(1, 3), variantsArb, async (journals, shuffle, partitions, variants) => {
      const sides = sidesOf(journals, shuffle);
      assertAlike(sides, await threeWays(sides, partitions, variants), variants.some((v) => v >= REFUSED_FROM));
    }),
    { numRuns: 300, ...FC_SEED },
  );
});

test('keys on more accounts than the fast check holds are classified alike', async () => {
  await fc.assert(
    fc.asyncProperty(journalsArb(MANY_ACCOUNTS, 16, 28), fc.nat(), async (journals, shuffle) => {
      const sides = sidesOf(journals, shuffle);
      assertAlike(sides, await threeWays(sides, 2));
    }),
    { numRuns: 30, ...FC_SEED },
  );
});

test('a side without lines, and a key whose nets pass 2^53, are read alike', async () => {
  const line = (key: string, amountMinor: number, status: LineStatus, period = '2026-11', document = ''): ReconLine => ({ key, entity: 'DE01', currency: 'JPY', period, account: '6110', amountMinor, status, document });
  const emptySides: Sides = { platform: [], finsync: [line('K', 5, 'confirmed')], erp: [line('K', 5, '', '2026-11', 'D1')] };
  const empty = await threeWays(emptySides, 2);
  assertAlike(emptySides, empty);
  assert.deepEqual('result' in empty[2] && empty[2].breaks, []);
  // Ten periods: each balance total stays safe, but the key's net on 6110 does not.
  const periods = Array.from({ length: 10 }, (_, i) => `2026-${String(i + 1).padStart(2, '0')}`);
  const overSides: Sides = { platform: [], finsync: periods.map((period) => line('K', BIG, 'confirmed', period)), erp: periods.map((period) => line('K', BIG, '', period, 'D1')) };
  const over = await threeWays(overSides, 1);
  assertAlike(overSides, over);
  assert.match('error' in over[2] ? over[2].error : '', /beyond the safe integers/);
});
