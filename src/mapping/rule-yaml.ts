/**
 * Reads a YAML rule file into raw rows and settings, keeping where every key and character is.
 * Syntax problems (including nesting too deep to compose safely) stop the reading.
 */
import { Composer, Parser, isAlias, isMap, isScalar, isSeq, type CST, type Document, type Node, type Pair, type Scalar, type YAMLError } from 'yaml';
import { PAYMENT_TYPES, type PaymentType } from '../domain/report.ts';
import { MATCH_COLUMNS, OUTPUT_FIELDS, type MatchColumn, type OutputField, type RuleProblem, type SourcePos } from './rule-set.ts';
import { CODE_PATTERN, isMatchColumn } from './expressions.ts';
import { makeCell, type Cell, type RawRow, type RawRuleSet, type SourceMap } from './rule-cells.ts';
import { RULE_FILE_LIMITS } from './rule-limits.ts';

const TOP_KEYS = ['scope', 'description', 'settings', 'rules'];
const RULE_KEYS = ['id', 'when', 'then'];

export function readYaml(text: string, source: SourceMap, scope: string, problems: RuleProblem[]): RawRuleSet | undefined {
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
