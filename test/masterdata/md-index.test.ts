// Proves that the in-memory master-data index answers every look-up from what the feed applied — by kind, entity and key, on a date, with versions, newer key revisions replacing older ones, other systems ignored — including for an entity or record that only appears after an earlier look-up missed it (the index remembers the entity it looked up last), and that its shared answers cannot be changed by a caller.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LegalEntity } from '../../src/masterdata/company.ts';
import { MasterDataIndex } from '../../src/masterdata/md-index.ts';
import type { StoredVersion } from '../../src/masterdata/md-store.ts';
import type { Kind, System } from '../../src/masterdata/records.ts';

const ENTITIES = [{ code: 'DE01', currency: 'EUR' }, { code: 'US01', currency: 'USD' }] as unknown as LegalEntity[];

let seq = 0;
function row(kind: Kind, entity: string, key: string, validFrom: string, validTo: string, options: { active?: boolean; keyRevision?: number; system?: System; attributes?: Record<string, unknown> } = {}): StoredVersion {
  return {
    system: options.system ?? (kind === 'policy' ? 'finsync' : 'erp'),
    kind,
    entity,
    key,
    validFrom,
    validTo,
    active: options.active ?? true,
    attributes: options.attributes ?? { name: key },
    seq: ++seq,
    keyRevision: options.keyRevision ?? 1,
    source: 'test',
    recordedAt: 0,
    replacedAt: null,
  };
}

describe('MasterDataIndex', () => {
  test('answers by kind, entity, key and date: active, inactive on the date, or missing', () => {
    const index = new MasterDataIndex(ENTITIES);
    index.apply([
      row('cost_center', 'DE01', '4100', '2020-01-01', '2026-03-31'),
      row('cost_center', 'DE01', '4100', '2026-04-01', '9999-12-31', { active: false }),
      row('cost_center', 'US01', '4100', '2020-01-01', '9999-12-31'),
      row('employee', 'DE01', 'E1', '2026-02-01', '9999-12-31'),
      row('gl_account', 'DE01', '6000', '2020-01-01', '9999-12-31', { attributes: { postable: false } }),
      row('gl_account', 'DE01', '6010', '2020-01-01', '9999-12-31', { attributes: { postable: true } }),
    ]);
    const on = (kind: Kind, entity: string, key: string, date: string) => {
      const found = index.lookup(kind, entity, key, date);
      return found.found ? `${found.active ? 'active' : 'inactive'} from ${found.record.validFrom}` : 'missing';
    };
    assert.equal(on('cost_center', 'DE01', '4100', '2026-03-31'), 'active from 2020-01-01');
    assert.equal(on('cost_center', 'DE01', '4100', '2026-04-01'), 'inactive from 2026-04-01');
    assert.equal(on('cost_center', 'US01', '4100', '2026-04-01'), 'active from 2020-01-01');
    assert.equal(on('cost_center', 'FR01', '4100', '2026-04-01'), 'missing');
    assert.equal(on('project', 'DE01', '4100', '2026-04-01'), 'missing');
    // Before its first version, a record is held but not active: its latest version is named.
    assert.equal(on('employee', 'DE01', 'E1', '2026-01-31'), 'inactive from 2026-02-01');
    assert.equal(on('employee', 'DE01', 'E1', '2026-02-01'), 'active from 2026-02-01');
    assert.equal(on('gl_account', 'DE01', '6000', '2026-04-01'), 'inactive from 2020-01-01');
    assert.equal(on('gl_account', 'DE01', '6010', '2026-04-01'), 'active from 2020-01-01');
    assert.equal(index.size, 5);
  });

  test('finds records of an entity, kind or key applied after a look-up missed them', () => {
    const index = new MasterDataIndex(ENTITIES);
    assert.equal(index.lookup('employee', 'US01', 'E9', '2026-05-01').found, false);
    index.apply([row('employee', 'US01', 'E9', '2020-01-01', '9999-12-31')]);
    assert.equal(index.lookup('employee', 'US01', 'E9', '2026-05-01').found, true);
    assert.equal(index.lookup('cost_center', 'US01', 'C1', '2026-05-01').found, false);
    index.apply([row('cost_center', 'US01', 'C1', '2020-01-01', '9999-12-31')]);
    assert.equal(index.lookup('cost_center', 'US01', 'C1', '2026-05-01').found, true);
    // A reload drops everything held, whatever was looked up last.
    index.load([row('employee', 'DE01', 'E1', '2020-01-01', '9999-12-31')], seq);
    assert.equal(index.lookup('cost_center', 'US01', 'C1', '2026-05-01').found, false);
    assert.equal(index.lookup('employee', 'DE01', 'E1', '2026-05-01').found, true);
    assert.equal(index.size, 1);
  });

  test('a newer key revision replaces the versions held; another version of the same revision is added in date order', () => {
    const index = new MasterDataIndex(ENTITIES);
    index.apply([row('employee', 'DE01', 'E1', '2020-01-01', '9999-12-31')]);
    assert.equal(index.lookup('employee', 'DE01', 'E1', '2026-05-01').found, true);
    index.apply([row('employee', 'DE01', 'E1', '2026-06-01', '9999-12-31', { keyRevision: 2 })]);
    const before = index.lookup('employee', 'DE01', 'E1', '2026-05-01');
    assert.ok(before.found && !before.active, 'the first revision is gone');
    index.apply([row('employee', 'DE01', 'E1', '2020-01-01', '2026-05-31', { keyRevision: 2, active: false })]);
    assert.deepEqual(index.versions('employee', 'DE01', 'E1').map((v) => [v.validFrom, v.active]), [['2020-01-01', false], ['2026-06-01', true]]);
    const during = index.lookup('employee', 'DE01', 'E1', '2026-05-01');
    assert.ok(during.found && !during.active && during.record.validFrom === '2020-01-01');
    const after = index.lookup('employee', 'DE01', 'E1', '2026-06-01');
    assert.ok(after.found && after.active);
    // Rows of a system that is not the authority move the position but are not held.
    index.apply([row('employee', 'DE01', 'E2', '2020-01-01', '9999-12-31', { system: 'hr' })]);
    assert.equal(index.lookup('employee', 'DE01', 'E2', '2026-05-01').found, false);
    assert.equal(index.seq, seq);
  });

  test('answers are shared and frozen: a caller cannot change what the next caller reads', () => {
    const index = new MasterDataIndex(ENTITIES);
    index.apply([row('cost_center', 'DE01', '4100', '2020-01-01', '9999-12-31')]);
    const first = index.lookup('cost_center', 'DE01', '4100', '2026-05-01');
    assert.ok(Object.isFrozen(first));
    assert.throws(() => {
      (first as { active: boolean }).active = false;
    }, TypeError);
    const again = index.lookup('cost_center', 'DE01', '4100', '2026-05-01');
    assert.ok(again.found && again.active);
    assert.ok(Object.isFrozen(index.lookup('cost_center', 'DE01', '9999', '2026-05-01')));
  });
});
