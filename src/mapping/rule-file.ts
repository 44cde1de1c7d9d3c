/**
 * Reads a governed mapping rule file (YAML: settings and decision table; CSV: decision table only)
 * and compiles it into a CompiledRuleSet, or says everything that is wrong with it, each problem
 * with its file, line and column. Pure; never throws, whatever the text.
 *
 * Both formats become the same raw rows (cells with their text and where each character is), which
 * one compiler turns into rules. A file with a syntax problem reports only its syntax problems:
 * what follows a broken quote or indentation is not what its author meant, so field problems
 * there would mislead.
 */
import { Composer, Parser, isAlias, isMap, isScalar, isSeq, type CST, type Document, type Node, type Pair, type Scalar, type YAMLError } from 'yaml';
import { PAYMENT_TYPES, type PaymentType } from '../domain/report.ts';
import { MATCH_COLUMNS, OUTPUT_FIELDS, type CompiledRuleSet, type Condition, type MatchColumn, type OutputField, type Rule, type RuleProblem, type RuleSetDocument, type SourcePos, type TaxHandling, type ValueSource } from './rule-set.ts';
import { CODE_PATTERN, compileCondition, compileExpression, isCompiledExpression, isMatchColumn, type ExpressionCache, type Locate } from './expressions.ts';

export const RULE_FILE_LIMITS = {
  textChars: 2_000_000,
  rows: 5000,
  descriptionChars: 500,
  /**
   * Nesting of the YAML syntax tree; a rule file needs 6 (document, top mapping, rules, rule,
   * when/then, value). Deeper input is refused before the yaml library composes it: composing
   * recurses per level, and near the stack limit V8 can abort the process instead of throwing.
   */
  yamlDepth: 32,
} as const;

export { CODE_PATTERN };

export type ParseRuleFileResult = { readonly ok: true; readonly ruleSet: CompiledRuleSet } | { readonly ok: false; readonly problems: RuleProblem[] };

export function ruleFileFormat(fileName: string): 'yaml' | 'csv' | undefined {
  const lower = fileName.toLowerCase();
  if (lower.endsWith('.yaml') || lower.endsWith('.yml')) return 'yaml';
  if (lower.endsWith('.csv')) return 'csv';
  return undefined;
}

export function parseRuleFile(input: { text: string; file: string; format: 'yaml' | 'csv'; scope: string }): ParseRuleFileResult {
  const { file, format, scope } = input;
  const text = typeof input.text === 'string' ? input.text.replace(/^\uFEFF/, '') : '';
  if (text.length > RULE_FILE_LIMITS.textChars) {
    return refuse([limitProblem(file, `The file has ${text.length.toLocaleString('en')} characters; a rule file may have at most ${RULE_FILE_LIMITS.textChars.toLocaleString('en')}: shorten it.`)]);
  }
  try {
    const problems: RuleProblem[] = [];
    const source = new SourceMap(file, text);
    const raw = format === 'csv' ? readCsv(text, source, problems) : readYaml(text, source, scope, problems);
    if (raw && raw.rows.length > RULE_FILE_LIMITS.rows) {
      return refuse([limitProblem(file, `The file has ${raw.rows.length.toLocaleString('en')} rules; a rule set may have at most ${RULE_FILE_LIMITS.rows.toLocaleString('en')}: combine rows with a|b lists or globs.`)]);
    }
    if (!raw) return refuse(problems);
    const compiled = compileRows(raw.rows, { problems, expressions: new Map() });
    if (problems.length > 0) return refuse(problems);
    const settings = raw.settings;
    const ruleSet: CompiledRuleSet = {
      scope,
      file,
      ...(raw.description !== undefined && { description: raw.description }),
      settings: { credit: settings.credit, ...(settings.roundingAccount !== undefined && { roundingAccount: settings.roundingAccount }), at: settings.at },
      rules: compiled.rules,
      rulesAt: raw.rulesAt,
      columns: compiled.columns,
      document: {
        scope,
        ...(raw.description !== undefined && { description: raw.description }),
        settings: { credit: { ...settings.credit }, ...(settings.roundingAccount !== undefined && { roundingAccount: settings.roundingAccount }) },
        rules: compiled.documentRows,
      },
    };
    return { ok: true, ruleSet };
  } catch (error) {
    // Deep nesting is refused before parsing; this is the last line of defence of "never throws".
    const detail = error instanceof RangeError ? 'it is nested too deeply' : `internal error (${error instanceof Error ? error.message : String(error)}); please report it`;
    return refuse([{ file, line: 1, column: 1, code: 'syntax', message: `The file could not be read: ${detail}.` }]);
  }
}

function refuse(problems: RuleProblem[]): ParseRuleFileResult {
  return { ok: false, problems: problems.sort((a, b) => a.line - b.line || a.column - b.column) };
}

function limitProblem(file: string, message: string): RuleProblem {
  return { file, line: 1, column: 1, code: 'field', message };
}

/** Turns character offsets into 1-based lines and columns (columns in UTF-16 code units). */
export class SourceMap {
  private readonly lineStarts: number[] = [0];

  constructor(
    readonly file: string,
    text: string,
  ) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.lineStarts.push(i + 1);
  }

  pos(offset: number): SourcePos {
    const starts = this.lineStarts;
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return { file: this.file, line: low + 1, column: Math.max(0, offset - starts[low]!) + 1 };
  }

  problem(offset: number, code: RuleProblem['code'], message: string): RuleProblem {
    return { ...this.pos(offset), code, message };
  }
}

/**
 * A cell: its trimmed text and where each character of it is. `offsetOf(i)` is the file offset of
 * character i of the untrimmed value; it is called only when a problem needs a column.
 */
export function makeCell(value: string, offsetOf: (i: number) => number, emptyAt: number, source: SourceMap): Cell {
  const text = value.trim();
  const lead = text.length === 0 ? 0 : value.length - value.trimStart().length;
  const locate = (i: number): SourcePos => {
    if (text.length === 0) return source.pos(emptyAt);
    if (i < text.length) return source.pos(offsetOf(lead + Math.max(0, i)));
    const last = source.pos(offsetOf(lead + text.length - 1));
    return { ...last, column: last.column + 1 };
  };
  return { text, at: locate(0), locate };
}

/** A cell of a row: its trimmed text, where that starts, and where each of its characters is. */
export interface Cell {
  readonly text: string;
  readonly at: SourcePos;
  readonly locate: Locate;
}

/** A row as read from either format, before it is compiled. */
interface RawRow {
  readonly at: SourcePos;
  readonly id?: Cell;
  readonly when: readonly (readonly [MatchColumn, Cell])[];
  readonly then: readonly (readonly [OutputField, Cell])[];
  /** Where a missing account is reported: YAML the then: key (else the rule), CSV the account cell. */
  readonly thenAt: SourcePos;
}

interface RawRuleSet {
  readonly description?: string;
  readonly settings: { credit: Partial<Record<PaymentType, string>>; roundingAccount?: string; at: Record<string, SourcePos> };
  readonly rulesAt: SourcePos;
  readonly rows: readonly RawRow[];
}

// ---------------------------------------------------------------------------------------------
// Rows (both formats)

type DocumentRow = RuleSetDocument['rules'][number];

/** What compiling rows collects: the problems, and the expressions compiled so far (rows often repeat one). */
interface RowContext {
  readonly problems: RuleProblem[];
  readonly expressions: ExpressionCache;
}

type Outputs = Omit<Rule, 'id' | 'at' | 'when'>;

const MEMO_CHARS_MAX = 200;
const FLAGS: ReadonlyMap<string, boolean> = new Map([
  ['yes', true],
  ['true', true],
  ['no', false],
  ['false', false],
]);

function compileRows(rows: readonly RawRow[], ctx: RowContext): { rules: Rule[]; columns: MatchColumn[]; documentRows: DocumentRow[] } {
  const rules: Rule[] = [];
  const documentRows: DocumentRow[] = [];
  const firstById = new Map<string, SourcePos>();
  const columns = new Set<MatchColumn>();
  for (const row of rows) {
    const { rule, document } = compileRow(row, ctx);
    documentRows.push(document);
    const id = row.id?.text;
    if (id) {
      const first = firstById.get(id);
      if (first) ctx.problems.push({ ...row.id!.at, code: 'duplicate_id', message: `Rule id ${id} is already used on line ${first.line}: give each rule its own id.` });
      else firstById.set(id, row.id!.at);
    }
    if (rule) for (const column of rule.when.keys()) columns.add(column);
    if (rule) rules.push(rule);
  }
  return { rules, columns: [...columns], documentRows };
}

function compileRow(row: RawRow, ctx: RowContext): { rule?: Rule; document: DocumentRow } {
  const before = ctx.problems.length;
  const id = compileId(row, ctx);
  const when = new Map<MatchColumn, Condition>();
  const documentWhen: Record<string, string> = {};
  for (const [column, cell] of row.when) {
    if (cell.text !== '') documentWhen[column] = cell.text;
    const compiled = compileCondition(column, cell.text, cell.locate);
    ctx.problems.push(...compiled.problems);
    if (compiled.condition) when.set(column, compiled.condition);
  }
  const cells: Partial<Record<OutputField, Cell>> = {};
  const documentThen: Record<string, string> = {};
  for (const [field, cell] of row.then) {
    if (cell.text === '') continue;
    cells[field] = cell;
    documentThen[field] = cell.text;
  }
  const outputs = compileOutputs(cells, row.thenAt, ctx);
  const document: DocumentRow = { id: row.id?.text ?? '', when: documentWhen, then: documentThen };
  if (id === undefined || outputs === undefined || ctx.problems.length > before) return { document };
  return { rule: { id, at: row.at, when, ...outputs }, document };
}

function compileId(row: RawRow, ctx: RowContext): string | undefined {
  const cell = row.id;
  if (!cell || cell.text === '') {
    ctx.problems.push({ ...(cell?.at ?? row.at), code: 'field', message: 'This rule has no id: give it one, e.g. LODGING (1 to 40 letters, digits, _ . or -).' });
    return undefined;
  }
  if (CODE_PATTERN.test(cell.text)) return cell.text;
  ctx.problems.push({ ...cell.at, code: 'field', message: `"${cell.text}" is not a valid rule id: use 1 to 40 letters, digits, _ . or -, starting with a letter or digit.` });
  return undefined;
}

/** The outputs of a row; undefined when any of them has a problem (each one is reported). */
function compileOutputs(cells: Partial<Record<OutputField, Cell>>, thenAt: SourcePos, ctx: RowContext): Outputs | undefined {
  const before = ctx.problems.length;
  const report = (at: SourcePos, message: string) => ctx.problems.push({ ...at, code: 'field', message });
  if (!cells.account) report(thenAt, 'This rule has no account: every rule names the debit account of its expense, e.g. account: "6110".');
  const account = cells.account && literalCode(cells.account, 'account', ctx);
  const costCenter = valueSource(cells.costCenter, 'cost center', ctx);
  const project = valueSource(cells.project, 'project', ctx);
  const employee = cells.employee ? flag(cells.employee, 'employee', ctx) : false;
  const tax = taxHandling(cells.tax, ctx);
  const taxAccount = cells.taxAccount && literalCode(cells.taxAccount, 'tax account', ctx);
  if (tax?.kind === 'none' && cells.taxAccount) {
    report(cells.taxAccount.at, 'taxAccount is given but tax is none: remove taxAccount, or set tax to reclaim or a share such as 70%.');
  } else if (tax && tax.kind !== 'none' && !cells.taxAccount) {
    report(cells.tax!.at, `tax is ${cells.tax!.text}, so the rule needs a taxAccount for the reclaimed tax: add one, e.g. taxAccount: "1410".`);
  }
  const taxable = cells.taxable && expressionOf(cells.taxable, 'taxable', ctx);
  const taxableAccount = cells.taxableAccount && literalCode(cells.taxableAccount, 'taxable account', ctx);
  if (cells.taxable && !cells.taxableAccount) report(cells.taxable.at, 'taxable needs a taxableAccount for the taxable part: add one.');
  if (cells.taxableAccount && !cells.taxable) {
    report(cells.taxableAccount.at, 'taxableAccount is given without taxable: add taxable (= an expression for the taxable part in minor units) or remove taxableAccount.');
  }
  const memo = cells.memo && memoOf(cells.memo, ctx);
  if (ctx.problems.length > before || account === undefined || !costCenter || !project || employee === undefined || !tax) return undefined;
  return {
    account,
    accountAt: cells.account!.at,
    costCenter,
    project,
    employee,
    tax,
    ...(taxAccount !== undefined && { taxAccount, taxAccountAt: cells.taxAccount!.at }),
    ...(taxable && { taxable }),
    ...(taxableAccount !== undefined && { taxableAccount, taxableAccountAt: cells.taxableAccount!.at }),
    ...(memo && { memo }),
  };
}

function literalCode(cell: Cell, what: string, ctx: RowContext): string | undefined {
  if (cell.text.startsWith('=')) {
    ctx.problems.push({ ...cell.at, code: 'field', message: `The ${what} must be written out, not computed by an expression, so that a proposal can check it: write the code, e.g. 6110.` });
    return undefined;
  }
  if (CODE_PATTERN.test(cell.text)) return cell.text;
  ctx.problems.push({ ...cell.at, code: 'field', message: `"${cell.text}" is not a valid ${what}: a code has 1 to 40 letters, digits, _ . or - and starts with a letter or digit.` });
  return undefined;
}

/** Empty: the allocation's; `-`: none; `=...`: an expression; else a literal code. */
function valueSource(cell: Cell | undefined, what: string, ctx: RowContext): ValueSource | undefined {
  if (!cell) return { kind: 'allocation' };
  if (cell.text === '-') return { kind: 'none' };
  if (cell.text.startsWith('=')) {
    const expression = expressionOf(cell, what, ctx);
    return expression && { kind: 'expression', expression };
  }
  const value = literalCode(cell, what, ctx);
  return value === undefined ? undefined : { kind: 'literal', value, at: cell.at };
}

function flag(cell: Cell, what: string, ctx: RowContext): boolean | undefined {
  const value = FLAGS.get(cell.text.toLowerCase());
  if (value === undefined) ctx.problems.push({ ...cell.at, code: 'field', message: `${what} is "${cell.text}": write yes or no (true or false also work).` });
  return value;
}

/** none, reclaim, or a fixed share from 0% to 100% with at most two decimals, in basis points. */
function taxHandling(cell: Cell | undefined, ctx: RowContext): TaxHandling | undefined {
  const text = cell?.text.toLowerCase() ?? 'none';
  if (text === 'none') return { kind: 'none' };
  if (text === 'reclaim') return { kind: 'reclaim' };
  const share = /^(\d{1,3})(?:\.(\d{1,2}))?\s*%$/.exec(text);
  // Integer arithmetic on the digits: 12.5% is 12 * 100 + 50 basis points.
  const bp = share ? Number(share[1]) * 100 + Number((share[2] ?? '').padEnd(2, '0')) : undefined;
  if (bp !== undefined && bp <= 10_000) return { kind: 'share', bp };
  const why = bp === undefined ? 'is not valid' : 'is more than 100%';
  ctx.problems.push({ ...cell!.at, code: 'field', message: `tax "${cell!.text}" ${why}: write none, reclaim, or a share from 0% to 100% with at most two decimals, e.g. 70% or 12.5%.` });
  return undefined;
}

function memoOf(cell: Cell, ctx: RowContext): Rule['memo'] | undefined {
  if (cell.text.startsWith('=')) {
    const expression = expressionOf(cell, 'memo', ctx);
    return expression && { kind: 'expression', expression };
  }
  if (cell.text.length <= MEMO_CHARS_MAX) return { kind: 'literal', value: cell.text };
  ctx.problems.push({ ...cell.at, code: 'field', message: `The memo has ${cell.text.length} characters; at most ${MEMO_CHARS_MAX} are allowed: shorten it.` });
  return undefined;
}

/** Compiles `= expression`: the text after the = , trimmed, placed in the file character by character. */
function expressionOf(cell: Cell, what: string, ctx: RowContext) {
  if (!cell.text.startsWith('=')) {
    ctx.problems.push({ ...cell.at, code: 'field', message: `${what} must be an expression starting with =, giving the taxable part in minor units, e.g. = $max([0, expenseMinor - 2800 * days]).` });
    return undefined;
  }
  const rest = cell.text.slice(1);
  const start = 1 + rest.length - rest.trimStart().length;
  const locate: Locate = (i) => cell.locate(start + i);
  const compiled = compileExpression(rest.trim(), locate(0), locate, ctx.expressions);
  if (isCompiledExpression(compiled)) return compiled;
  ctx.problems.push(compiled);
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// YAML

const TOP_KEYS = ['scope', 'description', 'settings', 'rules'];
const RULE_KEYS = ['id', 'when', 'then'];

function readYaml(text: string, source: SourceMap, scope: string, problems: RuleProblem[]): RawRuleSet | undefined {
  const tokens = Array.from(new Parser().parse(text));
  const deep = tooDeep(tokens);
  if (deep !== undefined) {
    problems.push(source.problem(deep, 'syntax', `The YAML nests more than ${RULE_FILE_LIMITS.yamlDepth} levels deep here; a rule file needs 6 (document, top, rules, rule, when/then, value): flatten it.`));
    return undefined;
  }
  let doc: Document.Parsed | undefined;
  for (const next of new Composer({ prettyErrors: false, uniqueKeys: true }).compose(tokens, true, text.length)) {
    if (!doc) doc = next;
    else {
      problems.push(source.problem(next.range[0], 'syntax', 'A rule file holds one YAML document: remove the second "---" and what follows it.'));
      break;
    }
  }
  for (const error of doc?.errors ?? []) problems.push(source.problem(error.pos[0], 'syntax', yamlErrorMessage(error, text[error.pos[0]] === '-')));
  if (!doc || problems.length > 0) return undefined;
  return new YamlReader(text, source, problems).readRoot(doc.contents, scope);
}

/** The offset of the first CST node nested deeper than the limit: composing it would recurse that deep. */
function tooDeep(tokens: readonly CST.Token[]): number | undefined {
  const stack: [unknown, number][] = tokens.map((t) => [t, 1]);
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!;
    if (typeof token !== 'object' || token === null) continue;
    const t = token as { offset?: number; value?: unknown; items?: { key?: unknown; value?: unknown }[] };
    if (depth > RULE_FILE_LIMITS.yamlDepth) return t.offset ?? 0;
    if (t.value && typeof t.value === 'object') stack.push([t.value, depth + 1]);
    if (Array.isArray(t.items)) {
      for (const item of t.items) {
        if (item.key && typeof item.key === 'object') stack.push([item.key, depth + 1]);
        if (item.value && typeof item.value === 'object') stack.push([item.value, depth + 1]);
      }
    }
  }
  return undefined;
}

function yamlErrorMessage(error: YAMLError, atDash: boolean): string {
  const what = error.message.replace(/\s+/g, ' ').trim();
  if (error.code === 'TAB_AS_INDENT') return 'YAML does not allow tabs for indentation: indent with spaces.';
  if (error.code === 'DUPLICATE_KEY') return 'This key is given twice in the same mapping: keep one.';
  if (atDash) return `The YAML is not valid here: ${what}. A "-" value starts a list; to mean "absent" write "-" in quotes.`;
  return `The YAML is not valid here: ${what}. Fix the YAML at this position.`;
}

type Key = { readonly name: string; readonly at: SourcePos; readonly offset: number };

/** Walks the YAML document; every unknown key and every value of the wrong kind becomes a problem. */
class YamlReader {
  constructor(
    private readonly text: string,
    private readonly source: SourceMap,
    private readonly problems: RuleProblem[],
  ) {}

  readRoot(root: unknown, scope: string): RawRuleSet | undefined {
    const settings: RawRuleSet['settings'] = { credit: {}, at: {} };
    if (root === null || root === undefined || (isScalar(root) && this.cell(root).text === '')) {
      this.problems.push(this.source.problem(0, 'field', 'The file is empty: a YAML rule file needs a "rules:" list with at least one rule.'));
      return undefined;
    }
    if (!isMap(root)) {
      this.field(root as Node, 'The file must be a mapping with the keys scope, description, settings and rules: start with "rules:".');
      return undefined;
    }
    let description: string | undefined;
    let rulesAt: SourcePos | undefined;
    let rows: RawRow[] = [];
    for (const pair of root.items) {
      const key = this.key(pair);
      if (!key) continue;
      if (key.name === 'scope') {
        const cell = this.valueCell(pair, key, 'scope');
        if (cell && cell.text !== '' && cell.text !== scope) {
          this.problems.push({ ...cell.at, code: 'field', message: `This file is for scope ${cell.text} but is being loaded for ${scope}: change "scope:" to ${scope} or load the file for ${cell.text}.` });
        }
      } else if (key.name === 'description') {
        const cell = this.valueCell(pair, key, 'description');
        if (cell && cell.text.length > RULE_FILE_LIMITS.descriptionChars) {
          this.problems.push({ ...cell.at, code: 'field', message: `The description has ${cell.text.length} characters; at most ${RULE_FILE_LIMITS.descriptionChars} are allowed: shorten it.` });
        } else if (cell && cell.text !== '') description = cell.text;
      } else if (key.name === 'settings') {
        this.readSettings(pair, key, settings);
      } else if (key.name === 'rules') {
        rulesAt = key.at;
        rows = this.readRules(pair, key);
      } else {
        this.unknown(key, 'at the top of the file', TOP_KEYS);
      }
    }
    if (!rulesAt) {
      this.problems.push(this.source.problem(0, 'field', 'The file has no "rules:" list: add one with at least one rule (- id: ..., when: ..., then: ...).'));
      return undefined;
    }
    return { ...(description !== undefined && { description }), settings, rulesAt, rows };
  }

  private readSettings(pair: Pair, key: Key, settings: RawRuleSet['settings']): void {
    const node = pair.value;
    if (this.isEmpty(node)) return;
    if (!isMap(node)) return this.field(node as Node, 'settings must be a mapping with credit and roundingAccount.', key);
    for (const inner of node.items) {
      const name = this.key(inner);
      if (!name) continue;
      if (name.name === 'roundingAccount') {
        const cell = this.valueCell(inner, name, 'roundingAccount');
        const code = cell && this.code(cell, 'rounding account');
        if (code !== undefined) {
          settings.roundingAccount = code;
          settings.at.roundingAccount = cell!.at;
        }
      } else if (name.name === 'credit') {
        this.readCredit(inner, name, settings);
      } else {
        this.unknown(name, 'under settings', ['credit', 'roundingAccount']);
      }
    }
  }

  private readCredit(pair: Pair, key: Key, settings: RawRuleSet['settings']): void {
    const node = pair.value;
    if (this.isEmpty(node)) return;
    if (!isMap(node)) return this.field(node as Node, `settings.credit must be a mapping from payment type to credit account, e.g. out_of_pocket: "2110".`, key);
    for (const inner of node.items) {
      const name = this.key(inner);
      if (!name) continue;
      if (!(PAYMENT_TYPES as readonly string[]).includes(name.name)) {
        this.unknown(name, 'under settings.credit', PAYMENT_TYPES);
        continue;
      }
      const cell = this.valueCell(inner, name, `credit.${name.name}`);
      const code = cell && this.code(cell, `credit account for ${name.name}`);
      if (code !== undefined) {
        settings.credit[name.name as PaymentType] = code;
        settings.at[`credit.${name.name}`] = cell!.at;
      }
    }
  }

  private readRules(pair: Pair, key: Key): RawRow[] {
    const node = pair.value;
    if (this.isEmpty(node) || (isSeq(node) && node.items.length === 0)) {
      this.problems.push({ ...key.at, code: 'field', message: 'The rules list is empty: add at least one rule (- id: ..., when: ..., then: ...).' });
      return [];
    }
    if (!isSeq(node)) {
      this.field(node as Node, 'rules must be a list: start each rule with "- id: ...".', key);
      return [];
    }
    const rows: RawRow[] = [];
    for (const item of node.items) {
      if (!isMap(item)) {
        this.field(item as Node, 'Each rule is a mapping with id, when and then, e.g. "- id: LODGING".', key);
        continue;
      }
      rows.push(this.readRule(item));
    }
    return rows;
  }

  private readRule(node: Node & { items: Pair[] }): RawRow {
    const at = this.source.pos(node.range?.[0] ?? 0);
    let id: Cell | undefined;
    let thenAt = at;
    const when: [MatchColumn, Cell][] = [];
    const then: [OutputField, Cell][] = [];
    for (const pair of node.items) {
      const key = this.key(pair);
      if (!key) continue;
      if (key.name === 'id') id = this.valueCell(pair, key, 'id');
      else if (key.name === 'when') this.readMap(pair, key, 'when', when);
      else if (key.name === 'then') {
        thenAt = key.at;
        this.readMap(pair, key, 'then', then);
      } else this.unknown(key, 'in a rule', RULE_KEYS);
    }
    return { at, ...(id && { id }), when, then, thenAt };
  }

  /** Reads `when:` or `then:`; a key the section does not know is a problem. */
  private readMap<K extends string>(pair: Pair, key: Key, section: 'when' | 'then', into: [K, Cell][]): void {
    const node = pair.value;
    if (this.isEmpty(node)) return;
    const example = section === 'when' ? '{ category: LODGING }' : '{ account: "6110" }';
    if (!isMap(node)) return this.field(node as Node, `${section} must be a mapping such as ${example}.`, key);
    for (const inner of node.items) {
      const name = this.key(inner);
      if (!name) continue;
      const known = section === 'when' ? isMatchColumn(name.name) : (OUTPUT_FIELDS as readonly string[]).includes(name.name);
      if (!known) {
        if (section === 'when' && name.name.startsWith('cf.')) {
          this.problems.push({ ...name.at, code: 'field', message: `"${name.name}" is not a valid custom field column: the name after cf. starts with a letter and has up to 40 letters, digits and _.` });
        } else this.unknown(name, `under ${section}`, section === 'when' ? [...MATCH_COLUMNS, 'cf.<name>'] : OUTPUT_FIELDS);
        continue;
      }
      const cell = this.valueCell(inner, name, `${section}.${name.name}`);
      if (cell) into.push([name.name as K, cell]);
    }
  }

  private key(pair: Pair): Key | undefined {
    const node = pair.key;
    if (isScalar(node)) {
      const offset = node.range?.[0] ?? 0;
      return { name: this.cell(node).text, at: this.source.pos(offset), offset };
    }
    const offset = (node as Node | null)?.range?.[0] ?? (pair.value as Node | null)?.range?.[0] ?? 0;
    this.problems.push(this.source.problem(offset, 'field', 'Keys must be plain names such as id, when or category.'));
    return undefined;
  }

  /** The single value of a key; a list, mapping or alias is a problem. An absent value is an empty cell. */
  private valueCell(pair: Pair, key: Key, what: string): Cell | undefined {
    const node = pair.value;
    if (node === null || node === undefined) return makeCell('', () => key.offset, key.offset, this.source);
    if (isScalar(node)) return this.cell(node);
    const hint = what.startsWith('when.') ? ' (write alternatives as A|B)' : '';
    const kind = isAlias(node) ? 'an alias (*name); write the value out' : isSeq(node) ? 'a list' : 'a mapping';
    this.field(node as Node, `${what} takes a single value, not ${kind}${hint}.`, key);
    return undefined;
  }

  /**
   * A scalar's text: a string as parsed, anything else (6110, 0110, true, 1.50) as written, so an
   * account code keeps its leading zeros and decimals. null and ~ are empty.
   */
  private cell(node: Scalar): Cell {
    const [start, end] = [node.range?.[0] ?? 0, node.range?.[1] ?? 0];
    const value = node.value === null || node.value === undefined ? '' : typeof node.value === 'string' ? node.value : typeof node.source === 'string' ? node.source : String(node.value);
    let from = start;
    if (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') from = start + 1;
    else if (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') from = Math.min(end, this.text.indexOf('\n', start) + 1 || end);
    return makeCell(value, alignment(value, this.text, from, Math.max(end, from)), start, this.source);
  }

  private code(cell: Cell, what: string): string | undefined {
    if (cell.text === '') return undefined;
    if (CODE_PATTERN.test(cell.text)) return cell.text;
    this.problems.push({ ...cell.at, code: 'field', message: `"${cell.text}" is not a valid ${what}: a code has 1 to 40 letters, digits, _ . or - and starts with a letter or digit.` });
    return undefined;
  }

  private isEmpty(node: unknown): boolean {
    return node === null || node === undefined || (isScalar(node) && (node.value === null || node.value === ''));
  }

  private unknown(key: Key, where: string, known: readonly string[]): void {
    const close = known.find((k) => k.toLowerCase() === key.name.toLowerCase());
    const hint = close ? `did you mean "${close}"?` : `use ${known.join(', ')}.`;
    this.problems.push({ ...key.at, code: 'field', message: `Unknown key "${key.name}" ${where}: ${hint}` });
  }

  private field(node: Node | null | undefined, message: string, fallback?: Key): void {
    const offset = node?.range?.[0] ?? fallback?.offset ?? 0;
    this.problems.push(this.source.problem(offset, 'field', message));
  }
}

/**
 * Where each character of a parsed scalar is in the file. Escapes, quotes and folded lines make the
 * value differ from its source, so characters are matched to the source in order (a line break may
 * stand for a folded space); past a character that cannot be found, the rest map to where matching
 * stopped. Exact for every value written on one line without escapes.
 */
function alignment(value: string, text: string, from: number, to: number): (i: number) => number {
  if (text.startsWith(value, from)) return (i) => from + i;
  let offsets: number[] | undefined;
  return (i) => {
    offsets ??= alignOffsets(value, text, from, to);
    return offsets[Math.min(i, offsets.length - 1)] ?? from;
  };
}

function alignOffsets(value: string, text: string, from: number, to: number): number[] {
  const offsets: number[] = [];
  let j = from;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    let k = j;
    while (k < to && text[k] !== c && !(c === ' ' && text[k] === '\n')) k++;
    if (k >= to) {
      while (offsets.length < value.length) offsets.push(Math.min(j, Math.max(from, to - 1)));
      return offsets;
    }
    offsets.push(k);
    j = k + 1;
  }
  return offsets;
}

// ---------------------------------------------------------------------------------------------
// CSV

/**
 * CSV columns other than the match columns: output `costCenter` and `project` are `out.` columns
 * here because the plain names are match columns.
 */
const CSV_OUTPUT_COLUMNS: ReadonlyMap<string, OutputField> = new Map([
  ['account', 'account'],
  ['out.costCenter', 'costCenter'],
  ['out.project', 'project'],
  ['employee', 'employee'],
  ['tax', 'tax'],
  ['taxAccount', 'taxAccount'],
  ['taxable', 'taxable'],
  ['taxableAccount', 'taxableAccount'],
  ['memo', 'memo'],
]);

type CsvColumn = { readonly kind: 'id' } | { readonly kind: 'when'; readonly column: MatchColumn } | { readonly kind: 'then'; readonly field: OutputField } | { readonly kind: 'ignored' };

export interface CsvCell {
  readonly value: string;
  /** Offset of the cell's first character (its opening quote if quoted). */
  readonly start: number;
  /** For a quoted cell: the offset of each value character, then of the closing quote. */
  readonly offsets?: readonly number[];
}

export interface CsvRecord {
  readonly start: number;
  readonly cells: readonly CsvCell[];
}

function readCsv(text: string, source: SourceMap, problems: RuleProblem[]): RawRuleSet | undefined {
  const [header, ...data] = tokenizeCsv(text, detectDelimiter(text), source, problems);
  // Lengths are checked against the header only when the header itself was read: a broken quote
  // before it would make a data row pose as the header.
  const headerLine = header && source.pos(header.start).line;
  if (header && !problems.some((p) => p.line < headerLine!)) for (const record of data) checkRecordLength(record, header.cells.length, source, problems);
  if (problems.length > 0) return undefined;
  if (!header) {
    problems.push(source.problem(0, 'field', 'The file has no header row: the first line names the columns, e.g. id,category,account.'));
    return undefined;
  }
  const columns = readHeader(header, source, problems);
  if (!columns) return undefined;
  const rulesAt = source.pos(header.start);
  if (data.length === 0) {
    problems.push({ ...rulesAt, code: 'field', message: 'The file has a header but no rules: add at least one row.' });
    return undefined;
  }
  const rows = data.map((record) => csvRow(record, columns, source));
  return { settings: { credit: {}, at: {} }, rulesAt, rows };
}

function csvCell(cell: CsvCell, source: SourceMap): Cell {
  const offsets = cell.offsets;
  const offsetOf = offsets ? (i: number) => offsets[Math.min(i, offsets.length - 1)]! : (i: number) => cell.start + i;
  return makeCell(cell.value, offsetOf, offsets ? offsets[offsets.length - 1]! : cell.start, source);
}

function csvRow(record: CsvRecord, columns: readonly CsvColumn[], source: SourceMap): RawRow {
  let id: Cell | undefined;
  let thenAt = source.pos(record.start);
  const when: [MatchColumn, Cell][] = [];
  const then: [OutputField, Cell][] = [];
  record.cells.forEach((raw, i) => {
    const column = columns[i]!;
    if (column.kind === 'ignored') return;
    const cell = csvCell(raw, source);
    if (column.kind === 'id') id = cell;
    else if (column.kind === 'when') when.push([column.column, cell]);
    else {
      then.push([column.field, cell]);
      if (column.field === 'account') thenAt = cell.at;
    }
  });
  return { at: source.pos(record.start), ...(id && { id }), when, then, thenAt };
}

/** The header's columns; undefined when id or account is missing (every row would repeat it). */
function readHeader(header: CsvRecord, source: SourceMap, problems: RuleProblem[]): CsvColumn[] | undefined {
  const seen = new Set<string>();
  const known = ['id', ...MATCH_COLUMNS, 'cf.<name>', ...CSV_OUTPUT_COLUMNS.keys()];
  const columns = header.cells.map((raw): CsvColumn => {
    const cell = csvCell(raw, source);
    const name = cell.text;
    const fail = (message: string): CsvColumn => {
      problems.push({ ...cell.at, code: 'field', message });
      return { kind: 'ignored' };
    };
    if (name === '') return fail('This header cell is empty: name the column or remove it (and its cells).');
    if (seen.has(name)) return fail(`Column "${name}" appears twice in the header: keep one.`);
    seen.add(name);
    if (name === 'id') return { kind: 'id' };
    if (isMatchColumn(name)) return { kind: 'when', column: name };
    const output = CSV_OUTPUT_COLUMNS.get(name);
    if (output) return { kind: 'then', field: output };
    if (name.startsWith('cf.')) return fail(`"${name}" is not a valid custom field column: the name after cf. starts with a letter and has up to 40 letters, digits and _.`);
    const close = known.find((k) => k.toLowerCase() === name.toLowerCase());
    return fail(`Unknown column "${name}": ${close ? `did you mean "${close}"?` : `use ${known.join(', ')}.`}`);
  });
  let complete = true;
  for (const required of ['id', 'account']) {
    if (!seen.has(required)) {
      problems.push({ ...source.pos(header.start), code: 'field', message: `The header has no "${required}" column: add it.` });
      complete = false;
    }
  }
  return complete ? columns : undefined;
}

function checkRecordLength(record: CsvRecord, expected: number, source: SourceMap, problems: RuleProblem[]): void {
  const cells = record.cells;
  if (cells.length === expected) return;
  const message = `This row has ${cells.length} cells but the header has ${expected} columns: give every row one cell per column (an empty cell is fine: a,,b).`;
  if (cells.length > expected) {
    const extra = cells[expected]!;
    problems.push(source.problem(extra.offsets ? extra.offsets[0] ?? extra.start : extra.start, 'syntax', message));
  } else {
    const last = cells[cells.length - 1]!;
    const end = last.offsets ? last.offsets[last.offsets.length - 1]! + 1 : last.start + last.value.length;
    problems.push(source.problem(end, 'syntax', message));
  }
}

/** The header's delimiter: a comma, else a semicolon (spreadsheets in many European locales), else a tab. */
function detectDelimiter(text: string): string {
  for (const line of text.split('\n', 50)) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    if (trimmed.includes(',')) return ',';
    if (trimmed.includes(';')) return ';';
    if (trimmed.includes('\t')) return '\t';
    return ',';
  }
  return ',';
}

/**
 * Splits CSV text into records (RFC 4180: quoted cells, "" for a quote, line breaks in quoted
 * cells), skipping comment lines (first non-blank character #) and blank records (only empty or
 * blank cells), and keeps where every cell and character is. A quote that never closes ends the
 * file (reported where it opens); other quote errors skip the rest of their line.
 *
 * Our own scanner rather than csv-parse: csv-parse reports a record's raw text with the comment
 * and blank lines before it, and its byte counts are UTF-8 bytes, so the column of a cell cannot
 * be recovered reliably; and it names the last line of the file for a quote that never closes.
 * The test suite checks this scanner against csv-parse on generated files.
 */
export function tokenizeCsv(text: string, delimiter: string, source: SourceMap, problems: RuleProblem[]): CsvRecord[] {
  const records: CsvRecord[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const start = i;
    if (isCommentLine(text, i)) {
      i = lineEnd(text, i) + 1;
      continue;
    }
    const cells: CsvCell[] = [];
    let failed = false;
    for (;;) {
      const read = text[i] === '"' ? readQuoted(text, i, delimiter) : readPlain(text, i, delimiter);
      if ('error' in read) {
        problems.push(source.problem(read.at, 'syntax', read.error));
        if (read.fatal) return records;
        failed = true;
        i = lineEnd(text, read.at);
        break;
      }
      cells.push(read.cell);
      i = read.end;
      if (i < n && text[i] === delimiter) i++;
      else break;
    }
    if (text[i] === '\r' && text[i + 1] === '\n') i += 2;
    else if (i < n) i++;
    if (!failed && cells.some((cell) => cell.value.trim() !== '')) records.push({ start, cells });
  }
  return records;
}

type Read = { readonly cell: CsvCell; readonly end: number } | { readonly error: string; readonly at: number; readonly fatal?: boolean };

function readQuoted(text: string, start: number, delimiter: string): Read {
  let value = '';
  const offsets: number[] = [];
  let k = start + 1;
  for (;;) {
    if (k >= text.length) {
      return { error: 'This quote is never closed: add the closing " (a quote inside a quoted cell is written twice: "").', at: start, fatal: true };
    }
    if (text[k] === '"') {
      if (text[k + 1] !== '"') break;
      value += '"';
      offsets.push(k);
      k += 2;
      continue;
    }
    value += text[k];
    offsets.push(k);
    k++;
  }
  offsets.push(k);
  const after = k + 1;
  const next = text[after];
  if (after < text.length && next !== delimiter && next !== '\n' && !(next === '\r' && text[after + 1] === '\n')) {
    return { error: `After the closing quote comes ${JSON.stringify(next)}: end the cell after the quote, or write a quote inside the cell as "".`, at: after };
  }
  return { cell: { value, start, offsets }, end: after };
}

function readPlain(text: string, start: number, delimiter: string): Read {
  let k = start;
  while (k < text.length) {
    const c = text[k];
    if (c === delimiter || c === '\n') break;
    if (c === '"') return { error: 'A quote inside a cell that does not start with one: put the whole cell in quotes and write the quote as "" (no space before the opening quote).', at: k };
    k++;
  }
  const end = k > start && text[k - 1] === '\r' && text[k] === '\n' ? k - 1 : k;
  return { cell: { value: text.slice(start, end), start }, end: k };
}

function isCommentLine(text: string, i: number): boolean {
  while (text[i] === ' ' || text[i] === '\t') i++;
  return text[i] === '#';
}

function lineEnd(text: string, i: number): number {
  const end = text.indexOf('\n', i);
  return end < 0 ? text.length : end;
}
