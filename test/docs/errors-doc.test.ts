// Proves that docs/errors.md and the error registry in src/errors.ts list the same codes, both ways, each once, with the same HTTP status and retryable flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERRORS } from '../../src/errors.ts';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

/** A documented code is a table row that starts with the code in backticks, then status, then yes/no. */
const ROW = /^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|\s*(\d{3})\s*\|\s*(yes|no)\s*\|(.*)\|\s*$/;

interface DocumentedCode {
  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;
  readonly rest: string;
  readonly line: number;
}

const documented: DocumentedCode[] = doc.split('\n').flatMap((text, index) => {
  const match = ROW.exec(text);
  return match ? [{ code: match[1], status: Number(match[2]), retryable: match[3] === 'yes', rest: match[4], line: index + 1 }] : [];
});

test('docs/errors.md has code rows to check', () => {
  assert.ok(documented.length >= 10, `found only ${documented.length} code rows; rows look like | \`CODE\` | 400 | no | when | what to do |`);
});

test('every code in the registry is documented', () => {
  const onPage = new Set(documented.map((d) => d.code));
  const missing = Object.keys(ERRORS).filter((code) => !onPage.has(code));
  assert.deepEqual(missing, [], 'codes in src/errors.ts with no row in docs/errors.md');
});

test('every documented code exists in the registry, once', () => {
  const unknown = documented.filter((d) => !(d.code in ERRORS)).map((d) => `${d.code} (line ${d.line})`);
  assert.deepEqual(unknown, [], 'codes in docs/errors.md that src/errors.ts does not have');
  const seen = new Map<string, number>();
  for (const d of documented) {
    assert.ok(!seen.has(d.code), `${d.code} is documented twice (lines ${seen.get(d.code)} and ${d.line})`);
    seen.set(d.code, d.line);
  }
});

test('each documented status and retryable flag matches the registry', () => {
  for (const d of documented) {
    const spec = ERRORS[d.code as keyof typeof ERRORS];
    if (!spec) continue;
    assert.equal(d.status, spec.status, `${d.code} (line ${d.line}): documented status ${d.status}, registry ${spec.status}`);
    assert.equal(d.retryable, spec.retryable, `${d.code} (line ${d.line}): documented retryable ${d.retryable}, registry ${spec.retryable}`);
  }
});

test('each documented code says when it happens and what to do', () => {
  for (const d of documented) {
    const cells = d.rest.split('|').map((c) => c.trim());
    assert.equal(cells.length, 2, `${d.code} (line ${d.line}): expected two more cells, "when it happens" and "what to do"`);
    for (const cell of cells) assert.ok(cell.length >= 10, `${d.code} (line ${d.line}): a cell is empty or too short`);
  }
});
