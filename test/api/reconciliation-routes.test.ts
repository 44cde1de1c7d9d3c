// Proves that the reconciliation, break and reimbursement routes refuse bad input with a 4xx and a registered code, never a 5xx, and store nothing when they refuse (fast-check, fixed seed); that roles are enforced; and that a run with no platform read-back is refused before anything is recorded — on SQLite and PostgreSQL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import fc from 'fast-check';
import { ERRORS } from '../../src/errors.ts';
import { createApiKey } from '../../src/store/api-keys.ts';
import { startApiHarness, type ApiHarness } from '../support/api-harness.ts';
import { storeKinds } from '../support/stores.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_126);
const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const TABLES = ['recon_runs', 'recon_breaks', 'event_log', 'outbox', 'fis_documents'] as const;

async function counts(h: ApiHarness): Promise<Record<string, number>> {
  const { rows } = await sql.raw<Record<string, number | string>>(`SELECT ${TABLES.map((t) => `(SELECT COUNT(*) FROM ${t}) AS ${t}`).join(', ')}`).execute(h.store.db);
  return Object.fromEntries(TABLES.map((t) => [t, Number(rows[0][t])]));
}

const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string(), fc.constantFrom('', '2026-13', '2026-11', '1999-01', '9999-12', 'DE01', 'XX99', null, 0, -1, true));
const body = (keys: readonly string[]) => fc.dictionary(fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 8 })), anyValue, { maxKeys: 5 });

for (const s of await storeKinds()) {
  describe(`reconciliation and reimbursement routes on ${s.kind}`, { skip: s.skip }, () => {
    let h: ApiHarness;
    let operator: string;
    before(async () => {
      h = await startApiHarness(s.kind);
      operator = (await createApiKey(h.store.db, 'ops', Date.now(), ['operator'])).key;
    });
    after(() => h?.close());

    const routes = [
      { url: '/v1/reconciliations', keys: ['entity', 'period', 'heal'] },
      { url: '/v1/reimbursements', keys: ['reportId', 'milestone', 'reference', 'at', 'amount', 'currency', 'partial'] },
      { url: '/v1/reconciliation/breaks/break:1/resolve', keys: ['resolution'] },
    ];
    for (const route of routes) {
      test(`POST ${route.url}: arbitrary bodies get a 4xx with a registered code and store nothing`, async () => {
        await fc.assert(
          fc.asyncProperty(body(route.keys), async (payload) => {
            const before = await counts(h);
            const response = await h.hub.app.inject({ method: 'POST', url: route.url, headers: { 'content-type': 'application/json', authorization: `Bearer ${operator}` }, payload: JSON.stringify(payload) });
            assert.ok(response.statusCode >= 400 && response.statusCode < 500, `${response.statusCode}: ${response.body}`);
            const code = (JSON.parse(response.body) as { code: string }).code;
            assert.ok(code in ERRORS, `unregistered code ${code}`);
            assert.deepEqual(await counts(h), before);
          }),
          { seed: SEED, numRuns: RUNS },
        );
      });
    }

    test('roles, unknown entities and periods, and a side nobody can read are refused with their codes; nothing is recorded', async () => {
      const before = await counts(h);
      const period = new Date().toISOString().slice(0, 7);
      const noRole = await h.post('/v1/reconciliations', { entity: 'DE01', period });
      assert.deepEqual([noRole.status, noRole.body.code], [403, 'RECON_ROLE_REQUIRED']);
      const asOps = (payload: unknown) => h.hub.app.inject({ method: 'POST', url: '/v1/reconciliations', headers: { 'content-type': 'application/json', authorization: `Bearer ${operator}` }, payload: JSON.stringify(payload) });
      assert.equal(JSON.parse((await asOps({ entity: 'XX99', period })).body).code, 'RECON_ENTITY_UNKNOWN');
      assert.equal(JSON.parse((await asOps({ entity: 'DE01', period: '2999-01' })).body).code, 'RECON_PERIOD_INVALID');
      const unreadable = await asOps({ entity: 'DE01', period });
      assert.deepEqual([unreadable.statusCode, JSON.parse(unreadable.body).code], [422, 'RECON_SIDE_UNAVAILABLE']);
      const missing = await h.get('/v1/reconciliations/no-such-run');
      assert.deepEqual([missing.status, missing.body.code], [404, 'RECON_RUN_NOT_FOUND']);
      const resolve = await h.hub.app.inject({ method: 'POST', url: '/v1/reconciliation/breaks/break:999/resolve', headers: { 'content-type': 'application/json', authorization: `Bearer ${operator}` }, payload: JSON.stringify({ resolution: 'fixed' }) });
      assert.deepEqual([resolve.statusCode, JSON.parse(resolve.body).code], [404, 'RECON_BREAK_NOT_FOUND']);
      const unposted = await h.post('/v1/reimbursements', { reportId: 'NOPE-1', milestone: 'paid', reference: 'RUN-1' });
      assert.deepEqual([unposted.status, unposted.body.code], [404, 'REPORT_NOT_FOUND']);
      const badAmount = await h.post('/v1/reimbursements', { reportId: 'NOPE-1', milestone: 'paid', reference: 'RUN-1', amount: '1.234', currency: 'JPY' });
      assert.equal(badAmount.status, 400);
      assert.deepEqual(await counts(h), before);
      assert.deepEqual((await h.get('/v1/reconciliations')).body, { runs: [] });
    });
  });
}
