// Proves the effective-dating rules of the hub: versions of a record never overlap, an incoming version is the truth over its own range while history outside it survives, a closure keeps the start of the record, a change without a start date takes effect from today, and re-sending anything changes nothing (checked by example and by property over random histories).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { addDays, OPEN_FROM, OPEN_TO, type IncomingVersion, type RecordVersion } from '../../src/masterdata/records.ts';
import { applyIncoming, versionOn } from '../../src/masterdata/temporal.ts';

const base = { system: 'erp', kind: 'cost_center', entity: 'DE01', key: 'DE4110' } as const;
const incoming = (attrs: Record<string, unknown>, range: { validFrom?: string; validTo?: string } = {}, active = true): IncomingVersion => ({
  ...base,
  active,
  attributes: attrs,
  ...(range.validFrom !== undefined && { validFrom: range.validFrom }),
  validTo: range.validTo ?? OPEN_TO,
});
const TODAY = '2026-11-26';

function nameOn(versions: readonly RecordVersion[], date: string): string | undefined {
  const v = versionOn(versions, date);
  return v?.active ? (v.attributes.name as string) : undefined;
}

describe('effective dating by example', () => {
  test('a record never seen starts at the beginning of time', () => {
    const result = applyIncoming([], incoming({ name: 'Sales' }), TODAY)!;
    assert.deepEqual(result.map((v) => [v.validFrom, v.validTo]), [[OPEN_FROM, OPEN_TO]]);
  });

  test('a cost center closed on the 31st: the same record with an end date keeps its start, so the 30th and 31st pass and the 1st fails', () => {
    const open = applyIncoming([], incoming({ name: 'Sales' }, { validFrom: '2020-01-01' }), TODAY)!;
    const closed = applyIncoming(open, incoming({ name: 'Sales' }, { validTo: '2026-03-31' }), TODAY)!;
    assert.deepEqual(closed.map((v) => [v.validFrom, v.validTo]), [['2020-01-01', '2026-03-31']]);
    assert.equal(nameOn(closed, '2026-03-30'), 'Sales');
    assert.equal(nameOn(closed, '2026-03-31'), 'Sales');
    assert.equal(nameOn(closed, '2026-04-01'), undefined);
  });

  test('an ERP that only says "inactive since the 1st" ends the active version on the 31st', () => {
    const open = applyIncoming([], incoming({ name: 'Sales' }), TODAY)!;
    const closed = applyIncoming(open, incoming({ name: 'Sales' }, { validFrom: '2026-04-01' }, false), TODAY)!;
    assert.deepEqual(closed.map((v) => [v.validFrom, v.validTo, v.active]), [[OPEN_FROM, '2026-03-31', true], ['2026-04-01', OPEN_TO, false]]);
  });

  test('a change without a start date takes effect today; the day before keeps the old attributes', () => {
    const v1 = applyIncoming([], incoming({ name: 'Sales' }), TODAY)!;
    const v2 = applyIncoming(v1, incoming({ name: 'Sales EMEA' }), TODAY)!;
    assert.equal(nameOn(v2, addDays(TODAY, -1)), 'Sales');
    assert.equal(nameOn(v2, TODAY), 'Sales EMEA');
  });

  test('history sent as one row per period, in date order, is held as sent; the record ends where the last row ends', () => {
    const v1 = applyIncoming([], incoming({ name: 'A' }), TODAY)!;
    const v2 = applyIncoming(v1, incoming({ name: 'B' }, { validFrom: '2024-01-01', validTo: '2024-12-31' }), TODAY)!;
    assert.deepEqual(v2.map((v) => [v.validFrom, v.validTo, v.attributes.name]), [[OPEN_FROM, '2023-12-31', 'A'], ['2024-01-01', '2024-12-31', 'B']]);
    const v3 = applyIncoming(v2, incoming({ name: 'A' }, { validFrom: '2025-01-01' }), TODAY)!;
    assert.deepEqual(v3.map((v) => [v.validFrom, v.validTo, v.attributes.name]), [[OPEN_FROM, '2023-12-31', 'A'], ['2024-01-01', '2024-12-31', 'B'], ['2025-01-01', OPEN_TO, 'A']]);
    // Restoring A from 2024 on merges everything back into one version.
    const v4 = applyIncoming(v3, incoming({ name: 'A' }, { validFrom: '2024-01-01' }), TODAY)!;
    assert.deepEqual(v4.map((v) => [v.validFrom, v.validTo]), [[OPEN_FROM, OPEN_TO]]);
  });

  test('an employee terminated in a feed that sends hire and leave dates ends on the leave date', () => {
    const hired = applyIncoming([], incoming({ name: 'Ada' }, { validFrom: '2020-01-01' }), TODAY)!;
    const left = applyIncoming(hired, incoming({ name: 'Ada' }, { validFrom: '2020-01-01', validTo: '2026-06-30' }), TODAY)!;
    assert.equal(nameOn(left, '2026-06-30'), 'Ada');
    assert.equal(nameOn(left, '2026-07-01'), undefined);
  });

  test('re-sending a record, with attributes in another order, changes nothing', () => {
    const v1 = applyIncoming([], incoming({ name: 'A', erpId: '7' }, { validFrom: '2020-01-01' }), TODAY)!;
    assert.equal(applyIncoming(v1, incoming({ erpId: '7', name: 'A' }, { validFrom: '2020-01-01' }), TODAY), undefined);
    assert.equal(applyIncoming(v1, incoming({ erpId: '7', name: 'A' }), TODAY), undefined);
  });
});

const DAY0 = '2026-01-01';
const dateArb = fc.integer({ min: 0, max: 60 }).map((n) => addDays(DAY0, n));
const incomingArb = fc
  .record({
    name: fc.constantFrom('A', 'B', 'C'),
    active: fc.boolean(),
    from: fc.option(dateArb, { nil: undefined }),
    length: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
  })
  .map(({ name, active, from, length }) => {
    const validTo = from !== undefined && length !== undefined ? addDays(from, length) : undefined;
    return incoming({ name }, { ...(from !== undefined && { validFrom: from }), ...(validTo !== undefined && { validTo }) }, active);
  });

describe('effective dating by property', () => {
  test('versions stay sorted and never overlap, an explicit range holds what was sent, dates before it keep their content, dates after it are empty, and a repeat is a no-op', () => {
    fc.assert(
      fc.property(fc.array(incomingArb, { minLength: 1, maxLength: 12 }), dateArb, (sequence, today) => {
        let versions: RecordVersion[] = [];
        for (const next of sequence) {
          const before = versions;
          const after = applyIncoming(before, next, today) ?? before;
          for (let i = 0; i < after.length; i++) {
            assert.ok(after[i].validFrom <= after[i].validTo, 'a version ends before it starts');
            if (i > 0) assert.ok(after[i - 1].validTo < after[i].validFrom, 'versions overlap or are out of order');
          }
          if (next.validFrom !== undefined) {
            for (let d = next.validFrom; d <= next.validTo && d <= addDays(DAY0, 120); d = addDays(d, 1)) {
              const v = versionOn(after, d);
              assert.ok(v && v.active === next.active && v.attributes.name === next.attributes.name, `date ${d} does not hold what was sent`);
            }
            for (let d = addDays(DAY0, -5); d <= addDays(DAY0, 120); d = addDays(d, 1)) {
              if (d >= next.validFrom && d <= next.validTo) continue;
              const was = versionOn(before, d);
              const is = versionOn(after, d);
              if (d > next.validTo) assert.equal(is, undefined, `date ${d} after the sent range still holds a version`);
              else assert.deepEqual(is && [is.active, is.attributes.name], was && [was.active, was.attributes.name], `date ${d} before the sent range changed`);
            }
          }
          assert.equal(applyIncoming(after, next, today), undefined, 'sending the same version again changed something');
          versions = after;
        }
      }),
      { numRuns: 300 },
    );
  });
});
