/**
 * The two small languages inside a rule file's cells: match conditions (`LODGING|HOTEL`, `DE41*`,
 * `-`) and JSONata expressions (`=` prefix).
 *
 * Expressions are compiled once when a rule set is loaded and evaluated for every coding item of
 * every report, so evaluation is bounded (time, depth, sequence length) and does nothing per call
 * beyond what JSONata itself needs. An expression sees an ExpressionInput (rule-set.ts) as its
 * root: `report.reportId`, `line.customFields.purpose`, `allocation.costCenter`, `grossMinor`,
 * `expenseMinor`, `days`.
 */
import jsonata from 'jsonata';
import { PAYMENT_TYPES } from '../domain/report.ts';
import { MATCH_COLUMNS, type CompiledExpression, type Condition, type ExpressionInput, type MatchColumn, type RuleProblem, type SourcePos } from './rule-set.ts';

/** A code: an account, category, cost center, project, tax code or rule id. */
export const CODE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/;
const CUSTOM_FIELD_COLUMN = /^cf\.[A-Za-z][A-Za-z0-9_]{0,39}$/;
const GLOB_PATTERN = /^[A-Za-z0-9_.*?-]{1,40}$/;
/** Each * can backtrack over the whole value; three keep the worst case small for 40-character codes. */
const GLOB_STARS_MAX = 3;
const CUSTOM_VALUE_CHARS_MAX = 200;
const PERSONAL_VALUES: ReadonlyMap<string, string> = new Map([
  ['true', 'true'],
  ['yes', 'true'],
  ['false', 'false'],
  ['no', 'false'],
]);
const COLUMN_LABELS: Readonly<Record<string, string>> = { category: 'category', costCenter: 'cost center', project: 'project', taxCode: 'tax code' };

export function isMatchColumn(name: string): name is MatchColumn {
  return (MATCH_COLUMNS as readonly string[]).includes(name) || CUSTOM_FIELD_COLUMN.test(name);
}

/**
 * Compiles a condition cell. Empty or `*` is any value (no condition: the row leaves the column
 * out). Otherwise alternatives separated by |, each `-` (absent), a glob with * and ? (not in cf.
 * columns), or a literal: a payment type, true/false/yes/no for personal, a code elsewhere, any
 * text up to 200 characters in a cf. column.
 */
export function compileCondition(column: MatchColumn, text: string, locate: Locate): { readonly condition?: Condition; readonly problems: RuleProblem[] } {
  const problems: RuleProblem[] = [];
  if (text === '' || text === '*') return { problems };
  let absent = false;
  const values = new Set<string>();
  const globs: RegExp[] = [];
  let offset = 0;
  for (const part of text.split('|')) {
    const alternative = part.trim();
    const at = locate(offset + (alternative === '' ? 0 : part.length - part.trimStart().length));
    offset += part.length + 1;
    const error = addAlternative(column, alternative, text, { values, globs, setAbsent: () => (absent = true) });
    if (error) problems.push({ ...at, code: 'field', message: error });
  }
  if (problems.length > 0) return { problems };
  return { condition: { source: text, any: false, absent, values, globs }, problems };
}

/** Adds one alternative of a condition; returns what is wrong with it, if anything. */
function addAlternative(column: MatchColumn, alternative: string, text: string, into: { values: Set<string>; globs: RegExp[]; setAbsent: () => void }): string | undefined {
  if (alternative === '') return `"${text}" has an empty alternative: remove the extra |.`;
  if (alternative === '*') return '* alone matches any value; it cannot be one of a list: write * by itself or leave the cell empty.';
  if (column === 'personal') {
    const value = PERSONAL_VALUES.get(alternative.toLowerCase());
    if (value === undefined) return `personal is "${alternative}": write true, false, yes, no or * (every item is personal or not).`;
    into.values.add(value);
    return undefined;
  }
  if (alternative === '-') {
    into.setAbsent();
    return undefined;
  }
  if (alternative.includes('*') || alternative.includes('?')) {
    const glob = compileGlob(column, alternative);
    if (typeof glob === 'string') return glob;
    into.globs.push(glob);
    return undefined;
  }
  if (column === 'paymentType') {
    if ((PAYMENT_TYPES as readonly string[]).includes(alternative)) into.values.add(alternative);
    else return `"${alternative}" is not a payment type: use ${PAYMENT_TYPES.join(', ')} (or a glob such as *_card).`;
    return undefined;
  }
  if (column.startsWith('cf.')) {
    if (alternative.length > CUSTOM_VALUE_CHARS_MAX) return `A custom field value has at most ${CUSTOM_VALUE_CHARS_MAX} characters; this one has ${alternative.length}: shorten it.`;
    into.values.add(alternative);
    return undefined;
  }
  if (!CODE_PATTERN.test(alternative)) return `"${alternative}" is not a valid ${COLUMN_LABELS[column] ?? column}: a code has 1 to 40 letters, digits, _ . or - and starts with a letter or digit.`;
  into.values.add(alternative);
  return undefined;
}

/** An anchored glob (* any run of characters, ? one character), or what is wrong with it. */
function compileGlob(column: MatchColumn, glob: string): RegExp | string {
  if (column.startsWith('cf.')) {
    return `Custom field columns take exact values, not patterns: remove the * or ? from "${glob}" (patterns work in category, paymentType, costCenter, project and taxCode).`;
  }
  if (!GLOB_PATTERN.test(glob)) return `"${glob}" is not a valid pattern: use letters, digits, _ . - and the wildcards * and ?, at most 40 characters.`;
  const collapsed = glob.replace(/\*+/g, '*');
  if ((collapsed.match(/\*/g)?.length ?? 0) > GLOB_STARS_MAX) return `"${glob}" has more than ${GLOB_STARS_MAX} * wildcards: simplify it or list the values with |.`;
  const regex = new RegExp(`^${collapsed.replace(/\./g, '\\.').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  if (column === 'paymentType' && !PAYMENT_TYPES.some((type) => regex.test(type))) {
    return `"${glob}" matches no payment type: the payment types are ${PAYMENT_TYPES.join(', ')}.`;
  }
  return regex;
}

export const EXPRESSION_LIMITS = {
  /**
   * Wall time of one evaluation (evaluations run one at a time, see lastEvaluation; a time-out is
   * tried once more). JSONata checks it on entering each node, so one long built-in call (a
   * pathological regex) can overrun it.
   */
  timeoutMs: 50,
  /** Nesting depth of JSONata's evaluator: stops recursion that is not a tail call. */
  depth: 200,
  /** Longest sequence (or range such as [1..n]) an evaluation may build. */
  sequenceItems: 100_000,
  /** Characters of an expression: far more than a rule needs, and keeps JSONata's recursive parser far from the stack limit. */
  sourceChars: 1000,
  /** Brackets open at once, counted without regard to string literals. */
  nesting: 64,
} as const;

/**
 * Functions a rule may not call. The clock and random numbers would make a replay code a report
 * differently from the first run; `$eval` would run text from a report (a custom field) as code,
 * outside the limits above.
 */
const FORBIDDEN_FUNCTIONS: ReadonlyMap<string, string> = new Map([
  ['now', 'a replay must code a report the same way as the first run; use report.approvedAt or report.postingDate'],
  ['millis', 'a replay must code a report the same way as the first run; use report.approvedAt or report.postingDate'],
  ['random', 'a replay must code a report the same way as the first run'],
  ['shuffle', 'it orders at random: a replay must code a report the same way as the first run'],
  ['eval', 'it would run text from a report as an expression'],
]);

const JSONATA_OPTIONS = { timeout: EXPRESSION_LIMITS.timeoutMs, stack: EXPRESSION_LIMITS.depth, sequence: EXPRESSION_LIMITS.sequenceItems };

/** Why an evaluation was refused; `message` is written to follow "the expression failed: ". */
export class ExpressionError extends Error {
  constructor(
    message: string,
    /** The JSONata error code (e.g. T2001, D1012). */
    readonly jsonataCode: string,
    /** Set when a limit stopped the evaluation rather than an error in the expression. */
    readonly limit: 'time' | 'depth' | 'sequence' | undefined,
    /** The expression's start in its rule file. */
    readonly at: SourcePos,
  ) {
    super(message);
    this.name = 'ExpressionError';
  }
}

/** Maps a character offset in an expression's source to its place in the file. */
export type Locate = (offset: number) => SourcePos;

/** Columns counted from `at`, lines by newlines in the source: right for any expression written on one line. */
export function locateFrom(source: string, at: SourcePos): Locate {
  return (offset) => {
    const before = source.slice(0, Math.max(0, offset));
    const lastBreak = before.lastIndexOf('\n');
    if (lastBreak < 0) return { file: at.file, line: at.line, column: at.column + before.length };
    let lines = 0;
    for (let i = 0; i < before.length; i++) if (before.charCodeAt(i) === 10) lines++;
    return { file: at.file, line: at.line + lines, column: before.length - lastBreak };
  };
}

export function isCompiledExpression(value: CompiledExpression | RuleProblem): value is CompiledExpression {
  return 'evaluate' in value;
}

/**
 * Compiled JSONata by source text, shared by the rows of one file that repeat an expression (a memo
 * on every row): compiling costs about 60 µs and tens of kilobytes each. Sharing is safe because
 * evaluation keeps no state in the compiled expression once the clock functions are forbidden.
 */
export type ExpressionCache = Map<string, jsonata.Expression>;

/**
 * Compiles `source` (the text after `=`, trimmed) that starts at `at` in its file. `locate` places
 * a character of the source in the file when the file's quoting moved it (escapes, line folding);
 * without it columns are counted from `at`. A problem points at the failing character.
 */
export function compileExpression(source: string, at: SourcePos, locate: Locate = locateFrom(source, at), cache?: ExpressionCache): CompiledExpression | RuleProblem {
  const cached = cache?.get(source);
  if (cached) return new JsonataExpression(source, at, cached, locate);
  const problem = (offset: number, message: string): RuleProblem => ({ ...locate(offset), code: 'expression', message });
  if (source.length === 0) return problem(0, 'The expression after = is empty: write one (e.g. = report.reportId) or remove the =.');
  if (source.length > EXPRESSION_LIMITS.sourceChars) {
    return problem(0, `The expression has ${source.length} characters; at most ${EXPRESSION_LIMITS.sourceChars} are allowed: simplify it.`);
  }
  const tooDeep = deepNestingOffset(source);
  if (tooDeep !== undefined) return problem(tooDeep, `The expression nests more than ${EXPRESSION_LIMITS.nesting} brackets deep: simplify it.`);
  let compiled: jsonata.Expression;
  try {
    compiled = jsonata(source, JSONATA_OPTIONS);
  } catch (error) {
    const { code, message, offset } = describeCompileError(error, source);
    return problem(offset, `The expression does not compile: ${message} (JSONata ${code}). Fix it here; the syntax is at https://docs.jsonata.org.`);
  }
  const forbidden = forbiddenCall(compiled.ast());
  if (forbidden) {
    return problem(forbidden.offset, `$${forbidden.name} is not allowed in a mapping rule: ${FORBIDDEN_FUNCTIONS.get(forbidden.name)}.`);
  }
  cache?.set(source, compiled);
  return new JsonataExpression(source, at, compiled, locate);
}

/**
 * The evaluation that runs last: every evaluation waits for the one before it. JSONata's time limit
 * is wall time from the start of an evaluation, and its evaluator awaits at every node, so
 * evaluations started together (the engine evaluates a report's expressions with Promise.all)
 * interleave and each would be charged for all the others: a thousand at once all time out.
 * One at a time, each is charged for its own work; the thread does the same work either way.
 */
let lastEvaluation: Promise<unknown> = Promise.resolve();
const ignore = (): void => {};

/** A compiled expression. The error handler is bound once; a call allocates only its queue entry. */
class JsonataExpression implements CompiledExpression {
  private readonly refuse: (error: unknown) => never;

  constructor(
    readonly source: string,
    readonly at: SourcePos,
    private readonly compiled: jsonata.Expression,
    locate: Locate,
  ) {
    this.refuse = (error) => {
      throw toExpressionError(error, at, locate);
    };
  }

  evaluate(input: ExpressionInput): Promise<unknown> {
    const run = lastEvaluation.then(() => this.attempt(input));
    lastEvaluation = run.then(ignore, ignore);
    return run.catch(this.refuse);
  }

  /**
   * A time-out is tried once more: the limit is wall time, so a garbage-collection pause or a busy
   * machine can stop a sound expression, and that would send a report to quarantine. An endless
   * expression runs out of time twice.
   */
  private async attempt(input: ExpressionInput): Promise<unknown> {
    try {
      return await this.compiled.evaluate(input);
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code !== 'D1012') throw error;
      return await this.compiled.evaluate(input);
    }
  }
}

/** JSONata throws plain objects; this gives the engine an Error whose message says what happened. */
function toExpressionError(error: unknown, at: SourcePos, locate: Locate): ExpressionError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; message?: unknown; position?: unknown };
  const code = typeof e.code === 'string' ? e.code : 'unknown';
  if (code === 'D1012') {
    return new ExpressionError(`it ran longer than ${EXPRESSION_LIMITS.timeoutMs} ms, twice, and was stopped: look for a function that calls itself without end`, code, 'time', at);
  }
  if (code === 'D1011') {
    return new ExpressionError(`it nested deeper than ${EXPRESSION_LIMITS.depth} levels and was stopped: look for a function that calls itself without end`, code, 'depth', at);
  }
  if (code === 'D2015') {
    return new ExpressionError(`it built a sequence of more than ${EXPRESSION_LIMITS.sequenceItems} items and was stopped`, code, 'sequence', at);
  }
  const text = typeof e.message === 'string' ? e.message : String(error);
  const where = typeof e.position === 'number' && e.position > 0 ? locate(e.position - 1) : at;
  return new ExpressionError(`${text} (JSONata ${code}, ${where.file}:${where.line}:${where.column})`, code, undefined, at);
}

/**
 * JSONata's `position` is the index just past the failing token. For a token at the end of the
 * expression, point just past the end (where the missing part goes); else at the token's start
 * when the token is its source text, else at the token's last character.
 */
function describeCompileError(error: unknown, source: string): { code: string; message: string; offset: number } {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; message?: unknown; position?: unknown; token?: unknown };
  const code = typeof e.code === 'string' ? e.code : 'unknown';
  const message = error instanceof RangeError ? 'it is nested too deeply' : typeof e.message === 'string' ? e.message : String(error);
  const position = typeof e.position === 'number' && Number.isFinite(e.position) ? e.position : 0;
  let offset = position - 1;
  if (e.token === '(end)') offset = source.length;
  else if (typeof e.token === 'string' && e.token.length > 0 && source.slice(position - e.token.length, position) === e.token) offset = position - e.token.length;
  return { code, message, offset: Math.min(Math.max(offset, 0), source.length) };
}

/** The offset of the first bracket that opens deeper than the limit, if any. */
function deepNestingOffset(source: string): number | undefined {
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 40 || c === 91 || c === 123) {
      if (++depth > EXPRESSION_LIMITS.nesting) return i;
    } else if (c === 41 || c === 93 || c === 125) depth = Math.max(0, depth - 1);
  }
  return undefined;
}

/**
 * The first reference to a forbidden function anywhere in the syntax tree. The walk is generic
 * (every object and array, once) so that it does not depend on the tree's shape per node type.
 */
function forbiddenCall(ast: unknown): { name: string; offset: number } | undefined {
  const seen = new Set<object>();
  const stack: unknown[] = [ast];
  let found: { name: string; offset: number } | undefined;
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null || seen.has(node)) continue;
    seen.add(node);
    const n = node as { type?: unknown; value?: unknown; position?: unknown };
    if (n.type === 'variable' && typeof n.value === 'string' && FORBIDDEN_FUNCTIONS.has(n.value)) {
      // A variable's position is just past its name; the name starts one `$` earlier.
      const offset = typeof n.position === 'number' ? Math.max(0, n.position - n.value.length - 1) : 0;
      if (!found || offset < found.offset) found = { name: n.value, offset };
    }
    for (const value of Object.values(node)) if (typeof value === 'object' && value !== null) stack.push(value);
  }
  return found;
}
