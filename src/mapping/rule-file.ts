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
import type { CompiledRuleSet, RuleProblem } from './rule-set.ts';
import { CODE_PATTERN } from './expressions.ts';
import { SourceMap } from './rule-cells.ts';
import { RULE_FILE_LIMITS } from './rule-limits.ts';
import { compileRows } from './rule-rows.ts';
import { readYaml } from './rule-yaml.ts';
import { readCsv } from './rule-csv.ts';

export { RULE_FILE_LIMITS };
export { CODE_PATTERN };
export { SourceMap, makeCell, type Cell } from './rule-cells.ts';
export { tokenizeCsv, type CsvCell, type CsvRecord } from './rule-csv.ts';

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

/** Problems listed at most: a broken 2 MB file must not answer with a list of hundreds of thousands. */
const PROBLEMS_MAX = 200;

function refuse(problems: RuleProblem[]): ParseRuleFileResult {
  const sorted = problems.sort((a, b) => a.line - b.line || a.column - b.column);
  if (sorted.length <= PROBLEMS_MAX) return { ok: false, problems: sorted };
  const listed = sorted.slice(0, PROBLEMS_MAX);
  const last = listed[listed.length - 1];
  listed.push({ file: last.file, line: last.line, column: last.column, code: last.code, message: `… and ${sorted.length - PROBLEMS_MAX} more problems after this one: fix the ones listed and check again.` });
  return { ok: false, problems: listed };
}

function limitProblem(file: string, message: string): RuleProblem {
  return { file, line: 1, column: 1, code: 'field', message };
}
