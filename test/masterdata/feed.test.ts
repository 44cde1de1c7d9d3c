// Proves that feed files are all or nothing: a good CSV or JSON file (BOM, CRLF, history rows of one key, several kinds) becomes exactly the records normalizeRecord makes, and every bad input — malformed CSV or JSON, unknown kinds and columns, schema failures, unconfigured entities, overlapping duplicates, empty and oversized files — yields problems naming the right line, column and field and no records; fuzzing shows that no text makes the parser throw and that corrupting any one cell is caught on that cell's line.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { AppError } from '../../src/errors.ts';
import {
  checkBatch,
  CSV_ATTRIBUTE_COLUMNS,
  MAX_FEED_PROBLEMS,
  MAX_FEED_RECORDS,
  parseFeed,
  readFeedFile,
  summarizeProblems,
  type FeedOptions,
  type FeedProblem,
  type FeedResult,
} from '../../src/masterdata/feed.ts';
import { findJsonSyntaxError } from '../../src/masterdata/json-syntax.ts';
import { addDays, normalizeRecord, type IncomingVersion, type Kind, type RecordInput } from '../../src/masterdata/records.ts';

/** Run properties with a random seed (fast-check prints it on failure); FC_SEED=<n> replays one. */
const FC_SEED = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };

const CSV: FeedOptions = { format: 'csv', system: 'hr', entities: new Set(['DE01', 'US01']), fileName: 'hr.csv' };
const JSON_FEED: FeedOptions = { ...CSV, format: 'json', fileName: 'hr.json' };
/** readFeedFile options: the format comes from the file name. */
const READ = { system: 'hr', entities: CSV.entities } as const;

function csv(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

function problemsOf(result: FeedResult): FeedProblem[] {
  assert.equal(result.ok, false, `expected problems, got ${JSON.stringify(result)}`);
  assert.ok(!('records' in result), 'a refused feed returns no records');
  return result.ok ? [] : result.problems;
}

function recordsOf(result: FeedResult): IncomingVersion[] {
  assert.ok(result.ok, `expected records, got ${JSON.stringify(result)}`);
  return result.records;
}

/** The one problem of a result, checked field by field; `includes` are substrings of its message. */
function assertOneProblem(result: FeedResult, expected: Partial<FeedProblem>, ...includes: string[]): FeedProblem {
  const problems = problemsOf(result);
  assert.equal(problems.length, 1, `expected one problem, got ${JSON.stringify(problems, null, 1)}`);
  const [found] = problems;
  for (const [name, value] of Object.entries(expected)) assert.deepEqual(found[name as keyof FeedProblem], value, `${name} of ${JSON.stringify(found)}`);
  for (const text of includes) assert.ok(found.message.includes(text), `"${found.message}" should include "${text}"`);
  return found;
}

const HEADER = 'kind,entity,key,valid_from,valid_to,active,name,postable,jurisdiction,rate,reclaim,source';

describe('good CSV', () => {
  test('rows of several kinds, with the history of one key, become normalized records in file order', () => {
    const text = csv(
      HEADER,
      'employee,DE01,E1,,2025-12-31,,"Müller, Anna",,,,,',
      'employee,DE01,E1,2026-01-01,2026-06-30,,"Anna ""Ann"" Müller",,,,,',
      'employee,DE01,E1,2026-07-01,,false,Anna Müller,,,,,',
      'employee,US01,E1,,,,"Two',
      'lines",,,,,',
      'gl_account,DE01,4000,,,,Travel,true,,,,',
      'gl_account,DE01,4999,,,,Suspense,false,,,,',
      'tax_code,DE01,V19,2020-01-01,,,,,DE,19,19,',
      'fx_rate,DE01,USD/EUR,2026-03-01,2026-03-01,,,,,0.9213,,ECB',
    );
    const records = recordsOf(parseFeed(text, CSV));
    const base = { system: 'hr', active: true, validTo: '9999-12-31' };
    assert.deepEqual(records, [
      { ...base, kind: 'employee', entity: 'DE01', key: 'E1', validTo: '2025-12-31', attributes: { name: 'Müller, Anna' } },
      { ...base, kind: 'employee', entity: 'DE01', key: 'E1', validFrom: '2026-01-01', validTo: '2026-06-30', attributes: { name: 'Anna "Ann" Müller' } },
      { ...base, kind: 'employee', entity: 'DE01', key: 'E1', validFrom: '2026-07-01', active: false, attributes: { name: 'Anna Müller' } },
      { ...base, kind: 'employee', entity: 'US01', key: 'E1', attributes: { name: 'Two\nlines' } },
      { ...base, kind: 'gl_account', entity: 'DE01', key: '4000', attributes: { name: 'Travel', postable: true } },
      { ...base, kind: 'gl_account', entity: 'DE01', key: '4999', attributes: { name: 'Suspense', postable: false } },
      { ...base, kind: 'tax_code', entity: 'DE01', key: 'V19', validFrom: '2020-01-01', attributes: { jurisdiction: 'DE', rate: '19', reclaim: '19' } },
      { ...base, kind: 'fx_rate', entity: 'DE01', key: 'USD/EUR', validFrom: '2026-03-01', validTo: '2026-03-01', attributes: { rate: '0.9213', source: 'ECB' } },
    ]);
  });

  test('the kind option fills a missing kind column and empty kind cells; blank lines and rows of empty cells are skipped', () => {
    const withoutKind = parseFeed(csv('entity,key,name,erpId', 'DE01,CC1,Sales,', '', 'DE01,CC2,Marketing,M-2', ',,,'), { ...CSV, kind: 'cost_center' });
    assert.deepEqual(
      recordsOf(withoutKind).map((r) => [r.kind, r.key, r.attributes]),
      [
        ['cost_center', 'CC1', { name: 'Sales' }],
        ['cost_center', 'CC2', { name: 'Marketing', erpId: 'M-2' }],
      ],
    );
    const mixed = parseFeed(csv('kind,entity,key,name', ',DE01,CC1,Sales', 'category,DE01,MEALS,Meals'), { ...CSV, kind: 'cost_center' });
    assert.deepEqual(recordsOf(mixed).map((r) => r.kind), ['cost_center', 'category']);
  });

  test('a UTF-8 BOM and CRLF line ends read the same as plain LF, with the same line numbers', () => {
    const lines = ['kind,entity,key,name', 'employee,DE01,E1,"A\r\nB"', 'employee,DE01,E2,C'];
    const plain = parseFeed(lines.join('\n').replace('\r\n', '\n'), CSV);
    const windows = parseFeed(`\uFEFF${lines.join('\r\n')}\r\n`, CSV);
    assert.deepEqual(windows, plain);
    assert.equal(recordsOf(windows)[0].attributes.name, 'A\nB');
    const bad = parseFeed(`\uFEFF${['kind,entity,key,name', 'employee,DE01,E1,"A\r\nB"', 'employee,XX01,E2,C'].join('\r\n')}\r\n`, CSV);
    assertOneProblem(bad, { code: 'MD_ENTITY_NOT_CONFIGURED', line: 4, row: 2, column: 2, field: 'entity' });
  });

  test('versions of one key that follow each other are history, not duplicates', () => {
    const text = csv('kind,entity,key,valid_from,valid_to,name', 'employee,DE01,E1,2026-02-01,,B', 'employee,DE01,E1,,2026-01-31,A', 'employee,US01,E1,2026-01-15,,Other entity');
    assert.equal(recordsOf(parseFeed(text, CSV)).length, 3);
  });
});

describe('bad CSV', () => {
  test('an unclosed quote names the line the quoted cell starts on, after multi-byte text', () => {
    const text = csv('kind,entity,key,name', 'employee,DE01,E1,"Müller €"', 'employee,DE01,E2,"Öz', 'employee,DE01,E3,C');
    assertOneProblem(parseFeed(text, CSV), { code: 'MD_FEED_INVALID', line: 3, column: 4 }, 'line 3', 'never closed');
  });

  test('a quote inside an unquoted cell, and text after a closing quote, name their line and column', () => {
    assertOneProblem(parseFeed(csv('kind,entity,key,name', 'employee,DE01,E1,"A', 'B"', 'employee,DE01,E2,Bob "B"'), CSV), { code: 'MD_FEED_INVALID', line: 4, column: 4 }, 'double quote');
    assertOneProblem(parseFeed(csv('kind,entity,key,name', 'employee,DE01,E1,"A"x'), CSV), { code: 'MD_FEED_INVALID', line: 2, column: 4 }, 'closing quote');
  });

  test('rows with too few or too many cells are each named by line', () => {
    const problems = problemsOf(parseFeed(csv('kind,entity,key,name', 'employee,DE01,E1', 'employee,DE01,E2,B', 'employee,DE01,E3,C,extra'), CSV));
    assert.deepEqual(
      problems.map((p) => [p.code, p.line, p.row]),
      [
        ['MD_FEED_INVALID', 2, 1],
        ['MD_FEED_INVALID', 4, 3],
      ],
    );
    assert.match(problems[0].message, /^line 2: the row has 3 cells but the header has 4/);
  });

  test('every bad row is reported, with its line, column and field, and no record is returned', () => {
    const text = csv(
      HEADER,
      'employee,DE01,E1,,,,Good,,,,,',
      'robot,DE01,R1,,,,Robby,,,,,',
      'tax_code,DE01,V7,,,,,,DE,seven,,',
      'employee,XX01,E2,,,,Lost,,,,,',
      'employee,DE01,E3,2026-05-01,2026-04-30,,Late,,,,,',
      'employee,DE01,E4,2026-02-30,,,Leap,,,,,',
      'gl_account,DE01,4000,,,,Travel,yes,,,,',
      'employee,DE01,E5,,,no,Eve,,,,,',
      'employee,DE01,E6,,,,Frank,,,,,ECB',
      'policy,DE01,expense,,,,,,,,,',
      'employee,DE01,,,,,Nobody,,,,,',
      'gl_account,DE01,4100,,,,Fees,,,,,',
    );
    const problems = problemsOf(parseFeed(text, CSV));
    const summary = problems.map((p) => ({ code: p.code, line: p.line, column: p.column, field: p.field }));
    assert.deepEqual(summary, [
      { code: 'MD_RECORD_INVALID', line: 3, column: 1, field: 'kind' },
      { code: 'MD_RECORD_INVALID', line: 4, column: 10, field: 'rate' },
      { code: 'MD_ENTITY_NOT_CONFIGURED', line: 5, column: 2, field: 'entity' },
      { code: 'MD_RECORD_INVALID', line: 6, column: 5, field: 'valid_to' },
      { code: 'MD_RECORD_INVALID', line: 7, column: 4, field: 'valid_from' },
      { code: 'MD_RECORD_INVALID', line: 8, column: 8, field: 'postable' },
      { code: 'MD_RECORD_INVALID', line: 9, column: 6, field: 'active' },
      { code: 'MD_RECORD_INVALID', line: 10, column: 12, field: 'source' },
      { code: 'MD_RECORD_INVALID', line: 11, column: 1, field: 'kind' },
      { code: 'MD_RECORD_INVALID', line: 12, column: 3, field: 'key' },
      { code: 'MD_RECORD_INVALID', line: 13, column: 8, field: 'postable' },
    ]);
    const message = (line: number) => problems.find((p) => p.line === line)?.message ?? '';
    assert.match(message(3), /^line 3, column 1 \(kind\): "robot" is not a record kind; use one of: employee,/);
    assert.match(message(5), /legal entity XX01 is not configured\. Use one of: DE01, US01;/);
    assert.match(message(6), /dates are out of order/);
    assert.match(message(7), /2026-02-30 is not a calendar date/);
    assert.match(message(8), /must be true or false, not "yes"/);
    assert.match(message(10), /^line 10, column 12 \(source\): source is not an attribute of employee records/);
    assert.match(message(11), /policy records are JSON-only/);
    assert.match(message(13), /postable is required but missing/);
  });

  test('the header must name known columns once, an entity, a key and a kind (or a default kind)', () => {
    const unknown = parseFeed(csv('kind,entity,key,name,department', 'employee,DE01,E1,A,Sales'), CSV);
    assertOneProblem(unknown, { code: 'MD_FEED_INVALID', line: 1, column: 5, field: 'department' }, 'department is not a feed column');
    const twice = problemsOf(parseFeed(csv('kind,entity,key,name,,name', 'employee,DE01,E1,A,,A'), CSV));
    assert.deepEqual(twice.map((p) => [p.line, p.column]), [[1, 5], [1, 6]]);
    assertOneProblem(parseFeed(csv('kind,entity,name', 'employee,DE01,A'), CSV), { code: 'MD_FEED_INVALID', line: 1 }, 'no key column');
    assertOneProblem(parseFeed(csv('entity,key,name', 'DE01,E1,A'), CSV), { code: 'MD_FEED_INVALID', line: 1 }, 'no kind column');
    assertOneProblem(parseFeed(csv('entity,key', 'DE01,expense'), { ...CSV, kind: 'policy' }), { code: 'MD_FEED_INVALID', line: 1 }, 'JSON-only');
    // A BOM is stripped once; a second one, left by joining files, is named.
    assertOneProblem(parseFeed(csv('\uFEFF\uFEFFkind,entity,key,name', 'employee,DE01,E1,A'), { ...CSV, kind: 'employee' }), { line: 1, column: 1 }, 'byte-order mark');
  });

  test('an empty file, a blank file and a header without rows are refused', () => {
    for (const text of ['', '\uFEFF', ' \r\n\n', csv('kind,entity,key,name'), csv('kind,entity,key,name', ',,,')]) {
      const [found] = problemsOf(parseFeed(text, CSV));
      assert.equal(found.code, 'MD_FEED_INVALID', JSON.stringify(text));
      assert.match(found.message, /^hr\.csv: the file (is empty|holds a header but no data rows)/);
    }
  });

  test('overlapping versions of one key name both lines, including an open start that reaches back', () => {
    const text = csv(
      'kind,entity,key,valid_from,valid_to,name',
      'employee,DE01,E1,2026-01-01,2026-06-30,A',
      'employee,DE01,E2,,,B',
      'employee,DE01,E1,2026-06-30,,A2',
      'employee,DE01,E2,2026-01-01,,B2',
    );
    const problems = problemsOf(parseFeed(text, CSV));
    assert.deepEqual(
      problems.map((p) => [p.code, p.line, p.field]),
      [
        ['MD_DUPLICATE_KEY', 4, 'key'],
        ['MD_DUPLICATE_KEY', 5, 'key'],
      ],
    );
    assert.match(problems[0].message, /^line 4, column 3 \(key\): employee E1 of entity DE01 is also at line 2 with overlapping dates/);
    assert.match(problems[1].message, /employee E2 of entity DE01 is also at line 3/);
  });

  test(`more than ${MAX_FEED_PROBLEMS} problems are cut to the first ${MAX_FEED_PROBLEMS} in file order`, () => {
    const rows = Array.from({ length: 300 }, (_, i) => `employee,XX01,E${i},Name`);
    const problems = problemsOf(parseFeed(csv('kind,entity,key,name', ...rows), CSV));
    assert.equal(problems.length, MAX_FEED_PROBLEMS);
    assert.deepEqual([problems[0].line, problems.at(-1)?.line], [2, MAX_FEED_PROBLEMS + 1]);
  });

  test(`more than ${MAX_FEED_RECORDS} records are refused as one problem`, () => {
    const rows = 'employee,DE01,E1,A\n'.repeat(MAX_FEED_RECORDS + 1);
    assertOneProblem(parseFeed(`kind,entity,key,name\n${rows}`, CSV), { code: 'MD_BATCH_TOO_LARGE' }, `holds ${MAX_FEED_RECORDS + 1} records`);
    const batch = Array.from({ length: MAX_FEED_RECORDS + 1 }, (_, i) => ({ input: null, path: `records[${i}]` }));
    assertOneProblem(checkBatch(batch, 'hr', CSV.entities), { code: 'MD_BATCH_TOO_LARGE' });
  });
});

describe('JSON feeds', () => {
  const employee = (key: string, extra: Record<string, unknown> = {}) => ({ kind: 'employee', entity: 'DE01', key, attributes: { name: key }, ...extra });

  test('{"records": [...]} and a bare array read the same; policy records are accepted', () => {
    const policy = { kind: 'policy', entity: 'DE01', key: 'expense', attributes: { allowedCurrencies: ['EUR'], flagWeekends: true } };
    const wrapped = parseFeed(JSON.stringify({ records: [employee('E1'), policy] }), JSON_FEED);
    assert.deepEqual(wrapped, parseFeed(`\uFEFF${JSON.stringify([employee('E1'), policy], null, 2)}`, JSON_FEED));
    assert.deepEqual(recordsOf(wrapped).map((r) => r.kind), ['employee', 'policy']);
  });

  test('problems name records[i] and the field path; row is the index', () => {
    const records = [employee('E1'), employee('E2'), employee('E3', { entity: 'FR01' }), { kind: 'tax_code', entity: 'DE01', key: 'V1', attributes: { jurisdiction: 'DE', rate: '7,7' } }, employee('E1')];
    const problems = problemsOf(parseFeed(JSON.stringify({ records }), JSON_FEED));
    assert.deepEqual(
      problems.map((p) => [p.code, p.row, p.field, p.line]),
      [
        ['MD_ENTITY_NOT_CONFIGURED', 2, 'entity', undefined],
        ['MD_RECORD_INVALID', 3, 'attributes.rate', undefined],
        ['MD_DUPLICATE_KEY', 4, 'key', undefined],
      ],
    );
    assert.match(problems[1].message, /^records\[3\]\.attributes\.rate: /);
    assert.match(problems[2].message, /is also at records\[0\]/);
  });

  test('a syntax error names its line and column', () => {
    const text = '{\n  "records": [\n    { "kind": "employee", "entity": "DE01", }\n  ]\n}\n';
    assertOneProblem(parseFeed(text, JSON_FEED), { code: 'MD_FEED_INVALID', line: 3, column: 45 }, 'line 3, column 45', 'not valid JSON');
    assertOneProblem(parseFeed('[\n  {"a": "unterminated\n]', JSON_FEED), { line: 2, column: 22 }, 'control character');
    assertOneProblem(parseFeed('[1, 2]\n[3]', JSON_FEED), { line: 2, column: 1 }, 'after the end');
    assertOneProblem(parseFeed('[1, 2', JSON_FEED), { line: 1, column: 6 }, 'found the end of the text');
  });

  test('any other shape, and no records, are refused', () => {
    for (const text of ['{}', '{"records": {}}', '{"records": [], "more": 1}', '"records"', 'null']) assertOneProblem(parseFeed(text, JSON_FEED), { code: 'MD_FEED_INVALID' }, 'hr.json: a JSON feed must be');
    assertOneProblem(parseFeed('{"records": []}', JSON_FEED), { code: 'MD_FEED_INVALID' }, 'holds no records');
    assertOneProblem(parseFeed('[ ]', JSON_FEED), { code: 'MD_FEED_INVALID' }, 'holds no records');
  });
});

describe('checkBatch, readFeedFile and summarizeProblems', () => {
  test("checkBatch checks push-API records with the caller's paths", () => {
    const ok = checkBatch([{ input: { kind: 'category', entity: 'US01', key: 'MEALS', attributes: { name: 'Meals' } }, path: 'body.records[0]' }], 'expense', CSV.entities);
    assert.equal(recordsOf(ok)[0].system, 'expense');
    const bad = checkBatch([{ input: { kind: 'category', entity: 'US01', key: 'MEALS', attributes: {} }, path: 'body.records[0]' }], 'expense', CSV.entities);
    assertOneProblem(bad, { row: 0, field: 'attributes.name' }, 'body.records[0].attributes.name: name is required');
  });

  test('readFeedFile takes the format from the extension, and turns unreadable files into problems', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'finsync-feed-'));
    try {
      const csvPath = join(dir, 'people.CSV');
      await writeFile(csvPath, csv('kind,entity,key,name', 'employee,DE01,E1,A'));
      assert.equal(recordsOf(await readFeedFile(csvPath, READ)).length, 1);
      const jsonPath = join(dir, 'people.json');
      await writeFile(jsonPath, JSON.stringify([{ kind: 'employee', entity: 'DE01', key: 'E1', attributes: { name: 'A' } }]));
      assert.equal(recordsOf(await readFeedFile(jsonPath, READ)).length, 1);
      const txtPath = join(dir, 'people.txt');
      await writeFile(txtPath, csv('kind,entity,key,name', 'employee,DE01,E1,A'));
      assertOneProblem(await readFeedFile(txtPath, READ), { code: 'MD_FEED_INVALID' }, 'format cannot be told');
      assert.equal(recordsOf(await readFeedFile(txtPath, { ...READ, format: 'csv' })).length, 1);
      assertOneProblem(await readFeedFile(join(dir, 'missing.csv'), READ), { code: 'MD_FEED_INVALID' }, 'missing.csv: the file does not exist');
      assertOneProblem(await readFeedFile(dir, { ...READ, format: 'csv' }), { code: 'MD_FEED_INVALID' }, 'directory');
      const latin1 = join(dir, 'latin1.csv');
      await writeFile(latin1, Buffer.from('kind,entity,key,name\nemployee,DE01,E1,M\xfcller\n', 'latin1'));
      assertOneProblem(await readFeedFile(latin1, READ), { code: 'MD_FEED_INVALID' }, 'not UTF-8');
      const utf16 = join(dir, 'utf16.csv');
      await writeFile(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('kind,entity,key,name\n', 'utf16le')]));
      assertOneProblem(await readFeedFile(utf16, READ), { code: 'MD_FEED_INVALID' }, 'UTF-16');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('summarizeProblems makes one MD_IMPORT_INVALID AppError with every problem in details', () => {
    const problems = problemsOf(parseFeed(csv('kind,entity,key,name', 'employee,XX01,E1,A', 'employee,XX01,E2,B'), CSV));
    const error = summarizeProblems('hr.csv', problems);
    assert.ok(error instanceof AppError);
    assert.equal(error.code, 'MD_IMPORT_INVALID');
    assert.equal(error.status, 400);
    assert.deepEqual(error.params, { file: 'hr.csv', count: 2, first: problems[0].message.replace(/\.$/, '') });
    assert.ok(!error.message.includes('..'), error.message);
    assert.deepEqual(error.details, problems);
    assert.match(error.message, /^hr\.csv: 2 problem\(s\), the first: line 2, column 2 \(entity\): legal entity XX01/);
  });
});

// --- properties ---

type CsvKind = Exclude<Kind, 'policy'>;
const CSV_KINDS = [...CSV_ATTRIBUTE_COLUMNS.keys()] as CsvKind[];

/** Text with the characters CSV must quote, and some that are more than one byte or code unit. */
const textArb = (maxLength: number) => fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', ',', '"', '\n', ';', 'é', '€', '😀'), minLength: 1, maxLength });
const codeArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,8}$/);
const percentArb = fc.integer({ min: 0, max: 10_000 }).map((bp) => (bp % 100 === 0 ? String(bp / 100) : `${Math.floor(bp / 100)}.${String(bp % 100).padStart(2, '0')}`));
const CURRENCIES = ['EUR', 'USD', 'JPY', 'CHF', 'GBP'];
const idArb = fc.stringMatching(/^[A-Z][A-Z0-9]{0,5}$/);

const KEY_ARBS: Record<CsvKind, fc.Arbitrary<string>> = {
  employee: idArb,
  cost_center: idArb,
  project: idArb,
  gl_account: idArb,
  tax_code: idArb,
  supplier: idArb,
  category: idArb,
  currency: fc.constantFrom(...CURRENCIES),
  fx_rate: fc.uniqueArray(fc.constantFrom(...CURRENCIES), { minLength: 2, maxLength: 2 }).map(([a, b]) => `${a}/${b}`),
};

const named = { name: textArb(20), erpId: codeArb };
const ATTRIBUTE_ARBS: Record<CsvKind, fc.Arbitrary<Record<string, unknown>>> = {
  employee: fc.record({ ...named, email: textArb(30), hrId: codeArb, expenseId: codeArb, costCenter: codeArb }, { requiredKeys: ['name'] }),
  cost_center: fc.record(named, { requiredKeys: ['name'] }),
  project: fc.record({ ...named, costCenter: codeArb }, { requiredKeys: ['name'] }),
  gl_account: fc.record({ ...named, postable: fc.boolean() }, { requiredKeys: ['name', 'postable'] }),
  tax_code: fc.record({ jurisdiction: fc.stringMatching(/^[A-Z]{2,6}$/), rate: percentArb, reclaim: percentArb, erpId: codeArb }, { requiredKeys: ['jurisdiction', 'rate'] }),
  supplier: fc.record({ ...named, taxId: textArb(12) }, { requiredKeys: ['name'] }),
  category: fc.record(named, { requiredKeys: ['name'] }),
  currency: fc.record(named, { requiredKeys: [] }),
  fx_rate: fc.record({ rate: fc.stringMatching(/^[1-9]\d{0,3}(\.\d{1,6})?$/), source: textArb(12) }),
};

/** Consecutive periods: cut days split time into versions; the first may start open and the last may stay open. */
const periodsArb = fc
  .record({ cuts: fc.uniqueArray(fc.integer({ min: 0, max: 4000 }), { minLength: 2, maxLength: 4 }), openStart: fc.boolean(), openEnd: fc.boolean() })
  .map(({ cuts, openStart, openEnd }) => {
    const days = [...cuts].sort((a, b) => a - b);
    return days.slice(1).map((next, i) => ({
      ...((i > 0 || !openStart) && { validFrom: addDays('2020-01-01', days[i]) }),
      ...((i < days.length - 2 || !openEnd) && { validTo: addDays('2020-01-01', next - 1) }),
    }));
  });

/** The versions of one record: one kind, entity and key, over consecutive periods. */
const historyArb = fc.constantFrom(...CSV_KINDS).chain((kind) =>
  fc.record({ entity: fc.constantFrom('DE01', 'US01'), key: KEY_ARBS[kind], periods: periodsArb }).chain(({ entity, key, periods }) =>
    fc.tuple(
      ...periods.map((period) =>
        fc.record({ attributes: ATTRIBUTE_ARBS[kind], active: fc.option(fc.boolean(), { nil: undefined }) }).map(
          // fc.record may build null-prototype objects; a parsed feed holds plain ones.
          ({ attributes, active }): RecordInput => ({ kind, entity, key, ...period, ...(active !== undefined && { active }), attributes: { ...attributes } }),
        ),
      ),
    ),
  ),
);

const recordSetArb = fc.uniqueArray(historyArb, { selector: (h) => `${h[0].kind}/${h[0].entity}/${h[0].key}`, minLength: 1, maxLength: 6 }).map((histories) => histories.flat());
const layoutArb = fc.record({ eol: fc.constantFrom('\n', '\r\n'), bom: fc.boolean(), kindColumn: fc.boolean() });

/** The CSV cells of records, with a header of every column of the kinds present. */
function toCells(records: readonly RecordInput[], kindColumn: boolean): { header: string[]; rows: string[][] } {
  const kinds = [...new Set(records.map((r) => r.kind as CsvKind))];
  const attributeNames = [...new Set(kinds.flatMap((kind) => [...(CSV_ATTRIBUTE_COLUMNS.get(kind)?.keys() ?? [])]))];
  const header = [...(kindColumn ? ['kind'] : []), 'entity', 'key', 'valid_from', 'valid_to', 'active', ...attributeNames];
  const valueOf = (r: RecordInput, column: string): unknown =>
    ({ kind: r.kind, entity: r.entity, key: r.key, valid_from: r.validFrom, valid_to: r.validTo, active: r.active })[column] ?? r.attributes[column];
  return { header, rows: records.map((r) => header.map((column) => (valueOf(r, column) === undefined ? '' : String(valueOf(r, column))))) };
}

/** A small CSV writer: quotes what needs it and reports the line each row starts on. */
function writeCsv(header: readonly string[], rows: readonly string[][], layout: { eol: string; bom: boolean }): { text: string; lines: number[] } {
  const quote = (cell: string) => (/[",\n\r]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell);
  let text = `${layout.bom ? '\uFEFF' : ''}${header.map(quote).join(',')}${layout.eol}`;
  const lines: number[] = [];
  for (const row of rows) {
    lines.push(text.split('\n').length);
    text += `${row.map(quote).join(',')}${layout.eol}`;
  }
  return { text, lines };
}

function optionsFor(records: readonly RecordInput[], kindColumn: boolean): FeedOptions {
  return kindColumn ? CSV : { ...CSV, kind: records[0].kind as Kind };
}

describe('properties', () => {
  const soup = fc
    .array(fc.oneof(fc.constantFrom('kind', 'entity', 'key', 'name', 'employee', 'policy', 'DE01', 'E1', 'true', '2026-01-01', ',', '"', '""', '\n', '\r\n', '\r', '\uFEFF', '{', '}', '[', ']', ':', '"records"', '"attributes"', 'null'), fc.string({ unit: 'binary', maxLength: 8 })), { maxLength: 60 })
    .map((parts) => parts.join(''));

  test('no text makes parseFeed throw: it returns records or at most 200 problems', () => {
    fc.assert(
      fc.property(fc.oneof(soup, fc.string({ unit: 'binary', maxLength: 200 }), fc.json()), fc.constantFrom<FeedOptions['format']>('csv', 'json'), fc.option(fc.constantFrom<Kind>('employee', 'policy', 'fx_rate'), { nil: undefined }), (text, format, kind) => {
        const result = parseFeed(text, { ...CSV, format, ...(kind !== undefined && { kind }) });
        if (result.ok) assert.ok(Array.isArray(result.records));
        else {
          assert.ok(result.problems.length >= 1 && result.problems.length <= MAX_FEED_PROBLEMS);
          for (const p of result.problems) assert.ok(p.message.length > 0 && !/\{(path|detail)\}/.test(p.message), p.message);
        }
      }),
      { numRuns: 300, ...FC_SEED },
    );
  });

  test('a valid record set written as CSV reads back as the records normalizeRecord makes', () => {
    fc.assert(
      fc.property(recordSetArb, layoutArb, (records, layout) => {
        const kindColumn = layout.kindColumn || new Set(records.map((r) => r.kind)).size > 1;
        const { header, rows } = toCells(records, kindColumn);
        const { text } = writeCsv(header, rows, layout);
        const expected = records.map((r) => normalizeRecord('hr', r, 'expected'));
        assert.deepEqual(recordsOf(parseFeed(text, optionsFor(records, kindColumn))), expected);
      }),
      { numRuns: 150, ...FC_SEED },
    );
  });

  test("corrupting any one cell of a valid file is reported on that row's line, and nothing is returned", () => {
    // Each poison breaks every column: too long for any text attribute, not a kind, date, boolean or pattern.
    const poisonArb = fc.constantFrom('x'.repeat(401), `!${'y'.repeat(400)}`, `"q",\n${'z'.repeat(400)}`);
    fc.assert(
      fc.property(recordSetArb, layoutArb, fc.nat(), fc.nat(), poisonArb, (records, layout, rowPick, columnPick, poison) => {
        const kindColumn = layout.kindColumn || new Set(records.map((r) => r.kind)).size > 1;
        const { header, rows } = toCells(records, kindColumn);
        const row = rowPick % rows.length;
        rows[row][columnPick % header.length] = poison;
        const { text, lines } = writeCsv(header, rows, layout);
        const problems = problemsOf(parseFeed(text, optionsFor(records, kindColumn)));
        assert.ok(
          problems.some((p) => p.line === lines[row]),
          `no problem on line ${lines[row]}: ${JSON.stringify(problems)}`,
        );
      }),
      { numRuns: 150, ...FC_SEED },
    );
  });

  test('the JSON syntax locator finds an error exactly when JSON.parse fails', () => {
    const brokenJson = fc.tuple(fc.json(), fc.nat(), fc.constantFrom('', ',', '"', '}', ']', '\n', 'x', '\u0001', '\\')).map(([json, at, insert]) => {
      const i = at % (json.length + 1);
      return json.slice(0, i) + insert + json.slice(i + (insert === '' ? 1 : 0));
    });
    fc.assert(
      fc.property(fc.oneof(brokenJson, soup), (text) => {
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        const found = findJsonSyntaxError(text);
        assert.equal(found === undefined, valid, `${JSON.stringify(text)}: ${JSON.stringify(found)}`);
      }),
      { numRuns: 400, ...FC_SEED },
    );
  });
});
