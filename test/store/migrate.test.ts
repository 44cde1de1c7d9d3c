// Proves on SQLite and PostgreSQL that migrations apply once and create every table, that a database newer than this finsync is refused before anything is changed, that claimPostings keeps each report's postings in order and marks taken-over postings as of unknown outcome, and that an outbox lease hides a message until it expires.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { createHub } from '../../src/compose.ts';
import { loadConfig } from '../../src/config.ts';
import { SAMPLE_COMPANY } from '../../src/demo/sample-company.ts';
import { AppError } from '../../src/errors.ts';
import { sql, type Store } from '../../src/store/db.ts';
import { currentSchemaVersion, KNOWN_SCHEMA_VERSION, migrate, MIGRATIONS } from '../../src/store/migrate.ts';
import { claimMessages, completeMessage, enqueueMessage } from '../../src/store/outbox.ts';
import { claimPostings } from '../../src/store/postings.ts';
import type { PostingState } from '../../src/store/schema.ts';
import { createTestStorage, storeKinds, type TestStorage } from '../support/stores.ts';

const migrationName = (m: { version: number; name: string }) => `${String(m.version).padStart(3, '0')}-${m.name}`;
const ALL_VERSIONS = MIGRATIONS.map((m) => m.version);
const ALL_TABLES = ['api_keys', 'event_log', 'fis_documents', 'inbox', 'maintenance_windows', 'mapping_activations', 'mapping_defects', 'mapping_versions', 'md_blockers', 'md_records', 'md_sources', 'outbox', 'posting_attempts', 'postings', 'recon_breaks', 'recon_runs', 'replay_items', 'replays', 'reports', 'revisions', 'routing_versions', 'schema_migrations'];

async function tableNames(storage: TestStorage, store: Store): Promise<string[]> {
  const tables = await store.db.introspection.getTables();
  return tables
    .filter((t) => (storage.options.kind === 'postgres' ? t.schema === storage.options.schema : !t.name.startsWith('sqlite_')))
    .map((t) => t.name)
    .sort();
}

function isSchemaTooNew(error: unknown): boolean {
  assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
  assert.equal(error.code, 'SCHEMA_TOO_NEW');
  assert.equal(error.params.found, KNOWN_SCHEMA_VERSION + 1);
  assert.equal(error.params.known, KNOWN_SCHEMA_VERSION);
  return true;
}

interface PostingSeed {
  readonly reportId: string;
  readonly revision?: number;
  readonly kind?: 'journal' | 'reversal';
  readonly state: PostingState;
  readonly nextAttemptAt?: number;
  readonly leaseUntil?: number | null;
  readonly attempts?: number;
  readonly target?: string;
}

let keyCounter = 0;

/** Inserts one posting row directly and returns its id. */
async function insertPosting(store: Store, seed: PostingSeed): Promise<number> {
  const revision = seed.revision ?? 1;
  const kind = seed.kind ?? 'journal';
  const row = await store.db
    .insertInto('postings')
    .values({
      report_id: seed.reportId,
      revision,
      target: seed.target ?? 'netsuite',
      kind,
      external_key: `${seed.reportId}-${revision}-${kind}-${keyCounter++}`,
      state: seed.state,
      journal: '{}',
      erp_refs: '{}',
      correlation_id: `corr-${seed.reportId}`,
      attempts: seed.attempts ?? 0,
      next_attempt_at: seed.nextAttemptAt ?? 0,
      lease_until: seed.leaseUntil ?? null,
      unknown_outcome: 0,
      document_id: null,
      reason_code: null,
      reason_detail: null,
      approved_at: 0,
      created_at: 0,
      updated_at: 0,
      posted_at: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

async function setPostingState(store: Store, id: number, state: PostingState): Promise<void> {
  await store.db.updateTable('postings').set({ state, lease_until: null }).where('id', '=', id).execute();
}

const kinds = await storeKinds();

for (const { kind, skip } of kinds) {
  describe(`migrations on ${kind}`, { skip }, () => {
    test('a fresh store gets 001 applied, and a second migrate applies nothing', async () => {
      const storage = createTestStorage(kind);
      const store = await storage.open();
      try {
        assert.equal(await currentSchemaVersion(store), 0);
        const first = await migrate(store, () => 1_000);
        assert.equal(first.applied[0], '001-initial');
        assert.deepEqual(first, { from: 0, to: KNOWN_SCHEMA_VERSION, applied: MIGRATIONS.map(migrationName) });
        assert.equal(await currentSchemaVersion(store), KNOWN_SCHEMA_VERSION);
        const second = await migrate(store, () => 2_000);
        assert.deepEqual(second, { from: KNOWN_SCHEMA_VERSION, to: KNOWN_SCHEMA_VERSION, applied: [] });
        const rows = await store.db.selectFrom('schema_migrations').selectAll().orderBy('version').execute();
        assert.deepEqual(rows.map((r) => [Number(r.version), r.name, Number(r.applied_at)]), MIGRATIONS.map((m) => [m.version, m.name, 1_000]));
        assert.deepEqual(ALL_VERSIONS, ALL_VERSIONS.map((_, i) => i + 1), 'versions are numbered 1, 2, 3 ... without gaps');
        assert.deepEqual(await tableNames(storage, store), ALL_TABLES);
      } finally {
        await store.close();
        await storage.cleanup();
      }
    });

    test('processes migrating one database at once: exactly one applies each migration, none fails', async () => {
      const storage = createTestStorage(kind);
      const stores = [await storage.open(), ...(kind === 'postgres' ? [await storage.open(), await storage.open()] : [])];
      try {
        const reports = await Promise.all(stores.map((s) => migrate(s, () => 1_000)));
        assert.deepEqual(reports.flatMap((r) => r.applied).sort(), MIGRATIONS.map(migrationName).sort());
        assert.equal(await currentSchemaVersion(stores[0]), KNOWN_SCHEMA_VERSION);
      } finally {
        for (const s of stores) await s.close();
        await storage.cleanup();
      }
    });

    test('a migrated store reopened is not migrated again', async () => {
      const storage = createTestStorage(kind);
      try {
        const first = await storage.open();
        await migrate(first);
        await first.close();
        const second = await storage.open();
        try {
          assert.deepEqual((await migrate(second)).applied, []);
        } finally {
          await second.close();
        }
      } finally {
        await storage.cleanup();
      }
    });

    test('a store at an older version gets only the later migrations', { skip: MIGRATIONS.length < 2 && 'only one migration so far' }, async () => {
      for (let at = 1; at < MIGRATIONS.length; at++) {
        const storage = createTestStorage(kind);
        const store = await storage.open();
        try {
          // Bring the store to version `at` as an older finsync would have left it.
          await currentSchemaVersion(store);
          for (const m of MIGRATIONS.slice(0, at)) {
            for (const statement of m.statements(store.caps)) await sql.raw(statement).execute(store.db);
            await store.db.insertInto('schema_migrations').values({ version: m.version, name: m.name, applied_at: 1 }).execute();
          }
          const report = await migrate(store);
          assert.deepEqual(report, { from: at, to: KNOWN_SCHEMA_VERSION, applied: MIGRATIONS.slice(at).map(migrationName) });
          assert.equal(await currentSchemaVersion(store), KNOWN_SCHEMA_VERSION);
        } finally {
          await store.close();
          await storage.cleanup();
        }
      }
    });

    test('a fresh store holding a newer schema version is refused with SCHEMA_TOO_NEW and nothing is applied', async () => {
      const storage = createTestStorage(kind);
      const store = await storage.open();
      try {
        await currentSchemaVersion(store); // creates schema_migrations
        await store.db.insertInto('schema_migrations').values({ version: KNOWN_SCHEMA_VERSION + 1, name: 'from-the-future', applied_at: 1 }).execute();
        await assert.rejects(migrate(store), isSchemaTooNew);
        assert.deepEqual(await tableNames(storage, store), ['schema_migrations'], 'no migration ran');
        const rows = await store.db.selectFrom('schema_migrations').select('version').execute();
        assert.deepEqual(rows.map((r) => Number(r.version)), [KNOWN_SCHEMA_VERSION + 1]);
      } finally {
        await store.close();
        await storage.cleanup();
      }
    });

    test('a migrated store later moved to a newer version is refused, by migrate and by createHub, and left as it was', async () => {
      const storage = createTestStorage(kind);
      const store = await storage.open();
      try {
        await migrate(store);
        await store.db.insertInto('schema_migrations').values({ version: KNOWN_SCHEMA_VERSION + 1, name: 'from-the-future', applied_at: 1 }).execute();
        await assert.rejects(migrate(store), isSchemaTooNew);
        // The path every process takes at start (serve, demo, tests) refuses too, before building anything.
        await assert.rejects(
          createHub({ config: loadConfig({}), company: SAMPLE_COMPANY, connectors: [], store, logger: pino({ level: 'silent' }) }),
          isSchemaTooNew,
        );
        const rows = await store.db.selectFrom('schema_migrations').select('version').orderBy('version').execute();
        assert.deepEqual(rows.map((r) => Number(r.version)), [...ALL_VERSIONS, KNOWN_SCHEMA_VERSION + 1]);
        assert.deepEqual(await tableNames(storage, store), ALL_TABLES);
      } finally {
        await store.close();
        await storage.cleanup();
      }
    });
  });

  describe(`claims on ${kind}`, { skip }, () => {
    let storage: TestStorage;
    let store: Store;
    before(async () => {
      storage = createTestStorage(kind);
      store = await storage.open();
      await migrate(store);
    });
    after(async () => {
      await store?.close();
      await storage?.cleanup();
    });

    test('claimPostings never returns a later posting of a report while an earlier one is queued or in flight', async () => {
      const target = 'order-target';
      const now = 1_000_000;
      const lease = 60_000;
      // Report A: two due postings. Only the first may be claimed.
      const a1 = await insertPosting(store, { reportId: 'A', revision: 1, state: 'queued', target });
      const a2 = await insertPosting(store, { reportId: 'A', revision: 1, kind: 'reversal', state: 'queued', target });
      // Report B: the earlier posting is queued but not yet due; the later one is due and must still wait.
      const b1 = await insertPosting(store, { reportId: 'B', state: 'queued', nextAttemptAt: now + 10_000, target });
      const b2 = await insertPosting(store, { reportId: 'B', revision: 2, state: 'queued', target });
      // Report C: the earlier posting is in flight under a live lease; the later one must wait.
      const c1 = await insertPosting(store, { reportId: 'C', state: 'posting', leaseUntil: now + 100_000, attempts: 1, target });
      const c2 = await insertPosting(store, { reportId: 'C', revision: 2, state: 'queued', target });
      // Report D: the earlier posting ended (quarantined); the later one is free to go.
      await insertPosting(store, { reportId: 'D', state: 'quarantined', target });
      const d2 = await insertPosting(store, { reportId: 'D', revision: 2, state: 'queued', target });

      const first = await claimPostings(store, target, now, 100, lease);
      assert.deepEqual(first.map((p) => p.id), [a1, d2]);
      for (const p of first) {
        assert.equal(p.state, 'posting');
        assert.equal(Number(p.lease_until), now + lease);
        assert.equal(Number(p.attempts), 1);
        assert.equal(Number(p.unknown_outcome), 0, 'a queued posting claimed for the first time has a known outcome');
      }
      assert.deepEqual(await claimPostings(store, target, now + 1, 100, lease), [], 'A1 is in flight, so A2 waits; B and C are blocked');

      await setPostingState(store, a1, 'posted');
      assert.deepEqual((await claimPostings(store, target, now + 2, 100, lease)).map((p) => p.id), [a2]);

      // B1 becomes due: it goes first, B2 still waits until B1 ends.
      assert.deepEqual((await claimPostings(store, target, now + 10_000, 100, lease)).map((p) => p.id), [b1]);
      assert.deepEqual(await claimPostings(store, target, now + 10_001, 100, lease), []);
      await setPostingState(store, b1, 'superseded');
      assert.deepEqual((await claimPostings(store, target, now + 10_002, 100, lease)).map((p) => p.id), [b2]);

      await setPostingState(store, c1, 'posted');
      assert.deepEqual((await claimPostings(store, target, now + 10_003, 100, lease)).map((p) => p.id), [c2]);
    });

    test('an open posting on one target never holds back the same report on another target', async () => {
      const now = 2_000_000;
      await insertPosting(store, { reportId: 'X', state: 'posting', leaseUntil: now + 100_000, attempts: 1, target: 'down-target' });
      const other = await insertPosting(store, { reportId: 'X', revision: 2, state: 'queued', target: 'up-target' });
      assert.deepEqual((await claimPostings(store, 'up-target', now, 10, 1_000)).map((p) => p.id), [other]);
    });

    test('claimPostings claims due postings oldest first, up to the limit, for its own target only', async () => {
      const target = 'limit-target';
      const ids = [];
      for (const report of ['L1', 'L2', 'L3']) ids.push(await insertPosting(store, { reportId: report, state: 'queued', target }));
      await insertPosting(store, { reportId: 'L4', state: 'queued', target: 'other-target' });
      assert.deepEqual(await claimPostings(store, target, 100, 0, 1_000), []);
      assert.deepEqual((await claimPostings(store, target, 100, 2, 1_000)).map((p) => p.id), ids.slice(0, 2));
      assert.deepEqual((await claimPostings(store, target, 100, 2, 1_000)).map((p) => p.id), ids.slice(2));
      assert.deepEqual(await claimPostings(store, target, 100, 2, 1_000), []);
    });

    test('claimPostings takes over a posting whose lease expired and marks its outcome unknown', async () => {
      const target = 'lease-target';
      const now = 5_000_000;
      const expired = await insertPosting(store, { reportId: 'E', state: 'posting', leaseUntil: now - 1, attempts: 3, target });
      const live = await insertPosting(store, { reportId: 'F', state: 'posting', leaseUntil: now + 1_000, attempts: 1, target });

      const claimed = await claimPostings(store, target, now, 100, 30_000);
      assert.deepEqual(claimed.map((p) => p.id), [expired]);
      const [row] = claimed;
      assert.equal(row.state, 'posting');
      assert.equal(Number(row.unknown_outcome), 1);
      assert.equal(Number(row.attempts), 4);
      assert.equal(Number(row.lease_until), now + 30_000);
      const stored = await store.db.selectFrom('postings').select(['unknown_outcome', 'lease_until']).where('id', '=', expired).executeTakeFirstOrThrow();
      assert.deepEqual({ unknown_outcome: Number(stored.unknown_outcome), lease_until: Number(stored.lease_until) }, { unknown_outcome: 1, lease_until: now + 30_000 });

      // The live lease is not taken over until it expires; then it is, with an unknown outcome too.
      assert.deepEqual(await claimPostings(store, target, now + 999, 100, 30_000), []);
      const takenOver = await claimPostings(store, target, now + 1_001, 100, 30_000);
      assert.deepEqual(takenOver.map((p) => [p.id, Number(p.unknown_outcome)]), [[live, 1]]);
    });

    test('an outbox claim leases a message: a second claim before expiry does not get it, one after does', async () => {
      const t0 = 10_000_000;
      const lease = 1_000;
      const topic = 'test.lease';
      await enqueueMessage(store.db, t0, topic, 'key-1', { n: 1 });
      await enqueueMessage(store.db, t0, 'test.other-topic', 'key-2', { n: 2 });

      const first = await claimMessages(store, t0, [topic], 10, lease);
      assert.equal(first.length, 1);
      assert.deepEqual({ topic: first[0].topic, key: first[0].key, payload: first[0].payload, attempts: first[0].attempts }, { topic, key: 'key-1', payload: { n: 1 }, attempts: 1 });

      assert.deepEqual(await claimMessages(store, t0, [topic], 10, lease), [], 'claimed again at once');
      assert.deepEqual(await claimMessages(store, t0 + lease - 1, [topic], 10, lease), [], 'claimed again just before the lease ends');

      const again = await claimMessages(store, t0 + lease + 1, [topic], 10, lease);
      assert.deepEqual(again.map((m) => [m.id, m.attempts]), [[first[0].id, 2]], 'redelivered once the lease expired');

      // A completed message is never delivered again, lease or not.
      await completeMessage(store.db, first[0].id, t0 + lease + 2);
      assert.deepEqual(await claimMessages(store, t0 + 10 * lease, [topic], 10, lease), []);
    });

    test('an outbox message enqueued with a delay is not claimed before it is due', async () => {
      const t0 = 20_000_000;
      const topic = 'test.delay';
      await enqueueMessage(store.db, t0, topic, 'later', { later: true }, 500);
      assert.deepEqual(await claimMessages(store, t0 + 499, [topic], 10, 1_000), []);
      assert.deepEqual((await claimMessages(store, t0 + 500, [topic], 10, 1_000)).map((m) => m.key), ['later']);
    });
  });
}
