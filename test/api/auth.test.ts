// Proves that API-key authentication caches verified keys by the header value that presented them, for 30 s at most (a revoked key stops working once its cached verification expires, and never before it was verified), in bounded memory (at most the configured number of keys, the oldest verification dropped first), that unknown keys are never cached, and that routes see the key holder's name and roles.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerAuth, VerifiedKeys } from '../../src/api/auth.ts';
import { AppError } from '../../src/errors.ts';
import { createApiKey, type Principal } from '../../src/store/api-keys.ts';
import type { Store } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { createTestStorage, type TestStorage } from '../support/stores.ts';

const someone: Principal = { keyId: 'id-1', name: 'someone', roles: ['controller:DE01'] };

describe('VerifiedKeys', () => {
  test('holds a key until its TTL has passed, and no longer', () => {
    const keys = new VerifiedKeys(30_000, 10);
    assert.equal(keys.get('k', 1_000) !== undefined, false);
    keys.add('k', someone, 1_000);
    assert.equal(keys.get('k', 1_000), someone);
    assert.equal(keys.get('k', 30_999) !== undefined, true);
    assert.equal(keys.get('k', 31_000) !== undefined, false);
    // An expired entry is dropped when it is seen.
    assert.equal(keys.size, 0);
  });

  test('holds at most entriesMax keys, dropping the oldest verification first', () => {
    const keys = new VerifiedKeys(30_000, 3);
    for (const [i, key] of ['a', 'b', 'c'].entries()) keys.add(key, someone, i);
    // Verifying `a` again makes it the newest.
    keys.add('a', someone, 10);
    keys.add('d', someone, 11);
    assert.equal(keys.size, 3);
    assert.deepEqual(['a', 'b', 'c', 'd'].map((k) => keys.get(k, 12) !== undefined), [true, false, true, true]);
    for (let i = 0; i < 100; i++) keys.add(`x${i}`, someone, 20 + i);
    assert.equal(keys.size, 3);
    assert.deepEqual(['x97', 'x98', 'x99'].map((k) => keys.get(k, 200) !== undefined), [true, true, true]);
  });
});

describe('registerAuth', () => {
  let storage: TestStorage;
  let store: Store;
  let app: FastifyInstance;
  let now = 1_000_000;

  before(async () => {
    storage = createTestStorage('sqlite');
    store = await storage.open();
    await migrate(store);
    app = Fastify();
    app.setErrorHandler((error, _request, reply) => {
      const status = error instanceof AppError ? error.status : 500;
      void reply.status(status).send({ code: error instanceof AppError ? error.code : 'INTERNAL' });
    });
    registerAuth(app, { store, clock: { now: () => now } });
    app.get('/private', async () => ({ ok: true }));
    app.get('/public', { config: { public: true } }, async () => ({ ok: true }));
    app.get('/whoami', async (request) => ({ name: request.principal?.name, roles: request.principal?.roles }));
    await app.ready();
  });

  after(async () => {
    await app.close();
    await store.close();
    await storage.cleanup();
  });

  const call = async (url: string, headers: Record<string, string> = {}) => {
    const response = await app.inject({ method: 'GET', url, headers });
    return { status: response.statusCode, code: (JSON.parse(response.body) as { code?: string }).code };
  };

  test('a revoked key keeps working for at most 30 s after its last verification', async () => {
    const { id, key } = await createApiKey(store.db, 'revoked-later', now);
    assert.equal((await call('/private', { authorization: `Bearer ${key}` })).status, 200);
    assert.equal((await call('/private', { 'x-api-key': key })).status, 200);
    await store.db.updateTable('api_keys').set({ revoked_at: now }).where('id', '=', id).execute();
    // Verifications are held by the header value as sent: a form not seen before is checked now.
    assert.deepEqual(await call('/private', { authorization: `bearer ${key}` }), { status: 401, code: 'AUTH_INVALID' });
    now += 29_999;
    // Still within the TTL of the verifications.
    assert.equal((await call('/private', { authorization: `Bearer ${key}` })).status, 200);
    assert.equal((await call('/private', { 'x-api-key': key })).status, 200);
    now += 1;
    assert.deepEqual(await call('/private', { authorization: `Bearer ${key}` }), { status: 401, code: 'AUTH_INVALID' });
    assert.deepEqual(await call('/private', { 'x-api-key': key }), { status: 401, code: 'AUTH_INVALID' });
  });

  test('a key revoked before it is first used never works', async () => {
    const { id, key } = await createApiKey(store.db, 'revoked-first', now);
    await store.db.updateTable('api_keys').set({ revoked_at: now }).where('id', '=', id).execute();
    assert.deepEqual(await call('/private', { authorization: `Bearer ${key}` }), { status: 401, code: 'AUTH_INVALID' });
  });

  test('the key is read from Bearer in any case and spacing, or from X-API-Key; a missing key is AUTH_MISSING', async () => {
    const { key } = await createApiKey(store.db, 'forms', now);
    const forms: Record<string, string>[] = [{ authorization: `Bearer ${key}` }, { authorization: `bearer   ${key}` }, { authorization: key }, { 'x-api-key': key }];
    for (const headers of forms) {
      assert.equal((await call('/private', headers)).status, 200, JSON.stringify(Object.keys(headers)));
    }
    assert.deepEqual(await call('/private', { authorization: `Bearer ${key}x` }), { status: 401, code: 'AUTH_INVALID' });
    assert.deepEqual(await call('/private'), { status: 401, code: 'AUTH_MISSING' });
    assert.equal((await call('/public')).status, 200);
  });

  test('a route sees who holds the key and their roles, whether the key was verified now or cached', async () => {
    const { key } = await createApiKey(store.db, 'carla', now, ['controller:DE01', 'auditor']);
    for (let i = 0; i < 2; i++) {
      const response = await app.inject({ method: 'GET', url: '/whoami', headers: { authorization: `Bearer ${key}` } });
      assert.deepEqual(JSON.parse(response.body), { name: 'carla', roles: ['controller:DE01', 'auditor'] });
    }
  });
});
