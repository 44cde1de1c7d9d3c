// Proves that GET /openapi.json answers without an API key with an OpenAPI 3 document that lists POST /v1/events and GET /v1/reports/{id} (key required) next to the public health and metrics routes, and that every operation it lists is actually served.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApiHarness, type ApiHarness } from '../support/api-harness.ts';

// The document describes routes, not data: one store is enough.
describe('GET /openapi.json', () => {
  let h: ApiHarness;
  before(async () => {
    h = await startApiHarness('sqlite');
  });
  after(async () => h?.close());

  test('needs no key and returns an OpenAPI 3 document listing /v1/events and /v1/reports/{id}', async () => {
    const response = await h.get('/openapi.json', { key: false });
    assert.equal(response.status, 200, response.text.slice(0, 300));
    assert.match(String(response.headers['content-type']), /^application\/json/);
    const doc = response.body;
    assert.match(doc.openapi, /^3\.\d+\.\d+$/);
    assert.equal(typeof doc.info?.title, 'string');
    assert.equal(typeof doc.info?.version, 'string');

    const events = doc.paths['/v1/events']?.post;
    assert.ok(events, 'POST /v1/events is listed');
    assert.equal(typeof events.summary, 'string');
    assert.ok(events.requestBody?.content?.['application/json']?.schema, 'the event body schema is documented');
    assert.ok(events.responses?.['202'], 'the 202 answer is documented');
    assert.ok(events.responses?.['4XX'] ?? events.responses?.['4xx'], 'the error answer is documented');

    const report = doc.paths['/v1/reports/{id}']?.get;
    assert.ok(report, 'GET /v1/reports/{id} is listed with OpenAPI path syntax');
    assert.deepEqual(
      report.parameters.map((p: { in: string; name: string; required: boolean }) => [p.in, p.name, p.required]),
      [['path', 'id', true]],
    );
  });

  test('documents bearer-key security for the API, and none for health and metrics', async () => {
    const doc = (await h.get('/openapi.json', { key: false })).body;
    assert.deepEqual(doc.components.securitySchemes.apiKey, { type: 'http', scheme: 'bearer' });
    assert.deepEqual(doc.security, [{ apiKey: [] }]);
    for (const path of ['/healthz', '/metrics']) assert.deepEqual(doc.paths[path]?.get?.security, [], `${path} is public`);
    assert.equal(doc.paths['/v1/events'].post.security, undefined, 'POST /v1/events inherits the key requirement');
    assert.equal(doc.paths['/openapi.json'], undefined, 'the document does not list itself');
  });

  test('every operation the document lists is served (none answers ROUTE_NOT_FOUND)', async () => {
    const doc = (await h.get('/openapi.json', { key: false })).body;
    for (const [path, operations] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(operations)) {
        const url = path.replace(/\{(\w+)\}/g, 'SOME-$1');
        const response = await h.hub.app.inject({ method: method.toUpperCase() as 'GET' | 'POST', url, headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' }, ...(method === 'post' && { payload: '[]' }) });
        const json = String(response.headers['content-type']).startsWith('application/json');
        assert.notEqual(json ? response.json().code : undefined, 'ROUTE_NOT_FOUND', `${method.toUpperCase()} ${path} is served`);
        assert.ok(response.statusCode < 500, `${method.toUpperCase()} ${path}: ${response.statusCode}`);
      }
    }
  });
});
