// Proves that docs/config.md lists exactly the settings loadConfig reads, both ways, and that each row's type, default and bounds match the config schema in src/config.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CONFIG_ENV_NAMES, ConfigSchema } from '../../src/config.ts';

const doc = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');

/** A setting row: | `ENV_NAME` | type | default | bounds | meaning | */
const ROW = /^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|([^|]*)\|([^|]*)\|([^|]*)\|(.*)\|\s*$/;

interface Row {
  readonly env: string;
  readonly type: string;
  readonly defaultValue: string;
  readonly bounds: string;
  readonly meaning: string;
  readonly line: number;
}

const rows: Row[] = doc.split('\n').flatMap((text, index) => {
  const m = ROW.exec(text);
  return m ? [{ env: m[1], type: m[2].trim(), defaultValue: m[3].trim().replace(/^`|`$/g, ''), bounds: m[4].trim(), meaning: m[5].trim(), line: index + 1 }] : [];
});

interface PropertySchema {
  readonly type?: string;
  readonly anyOf?: readonly { const?: unknown }[];
  readonly default?: unknown;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly pattern?: string;
}

const properties = ConfigSchema.properties as unknown as Record<string, PropertySchema>;
const keyOfEnv = new Map(Object.entries(CONFIG_ENV_NAMES).map(([key, env]) => [env, key]));

test('every setting loadConfig reads has a row in docs/config.md', () => {
  const documented = new Set(rows.map((r) => r.env));
  const missing = Object.values(CONFIG_ENV_NAMES).filter((env) => !documented.has(env));
  assert.deepEqual(missing, [], 'env names in CONFIG_ENV_NAMES with no row in docs/config.md');
  assert.equal(Object.keys(CONFIG_ENV_NAMES).length, Object.keys(properties).length, 'every schema property has an env name');
});

test('every variable docs/config.md names is a real setting, with one row each', () => {
  const named = new Set([...doc.matchAll(/\b(FINSYNC_[A-Z0-9_]*[A-Z0-9]|DATABASE_URL)\b/g)].map((m) => m[1]));
  const unknown = [...named].filter((env) => !keyOfEnv.has(env));
  assert.deepEqual(unknown, [], 'variables named in docs/config.md that loadConfig does not read (and would refuse)');
  const seen = new Set<string>();
  for (const row of rows) {
    assert.ok(!seen.has(row.env), `${row.env} has two rows (line ${row.line})`);
    seen.add(row.env);
  }
});

test('each row states the type, default and bounds of the schema', () => {
  for (const row of rows) {
    const key = keyOfEnv.get(row.env);
    if (key === undefined) continue;
    const schema = properties[key];
    const where = `${row.env} (docs/config.md line ${row.line})`;
    const type = schema.anyOf ? 'enum' : schema.type;
    assert.equal(row.type, type, `${where}: type`);
    assert.equal(row.defaultValue, schema.default === undefined ? 'none' : String(schema.default), `${where}: default`);
    if (schema.type === 'integer') {
      assert.equal(row.bounds, `${schema.minimum} to ${schema.maximum}`, `${where}: bounds`);
    }
    if (schema.pattern !== undefined) assert.ok(row.bounds.includes(`\`${schema.pattern}\``), `${where}: bounds should show the pattern ${schema.pattern}`);
    if (schema.anyOf) {
      for (const option of schema.anyOf) assert.ok(row.bounds.includes(`\`${String(option.const)}\``), `${where}: bounds should list ${String(option.const)}`);
    }
    assert.ok(row.meaning.length >= 20, `${where}: say what the setting means`);
  }
});
