// Proves the mapping API on both stores: a rule set goes propose → review → approve over HTTP, each step in the event log under its version; the four-eyes and role rules hold (an author cannot approve, a controller of another entity cannot act, approval needs a review); a broken file (bad YAML, an unknown account, bad JSONata) is refused with 422 and every problem's file, line and column, storing nothing; reject, rollback by activating an earlier version, diff and replay answer as documented; the routes are in the OpenAPI document; and random bodies (fast-check) never get a 5xx.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sampleRuleFiles } from '../../src/demo/sample-rules.ts';
import { ERRORS } from '../../src/errors.ts';
import { createApiKey } from '../../src/store/api-keys.ts';
import { startApiHarness, type ApiHarness } from '../support/api-harness.ts';
import { storeKinds } from '../support/stores.ts';

const SAMPLE_DE01 = sampleRuleFiles().find((f) => f.scope === 'DE01')!;
/** DE01's sample rows with entertainment on the meals account instead of its own. */
const DE01_V2 = SAMPLE_DE01.text.replace('ENTERTAINMENT-ENT,ENTERTAINMENT,DE19-ENT,false,6180,', 'ENTERTAINMENT-ENT,ENTERTAINMENT,DE19-ENT,false,6130,');
/** DE01's own rows as YAML: per diem only (GROUP codes the rest), here with an expression that does not compile. */
const perDiemYaml = (taxable: string) =>
  [
    'description: DE01 - per diem only',
    'rules:',
    '  - id: PERDIEM',
    '    when: { category: PERDIEM, personal: false }',
    `    then: { account: "6150", tax: reclaim, taxAccount: "1410", taxable: "${taxable}", taxableAccount: "6155" }`,
    '',
  ].join('\n');

const TODAY = new Date().toISOString().slice(0, 10);
const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20_261_126);

interface Answer {
  readonly status: number;
  readonly body: any;
  readonly text: string;
}

for (const store of await storeKinds()) {
  describe(`mapping API on ${store.kind}`, { skip: store.skip }, () => {
    let h: ApiHarness;
    const keys: Record<'alice' | 'bob' | 'carol' | 'operator', string> = { alice: '', bob: '', carol: '', operator: '' };
    before(async () => {
      h = await startApiHarness(store.kind);
      const roles = { alice: ['controller:DE01'], bob: ['controller:DE01'], carol: ['controller:US01'], operator: ['operator'] };
      for (const [name, held] of Object.entries(roles)) keys[name as keyof typeof keys] = (await createApiKey(h.store.db, name, Date.now(), held)).key;
    });
    after(async () => h?.close());

    const call = async (who: keyof typeof keys | undefined, method: 'GET' | 'POST', url: string, body?: unknown): Promise<Answer> => {
      const r = await h.hub.app.inject({
        method,
        url,
        headers: { ...(who && { authorization: `Bearer ${keys[who]}` }), ...(body !== undefined && { 'content-type': 'application/json' }) },
        ...(body !== undefined && { payload: JSON.stringify(body) }),
      });
      let parsed: unknown;
      try {
        parsed = JSON.parse(r.body);
      } catch {
        parsed = undefined;
      }
      return { status: r.statusCode, body: parsed, text: r.body };
    };
    const versions = (path = 'DE01/versions') => `/v1/mapping/rule-sets/${path}`;
    const propose = (who: keyof typeof keys, fileName: string, content: string, extra: Record<string, unknown> = {}) =>
      call(who, 'POST', versions(), { fileName, content, effectiveFrom: TODAY, reason: 'entertainment on meals', ...extra });
    const list = async (scope?: string) => (await call('operator', 'GET', `/v1/mapping/rule-sets${scope ? `?scope=${scope}` : ''}`)).body.versions as any[];
    const logOf = async (ref: string) =>
      (await h.store.db.selectFrom('event_log').select(['kind', 'payload']).where('correlation_id', '=', `mapping:${ref}`).orderBy('seq').execute()).map((r) => ({ kind: r.kind, payload: JSON.parse(r.payload) }));

    test('the sample rule sets are version 1 of every scope, approved and in force today', async () => {
      const all = await list();
      assert.deepEqual(all.map((v) => [v.ref, v.state, v.activeToday]).sort(), [
        ['DE01@1', 'approved', true],
        ['GB01@1', 'approved', true],
        ['GROUP@1', 'approved', true],
        ['JP01@1', 'approved', true],
        ['US01@1', 'approved', true],
      ]);
      const detail = await call('alice', 'GET', versions('DE01/versions/1'));
      assert.equal(detail.status, 200, detail.text);
      assert.equal(detail.body.source, SAMPLE_DE01.text, 'the file as installed, byte for byte');
      assert.equal(detail.body.format, 'csv');
      assert.ok(detail.body.document.rules.some((r: any) => r.id === 'PERDIEM'));
      assert.equal((await call('alice', 'GET', versions('DE01/versions/99'))).body.code, 'MAPPING_VERSION_NOT_FOUND');
      assert.equal((await call('alice', 'GET', '/v1/mapping/rule-sets?scope=FR01')).body.code, 'MAPPING_SCOPE_UNKNOWN');
    });

    test('propose → review → approve: each step by the right person, each in the event log', async () => {
      const proposed = await propose('alice', 'DE01.csv', DE01_V2);
      assert.equal(proposed.status, 201, proposed.text);
      assert.deepEqual([proposed.body.ref, proposed.body.state, proposed.body.author, proposed.body.activeToday], ['DE01@2', 'proposed', 'alice', false]);

      const early = await call('bob', 'POST', versions('DE01/versions/2/approve'), {});
      assert.equal(early.status, 409, 'approval needs a review first');
      assert.equal(early.body.code, 'MAPPING_STATE_CONFLICT');

      const dry = await call('alice', 'POST', versions('DE01/versions/2/dry-run'), { reports: 5 });
      assert.equal(dry.status, 200, dry.text);
      assert.deepEqual([dry.body.scope, dry.body.version, dry.body.entities], ['DE01', 2, ['DE01']]);
      assert.equal((await call('alice', 'GET', versions('DE01/versions/2'))).body.dryRun, null, 'a dry run records nothing');

      // No body at all is the same as an empty one for the routes whose fields are all optional.
      const reviewed = await call('bob', 'POST', versions('DE01/versions/2/review'));
      assert.equal(reviewed.status, 200, reviewed.text);
      assert.equal(reviewed.body.reports, reviewed.body.unchanged + reviewed.body.changed.length + reviewed.body.failed.length);

      const own = await call('alice', 'POST', versions('DE01/versions/2/approve'), { reason: 'looks right' });
      assert.equal(own.status, 403, own.text);
      assert.equal(own.body.code, 'MAPPING_FOUR_EYES');
      const foreign = await call('carol', 'POST', versions('DE01/versions/2/approve'), {});
      assert.equal(foreign.status, 403, foreign.text);
      assert.equal(foreign.body.code, 'MAPPING_ROLE_REQUIRED');

      const approved = await call('bob', 'POST', versions('DE01/versions/2/approve'), { reason: 'checked the dry run' });
      assert.equal(approved.status, 200, approved.text);
      assert.deepEqual([approved.body.state, approved.body.decidedBy, approved.body.reviewedBy, approved.body.decisionReason, approved.body.activeToday], ['approved', 'bob', 'bob', 'checked the dry run', true]);

      const detail = (await call('carol', 'GET', versions('DE01/versions/2'))).body;
      assert.equal(detail.source, DE01_V2);
      assert.equal(detail.dryRun.version, 2, 'the review recorded its dry run');
      const log = await logOf('DE01@2');
      assert.deepEqual(log.map((e) => [e.kind, e.payload.by]), [['mapping.proposed', 'alice'], ['mapping.reviewed', 'bob'], ['mapping.approved', 'bob']]);
      assert.equal((await list('DE01')).find((v) => v.version === 1).activeToday, false, 'version 2 replaced version 1 today');
    });

    const broken: [string, string, string, string, (content: string) => { line: number; column: number }][] = [
      ['bad YAML', 'DE01.yaml', 'rules:\n  - id: PERDIEM\n    when: { category: PERDIEM, personal: false\n    then: [\n', 'syntax', () => ({ line: 0, column: 0 })],
      [
        'an unknown account',
        'DE01.csv',
        SAMPLE_DE01.text.replace('ENTERTAINMENT-ENT,ENTERTAINMENT,DE19-ENT,false,6180,', 'ENTERTAINMENT-ENT,ENTERTAINMENT,DE19-ENT,false,9999,'),
        'account',
        (content) => locate(content, '9999'),
      ],
      ['JSONata that does not compile', 'DE01.yaml', perDiemYaml('= $max([0, expenseMinor -'), 'expression', () => ({ line: 5, column: 0 })],
    ];
    for (const [what, fileName, content, code, where] of broken) {
      test(`a file with ${what} is refused with 422 and the problem's file, line and column; nothing is stored`, async () => {
        const before = await list();
        const refused = await propose('alice', fileName, content);
        assert.equal(refused.status, 422, refused.text);
        assert.equal(refused.body.code, 'MAPPING_RULES_INVALID');
        const problems = refused.body.details.problems as { file: string; line: number; column: number; code: string; message: string }[];
        assert.ok(problems.length > 0);
        for (const p of problems) {
          assert.equal(p.file, fileName);
          assert.ok(Number.isInteger(p.line) && p.line >= 1 && Number.isInteger(p.column) && p.column >= 1, JSON.stringify(p));
          assert.ok(p.message.length > 0);
        }
        const problem = problems.find((p) => p.code === code);
        assert.ok(problem, `a ${code} problem in ${refused.text}`);
        const expected = where(content);
        if (expected.line > 0) assert.equal(problem.line, expected.line, JSON.stringify(problem));
        if (expected.column > 0) assert.equal(problem.column, expected.column, JSON.stringify(problem));
        assert.deepEqual(await list(), before, 'no version was stored');
      });
    }

    test('a file name without a known extension and no format is refused with 400; an explicit format is taken', async () => {
      const refused = await propose('alice', 'DE01.txt', DE01_V2);
      assert.equal(refused.status, 400, refused.text);
      assert.equal(refused.body.code, 'REQUEST_INVALID');
      const wrongFormat = await propose('alice', 'DE01.txt', 'not: [csv', { format: 'csv' });
      assert.equal(wrongFormat.status, 422, 'parsed as CSV, as asked');
      assert.equal(wrongFormat.body.details.problems[0].file, 'DE01.txt');
    });

    test('reject: a proposal is rejected with a reason, and can then be neither reviewed nor approved', async () => {
      const proposed = await propose('bob', 'DE01.csv', SAMPLE_DE01.text.replace('MEALS-ENT,MEALS,DE19-ENT,false,6130,', 'MEALS-ENT,MEALS,DE19-ENT,false,6180,'));
      assert.equal(proposed.status, 201, proposed.text);
      const url = versions(`DE01/versions/${proposed.body.version}`);
      assert.equal((await call('alice', 'POST', `${url}/reject`, {})).status, 400, 'a rejection needs a reason');
      assert.equal((await call('carol', 'POST', `${url}/reject`, { reason: 'not mine' })).body.code, 'MAPPING_ROLE_REQUIRED');
      const rejected = await call('alice', 'POST', `${url}/reject`, { reason: 'meals stay on meals' });
      assert.equal(rejected.status, 200, rejected.text);
      assert.deepEqual([rejected.body.state, rejected.body.decidedBy, rejected.body.decisionReason], ['rejected', 'alice', 'meals stay on meals']);
      for (const step of ['review', 'approve']) assert.equal((await call('alice', 'POST', `${url}/${step}`, {})).body.code, 'MAPPING_STATE_CONFLICT', step);
      assert.equal((await call('bob', 'POST', `${url}/approve`, {})).body.code, 'MAPPING_FOUR_EYES', 'the author is refused as the author first');
      assert.deepEqual((await logOf(proposed.body.ref)).map((e) => e.kind), ['mapping.proposed', 'mapping.rejected']);
    });

    test('activate puts an earlier approved version in force again (rollback); only approved versions can be', async () => {
      const notApproved = await call('bob', 'POST', versions('DE01/versions/3/activate'), { effectiveFrom: TODAY, reason: 'try' });
      assert.equal(notApproved.body.code, 'MAPPING_STATE_CONFLICT', notApproved.text);
      assert.equal((await call('carol', 'POST', versions('DE01/versions/1/activate'), { effectiveFrom: TODAY, reason: 'rollback' })).body.code, 'MAPPING_ROLE_REQUIRED');
      const badDate = await call('bob', 'POST', versions('DE01/versions/1/activate'), { effectiveFrom: '2026-02-30', reason: 'rollback' });
      assert.equal(badDate.status, 400, badDate.text);
      const rolledBack = await call('bob', 'POST', versions('DE01/versions/1/activate'), { effectiveFrom: TODAY, reason: 'entertainment back on its own account' });
      assert.equal(rolledBack.status, 200, rolledBack.text);
      assert.deepEqual([rolledBack.body.ref, rolledBack.body.state, rolledBack.body.activeToday], ['DE01@1', 'approved', true]);
      const de01 = await list('DE01');
      assert.deepEqual(de01.filter((v) => v.activeToday).map((v) => v.ref), ['DE01@1']);
      const activated = (await logOf('DE01@1')).find((e) => e.kind === 'mapping.activated');
      assert.deepEqual([activated?.payload.by, activated?.payload.effectiveFrom, activated?.payload.replaces], ['bob', TODAY, 2]);
    });

    test('diff shows what changed between two versions, as data and as text', async () => {
      const diff = await call('carol', 'GET', '/v1/mapping/diff?from=DE01@1&to=DE01@2');
      assert.equal(diff.status, 200, diff.text);
      assert.equal(typeof diff.body.text, 'string');
      assert.match(diff.body.text, /ENTERTAINMENT-ENT/);
      assert.doesNotMatch(diff.body.text, /LODGING-ENT/, 'unchanged rows are not listed');
      assert.ok(diff.body.diff && typeof diff.body.diff === 'object');
      assert.equal((await call('carol', 'GET', '/v1/mapping/diff?from=DE01@1&to=DE01')).status, 400);
      assert.equal((await call('carol', 'GET', '/v1/mapping/diff?from=DE01@1&to=DE01@99')).body.code, 'MAPPING_VERSION_NOT_FOUND');
    });

    test('replay: nothing quarantined answers MAPPING_REPLAY_EMPTY; only a controller of the entity, an operator or an admin may', async () => {
      const empty = await call('operator', 'POST', '/v1/mapping/replay', { entity: 'DE01', reason: 'rules fixed' });
      assert.equal(empty.status, 404, empty.text);
      assert.equal(empty.body.code, 'MAPPING_REPLAY_EMPTY');
      assert.equal((await call('carol', 'POST', '/v1/mapping/replay', { entity: 'DE01', reason: 'rules fixed' })).body.code, 'MAPPING_ROLE_REQUIRED');
      assert.equal((await call('alice', 'POST', '/v1/mapping/replay', { entity: 'DE01', reason: 'rules fixed', codes: ['MAP_NO_RULE'] })).body.code, 'MAPPING_REPLAY_EMPTY');
      assert.equal((await call('alice', 'POST', '/v1/mapping/replay', { entity: 'GROUP', reason: 'rules fixed' })).body.code, 'MAPPING_SCOPE_UNKNOWN');
    });

    test('every mapping route needs an API key', async () => {
      assert.equal((await call(undefined, 'GET', '/v1/mapping/rule-sets')).status, 401);
      assert.equal((await call(undefined, 'POST', versions(), { fileName: 'DE01.csv', content: DE01_V2, effectiveFrom: TODAY, reason: 'x' })).status, 401);
    });

    test('the OpenAPI document lists every mapping route under the mapping tag, with its schemas', async () => {
      const doc = (await call(undefined, 'GET', '/openapi.json')).body;
      const expected: [string, string][] = [
        ['get', '/v1/mapping/rule-sets'],
        ['get', '/v1/mapping/rule-sets/{scope}/versions/{version}'],
        ['post', '/v1/mapping/rule-sets/{scope}/versions'],
        ['post', '/v1/mapping/rule-sets/{scope}/versions/{version}/dry-run'],
        ['post', '/v1/mapping/rule-sets/{scope}/versions/{version}/review'],
        ['post', '/v1/mapping/rule-sets/{scope}/versions/{version}/approve'],
        ['post', '/v1/mapping/rule-sets/{scope}/versions/{version}/reject'],
        ['post', '/v1/mapping/rule-sets/{scope}/versions/{version}/activate'],
        ['get', '/v1/mapping/diff'],
        ['post', '/v1/mapping/replay'],
      ];
      for (const [method, path] of expected) {
        const operation = doc.paths[path]?.[method];
        assert.ok(operation, `${method.toUpperCase()} ${path} is listed`);
        assert.deepEqual(operation.tags, ['mapping']);
        assert.ok(Object.keys(operation.responses).some((s) => s.startsWith('2')), `${path} documents its answer`);
        if (method === 'post') assert.ok(operation.requestBody?.content?.['application/json']?.schema, `${path} documents its body`);
      }
      const propose = doc.paths['/v1/mapping/rule-sets/{scope}/versions'].post;
      assert.ok(propose.responses['422'], 'the refusal with its problems is documented');
      assert.deepEqual(Object.keys(propose.requestBody.content['application/json'].schema.properties).sort(), ['content', 'effectiveFrom', 'fileName', 'format', 'reason']);
    });

    test('random bodies and parameters never get a 5xx, and every refusal carries a registered code', { timeout: 120_000 }, async () => {
      const steps = ['dry-run', 'review', 'approve', 'reject', 'activate'] as const;
      // Mostly well-formed, so most requests get past the schema into the workflow and the parser.
      const mostly = <T, U>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<U>): fc.Arbitrary<T | U> => fc.oneof({ arbitrary: good, weight: 4 }, { arbitrary: bad, weight: 1 });
      const anyText = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('', ' ', '2026-02-30', '../DE01.csv', 'x.txt'), fc.jsonValue({ maxDepth: 1 }));
      const fileName = mostly(fc.constantFrom('DE01.csv', 'DE01.yaml', 'GROUP.yml', 'rules.CSV'), anyText);
      const date = mostly(fc.constantFrom(TODAY, '2026-12-01', '0001-01-01', '2020-07-01'), anyText);
      const reason = mostly(fc.constantFrom('fuzz', 'r'.repeat(500)), anyText);
      const content = fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.tuple(fc.nat(DE01_V2.length), fc.string({ maxLength: 12 })).map(([at, insert]) => DE01_V2.slice(0, at) + insert + DE01_V2.slice(at)),
        fc.tuple(fc.nat(DE01_V2.length), fc.nat(40)).map(([at, cut]) => DE01_V2.slice(0, at) + DE01_V2.slice(at + cut)),
        fc.tuple(fc.nat(240), fc.string({ maxLength: 12 })).map(([at, insert]) => {
          const yaml = perDiemYaml('= days = 0 ? 0 : $max([0, expenseMinor - 2800 * days])');
          return yaml.slice(0, at) + insert + yaml.slice(at);
        }),
      );
      const proposal = mostly(fc.record({ fileName, format: fc.constantFrom('yaml', 'csv', 'xml'), content, effectiveFrom: date, reason }, { requiredKeys: ['fileName', 'content', 'effectiveFrom', 'reason'] }), fc.jsonValue({ maxDepth: 3 }));
      const stepBody = mostly(
        fc.record({ reports: mostly(fc.integer({ min: 0, max: 1001 }), anyText), reason, effectiveFrom: date }, { requiredKeys: [] }),
        fc.jsonValue({ maxDepth: 3 }),
      );
      const replayBody = mostly(
        fc.record({ entity: mostly(fc.constantFrom('DE01', 'US01', 'JP01', 'GROUP', 'FR01'), anyText), reason, codes: mostly(fc.array(fc.constantFrom('MAP_NO_RULE', 'JOURNAL_UNBALANCED', 'NOT_A_CODE', 'x')), anyText) }, { requiredKeys: ['entity', 'reason'] }),
        fc.jsonValue({ maxDepth: 3 }),
      );
      const scope = mostly(fc.constantFrom('DE01', 'US01', 'GROUP', 'FR01'), fc.oneof(fc.constantFrom('de01', '-x', 'a'.repeat(41)), fc.string({ minLength: 1, maxLength: 8 }).map(encodeURIComponent)));
      const version = mostly(fc.integer({ min: 1, max: 6 }).map(String), fc.constantFrom('0', '-1', '1e3', 'x', '99999999999', '1.5'));
      const ref = mostly(fc.tuple(scope, version).map(([s, v]) => `${s}@${v}`), fc.string({ maxLength: 10 }));
      const request = fc.oneof(
        fc.record({ route: fc.constant('propose' as const), scope, body: proposal }),
        fc.record({ route: fc.constant('step' as const), step: fc.constantFrom(...steps), scope, version, body: stepBody }),
        fc.record({ route: fc.constant('replay' as const), body: replayBody }),
        fc.record({ route: fc.constant('diff' as const), from: ref, to: ref }),
        fc.record({ route: fc.constant('get' as const), scope, version }),
      );
      const who = fc.constantFrom('alice', 'bob', 'carol', 'operator') as fc.Arbitrary<keyof typeof keys>;
      const seen = new Set<number>();
      await fc.assert(
        fc.asyncProperty(who, request, async (as, r) => {
          const answer =
            r.route === 'propose'
              ? await call(as, 'POST', versions(`${r.scope}/versions`), r.body)
              : r.route === 'step'
                ? await call(as, 'POST', versions(`${r.scope}/versions/${r.version}/${r.step}`), r.body)
                : r.route === 'replay'
                  ? await call(as, 'POST', '/v1/mapping/replay', r.body)
                  : r.route === 'diff'
                    ? await call(as, 'GET', `/v1/mapping/diff?from=${encodeURIComponent(r.from)}&to=${encodeURIComponent(r.to)}`)
                    : await call(as, 'GET', versions(`${r.scope}/versions/${r.version}`));
          seen.add(answer.status);
          assert.ok(answer.status < 500, `${answer.status}: ${answer.text}`);
          if (answer.status >= 400) assert.ok(Object.hasOwn(ERRORS, answer.body?.code), `a registered code: ${answer.text}`);
        }),
        { seed: FUZZ_SEED, numRuns: store.kind === 'sqlite' ? 150 : 75 },
      );
      // The bodies reach past the schema: into the workflow's own checks and the rule-file parser.
      for (const status of [200, 400, 403, 404, 422]) assert.ok(seen.has(status), `some request answered ${status}; seen ${[...seen].sort().join(', ')}`);
    });
  });
}

/** 1-based line and column of the first occurrence of `needle`. */
function locate(content: string, needle: string): { line: number; column: number } {
  const at = content.indexOf(needle);
  const before = content.slice(0, at).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}
