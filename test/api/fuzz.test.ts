// Proves with fast-check (fixed seeds) that POST /v1/events never answers 5xx: arbitrary JSON, mutated valid events and arbitrary bytes are either accepted (202) or refused with a 4xx carrying a code from the error registry, and a refused request leaves every table unchanged — on SQLite and on PostgreSQL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EVENT_TYPES } from '../../src/domain/events.ts';
import { ERRORS } from '../../src/errors.ts';
import { generateReports, toCloudEvent } from '../../src/demo/expense-platform.ts';
import { APPROVED_ON, clone, EVENT_TIME, startApiHarness, type ApiHarness } from '../support/api-harness.ts';
import { storeKinds } from '../support/stores.ts';
import { parentOf, pathsOf, type Json, type Path } from '../support/json-paths.ts';

// Fixed by default so a run is reproducible; FUZZ_SEED and FUZZ_RUNS explore further (fast-check
// prints the seed and the shrunk counterexample of a failure). PostgreSQL gets half the runs to keep
// the file quick: the code paths are the same, only the store differs.
const SEED = Number(process.env.FUZZ_SEED ?? 20_260_815);
const RUNS_BY_STORE = { sqlite: Number(process.env.FUZZ_RUNS ?? 200), postgres: Math.ceil(Number(process.env.FUZZ_RUNS ?? 200) / 2) };
const JSON_TYPES = ['application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json'] as const;

/** Valid events of every sample entity: the material mutations start from. */
const BASES = generateReports({ count: 12, seed: 4242, approvedOn: APPROVED_ON, invalidShare: 0 }).map((r) => toCloudEvent(r, { type: 'approved', time: EVENT_TIME }));



/** Paths whose last key is one of `keys` (e.g. every "currency"). */
function pathsNamed(root: Json, keys: readonly string[]): Path[] {
  return pathsOf(root).filter((p) => keys.includes(String(p[p.length - 1])));
}

const pick = <T>(items: readonly T[], n: number): T | undefined => (items.length === 0 ? undefined : items[n % items.length]);

const amountString = fc.oneof(
  fc.string(),
  fc.stringMatching(/^-?\d{1,17}(\.\d{0,22})?$/),
  fc.constantFrom('0', '-0', '0.00', '1.5', '1.234', '999999999999999', '999999999999999.999', '9007199254740993', '', ' 1', '1e3', '+1', '.5', '1.'),
);
const currencyCode = fc.oneof(fc.constantFrom('EUR', 'USD', 'JPY', 'KWD', 'BHD', 'CLF', 'XAU', 'XXX', 'XTS', 'EUX', 'eur', '', 'EURO'), fc.stringMatching(/^[A-Z]{3}$/));
const percentString = fc.oneof(fc.stringMatching(/^\d{1,3}(\.\d{1,2})?$/), fc.string(), fc.constantFrom('100', '100.00', '0', '99.99', '100.01', '50', '33.33', '33.34'));
const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 2, stringUnit: 'binary' })) as fc.Arbitrary<Json>;
const extraKey = fc.oneof(
  fc.constantFrom('correlationid', 'subject', 'time', 'datacontenttype', 'dataschema', 'total', 'title', 'exchangeRate', 'tax', 'perDiem', 'project', 'percent', 'amount', 'personal', '__proto__', 'constructor'),
  fc.string({ unit: 'binary', maxLength: 8 }),
);

type Op =
  | { kind: 'revision'; value: number }
  | { kind: 'source'; value: string }
  | { kind: 'id'; value: string }
  | { kind: 'text'; at: number; value: string }
  | { kind: 'delete'; at: number }
  | { kind: 'replace'; at: number; value: Json }
  | { kind: 'amount'; at: number; value: string }
  | { kind: 'currency'; at: number; value: string }
  | { kind: 'percent'; at: number; values: readonly string[] }
  | { kind: 'add'; at: number; key: string; value: Json };

/** Strings rich in what databases and JSON escaping trip over: NUL, unpaired surrogates, astral and multi-byte characters. */
const spicyString = (maxLength: number) =>
  fc.string({ unit: fc.oneof(fc.constantFrom('a', '-', '\u0000', '\ud800', '\udc00', '\u{1f600}', '\u00e9', '\u20ac', '\u001f', '\u2028', '"', '\\'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), minLength: 1, maxLength });

/** Changes that often keep the event valid, so the store-side checks (revision, owner) are reached. */
const gentleOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('revision' as const), value: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('source' as const), value: fc.oneof(fc.constantFrom('urn:fuzz:a', 'urn:fuzz:b', BASES[0].source), spicyString(12)) }),
  fc.record({ kind: fc.constant('id' as const), value: spicyString(12) }),
  fc.record({ kind: fc.constant('text' as const), at: fc.nat(), value: spicyString(40) }),
  fc.record({ kind: fc.constant('amount' as const), at: fc.nat(), value: fc.stringMatching(/^-?\d{1,6}(\.\d{1,3})?$/) }),
  fc.record({ kind: fc.constant('currency' as const), at: fc.nat(), value: fc.constantFrom('EUR', 'USD', 'JPY', 'KWD') }),
  fc.record({ kind: fc.constant('percent' as const), at: fc.nat(), values: fc.constantFrom(['100'], ['50', '50'], ['33.33', '33.33', '33.34'], ['99.99', '0.01']) }),
);

const harshOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: anyJson }),
  fc.record({ kind: fc.constant('amount' as const), at: fc.nat(), value: amountString }),
  fc.record({ kind: fc.constant('currency' as const), at: fc.nat(), value: currencyCode }),
  fc.record({ kind: fc.constant('percent' as const), at: fc.nat(), values: fc.array(percentString, { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('add' as const), at: fc.nat(), key: extraKey, value: anyJson }),
);

const op = fc.oneof({ arbitrary: gentleOp, weight: 3 }, { arbitrary: harshOp, weight: 2 });

function applyOp(event: Json, o: Op): void {
  const root = event as Record<string, any>;
  switch (o.kind) {
    case 'revision':
      if (root.data && typeof root.data === 'object') root.data.revision = o.value;
      return;
    case 'source':
    case 'id':
      root[o.kind] = o.value;
      return;
    case 'text': {
      const path = pick(pathsNamed(event, ['title', 'merchant', 'description', 'subject', 'reason']), o.at);
      if (!path) return;
      const { parent, key } = parentOf(event, path);
      parent[key] = o.value;
      return;
    }
    case 'delete':
    case 'replace': {
      const path = pick(pathsOf(event), o.at);
      if (!path) return;
      const { parent, key } = parentOf(event, path);
      if (o.kind === 'replace') parent[key] = o.value;
      else if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      return;
    }
    case 'amount':
    case 'currency': {
      const path = pick(pathsNamed(event, o.kind === 'amount' ? ['value', 'amount', 'total'] : ['currency']), o.at);
      if (!path) return;
      const { parent, key } = parentOf(event, path);
      if (typeof parent[key] !== 'object' || parent[key] === null) parent[key] = o.value;
      return;
    }
    case 'percent': {
      const path = pick(pathsNamed(event, ['allocations']), o.at);
      if (!path) return;
      const { parent, key } = parentOf(event, path);
      const first = Array.isArray(parent[key]) ? parent[key][0] : undefined;
      const costCenter = first && typeof first === 'object' ? first.costCenter : 'US4110';
      parent[key] = o.values.map((percent) => ({ costCenter, percent }));
      return;
    }
    case 'add': {
      const objects = [[], ...pathsOf(event)].filter((p) => {
        const node = p.length === 0 ? event : (parentOf(event, p).parent as any)[p[p.length - 1]];
        return node !== null && typeof node === 'object' && !Array.isArray(node);
      });
      const path = pick(objects, o.at) as Path;
      const node: any = path.length === 0 ? event : parentOf(event, path).parent[path[path.length - 1]];
      Object.defineProperty(node, o.key, { value: o.value, enumerable: true, writable: true, configurable: true });
      return;
    }
  }
}

for (const s of await storeKinds()) {
  describe(`fuzzing POST /v1/events on ${s.kind}`, { skip: s.skip }, () => {
    const RUNS = RUNS_BY_STORE[s.kind];
    let h: ApiHarness;
    let fresh = 0;
    before(async () => {
      h = await startApiHarness(s.kind);
    });
    after(async () => h?.close());

    /** Sends one body and checks the answer and, for a refusal, that nothing was stored. */
    async function sendAndCheck(payload: string | Buffer, contentType: string, mustRefuse = false): Promise<number> {
      const before = await h.counts();
      const response = await h.postEvents(payload, { contentType });
      const show = `${response.status} ${response.text.slice(0, 400)}\nbody: ${String(payload).slice(0, 400)}`;
      assert.ok(response.status < 500, `never 5xx: ${show}`);
      if (response.status === 202 && !mustRefuse) {
        assert.equal(response.body.accepted + response.body.duplicates, response.body.results.length, show);
        return 202;
      }
      assert.ok(response.status >= 400 && response.status < 500, `a 4xx${mustRefuse ? '' : ' or 202'}: ${show}`);
      assert.ok(typeof response.body?.code === 'string' && Object.hasOwn(ERRORS, response.body.code), `a registered code: ${show}`);
      assert.equal(ERRORS[response.body.code as keyof typeof ERRORS].status, response.status, show);
      assert.equal(typeof response.body.message, 'string');
      assert.deepEqual(await h.counts(), before, `a refused request stores nothing: ${show}`);
      return response.status;
    }

    test('(a) arbitrary JSON values, bare or shaped like an envelope, are answered 202 or a registered 4xx', async () => {
      const envelopeLike = fc.record(
        {
          specversion: fc.oneof(fc.constant('1.0'), anyJson),
          id: fc.oneof(fc.string({ minLength: 1 }), fc.string({ unit: 'binary' }), anyJson),
          source: fc.oneof(fc.constant('urn:fuzz'), fc.string({ unit: 'binary' }), anyJson),
          type: fc.oneof(fc.constantFrom(...Object.values(EVENT_TYPES)), anyJson),
          data: fc.oneof(anyJson, fc.record({ reportId: fc.oneof(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,10}$/), anyJson), revision: anyJson, reason: anyJson }, { requiredKeys: [] })),
        },
        { requiredKeys: [] },
      );
      const body = fc.oneof(anyJson, envelopeLike, fc.array(fc.oneof(anyJson, envelopeLike), { maxLength: 4 }));
      await fc.assert(
        fc.asyncProperty(body, fc.constantFrom(...JSON_TYPES), async (value, contentType) => {
          await sendAndCheck(JSON.stringify(value) ?? 'null', contentType);
        }),
        { seed: SEED, numRuns: RUNS },
      );
    });

    test('(b) mutations of valid events (alone or in a batch) are answered 202 or a registered 4xx, and a 4xx stores nothing', async () => {
      const outcomes = new Map<number, number>();
      const plan = fc.record({
        base: fc.nat({ max: BASES.length - 1 }),
        ops: fc.array(op, { maxLength: 3 }),
        freshId: fc.boolean(),
        batched: fc.boolean(),
        contentType: fc.constantFrom(...JSON_TYPES),
      });
      await fc.assert(
        fc.asyncProperty(plan, async ({ base, ops, freshId, batched, contentType }) => {
          const event = clone(BASES[base]) as unknown as Json & Record<string, Json>;
          // A fresh id makes most surviving mutations reach the store (revision and owner checks)
          // instead of ending as EVENT_ID_CONFLICT on the base event's id.
          if (freshId) event.id = `fuzz-${s.kind}-${fresh++}`;
          for (const o of ops) applyOp(event, o);
          const companion = { ...clone(BASES[(base + 1) % BASES.length]), id: `fuzz-companion-${fresh++}` };
          const status = await sendAndCheck(JSON.stringify(batched ? [companion, event] : event) ?? 'null', contentType);
          outcomes.set(status, (outcomes.get(status) ?? 0) + 1);
        }),
        { seed: SEED, numRuns: RUNS },
      );
      // The generator must exercise both sides, or the property proves little.
      assert.ok((outcomes.get(202) ?? 0) > RUNS / 10, `enough accepted: ${JSON.stringify([...outcomes])}`);
      assert.ok((outcomes.get(400) ?? 0) > RUNS / 10 && (outcomes.get(409) ?? 0) > 0, `400s and 409s: ${JSON.stringify([...outcomes])}`);
    });

    test('(c) arbitrary bytes with a JSON content type are refused with a registered 4xx', async () => {
      const bytes = fc.oneof(
        fc.uint8Array({ maxLength: 2048 }),
        fc.string({ unit: 'binary', maxLength: 512 }).map((t) => new TextEncoder().encode(t)),
        // Valid event bytes with a few bytes overwritten, which mostly breaks the JSON syntax.
        fc.record({ base: fc.nat({ max: BASES.length - 1 }), edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }) }).map(({ base, edits }) => {
          const raw = new TextEncoder().encode(JSON.stringify({ ...BASES[base], id: 'corrupted' }));
          for (const [at, byte] of edits) raw[at % raw.length] = byte === 0x22 || byte === 0x7d ? 0 : byte;
          raw[0] = 0x5b; // "[" where "{" was: never valid as a whole, whatever the edits
          return raw;
        }),
      );
      await fc.assert(
        fc.asyncProperty(bytes, fc.constantFrom(...JSON_TYPES), async (raw, contentType) => {
          await sendAndCheck(Buffer.from(raw), contentType, true);
        }),
        { seed: SEED, numRuns: RUNS },
      );
    });
  });
}
