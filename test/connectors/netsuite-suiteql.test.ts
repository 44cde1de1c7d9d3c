// Proves the simulator's SuiteQL endpoint answers like NetSuite (paging envelope, string values, error envelope, auth, maintenance, result cap), that its parser refuses what it cannot read, that its master data changes at runtime and drives journal checks, and that the SuiteQL client pages to the end and turns every failure or malformed answer into a classified SuiteQlError.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNetSuiteConnector } from '../../src/connectors/netsuite/client.ts';
import { startNetSuiteSimulator, type MasterData, type NetSuiteSimulatorOptions } from '../../src/connectors/netsuite/simulator.ts';
import { parseSuiteQl, SuiteQlSyntaxError } from '../../src/connectors/netsuite/simulator-suiteql-parser.ts';
import { createSuiteQlClient, SuiteQlError, type SuiteQlPage } from '../../src/connectors/netsuite/suiteql.ts';

const TOKEN = 'suiteql-token';
const START_MS = Date.parse('2026-05-01T10:00:00Z');
const SUITEQL = '/services/rest/query/v1/suiteql';

function employees(count: number): MasterData['employee'] {
  return Array.from({ length: count }, (_, i) => ({
    id: String(i + 1),
    entityid: `E${i + 1}`,
    subsidiary: '1',
    department: '7',
    ...(i % 2 === 0 && { email: `e${i + 1}@example.com` }),
    isinactive: i === 3,
    hiredate: '2024-01-15',
  }));
}

async function startSimulator(overrides: Partial<NetSuiteSimulatorOptions> = {}, clock = { nowMs: START_MS }) {
  return startNetSuiteSimulator({
    port: 0,
    token: TOKEN,
    seed: 3,
    now: () => clock.nowMs,
    masterData: { subsidiary: [{ id: '1', name: 'Demo GmbH', currency: '1' }], department: [{ id: '7', name: 'Sales', externalid: 'CC7', subsidiary: ['1'] }], employee: employees(1050) },
    ...overrides,
  });
}

async function post(url: string, q: string, params = '', headers: Record<string, string> = {}) {
  const response = await fetch(`${url}${SUITEQL}${params}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN}`, Prefer: 'transient', 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ q }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
}

async function collect(pages: AsyncGenerator<SuiteQlPage>): Promise<SuiteQlPage[]> {
  const out: SuiteQlPage[] = [];
  for await (const page of pages) out.push(page);
  return out;
}

async function expectSuiteQlError(promise: Promise<unknown>): Promise<SuiteQlError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof SuiteQlError, String(error));
    return error;
  }
  assert.fail('expected a SuiteQlError');
}

describe('SuiteQL against the simulator', () => {
  test('the client pages through more than 1000 rows in id order, 100 at a time', async () => {
    const sim = await startSimulator();
    try {
      const client = createSuiteQlClient({ baseUrl: sim.url, token: TOKEN, requestTimeoutMs: 5000 });
      const pages = await collect(client.query('SELECT id, entityid FROM employee ORDER BY id', 100));
      assert.equal(pages.length, 11);
      assert.deepEqual(pages.map((p) => p.offset), [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
      assert.ok(pages.every((p) => p.totalResults === 1050));
      const ids = pages.flatMap((p) => p.items.map((item) => item.id));
      assert.deepEqual(ids, Array.from({ length: 1050 }, (_, i) => String(i + 1)));
      assert.deepEqual(pages[0].items[0], { id: '1', entityid: 'E1' }, 'links are stripped, values are strings');
      assert.equal(sim.stats().requests, 11);
    } finally {
      await sim.close();
    }
  });

  test('the envelope carries count, hasMore, offset, totalResults and previous/next/self links', async () => {
    const sim = await startSimulator();
    try {
      const middle = await post(sim.url, 'SELECT id, email, isinactive, hiredate FROM employee ORDER BY id', '?limit=100&offset=100');
      assert.equal(middle.status, 200);
      assert.deepEqual(Object.keys(middle.body), ['links', 'count', 'hasMore', 'items', 'offset', 'totalResults']);
      assert.equal(middle.body.count, 100);
      assert.equal(middle.body.hasMore, true);
      assert.equal(middle.body.offset, 100);
      assert.equal(middle.body.totalResults, 1050);
      const rels = Object.fromEntries(middle.body.links.map((l: { rel: string; href: string }) => [l.rel, l.href]));
      assert.equal(rels.self, `${sim.url}${SUITEQL}?limit=100&offset=100`);
      assert.equal(rels.next, `${sim.url}${SUITEQL}?limit=100&offset=200`);
      assert.equal(rels.previous, `${sim.url}${SUITEQL}?limit=100&offset=0`);
      // Row 101 has an email; row 102 has none, so the key is absent. Booleans are T/F, dates M/D/YYYY without TO_CHAR.
      assert.deepEqual(middle.body.items[0], { links: [], id: '101', email: 'e101@example.com', isinactive: 'F', hiredate: '1/15/2024' });
      assert.deepEqual(middle.body.items[1], { links: [], id: '102', isinactive: 'F', hiredate: '1/15/2024' });

      const last = await post(sim.url, 'SELECT id FROM employee ORDER BY id', '?limit=100&offset=1000');
      assert.equal(last.body.count, 50);
      assert.equal(last.body.hasMore, false);
      assert.ok(!last.body.links.some((l: { rel: string }) => l.rel === 'next'));

      const whole = await post(sim.url, 'SELECT id FROM employee ORDER BY id');
      assert.equal(whole.body.count, 1000, 'the default page is 1000 rows');
    } finally {
      await sim.close();
    }
  });

  test('WHERE on lastmodifieddate, TO_CHAR and ORDER BY DESC work on rows changed at runtime', async () => {
    const clock = { nowMs: START_MS };
    const sim = await startSimulator({}, clock);
    try {
      clock.nowMs += 90_500;
      const newId = sim.upsertMasterRecord('employee', { entityid: 'E-NEW', subsidiary: '1', releasedate: '2026-12-31' });
      sim.setInactive('department', '7');
      assert.equal(newId, '1051');
      const q = (table: string) =>
        `select id, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') as changed, TO_CHAR(releasedate, 'YYYY-MM-DD') AS released from ${table} ` +
        `where lastmodifieddate > TO_TIMESTAMP('2026-05-01 10:00:00', 'YYYY-MM-DD HH24:MI:SS') order by id desc`;
      const changed = await post(sim.url, q('employee'));
      assert.deepEqual(changed.body.items, [{ links: [], id: '1051', changed: '2026-05-01 10:01:30', released: '2026-12-31' }]);
      const department = await post(sim.url, "SELECT id, isinactive FROM department WHERE lastmodifieddate >= TO_DATE('2026-05-01', 'YYYY-MM-DD') ORDER BY id");
      assert.deepEqual(department.body.items, [{ links: [], id: '7', isinactive: 'T' }]);
      const byText = await post(sim.url, "SELECT id FROM employee WHERE entityid = 'E-NEW' AND isinactive = 'F'");
      assert.deepEqual(byText.body.items.map((i: { id: string }) => i.id), ['1051']);
    } finally {
      await sim.close();
    }
  });

  test('a query the simulator cannot run is a 400 in the o:errorDetails envelope', async () => {
    const sim = await startSimulator();
    try {
      const cases: [string, RegExp][] = [
        ['SELECT id FROM employe ORDER BY id', /Invalid search type: employe\./],
        ['SELECT id, salary FROM employee ORDER BY id', /Unknown identifier 'salary'/],
        ['SELECT id FROM employee GROUP BY id', /Invalid or unsupported search/],
        ["SELECT id FROM account WHERE subsidiary = '1'", /multi-select/],
        ["SELECT TO_CHAR(entityid, 'YYYY-MM-DD') AS x FROM employee", /not a date/],
        ["SELECT id FROM employee WHERE hiredate > '2024-01-01'", /cannot be compared/],
      ];
      for (const [q, detail] of cases) {
        const answer = await post(sim.url, q);
        assert.equal(answer.status, 400, q);
        assert.equal(answer.body.title, 'Bad Request');
        assert.equal(answer.body.status, 400);
        const [first] = answer.body['o:errorDetails'];
        assert.equal(first['o:errorCode'], 'INVALID_PARAMETER');
        assert.equal(first['o:errorQueryParam'], 'q');
        assert.match(first.detail, /^Invalid search query\. Detailed unprocessed description follows\./);
        assert.match(first.detail, detail, q);
      }
      const tooBig = await post(sim.url, 'SELECT id FROM employee', '?limit=1001');
      assert.equal(tooBig.status, 400);
      assert.equal(tooBig.body['o:errorDetails'][0]['o:errorQueryParam'], 'limit');
      const noPrefer = await post(sim.url, 'SELECT id FROM employee', '', { Prefer: 'respond-async' });
      assert.equal(noPrefer.status, 400);

      const client = createSuiteQlClient({ baseUrl: sim.url, token: TOKEN, requestTimeoutMs: 5000 });
      const error = await expectSuiteQlError(collect(client.query('SELECT id, salary FROM employee ORDER BY id', 100)));
      assert.equal(error.kind, 'invalid');
      assert.equal(error.httpStatus, 400);
      assert.equal(error.vendorCode, 'INVALID_PARAMETER');
      assert.match(error.message, /query on employee .*Unknown identifier 'salary'.*fix the query/);
    } finally {
      await sim.close();
    }
  });

  test('a wrong token gets 401 INVALID_LOGIN, classified as auth', async () => {
    const sim = await startSimulator();
    try {
      const client = createSuiteQlClient({ baseUrl: sim.url, token: 'wrong', requestTimeoutMs: 5000, attempts: 1 });
      const error = await expectSuiteQlError(collect(client.query('SELECT id FROM employee ORDER BY id')));
      assert.equal(error.kind, 'auth');
      assert.equal(error.httpStatus, 401);
      assert.equal(error.vendorCode, 'INVALID_LOGIN');
    } finally {
      await sim.close();
    }
  });

  test('inside a maintenance window SuiteQL gets 503 with Retry-After, classified as unavailable', async () => {
    const clock = { nowMs: START_MS };
    const sim = await startSimulator({ faults: { maintenanceWindows: [{ fromMs: START_MS - 1000, toMs: START_MS + 60_000 }] } }, clock);
    try {
      const client = createSuiteQlClient({ baseUrl: sim.url, token: TOKEN, requestTimeoutMs: 5000 });
      const error = await expectSuiteQlError(collect(client.query('SELECT id FROM employee ORDER BY id')));
      assert.equal(error.kind, 'unavailable');
      assert.equal(error.httpStatus, 503);
      assert.equal(error.retryAfterMs, 60_000);
      clock.nowMs = START_MS + 60_000;
      const pages = await collect(client.query('SELECT id FROM employee ORDER BY id'));
      assert.equal(pages.length, 2);
    } finally {
      await sim.close();
    }
  });

  test('past the per-query result cap the simulator stops and the client refuses to return a cut-off result', async () => {
    const sim = await startSimulator({ suiteQlResultsMax: 150 });
    try {
      const answer = await post(sim.url, 'SELECT id FROM employee ORDER BY id', '?limit=100&offset=100');
      assert.equal(answer.body.totalResults, 150);
      assert.equal(answer.body.count, 50);
      assert.equal(answer.body.hasMore, false);
      const client = createSuiteQlClient({ baseUrl: sim.url, token: TOKEN, requestTimeoutMs: 5000, resultsMax: 150 });
      const error = await expectSuiteQlError(collect(client.query('SELECT id FROM employee ORDER BY id', 100)));
      assert.equal(error.vendorCode, 'RESULT_LIMIT');
      const small = await collect(client.query("SELECT id FROM employee WHERE entityid = 'E7'"));
      assert.deepEqual(small[0].items, [{ id: '7' }]);
    } finally {
      await sim.close();
    }
  });

  test('journal checks follow the master data, including a department closed at runtime', async () => {
    const sim = await startSimulator({
      masterData: {
        subsidiary: [{ id: '1', name: 'Demo GmbH', currency: '1' }],
        account: [{ id: '612', acctnumber: '6100', fullname: 'Travel', subsidiary: ['1'] }, { id: '210', acctnumber: '2100', fullname: 'Payable', subsidiary: ['1'] }],
        department: [{ id: '7', name: 'Sales', externalid: 'CC7', subsidiary: ['1'] }],
      },
    });
    try {
      const connector = createNetSuiteConnector({ target: 'netsuite', baseUrl: sim.url, token: TOKEN, maxConcurrency: 5, requestTimeoutMs: 5000 });
      const request = (externalKey: string) => ({
        externalKey,
        correlationId: externalKey,
        references: { subsidiaryId: '1', accounts: { '6100': '612', '2100': '210' }, costCenters: { CC7: '7' }, employees: {}, taxCodes: {} },
        journal: {
          kind: 'journal' as const, reportId: 'R-1', revision: 1, entity: 'DE01', currency: 'EUR', postingDate: '2026-05-01', memo: 'Report R-1', conversions: [],
          lines: [
            { account: '6100', debitMinor: 1000, creditMinor: 0, costCenter: 'CC7', memo: 'Hotel' },
            { account: '2100', debitMinor: 0, creditMinor: 1000, memo: 'Owed' },
          ],
        },
      });
      assert.equal((await connector.post(request('K-1'))).status, 'created');
      sim.setInactive('department', '7');
      const refused = await connector.post(request('K-2'));
      assert.equal(refused.status, 'failed');
      assert.equal(refused.status === 'failed' && refused.error.field, 'department');
    } finally {
      await sim.close();
    }
  });
});

describe('the SuiteQL client against malformed answers', () => {
  async function withServer(answer: (offset: number) => unknown, run: (url: string) => Promise<void>) {
    const server = createServer((req, res) => {
      const offset = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('offset'));
      req.resume();
      req.on('end', () => {
        const body = answer(offset);
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }

  const page = (offset: number, items: unknown[], extra: Record<string, unknown> = {}) => ({ links: [], count: items.length, hasMore: false, items, offset, totalResults: offset + items.length, ...extra });

  for (const [name, answer, detail] of [
    ['a body that is not JSON', () => '<html>gateway</html>', /not JSON/],
    ['a missing items array', (offset: number) => ({ ...page(offset, []), items: undefined }), /no items array/],
    ['a count that does not match', (offset: number) => page(offset, [{ id: '1' }], { count: 2 }), /count 2 for 1 items/],
    ['the wrong offset', () => page(5, [{ id: '1' }]), /offset 5 where 0/],
    ['a number where a string belongs', (offset: number) => page(offset, [{ id: 1 }]), /non-string value in id/],
    ['hasMore on an empty page', (offset: number) => page(offset, [], { hasMore: true }), /hasMore set on an empty page/],
  ] as const) {
    test(`${name} is a MALFORMED_ANSWER`, async () => {
      await withServer(answer, async (url) => {
        const client = createSuiteQlClient({ baseUrl: url, token: TOKEN, requestTimeoutMs: 5000, attempts: 1 });
        const error = await expectSuiteQlError(collect(client.query('SELECT id FROM employee ORDER BY id')));
        assert.equal(error.vendorCode, 'MALFORMED_ANSWER');
        assert.equal(error.kind, 'transient');
        assert.equal(error.httpStatus, 200);
        assert.match(error.message, detail);
      });
    });
  }

  test('a busy NetSuite (429 with Retry-After) is retried and the page then read; a Retry-After beyond the wait cap fails at once', async () => {
    let requests = 0;
    const busy = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        requests++;
        if (requests <= 2) {
          res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': '1' });
          res.end(JSON.stringify({ type: 'about:blank', title: 'Too Many Requests', status: 429, 'o:errorDetails': [{ detail: 'Too many requests', 'o:errorCode': 'REQUEST_LIMIT_EXCEEDED' }] }));
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(page(0, [{ id: '1' }])));
      });
    });
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(busy.address() as AddressInfo).port}`;
      const pages = await collect(createSuiteQlClient({ baseUrl: url, token: TOKEN, requestTimeoutMs: 5000, retryDelayMs: 10 }).query('SELECT id FROM employee ORDER BY id'));
      assert.deepEqual(pages.map((p) => p.items), [[{ id: '1' }]]);
      assert.equal(requests, 3, 'two 429s, then the page');
      requests = 0;
      const impatient = createSuiteQlClient({ baseUrl: url, token: TOKEN, requestTimeoutMs: 5000, retryDelayMs: 10, retryWaitMsMax: 500 });
      const error = await expectSuiteQlError(collect(impatient.query('SELECT id FROM employee ORDER BY id')));
      assert.equal(error.kind, 'rate_limited');
      assert.equal(requests, 1, 'a Retry-After of 1 s beyond a 500 ms cap is not waited for');
    } finally {
      busy.closeAllConnections();
      await new Promise((resolve) => busy.close(resolve));
    }
  });

  test('an unreachable NetSuite is unavailable, and a page size above 1000 is a programmer error', async () => {
    const client = createSuiteQlClient({ baseUrl: 'http://127.0.0.1:1', token: TOKEN, requestTimeoutMs: 2000, attempts: 1 });
    const error = await expectSuiteQlError(collect(client.query('SELECT id FROM employee')));
    assert.equal(error.kind, 'unavailable');
    assert.equal(error.httpStatus, undefined);
    await assert.rejects(collect(client.query('SELECT id FROM employee', 1001)), /Assertion failed/);
  });
});

describe('the SuiteQL subset parser', () => {
  test('reads the subset the source sends', () => {
    const parsed = parseSuiteQl(
      "SELECT id, TO_CHAR(hiredate, 'YYYY-MM-DD') AS hiredate FROM Employee WHERE lastmodifieddate > TO_TIMESTAMP('2026-04-01 08:30:00', 'YYYY-MM-DD HH24:MI:SS') ORDER BY id",
    );
    assert.equal(parsed.table, 'employee');
    assert.deepEqual(parsed.items, [{ column: 'id', key: 'id' }, { column: 'hiredate', key: 'hiredate', mask: 'YYYY-MM-DD' }]);
    assert.deepEqual(parsed.where, [{ column: 'lastmodifieddate', comparison: '>', literal: { type: 'time', ms: Date.parse('2026-04-01T08:30:00Z') } }]);
    assert.deepEqual(parsed.orderBy, [{ column: 'id', descending: false }]);
  });

  test('refuses everything outside it, saying where', () => {
    for (const q of [
      '',
      'SELECT FROM employee',
      'SELECT id employee',
      'SELECT id FROM employee e f',
      'SELECT e. FROM employee e',
      'SELECT e.id FROM employee e LEFT JOIN department d ON d.id = e.department',
      'SELECT e.id FROM employee e JOIN department d ON d.id > e.department',
      "SELECT id FROM employee WHERE name NOT LIKE 'A%'",
      "SELECT id FROM employee WHERE name LIKE 'A!%' ESCAPE '!'",
      "SELECT id FROM employee WHERE lastmodifieddate > TO_TIMESTAMP('2026-02-30 00:00:00', 'YYYY-MM-DD HH24:MI:SS')",
      "SELECT id FROM employee WHERE lastmodifieddate > TO_TIMESTAMP('2026-04-01', 'YYYY-MM-DD')",
      "SELECT TO_CHAR(hiredate, 'DD.MM.YYYY') AS d FROM employee",
      "SELECT TO_CHAR(hiredate, 'YYYY-MM-DD') FROM employee",
      "SELECT id FROM employee WHERE name = 'unterminated",
      'SELECT id FROM employee ORDER BY id; DROP TABLE employee',
    ]) {
      assert.throws(() => parseSuiteQl(q), SuiteQlSyntaxError, q);
    }
  });
});
