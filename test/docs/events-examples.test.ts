// Proves that docs/events.md tells the truth: every example event on it is accepted by the hub's own parser and posts as a balanced journal against the sample company, every field of the inbound schemas is documented, and every status and code it cites matches the error registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SAMPLE_COMPANY } from '../../src/demo/sample-company.ts';
import { sampleMapping } from '../support/sample-mapping.ts';
import { CloudEventSchema, EVENT_TYPES, MAX_EVENTS_PER_BATCH, RecallDataSchema } from '../../src/domain/events.ts';
import { checkBalance } from '../../src/domain/journal.ts';
import { ReportInputSchema } from '../../src/domain/report.ts';
import { ERRORS } from '../../src/errors.ts';
import { createReferenceData } from '../../src/masterdata/company.ts';
import { parseEventBody } from '../../src/pipeline/parse-events.ts';
import { validateMasterData as validateReport } from '../../src/validation/validate-report.ts';

const DOC_URL = new URL('../../docs/events.md', import.meta.url);
const doc = readFileSync(DOC_URL, 'utf8');

/** Fenced blocks whose info string starts with `json`; `example` marks a request body to check. */
interface JsonBlock {
  readonly line: number;
  readonly example: boolean;
  readonly text: string;
}

function jsonBlocks(markdown: string): JsonBlock[] {
  const blocks: JsonBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```json(?:\s+(\S.*))?\s*$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    assert.ok(end > i, `docs/events.md line ${i + 1}: the json block is never closed`);
    blocks.push({ line: i + 1, example: (open[1] ?? '').split(/\s+/).includes('example'), text: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

const blocks = jsonBlocks(doc);
const examples = blocks.filter((b) => b.example);

function parseJson(block: JsonBlock): unknown {
  try {
    return JSON.parse(block.text) as unknown;
  } catch (error) {
    assert.fail(`docs/events.md line ${block.line}: the json block is not valid JSON: ${(error as Error).message}`);
  }
}

test('every json block on the page is valid JSON', () => {
  assert.ok(blocks.length > examples.length, 'the page shows answers as plain json blocks besides the examples');
  for (const block of blocks) parseJson(block);
});

test('the examples cover every event type, and a batch', () => {
  assert.ok(examples.length >= 4, `expected at least 4 "json example" blocks, found ${examples.length}`);
  const bodies = examples.map(parseJson);
  const types = new Set(bodies.flatMap((b) => (Array.isArray(b) ? b : [b])).map((e) => (e as { type: string }).type));
  for (const type of Object.values(EVENT_TYPES)) assert.ok(types.has(type), `no example of ${type}`);
  assert.ok(bodies.some((b) => Array.isArray(b) && b.length > 1), 'no batch example');
});

test('parseEventBody accepts every example', () => {
  for (const block of examples) {
    try {
      parseEventBody(parseJson(block));
    } catch (error) {
      const e = error as { code?: string; message: string };
      assert.fail(`docs/events.md line ${block.line}: the example is refused with ${e.code ?? 'an error'}: ${e.message}`);
    }
  }
});

test('every example report passes validation against the sample company and maps to a balanced journal', async () => {
  const reference = createReferenceData(SAMPLE_COMPANY);
  const mapper = sampleMapping(reference);
  let reports = 0;
  for (const block of examples) {
    for (const event of parseEventBody(parseJson(block))) {
      if (event.kind !== 'report') continue;
      reports++;
      const { report } = event;
      const where = `docs/events.md line ${block.line}, report ${report.reportId} r${report.revision}`;
      assert.ok(reference.entity(report.entity), `${where}: entity ${report.entity} is not in the sample company`);
      assert.deepEqual(validateReport(report, reference, mapper.accountsUsed(report)), [], `${where}: validation findings`);
      const mapped = await mapper.mapReport(report);
      assert.ok(mapped.ok, `${where}: mapping failed: ${JSON.stringify(mapped)}`);
      assert.equal(checkBalance(mapped.journal).balanced, true, `${where}: the journal does not balance`);
    }
  }
  assert.ok(reports >= 3, 'the examples hold at least three reports');
});

/** Every property name of a TypeBox (JSON Schema) object, at any depth. */
function propertyNames(schema: unknown, names = new Set<string>()): Set<string> {
  if (schema === null || typeof schema !== 'object') return names;
  const s = schema as { properties?: Record<string, unknown>; items?: unknown; anyOf?: unknown[] };
  for (const [name, inner] of Object.entries(s.properties ?? {})) {
    names.add(name);
    propertyNames(inner, names);
  }
  if (s.items) propertyNames(s.items, names);
  for (const inner of s.anyOf ?? []) propertyNames(inner, names);
  return names;
}

test('every field of the envelope, the report and the recall is documented', () => {
  const fields = new Set([...propertyNames(CloudEventSchema), ...propertyNames(ReportInputSchema), ...propertyNames(RecallDataSchema)]);
  assert.ok(fields.size > 30, 'the schemas were walked');
  const missing = [...fields].filter((name) => !doc.includes(`\`${name}\``));
  assert.deepEqual(missing, [], 'fields with no `name` on docs/events.md');
  for (const type of Object.values(EVENT_TYPES)) assert.ok(doc.includes(`\`${type}\``), `${type} is not documented`);
  assert.ok(doc.includes(`1 to ${MAX_EVENTS_PER_BATCH}`), `the batch limit of ${MAX_EVENTS_PER_BATCH} is not stated`);
});

test('every "status CODE" the page cites matches the error registry', () => {
  const cited = [...doc.matchAll(/\b([45]\d\d) ([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b/g)];
  assert.ok(cited.length >= 10, 'the page cites status and code together');
  for (const [, status, code] of cited) {
    assert.ok(code in ERRORS, `${code} is cited on docs/events.md but is not in src/errors.ts`);
    assert.equal(ERRORS[code as keyof typeof ERRORS].status, Number(status), `${code} is cited with status ${status}`);
  }
});
