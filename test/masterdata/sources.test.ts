// Proves master-data sources on both stores: a feed-file source applies its file atomically, skips an unchanged file, and refuses a file with a bad row whole (nothing applied, the cursor kept, the failure recorded); the NetSuite source pulls through SuiteQL incrementally, so a record added in the ERP reaches validation on the next run; one run at a time per source (MD_SYNC_RUNNING); a cron schedule runs the source by itself; and a sources file with mistakes is refused with the field named.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { AppError } from '../../src/errors.ts';
import { SAMPLE_COMPANY } from '../../src/demo/sample-company.ts';
import { createMasterDataHub, type MasterDataHub } from '../../src/masterdata/hub.ts';
import { checkSourcesDocument, readSourceStatus, runSync, startSchedules, type SyncContext } from '../../src/masterdata/sources.ts';
import { systemClock } from '../../src/pipeline/clock.ts';
import type { Store } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { startHarness, type Harness } from '../support/hub-harness.ts';
import { createTestStorage, storeKinds, type TestStorage } from '../support/stores.ts';

const ENTITIES = SAMPLE_COMPANY.entities.map((e) => e.code);
const HEADER = 'entity,key,valid_from,valid_to,active,name,erpId';

for (const store of await storeKinds()) {
  describe(`feed-file sources on ${store.kind}`, { skip: store.skip }, () => {
    let storage: TestStorage;
    let db: Store;
    let hub: MasterDataHub;
    let dir: string;
    let ctx: SyncContext;
    before(async () => {
      storage = createTestStorage(store.kind);
      db = await storage.open();
      await migrate(db);
      hub = await createMasterDataHub({ store: db, clock: systemClock, entities: SAMPLE_COMPANY.entities, pollIntervalMs: 50 });
      dir = mkdtempSync(join(tmpdir(), 'finsync-sources-'));
      ctx = {
        store: db,
        hub,
        clock: systemClock,
        logger: pino({ level: 'silent' }),
        sources: checkSourcesDocument({ sources: [{ name: 'hr', type: 'file', system: 'hr', kind: 'employee', path: join(dir, 'hr.csv') }] }, 'test', ENTITIES),
      };
    });
    after(async () => {
      await db?.close();
      await storage?.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    test('a feed file is applied whole, and the same file again is skipped', async () => {
      writeFileSync(join(dir, 'hr.csv'), `${HEADER}\nDE01,DE01-E0001,2020-01-01,,,Ada,\nDE01,DE01-E0777,2026-01-01,,,New Hire,\n`);
      const first = await runSync(ctx, 'hr');
      assert.deepEqual([first.skipped, first.received, first.changed, first.system], [false, 2, 2, 'hr']);
      const again = await runSync(ctx, 'hr');
      assert.equal(again.skipped, true);
      const [status] = await readSourceStatus(ctx);
      assert.deepEqual([status.lastStatus, status.running, status.recordsSeen], ['unchanged', false, 0]);
    });

    test('a file with one bad row is refused whole: nothing applied, the cursor kept, the failure recorded with line and column', async () => {
      const before = await db.db.selectFrom('md_records').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      const [{ cursor }] = await readSourceStatus(ctx);
      writeFileSync(join(dir, 'hr.csv'), `${HEADER}\nDE01,DE01-E0778,2026-01-01,,,Good Row,\nDE01,DE01-E0779,2026-05-01,2026-04-30,,Dates Backwards,\n`);
      await assert.rejects(runSync(ctx, 'hr'), (error: AppError) => {
        assert.equal(error.code, 'MD_IMPORT_INVALID');
        const problems = error.details as { line?: number; field?: string }[];
        assert.equal(problems[0].line, 3);
        assert.equal(problems[0].field, 'valid_to');
        return true;
      });
      const afterCount = await db.db.selectFrom('md_records').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      assert.equal(Number(afterCount.n), Number(before.n));
      const [status] = await readSourceStatus(ctx);
      assert.equal(status.lastStatus, 'failed');
      assert.match(status.lastError ?? '', /MD_IMPORT_INVALID/);
      assert.equal(status.cursor, cursor, 'the cursor did not move');
    });

    test('one run at a time: a source whose lease is held answers MD_SYNC_RUNNING', async () => {
      await db.db.updateTable('md_sources').set({ lease_until: Date.now() + 60_000 }).where('name', '=', 'hr').execute();
      await assert.rejects(runSync(ctx, 'hr'), (error: AppError) => error.code === 'MD_SYNC_RUNNING');
      await db.db.updateTable('md_sources').set({ lease_until: null }).where('name', '=', 'hr').execute();
    });

    test('an unknown source is MD_SOURCE_UNKNOWN naming the configured ones', async () => {
      await assert.rejects(runSync(ctx, 'payroll'), (error: AppError) => error.code === 'MD_SOURCE_UNKNOWN' && error.message.includes('hr'));
    });

    test('a cron schedule runs the source by itself', async () => {
      writeFileSync(join(dir, 'hr.csv'), `${HEADER}\nDE01,DE01-E0790,2026-01-01,,,Scheduled,\n`);
      const scheduled: SyncContext = { ...ctx, sources: checkSourcesDocument({ sources: [{ name: 'hr', type: 'file', system: 'hr', kind: 'employee', path: join(dir, 'hr.csv'), schedule: '* * * * * *' }] }, 'test', ENTITIES) };
      const schedules = startSchedules(scheduled);
      try {
        const deadline = Date.now() + 10_000;
        while ((await db.db.selectFrom('md_records').select('seq').where('key', '=', 'DE01-E0790').execute()).length === 0) {
          assert.ok(Date.now() < deadline, 'the scheduled run did not happen');
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      } finally {
        schedules.stop();
      }
    });
  });

  describe(`the NetSuite source on ${store.kind}`, { skip: store.skip }, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness(store.kind);
    });
    after(async () => h?.close());

    test('the hub starts with the ERP’s records, and a record added in NetSuite reaches validation on the next, incremental run', async () => {
      assert.ok(h.hub.masterData.index.lookup('employee', 'DE01', 'DE01-E0001', '2026-05-01').found);
      assert.equal(h.hub.masterData.index.lookup('cost_center', 'DE01', 'DE4188', '2026-05-01').found, false);
      h.simulator.upsertMasterRecord('department', { name: 'Late department', externalid: 'DE4188', subsidiary: ['2'] });
      const result = await h.syncMasterData();
      assert.equal(result.skipped, false);
      // Rows of the cursor's own second come back too (the sample data was all stamped in one second); they change nothing.
      assert.equal(result.changed, 1);
      const found = h.hub.masterData.index.lookup('cost_center', 'DE01', 'DE4188', '2026-05-01');
      assert.ok(found.found && found.active);
    });
  });
}

describe('the sources file', () => {
  const refused = (doc: unknown, fragment: string) =>
    assert.throws(() => checkSourcesDocument(doc, 'sources.json', ENTITIES), (error: AppError) => error.code === 'MD_SOURCES_INVALID' && error.message.includes(fragment));

  test('names the field of each mistake', () => {
    refused({ sources: [{ name: 'hr', type: 'file', system: 'hr' }] }, 'path');
    refused({ sources: [{ name: 'hr', type: 'file', system: 'hr', path: 'a.csv', schedule: 'every day please' }] }, '/sources/0/schedule');
    refused({ sources: [{ name: 'ns', type: 'netsuite', subsidiaries: { '9': 'FR01' } }] }, 'FR01');
    refused({ sources: [{ name: 'hr', type: 'file', system: 'hr', path: 'a.csv' }, { name: 'hr', type: 'file', system: 'hr', path: 'b.csv' }] }, 'used twice');
    refused({ sources: [{ name: 'HR files', type: 'file', system: 'hr', path: 'a.csv' }] }, '/sources/0');
  });
});
