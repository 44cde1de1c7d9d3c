/**
 * Compiles raw rows (from either format) into Rule objects and the document rows of a rule set,
 * reporting every problem in a cell with its position.
 */
import { percentToBp } from '../masterdata/records.ts';
import type { Condition, MatchColumn, OutputField, Rule, RuleProblem, RuleSetDocument, SourcePos, TaxHandling, ValueSource } from './rule-set.ts';
import { CODE_PATTERN, compileCondition, compileExpression, isCompiledExpression, type ExpressionCache, type Locate } from './expressions.ts';
import type { Cell, RawRow } from './rule-cells.ts';

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

export function compileRows(rows: readonly RawRow[], ctx: RowContext): { rules: Rule[]; columns: MatchColumn[]; documentRows: DocumentRow[] } {
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
    if (rule) for (const column of rule.when.keys()) addColumn(columns, column, row.at, ctx);
    if (rule) rules.push(rule);
  }
  return { rules, columns: [...columns], documentRows };
}

/**
 * A report carries at most 20 custom fields, so a table needs no more `cf.` columns than that; more
 * would only make the overlap and gap check search a space no report can fill.
 */
const CUSTOM_FIELD_COLUMNS_MAX = 20;

function addColumn(columns: Set<MatchColumn>, column: MatchColumn, at: SourcePos, ctx: RowContext): void {
  if (columns.has(column)) return;
  if (column.startsWith('cf.') && [...columns].filter((c) => c.startsWith('cf.')).length >= CUSTOM_FIELD_COLUMNS_MAX) {
    ctx.problems.push({ ...at, code: 'field', message: `Column ${column} would be custom-field column number ${CUSTOM_FIELD_COLUMNS_MAX + 1}; a report carries at most ${CUSTOM_FIELD_COLUMNS_MAX} custom fields, so match on at most ${CUSTOM_FIELD_COLUMNS_MAX} of them.` });
    return;
  }
  columns.add(column);
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
  const share = /^(\d{1,3}(?:\.\d{1,2})?)\s*%$/.exec(text);
  const bp = share ? percentToBp(share[1]) : undefined;
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
