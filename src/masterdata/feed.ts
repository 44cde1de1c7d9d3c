/**
 * Feed files: master-data records delivered as a CSV or JSON file (an HR export, a chart of
 * accounts kept in a spreadsheet), and the batch check that file imports share with the push API.
 *
 * A feed is all or nothing. `parseFeed` returns either every record normalized, or the problems
 * it found (at most MAX_FEED_PROBLEMS, in file order), each naming the line, column and field to
 * fix. Nothing in the text makes it throw, and it never returns part of a file. The layouts are
 * documented in docs/master-data.md, "Feed files". Pure, apart from `readFeedFile`.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { CsvError, parse } from 'csv-parse/sync';
import { DomainError } from '../domain/domain-error.ts';
import { AppError, assert, formatErrorMessage, type ErrorCode, type ErrorParams } from '../errors.ts';
import { findJsonSyntaxError } from './json-syntax.ts';
import { ATTRIBUTE_SCHEMAS, KINDS, OPEN_FROM, isKind, normalizeRecord, type IncomingVersion, type Kind, type System } from './records.ts';

/** More records than this in one batch or file are refused (MD_BATCH_TOO_LARGE). */
export const MAX_FEED_RECORDS = 200_000;
/** A refused feed lists at most this many problems, the first ones in file order. */
export const MAX_FEED_PROBLEMS = 200;

export type FeedFormat = 'csv' | 'json';

export interface FeedProblem {
  readonly code: ErrorCode;
  /** CSV: the data row, 1-based (the first row after the header is 1). JSON and push batches: the index in the records array. */
  readonly row?: number;
  /** CSV: the line the row starts on, the header being line 1. JSON: set for a syntax error only. */
  readonly line?: number;
  /** 1-based: the CSV column, or the character within the line of a JSON syntax error. */
  readonly column?: number;
  /** CSV: the column name (`rate`, `valid_to`). JSON and push batches: the path inside the record (`attributes.rate`). */
  readonly field?: string;
  /** The code's message, filled in. */
  readonly message: string;
}

export type FeedResult = { ok: true; records: IncomingVersion[] } | { ok: false; problems: FeedProblem[] };

export interface FeedOptions {
  readonly format: FeedFormat;
  /** Whose view the records are. */
  readonly system: System;
  /** CSV only: the kind of rows whose `kind` cell is empty or whose file has no `kind` column. */
  readonly kind?: Kind;
  /** The configured legal entities; a record of any other entity is refused. */
  readonly entities: ReadonlySet<string>;
  /** Names the file in file-level problems. */
  readonly fileName: string;
}

/** The CSV columns every kind has; attribute columns follow them. */
export const CSV_RECORD_COLUMNS = ['kind', 'entity', 'key', 'valid_from', 'valid_to', 'active'] as const;
const RECORD_FIELD_OF_COLUMN: Readonly<Record<string, string>> = { valid_from: 'validFrom', valid_to: 'validTo' };

/** Per kind, its attribute columns and whether each holds text or `true`/`false`. Policy records are JSON-only. */
export const CSV_ATTRIBUTE_COLUMNS: ReadonlyMap<Kind, ReadonlyMap<string, 'text' | 'boolean'>> = new Map(
  KINDS.filter((kind) => kind !== 'policy').map((kind) => {
    const properties = (ATTRIBUTE_SCHEMAS[kind] as { properties: Record<string, { type?: string }> }).properties;
    return [
      kind,
      new Map(
        Object.entries(properties).map(([name, schema]) => {
          // A cell is text; only these two types have a reading here. A new type needs its own.
          assert(schema.type === 'string' || schema.type === 'boolean', `CSV cannot carry ${kind}.${name} of type ${String(schema.type)}`);
          return [name, schema.type === 'boolean' ? 'boolean' : 'text'] as const;
        }),
      ),
    ];
  }),
);
const KNOWN_COLUMNS = new Set<string>([...CSV_RECORD_COLUMNS, ...[...CSV_ATTRIBUTE_COLUMNS.values()].flatMap((columns) => [...columns.keys()])]);

/** Where a problem sits: the text that starts its message, and the position fields of the FeedProblem. */
interface Place {
  readonly path: string;
  readonly row?: number;
  readonly line?: number;
  readonly column?: number;
  readonly field?: string;
}

/** One record to check, with the way to name a field of it in a problem. */
interface Entry {
  readonly input: unknown;
  /** `records[3]` or `line 4`; names the record as a whole (and the other row of a duplicate). */
  readonly path: string;
  /** Position in the batch, in file order. */
  readonly order: number;
  readonly place: (field: string) => Place;
}

/** Parses and checks a whole feed file's text. */
export function parseFeed(text: string, options: FeedOptions): FeedResult {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (body.trim() === '') return refuse([problem('MD_FEED_INVALID', { path: options.fileName }, { detail: 'the file is empty; it must hold at least one record' })]);
  if (options.format === 'csv') return parseCsvFeed(body, options);
  if (options.format === 'json') return parseJsonFeed(body, options);
  return refuse([problem('MD_FEED_INVALID', { path: options.fileName }, { detail: `the format ${String(options.format)} is not csv or json` })]);
}

/**
 * Checks a batch of wire records (`RecordInput`s) as one unit: each is normalized, its entity must
 * be configured, and no (kind, entity, key) may appear twice with overlapping dates. `path` names
 * each record in problems, e.g. `records[3]`.
 */
export function checkBatch(records: readonly { input: unknown; path: string }[], system: System, entities: ReadonlySet<string>): FeedResult {
  return checkEntries(
    records.map(({ input, path }, index) => ({ input, path, order: index, place: pathPlace(path, index) })),
    system,
    entities,
  );
}

/** Reads and checks a feed file. The format comes from the extension (.csv, .json) unless given. A file that cannot be read is a problem, not a throw. */
export async function readFeedFile(path: string, options: Omit<FeedOptions, 'format' | 'fileName'> & { readonly format?: FeedFormat }): Promise<FeedResult> {
  const format = options.format ?? formatOfFileName(path);
  const fileProblem = (detail: string) => refuse([problem('MD_FEED_INVALID', { path }, { detail })]);
  if (format === undefined) return fileProblem(`the format cannot be told from the name; name the file .csv or .json, or give the format`);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    return fileProblem(describeReadError(error));
  }
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) return fileProblem('the file is UTF-16 text; save it as UTF-8');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fileProblem('the file is not UTF-8 text; save it as UTF-8');
  }
  return parseFeed(text, { ...options, format, fileName: path });
}

/** One AppError for a refused feed; the problems go in `details`. */
export function summarizeProblems(fileName: string, problems: readonly FeedProblem[]): AppError {
  assert(problems.length > 0, 'summarizeProblems needs at least one problem');
  // The template goes on with a sentence of its own, so the first message's full stop is dropped.
  return new AppError('MD_IMPORT_INVALID', { file: fileName, count: problems.length, first: problems[0].message.replace(/\.$/, '') }, problems);
}

export function formatOfFileName(path: string): FeedFormat | undefined {
  const extension = extname(path).toLowerCase();
  return extension === '.csv' ? 'csv' : extension === '.json' ? 'json' : undefined;
}

// --- checks shared by every format ---

function checkEntries(entries: readonly Entry[], system: System, entities: ReadonlySet<string>): FeedResult {
  if (entries.length > MAX_FEED_RECORDS) return refuse([problem('MD_BATCH_TOO_LARGE', { path: '' }, { count: entries.length, max: MAX_FEED_RECORDS })]);
  const problems: FeedProblem[] = [];
  const checked: { entry: Entry; record: IncomingVersion }[] = [];
  for (const entry of entries) {
    // Entries come in file order: once the list is full, later rows cannot enter it.
    if (problems.length >= MAX_FEED_PROBLEMS) break;
    const outcome = checkEntry(entry, system, entities);
    if ('message' in outcome) problems.push(outcome);
    else checked.push({ entry, record: outcome });
  }
  problems.push(...findOverlaps(checked));
  return problems.length > 0 ? refuse(problems) : { ok: true, records: checked.map((c) => c.record) };
}

function checkEntry(entry: Entry, system: System, entities: ReadonlySet<string>): IncomingVersion | FeedProblem {
  const kind = isObject(entry.input) ? entry.input.kind : undefined;
  if (typeof kind === 'string' && !isKind(kind)) return problem('MD_RECORD_INVALID', entry.place('kind'), { detail: unknownKind(kind) });
  let record: IncomingVersion;
  try {
    record = normalizeRecord(system, entry.input, entry.path);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    const fullPath = String(error.params.path);
    const field = fullPath.startsWith(`${entry.path}.`) ? fullPath.slice(entry.path.length + 1) : '';
    return problem(error.code, entry.place(field), { detail: explainDetail(String(error.params.detail)) });
  }
  if (!entities.has(record.entity)) {
    return problem('MD_ENTITY_NOT_CONFIGURED', entry.place('entity'), { entity: record.entity, configured: [...entities].sort().join(', ') || '(none)' });
  }
  return record;
}

/** Versions of one (kind, entity, key) may follow each other (history) but not overlap. */
function findOverlaps(checked: readonly { entry: Entry; record: IncomingVersion }[]): FeedProblem[] {
  const groups = new Map<string, { entry: Entry; record: IncomingVersion }[]>();
  for (const item of checked) {
    const id = `${item.record.kind}\u0000${item.record.entity}\u0000${item.record.key}`;
    const group = groups.get(id);
    if (group) group.push(item);
    else groups.set(id, [item]);
  }
  const problems: FeedProblem[] = [];
  // An open start (no validFrom) may reach back to the beginning of time, so it counts as OPEN_FROM.
  const start = (r: IncomingVersion) => r.validFrom ?? OPEN_FROM;
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    group.sort((a, b) => (start(a.record) < start(b.record) ? -1 : start(a.record) > start(b.record) ? 1 : a.entry.order - b.entry.order));
    let reach = group[0];
    for (const current of group.slice(1)) {
      if (start(current.record) <= reach.record.validTo) {
        const [later, earlier] = current.entry.order > reach.entry.order ? [current, reach] : [reach, current];
        const { kind, entity, key } = later.record;
        problems.push(problem('MD_DUPLICATE_KEY', later.entry.place('key'), { kind, key, entity, otherPath: earlier.entry.path }));
      }
      if (current.record.validTo > reach.record.validTo) reach = current;
    }
  }
  return problems;
}

function pathPlace(path: string, row: number): (field: string) => Place {
  return (field) => (field ? { path: `${path}.${field}`, row, field } : { path, row });
}

// --- JSON ---

function parseJsonFeed(body: string, options: FeedOptions): FeedResult {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch (error) {
    const found = findJsonSyntaxError(body) ?? { line: 1, column: 1, detail: error instanceof Error ? error.message : String(error) };
    const { line, column } = found;
    return refuse([problem('MD_FEED_INVALID', { path: `line ${line}, column ${column}`, line, column }, { detail: `not valid JSON: ${found.detail}` })]);
  }
  const records = Array.isArray(data) ? data : isObject(data) && Object.keys(data).length === 1 && Array.isArray(data.records) ? data.records : undefined;
  if (records === undefined) {
    return refuse([problem('MD_FEED_INVALID', { path: options.fileName }, { detail: 'a JSON feed must be {"records": [ … ]} or an array of records' })]);
  }
  if (records.length === 0) return refuse([problem('MD_FEED_INVALID', { path: options.fileName }, { detail: 'the file holds no records' })]);
  return checkBatch(
    records.map((input: unknown, index) => ({ input, path: `records[${index}]` })),
    options.system,
    options.entities,
  );
}

// --- CSV ---

interface CsvRow {
  readonly cells: readonly string[];
  /** 1-based, header excluded. */
  readonly row: number;
  readonly line: number;
}

function parseCsvFeed(body: string, options: FeedOptions): FeedResult {
  // One line-break convention, so line numbers are counted one way (a CRLF inside a quoted cell reads as \n).
  const split = splitCsv(body.replace(/\r\n?/g, '\n'));
  if (!Array.isArray(split)) return refuse([split]);
  const [header, ...rows] = split;
  if (header === undefined) return refuse([problem('MD_FEED_INVALID', { path: options.fileName }, { detail: 'the file is empty; it must hold at least one record' })]);
  const headerProblems = checkHeader(header.cells, options);
  if (headerProblems.length > 0) return refuse(headerProblems);
  if (rows.length === 0) return refuse([problem('MD_FEED_INVALID', { path: options.fileName }, { detail: 'the file holds a header but no data rows' })]);
  if (rows.length > MAX_FEED_RECORDS) return refuse([problem('MD_BATCH_TOO_LARGE', { path: '' }, { count: rows.length, max: MAX_FEED_RECORDS })]);
  const columns = new Map(header.cells.map((name, index) => [name, index]));
  const problems: FeedProblem[] = [];
  const entries: Entry[] = [];
  for (const row of rows) {
    if (problems.length >= MAX_FEED_PROBLEMS) break;
    const entry = csvEntry(header.cells, columns, row, options.kind, problems);
    if (entry) entries.push(entry);
  }
  const checked = checkEntries(entries, options.system, options.entities);
  if (problems.length === 0) return checked;
  return refuse(checked.ok ? problems : [...problems, ...checked.problems]);
}

/** Rows with their line numbers, or the one syntax problem that stops the parser. Blank lines and rows of empty cells are skipped. */
function splitCsv(text: string): CsvRow[] | FeedProblem {
  let parsed: { record: string[]; raw: string }[];
  try {
    parsed = parse(text, { raw: true, relax_column_count: true, skip_empty_lines: true, record_delimiter: '\n' }) as unknown as typeof parsed;
  } catch (error) {
    if (error instanceof CsvError) return csvSyntaxProblem(text, error);
    throw error;
  }
  const rows: CsvRow[] = [];
  let linesBefore = 0;
  for (const { record, raw } of parsed) {
    // `raw` carries the blank lines skipped before the record, and the record's own line breaks.
    const line = linesBefore + (raw.length - raw.replace(/^\n+/, '').length) + 1;
    linesBefore += countLineBreaks(raw);
    if (rows.length > 0 && record.every((cell) => cell === '')) continue;
    rows.push({ cells: record, row: rows.length, line });
  }
  return rows;
}

function csvSyntaxProblem(text: string, error: CsvError): FeedProblem {
  // For an unclosed quote the parser is at the end of the file; the row it started on is what to fix.
  const raw = error.raw;
  const line = error.code === 'CSV_QUOTE_NOT_CLOSED' && typeof raw === 'string' && text.endsWith(raw) ? startLineOfRest(text, raw) : Number(error.lines);
  const column = typeof error.column === 'number' ? error.column + 1 : undefined;
  const details: Partial<Record<string, string>> = {
    CSV_QUOTE_NOT_CLOSED: 'a quoted cell starting on this line is never closed; add the closing double quote',
    INVALID_OPENING_QUOTE: 'a double quote inside an unquoted cell; put the whole cell in double quotes and double each quote inside it ("")',
    CSV_INVALID_CLOSING_QUOTE: 'text follows the closing quote of a cell; put the whole cell in double quotes and double each quote inside it ("")',
  };
  const where = column === undefined ? `line ${line}` : `line ${line}, column ${column}`;
  return problem('MD_FEED_INVALID', { path: where, line, ...(column !== undefined && { column }) }, { detail: details[error.code] ?? `the CSV cannot be read: ${error.message}` });
}

/** The line on which `rest`, the end of `text` from an unfinished record on (blank lines first), starts its record. */
function startLineOfRest(text: string, rest: string): number {
  return countLineBreaks(text.slice(0, text.length - rest.length)) + (rest.length - rest.replace(/^\n+/, '').length) + 1;
}

function countLineBreaks(text: string): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

function checkHeader(header: readonly string[], options: FeedOptions): FeedProblem[] {
  const problems: FeedProblem[] = [];
  const at = (index: number | undefined, detail: string) => {
    const name = index === undefined ? undefined : header[index];
    const place = index === undefined ? { path: 'line 1', line: 1 } : { path: `line 1, column ${index + 1}${name ? ` (${name})` : ''}`, line: 1, column: index + 1, ...(name ? { field: name } : {}) };
    problems.push(problem('MD_FEED_INVALID', place, { detail }));
  };
  const seen = new Map<string, number>();
  for (const [index, name] of header.entries()) {
    if (name === '') at(index, 'the header cell is empty; name the column or remove it');
    else if (seen.has(name)) at(index, `the column ${name} appears twice (also column ${(seen.get(name) ?? 0) + 1}); keep one`);
    else if (name.includes('\uFEFF')) at(index, 'the column name holds a byte-order mark (BOM), as left by joining files; remove it');
    else if (!KNOWN_COLUMNS.has(name)) at(index, `${name} is not a feed column; use ${CSV_RECORD_COLUMNS.join(', ')} and the attribute names of the kinds (see docs/master-data.md)`);
    seen.set(name, index);
  }
  for (const name of ['entity', 'key']) if (!seen.has(name)) at(undefined, `the header has no ${name} column`);
  if (options.kind !== undefined && !CSV_ATTRIBUTE_COLUMNS.has(options.kind)) {
    at(undefined, isKind(options.kind) ? `${options.kind} records are JSON-only; send them in a JSON feed` : unknownKind(options.kind));
  } else if (options.kind === undefined && !seen.has('kind')) {
    at(undefined, 'the header has no kind column and no default kind was given; add a kind column or give the kind');
  }
  return problems;
}

/** Builds the wire record of one CSV row; problems of the row's cells go to `problems`. */
function csvEntry(header: readonly string[], columns: ReadonlyMap<string, number>, row: CsvRow, defaultKind: Kind | undefined, problems: FeedProblem[]): Entry | undefined {
  const place = csvPlace(row, columns);
  if (row.cells.length !== header.length) {
    const detail = `the row has ${row.cells.length} cells but the header has ${header.length}; check for a missing or extra comma, and quote cells that hold commas`;
    problems.push(problem('MD_FEED_INVALID', place(''), { detail }));
    return undefined;
  }
  const cell = (name: string) => row.cells[columns.get(name) ?? -1] ?? '';
  const kind = cell('kind') || defaultKind || '';
  const attributeColumns = CSV_ATTRIBUTE_COLUMNS.get(kind as Kind);
  if (attributeColumns === undefined) {
    const detail = kind === '' ? 'the kind is empty; fill it in or give a default kind' : isKind(kind) ? `${kind} records are JSON-only; send them in a JSON feed` : unknownKind(kind);
    problems.push(problem('MD_RECORD_INVALID', place('kind'), { detail }));
    return undefined;
  }
  const before = problems.length;
  const invalid = (field: string, detail: string) => problems.push(problem('MD_RECORD_INVALID', place(field), { detail }));
  const input: Record<string, unknown> = { kind, entity: cell('entity'), key: cell('key') };
  for (const name of ['entity', 'key']) if (cell(name) === '') invalid(name, `the ${name} is empty; every row needs one`);
  for (const name of ['valid_from', 'valid_to']) if (cell(name) !== '') input[RECORD_FIELD_OF_COLUMN[name]] = cell(name);
  const active = cell('active');
  if (active !== '') {
    if (active === 'true' || active === 'false') input.active = active === 'true';
    else invalid('active', `must be true, false or empty, not ${JSON.stringify(active)}`);
  }
  const attributes: Record<string, unknown> = {};
  for (const [index, name] of header.entries()) {
    const value = row.cells[index];
    if (value === '' || (CSV_RECORD_COLUMNS as readonly string[]).includes(name)) continue;
    const type = attributeColumns.get(name);
    if (type === undefined) invalid(`attributes.${name}`, `${name} is not an attribute of ${kind} records; leave it empty on ${kind} rows`);
    else if (type === 'text') attributes[name] = value;
    else if (value === 'true' || value === 'false') attributes[name] = value === 'true';
    else invalid(`attributes.${name}`, `must be true or false, not ${JSON.stringify(value)}`);
  }
  input.attributes = attributes;
  return problems.length > before ? undefined : { input, path: `line ${row.line}`, order: row.row, place };
}

/** Names a record field of a CSV row by its line and column: `line 4, column 7 (rate)`. */
function csvPlace(row: CsvRow, columns: ReadonlyMap<string, number>): (field: string) => Place {
  return (field) => {
    const base = { path: `line ${row.line}`, row: row.row, line: row.line };
    const name = field.startsWith('attributes.') ? field.slice('attributes.'.length).split(/[.[]/)[0] : field === 'validFrom' ? 'valid_from' : field === 'validTo' ? 'valid_to' : field;
    if (name === '' || name === 'attributes') return base;
    const index = columns.get(name);
    if (index === undefined) return { ...base, path: `${base.path}, ${name}`, field: name };
    return { ...base, path: `${base.path}, column ${index + 1} (${name})`, column: index + 1, field: name };
  };
}

// --- small helpers ---

function problem(code: ErrorCode, place: Place, params: ErrorParams): FeedProblem {
  const { path, ...position } = place;
  return { code, ...position, message: formatErrorMessage(code, { path, ...params }) };
}

/** Problems in file order (header first), at most MAX_FEED_PROBLEMS. */
function refuse(problems: readonly FeedProblem[]): FeedResult {
  const position = (p: FeedProblem) => p.line ?? p.row ?? -1;
  return { ok: false, problems: [...problems].sort((a, b) => position(a) - position(b)).slice(0, MAX_FEED_PROBLEMS) };
}

function unknownKind(kind: string): string {
  return `${JSON.stringify(kind)} is not a record kind; use one of: ${KINDS.join(', ')}`;
}

/** Schema messages said the way a person fixing a file needs them. */
function explainDetail(detail: string): string {
  if (detail === 'schema is false') return 'is not a field of this record; remove it';
  if (detail.startsWith('must match pattern "^\\d{4}-')) return 'must be a date written YYYY-MM-DD';
  const missing = /^must have required properties (\w+)$/.exec(detail);
  if (missing) return `${missing[1]} is required but missing`;
  return detail;
}

function describeReadError(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === 'ENOENT') return 'the file does not exist';
  if (code === 'EACCES' || code === 'EPERM') return 'the file cannot be read: permission denied';
  if (code === 'EISDIR') return 'this is a directory, not a file';
  return `the file cannot be read (${typeof code === 'string' ? code : error instanceof Error ? error.message : String(error)})`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
