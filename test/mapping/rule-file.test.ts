// Proves that rule files (YAML and CSV) compile into the rule sets they describe, that every kind of mistake is refused with its exact file, line and column and a known code, that expressions evaluate against an ExpressionInput and endless ones are stopped with a clear error, that no input (random text, random edits of valid files) makes the parser throw, and that the CSV scanner reads what csv-parse reads.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parse as parseCsv } from 'csv-parse/sync';
import { parseRuleFile, ruleFileFormat, RULE_FILE_LIMITS, SourceMap, tokenizeCsv } from '../../src/mapping/rule-file.ts';
import { compileCondition, compileExpression, ExpressionError, isCompiledExpression, locateFrom } from '../../src/mapping/expressions.ts';
import { conditionMatches, RULE_PROBLEM_CODES, type CompiledRuleSet, type ExpressionInput, type MatchColumn, type RuleProblem } from '../../src/mapping/rule-set.ts';

/** Run properties with a random seed (fast-check prints it on failure); FC_SEED=<n> replays one. */
const FC_SEED = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };

const YAML_FIXTURE = readFileSync(new URL('./fixtures/de01-rules.yaml', import.meta.url), 'utf8');
const CSV_FIXTURE = readFileSync(new URL('./fixtures/de01-rules.csv', import.meta.url), 'utf8');

function parsed(text: string, format: 'yaml' | 'csv', file = `de01-rules.${format}`): CompiledRuleSet {
  const result = parseRuleFile({ text, file, format, scope: 'DE01' });
  assert.ok(result.ok, `expected ${file} to compile: ${JSON.stringify(!result.ok && result.problems, null, 1)}`);
  return result.ruleSet;
}

function problemsOf(text: string, format: 'yaml' | 'csv', scope = 'DE01'): RuleProblem[] {
  const result = parseRuleFile({ text, file: 'rules', format, scope });
  assert.ok(!result.ok, 'expected the file to be refused');
  return result.problems;
}

/** Each problem as `line:column code`, the shape the assertions compare. */
function where(problems: readonly RuleProblem[]): string[] {
  return problems.map((p) => `${p.line}:${p.column} ${p.code}`);
}

function matches(set: CompiledRuleSet, ruleId: string, column: MatchColumn, value: string | undefined): boolean {
  const rule = set.rules.find((r) => r.id === ruleId);
  assert.ok(rule, `rule ${ruleId}`);
  const condition = rule.when.get(column);
  return condition === undefined || conditionMatches(condition, value);
}

const INPUT: ExpressionInput = {
  report: { reportId: 'R-1', revision: 2, entity: 'DE01', employeeId: 'E7', currency: 'EUR', approvedAt: '2026-05-05T10:00:00Z', postingDate: '2026-05-05', customFields: { trip: 'Berlin' } },
  line: { lineId: 'L1', date: '2026-05-04', category: 'PERDIEM', paymentType: 'out_of_pocket', personal: false, currency: 'EUR', amountMinor: 8400, customFields: {} },
  allocation: { costCenter: 'DE4110', project: 'P-100' },
  grossMinor: 8400,
  expenseMinor: 8400,
  days: 2,
};

describe('valid files', () => {
  test('the YAML example compiles into its settings, rules, conditions and outputs', async () => {
    const set = parsed(YAML_FIXTURE, 'yaml');
    assert.equal(set.scope, 'DE01');
    assert.equal(set.description, 'Travel coding for DE01');
    // Unquoted numbers keep their source text: 2120 and 07990 are codes, not numbers.
    assert.deepEqual(set.settings.credit, { out_of_pocket: '2110', company_card: '2120', individual_card: '2110', cash_advance: '1260' });
    assert.equal(set.settings.roundingAccount, '07990');
    assert.deepEqual(set.settings.at['credit.company_card'], { file: 'de01-rules.yaml', line: 7, column: 19 });
    assert.deepEqual(set.settings.at.roundingAccount, { file: 'de01-rules.yaml', line: 10, column: 20 });
    assert.deepEqual(set.rulesAt, { file: 'de01-rules.yaml', line: 11, column: 1 });
    assert.deepEqual(set.columns, ['category', 'personal', 'paymentType', 'costCenter', 'project', 'cf.trip_purpose']);
    assert.deepEqual(
      set.rules.map((r) => [r.id, r.at.line, r.at.column, r.account, r.accountAt.line, r.accountAt.column]),
      [
        ['LODGING', 12, 5, '6110', 14, 23],
        ['PERDIEM', 15, 5, '6150', 18, 17],
        ['CARD-TRAVEL', 24, 5, '6140', 26, 22],
        ['PERSONAL', 27, 5, '1590', 32, 17],
      ],
    );
    const [lodging, perDiem, card, personal] = set.rules;
    assert.deepEqual([lodging!.tax, lodging!.taxAccount, lodging!.costCenter, lodging!.project, lodging!.employee], [{ kind: 'reclaim' }, '1410', { kind: 'allocation' }, { kind: 'allocation' }, false]);
    assert.equal(perDiem!.taxableAccount, '6155');
    assert.equal(await perDiem!.taxable!.evaluate(INPUT), 8400 - 2800 * 2);
    assert.equal(perDiem!.memo?.kind === 'expression' && (await perDiem!.memo.expression.evaluate(INPUT)), 'R-1 r2 per diem');
    assert.deepEqual(card!.tax, { kind: 'share', bp: 7000 });
    assert.deepEqual(card!.costCenter, { kind: 'none' });
    assert.equal(card!.project.kind === 'expression' && (await card!.project.expression.evaluate(INPUT)), 'P-100');
    assert.deepEqual(personal!.memo, { kind: 'literal', value: 'Personal expenses, to be repaid' });
    assert.equal(personal!.employee, true);
    // Conditions: lists, globs, absent, personal normalized to "true"/"false", unconstrained columns left out.
    assert.deepEqual([...lodging!.when.keys()], ['category', 'personal']);
    assert.ok(matches(set, 'LODGING', 'category', 'LODGING') && !matches(set, 'LODGING', 'category', 'LODGING2'));
    assert.ok(matches(set, 'LODGING', 'personal', 'false') && !matches(set, 'LODGING', 'personal', 'true'));
    assert.ok(matches(set, 'CARD-TRAVEL', 'category', 'TRAIN') && !matches(set, 'CARD-TRAVEL', 'category', undefined));
    assert.ok(matches(set, 'CARD-TRAVEL', 'paymentType', 'company_card') && !matches(set, 'CARD-TRAVEL', 'paymentType', 'cash_advance'));
    assert.ok(matches(set, 'CARD-TRAVEL', 'costCenter', 'DE41') && !matches(set, 'CARD-TRAVEL', 'costCenter', 'DE410'));
    assert.ok(matches(set, 'CARD-TRAVEL', 'costCenter', 'DE5') && matches(set, 'CARD-TRAVEL', 'costCenter', 'DE5999'));
    assert.ok(matches(set, 'CARD-TRAVEL', 'project', undefined) && matches(set, 'CARD-TRAVEL', 'project', 'P-100') && !matches(set, 'CARD-TRAVEL', 'project', 'P-101'));
    assert.ok(matches(set, 'PERSONAL', 'personal', 'true') && matches(set, 'PERSONAL', 'cf.trip_purpose', 'private') && !matches(set, 'PERSONAL', 'cf.trip_purpose', undefined));
    assert.deepEqual(set.document.rules[2], {
      id: 'CARD-TRAVEL',
      when: { category: 'TAXI|TRAIN|FLIGHT', paymentType: '*_card', costCenter: 'DE4?|DE5*', project: '-|P-100' },
      then: { account: '6140', costCenter: '-', project: '= allocation.project', tax: '70%', taxAccount: '1410' },
    });
    assert.deepEqual(set.document.settings, { credit: { out_of_pocket: '2110', company_card: '2120', individual_card: '2110', cash_advance: '1260' }, roundingAccount: '07990' });
  });

  test('the CSV example compiles: quoted cells, doubled quotes, comments, blank lines and a cell over two lines', async () => {
    const set = parsed(CSV_FIXTURE, 'csv');
    assert.deepEqual(set.settings, { credit: {}, at: {} });
    assert.equal(set.description, undefined);
    assert.deepEqual(set.rulesAt, { file: 'de01-rules.csv', line: 2, column: 1 });
    assert.deepEqual(set.columns, ['category', 'personal', 'paymentType', 'costCenter', 'cf.trip_purpose']);
    assert.deepEqual(
      set.rules.map((r) => [r.id, r.at.line, r.account, r.accountAt.line, r.accountAt.column]),
      [
        ['LODGING', 3, '6110', 3, 26],
        ['TAXI-CC', 4, '6141', 4, 53],
        ['PERSONAL', 6, '1590', 6, 27],
        ['MULTI', 7, '6120', 7, 39],
      ],
    );
    const [, taxi, personal, multi] = set.rules;
    assert.deepEqual(taxi!.tax, { kind: 'share', bp: 1250 });
    assert.deepEqual(taxi!.costCenter, { kind: 'none' });
    assert.equal(taxi!.memo?.kind === 'expression' && (await taxi!.memo.expression.evaluate(INPUT)), 'R-1 taxi');
    assert.ok(matches(set, 'TAXI-CC', 'costCenter', 'DE4110') && !matches(set, 'TAXI-CC', 'costCenter', 'DE4210'));
    assert.ok(matches(set, 'TAXI-CC', 'personal', 'false'));
    assert.equal(personal!.when.has('category'), false, 'a * condition is left out of the map');
    assert.deepEqual(multi!.memo, { kind: 'literal', value: 'two\nlines' });
    assert.ok(matches(set, 'MULTI', 'cf.trip_purpose', undefined) && !matches(set, 'MULTI', 'cf.trip_purpose', 'x'));
    assert.deepEqual(set.document.rules[1], {
      id: 'TAXI-CC',
      when: { category: 'TAXI', paymentType: 'company_card|individual_card', costCenter: 'DE41*', personal: 'no' },
      then: { account: '6141', costCenter: '-', tax: '12.5%', taxAccount: '1410', memo: '= report.reportId & " taxi"' },
    });
  });

  test('a semicolon-separated CSV (spreadsheets in European locales) reads the same', () => {
    const set = parsed('id;category;account;memo\nA;X|Y;6110;"a; b"\n', 'csv');
    assert.deepEqual(set.document.rules, [{ id: 'A', when: { category: 'X|Y' }, then: { account: '6110', memo: 'a; b' } }]);
  });

  test('ruleFileFormat knows .yaml, .yml and .csv', () => {
    assert.deepEqual(['a.yaml', 'B.YML', 'c.csv', 'd.json', 'csv'].map(ruleFileFormat), ['yaml', 'yaml', 'csv', undefined, undefined]);
  });
});

describe('conditions', () => {
  const condition = (column: MatchColumn, text: string) => {
    const compiled = compileCondition(column, text, locateFrom(text, { file: 'f', line: 1, column: 1 }));
    assert.deepEqual(compiled.problems, []);
    return compiled.condition;
  };
  const cases: [MatchColumn, string, (string | undefined)[], (string | undefined)[]][] = [
    ['category', 'TAXI|TRAIN', ['TAXI', 'TRAIN'], ['taxi', 'BUS', undefined]],
    ['project', '-', [undefined], ['P-1']],
    ['project', '-|P-1', [undefined, 'P-1'], ['P-2']],
    ['costCenter', 'DE4?', ['DE41', 'DE4A'], ['DE4', 'DE411', 'XDE41']],
    ['costCenter', 'DE*|AT1', ['DE', 'DE4110', 'AT1'], ['AT10', undefined]],
    ['costCenter', 'A.B*', ['A.B', 'A.B7'], ['AXB']],
    ['paymentType', '*_card', ['company_card', 'individual_card'], ['out_of_pocket']],
    ['personal', 'yes', ['true'], ['false']],
    ['personal', 'No|FALSE', ['false'], ['true']],
    ['cf.purpose', 'private trip|-', ['private trip', undefined], ['private']],
  ];
  for (const [column, text, yes, no] of cases) {
    test(`${column} ${text}`, () => {
      const c = condition(column, text);
      assert.ok(c);
      for (const value of yes) assert.equal(conditionMatches(c, value), true, `${text} matches ${value}`);
      for (const value of no) assert.equal(conditionMatches(c, value), false, `${text} does not match ${value}`);
    });
  }

  test('empty and * are no condition at all (any value, absent too)', () => {
    assert.equal(condition('category', ''), undefined);
    assert.equal(condition('category', '*'), undefined);
  });
});

describe('problems, each at its exact place', () => {
  test('YAML syntax error', () => {
    const problems = problemsOf('rules:\n  - id: A\n    when: { category: [X }\n    then: { account: "6110" }\n', 'yaml');
    assert.deepEqual(where(problems), ['3:26 syntax', '4:5 syntax']);
  });

  test('an unquoted - in YAML is a syntax error that says to quote it', () => {
    const [problem] = problemsOf('rules:\n  - id: A\n    when:\n      project: -\n    then: { account: "6110" }\n', 'yaml');
    assert.deepEqual(where([problem!]), ['4:16 syntax']);
    assert.match(problem!.message, /write "-" in quotes/);
  });

  test('CSV quote that never closes: reported where it opens', () => {
    const problems = problemsOf('id,category,account\nA,LODGING,6110\nB,"TAXI,6141\nC,X,6000\n', 'csv');
    assert.deepEqual(where(problems), ['3:3 syntax']);
    assert.match(problems[0]!.message, /never closed/);
  });

  test('CSV stray quotes and rows of the wrong length are all reported', () => {
    const problems = problemsOf('id,category,account\nA,"LOD"GING,6110\nB,X"Y,6111\nC,LODGING\nD,X,6111,extra\n', 'csv');
    assert.deepEqual(where(problems), ['2:8 syntax', '3:4 syntax', '4:10 syntax', '5:10 syntax']);
  });

  test('unknown YAML keys at every level, with a suggestion for a wrong case', () => {
    const text = 'scope: DE01\nsetings: {}\nrules:\n  - id: A\n    when: { categroy: X, Category: Y }\n    then: { account: "6110", acount: "1" }\n    note: x\n';
    const problems = problemsOf(text, 'yaml');
    assert.deepEqual(where(problems), ['2:1 field', '5:13 field', '5:26 field', '6:30 field', '7:5 field']);
    assert.match(problems[2]!.message, /did you mean "category"/);
  });

  test('unknown, repeated and invalid CSV columns', () => {
    const problems = problemsOf('id,category,Account,account,category,cf.9x\nA,X,1,6110,Y,z\n', 'csv');
    assert.deepEqual(where(problems), ['1:13 field', '1:29 field', '1:38 field']);
  });

  test('a CSV without an account column says so once, at the header', () => {
    assert.deepEqual(where(problemsOf('id,category\nA,X\nB,Y\n', 'csv')), ['1:1 field']);
  });

  test('bad account codes, and an account given as an expression', () => {
    const problems = problemsOf('rules:\n  - id: A\n    then: { account: "61 10" }\n  - id: B\n    then: { account: = 1 }\n', 'yaml');
    assert.deepEqual(where(problems), ['3:23 field', '5:22 field']);
  });

  test('missing account: at then: in YAML (at the rule when then: is missing), at the empty cell in CSV', () => {
    assert.deepEqual(where(problemsOf('rules:\n  - id: A\n    when: { category: X }\n    then: { tax: none }\n  - id: B\n    when: { category: Y }\n', 'yaml')), ['4:5 field', '5:5 field']);
    assert.deepEqual(where(problemsOf('id,category,account\nA,X,\n', 'csv')), ['2:5 field']);
  });

  test('JSONata syntax errors point at the failing column, through quotes, doubled quotes and escapes', () => {
    const yaml = problemsOf('rules:\n  - id: A\n    then: { account: "6110", memo: "= $sum(", costCenter: = report. }\n', 'yaml');
    assert.deepEqual(where(yaml), ['3:44 expression', '3:68 expression']);
    assert.match(yaml[0]!.message, /Expected "\)" before end of expression \(JSONata S0203\)/);
    const csv = problemsOf('id,account,memo,out.project\nA,6110,"= ""a"" & $sum(",=  report.\n', 'csv');
    assert.deepEqual(where(csv), ['2:24 expression', '2:36 expression']);
    const escaped = problemsOf('rules:\n  - id: A\n    then: { account: "6110", memo: "= \\"a\\" & $sum(" }\n', 'yaml');
    assert.deepEqual(where(escaped), ['3:52 expression']);
    const block = problemsOf('rules:\n  - id: A\n    then:\n      account: "6110"\n      memo: |-\n        = report.reportId &\n          $sum(\n', 'yaml');
    assert.deepEqual(where(block), ['7:16 expression']);
    const token = problemsOf('id,account,memo\nA,6110,= 1 2\n', 'csv');
    assert.deepEqual(where(token), ['2:12 expression']);
  });

  test('expressions may not read the clock, draw at random or evaluate text', () => {
    const problems = problemsOf('id,account,memo,out.project\nA,6110,= $string($now()),= $eval(report.customFields.p)\n', 'csv');
    assert.deepEqual(where(problems), ['2:18 expression', '2:28 expression']);
    const shuffled = problemsOf('id,account,memo\nA,6110,"= $join($shuffle([line.category, line.lineId]))"\n', 'csv');
    assert.deepEqual(where(shuffled), ['2:17 expression']);
    assert.match(shuffled[0]!.message, /\$shuffle is not allowed/);
  });

  test('a file with more than 200 problems lists 200 and says how many more', () => {
    const rows = Array.from({ length: 300 }, (_, i) => `R${i},6110,120%`).join('\n');
    const problems = problemsOf(`id,account,tax\n${rows}\n`, 'csv');
    assert.equal(problems.length, 201);
    assert.match(problems[200]!.message, /and 100 more problems/);
  });

  test('at most 20 custom-field columns', () => {
    const columns = Array.from({ length: 21 }, (_, i) => `cf.f${i}`);
    const problems = problemsOf(`id,account,${columns.join(',')}\nA,6110,${columns.map(() => 'x').join(',')}\n`, 'csv');
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.message, /at most 20 custom fields/);
  });

  test('duplicate id: at the second one', () => {
    const problems = problemsOf('rules:\n  - id: A\n    then: { account: "6110" }\n  - id: A\n    then: { account: "6110" }\n', 'yaml');
    assert.deepEqual(where(problems), ['4:9 duplicate_id']);
    assert.match(problems[0]!.message, /already used on line 2/);
  });

  test('tax 120%, a bad tax, a taxAccount with tax none and a share without taxAccount', () => {
    assert.deepEqual(where(problemsOf('rules:\n  - id: A\n    then: { account: "6110", tax: 120%, taxAccount: "1410" }\n', 'yaml')), ['3:35 field']);
    assert.deepEqual(where(problemsOf('id,account,tax,taxAccount\nA,6110,12.345%,1410\nB,6110,none,1410\nC,6110,70%,\n', 'csv')), ['2:8 field', '3:13 field', '4:8 field']);
  });

  test('taxable without taxableAccount, taxableAccount without taxable, taxable not an expression', () => {
    assert.deepEqual(where(problemsOf('rules:\n  - id: A\n    then: { account: "6110", taxable: "= expenseMinor" }\n', 'yaml')), ['3:40 field']);
    assert.deepEqual(where(problemsOf('id,account,taxable,taxableAccount\nA,6110,,6155\nB,6110,100,6155\n', 'csv')), ['2:9 field', '3:8 field']);
  });

  test('a glob in a cf. column, a bad glob, * inside a list', () => {
    assert.deepEqual(where(problemsOf('id,cf.purpose,category,account\nA,priv*,X|*,6110\nB,x,DE*1*2*3*,6110\n', 'csv')), ['2:3 field', '2:11 field', '3:5 field']);
  });

  test('bad payment type, a glob that matches none, bad personal', () => {
    const problems = problemsOf('rules:\n  - id: A\n    when: { paymentType: "company_card|amex", personal: maybe }\n    then: { account: "6110" }\n  - id: B\n    when: { paymentType: "*_cash" }\n    then: { account: "6110" }\n', 'yaml');
    assert.deepEqual(where(problems), ['3:40 field', '3:57 field', '6:27 field']);
  });

  test('scope mismatch', () => {
    const problems = problemsOf('scope: DE02\nrules:\n  - id: A\n    then: { account: "6110" }\n', 'yaml');
    assert.deepEqual(where(problems), ['1:8 field']);
    assert.match(problems[0]!.message, /scope DE02 but is being loaded for DE01/);
  });

  test('empty files, empty rule lists, a header without rows', () => {
    assert.deepEqual(where(problemsOf('', 'yaml')), ['1:1 field']);
    assert.deepEqual(where(problemsOf('scope: DE01\nrules: []\n', 'yaml')), ['2:1 field']);
    assert.deepEqual(where(problemsOf('# only a comment\n\n', 'csv')), ['1:1 field']);
    assert.deepEqual(where(problemsOf('# table\nid,account\n', 'csv')), ['2:1 field']);
  });

  test('all problems of a file are reported, sorted by line and column', () => {
    const problems = problemsOf('id,category,account,tax\nA,x y,61 10,200%\nA,,6110,\n,LODGING,6110,\n', 'csv');
    assert.deepEqual(where(problems), ['2:3 field', '2:7 field', '2:13 field', '3:1 duplicate_id', '4:1 field']);
  });

  test('limits: characters and rows', () => {
    const big = problemsOf(`rules:\n${' '.repeat(RULE_FILE_LIMITS.textChars)}`, 'yaml');
    assert.deepEqual(where(big), ['1:1 field']);
    const rows = Array.from({ length: RULE_FILE_LIMITS.rows + 1 }, (_, i) => `R${i},6110`).join('\n');
    const many = problemsOf(`id,account\n${rows}\n`, 'csv');
    assert.deepEqual(where(many), ['1:1 field']);
    assert.match(many[0]!.message, /at most 5,000/);
  });

  test('deeply nested YAML and expressions are refused, not a crash', () => {
    assert.deepEqual(where(problemsOf(`rules: ${'['.repeat(100_000)}`, 'yaml')), ['1:38 syntax']);
    assert.equal(problemsOf(`${'- '.repeat(50_000)}a`, 'yaml')[0]!.code, 'syntax');
    assert.equal(problemsOf(`id,account,memo\nA,6110,= ${'('.repeat(5000)}1${')'.repeat(5000)}\n`, 'csv')[0]!.code, 'expression');
    assert.equal(problemsOf(`id,account,memo\nA,6110,= ${'('.repeat(80)}1${')'.repeat(80)}\n`, 'csv')[0]!.code, 'expression');
  });
});

describe('expression evaluation', () => {
  const at = { file: 'f', line: 1, column: 1 };
  const compile = (source: string) => {
    const compiled = compileExpression(source, at);
    assert.ok(isCompiledExpression(compiled), JSON.stringify(compiled));
    return compiled;
  };

  test('reads the report, the line, the allocation and the amounts', async () => {
    assert.equal(await compile('report.reportId & "/" & line.lineId & "/" & allocation.costCenter & "/" & report.customFields.trip').evaluate(INPUT), 'R-1/L1/DE4110/Berlin');
    assert.equal(await compile('$max([0, expenseMinor - 2800 * days])').evaluate(INPUT), 2800);
  });

  test('an endless tail recursion is stopped by the time limit with a clear error', async () => {
    const error = await compile('($f := function(){ $f() }; $f())').evaluate(INPUT).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof ExpressionError);
    assert.equal(error.limit, 'time');
    assert.match(error.message, /ran longer than 50 ms, twice, and was stopped/);
  });

  test('deep recursion is stopped by the depth limit, huge sequences by the sequence limit', async () => {
    const deep = await compile('($f := function($n){ 1 + $f($n + 1) }; $f(0))').evaluate(INPUT).then(() => undefined, (e: unknown) => e);
    assert.ok(deep instanceof ExpressionError && deep.limit === 'depth', String(deep));
    const long = await compile('$count([1..5000000])').evaluate(INPUT).then(() => undefined, (e: unknown) => e);
    assert.ok(long instanceof ExpressionError && long.limit === 'sequence', String(long));
  });

  test('many evaluations started at once (a report with Promise.all) are not charged for each other\'s time', async () => {
    const compiled = compile('report.reportId & " r" & report.revision & " " & $string($max([0, expenseMinor - 2800 * days]))');
    const results = await Promise.allSettled(Array.from({ length: 3000 }, () => compiled.evaluate(INPUT)));
    assert.deepEqual(results.filter((r) => r.status === 'rejected'), []);
  });

  test('a runtime error names the JSONata code and where in the file it failed', async () => {
    const compiled = compileExpression('report.reportId - 1', { file: 'r.csv', line: 4, column: 10 });
    assert.ok(isCompiledExpression(compiled));
    const error = await compiled.evaluate(INPUT).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof ExpressionError);
    assert.equal(error.jsonataCode, 'T2001');
    assert.match(error.message, /JSONata T2001, r\.csv:4:2\d\)/);
  });
});

describe('never throws', () => {
  function checkProblems(result: ReturnType<typeof parseRuleFile>, text: string): void {
    if (result.ok) return;
    assert.ok(result.problems.length > 0);
    const lines = text.replace(/^\uFEFF/, '').split('\n').length;
    let previous = [0, 0];
    for (const p of result.problems) {
      assert.ok(RULE_PROBLEM_CODES.includes(p.code), p.code);
      assert.ok(Number.isInteger(p.line) && p.line >= 1 && p.line <= lines, `line ${p.line} of ${lines}`);
      assert.ok(Number.isInteger(p.column) && p.column >= 1, `column ${p.column}`);
      assert.equal(p.file, 'fuzz');
      assert.ok(p.message.length > 0 && !p.message.includes('internal error'), p.message);
      assert.ok(p.line > previous[0]! || (p.line === previous[0] && p.column >= previous[1]!), 'sorted');
      previous = [p.line, p.column];
    }
  }

  const alphabet = fc.constantFrom(...'\n\n  -:|*?=#",\'{}[]&$()\t\r.%0aZ_'.split(''), 'true', 'cf.', '- id: ', 'when:', 'then:', '""', '\\"', '\u00e9', '\uFEFF');
  const edit = fc.record({ at: fc.nat(), remove: fc.nat({ max: 4 }), insert: fc.array(alphabet, { maxLength: 4 }).map((a) => a.join('')) });
  const mutate = (text: string, edits: { at: number; remove: number; insert: string }[]) =>
    edits.reduce((t, e) => {
      const at = e.at % (t.length + 1);
      return t.slice(0, at) + e.insert + t.slice(at + e.remove);
    }, text);

  for (const format of ['yaml', 'csv'] as const) {
    test(`arbitrary ${format} text`, () => {
      fc.assert(
        fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 200 }), fc.array(alphabet, { maxLength: 120 }).map((a) => a.join(''))), (text) => {
          checkProblems(parseRuleFile({ text, file: 'fuzz', format, scope: 'DE01' }), text);
        }),
        { numRuns: Number(process.env.FC_RUNS ?? 400), ...FC_SEED },
      );
    });

    test(`random edits of the valid ${format} example`, () => {
      const valid = format === 'yaml' ? YAML_FIXTURE : CSV_FIXTURE;
      fc.assert(
        fc.property(fc.array(edit, { minLength: 1, maxLength: 6 }), (edits) => {
          const text = mutate(valid, edits);
          checkProblems(parseRuleFile({ text, file: 'fuzz', format, scope: 'DE01' }), text);
        }),
        { numRuns: Number(process.env.FC_RUNS ?? 400), ...FC_SEED },
      );
    });
  }
});

describe('CSV scanner', () => {
  // Cells as a spreadsheet writes them: quoted when they hold a delimiter, quote or line break.
  const cellText = fc.array(fc.constantFrom('a', 'B', '1', ' ', ',', '"', '\n', '\r\n', '|', '=', 'é', '#'), { maxLength: 6 }).map((a) => a.join(''));
  const table = fc.integer({ min: 1, max: 4 }).chain((width) =>
    // A first cell starting with # would be a comment line to our scanner (and a record to csv-parse).
    fc.array(fc.tuple(cellText.filter((c) => !c.trimStart().startsWith('#')), fc.array(cellText, { minLength: width - 1, maxLength: width - 1 })).map(([first, rest]) => [first, ...rest]), { minLength: 1, maxLength: 6 }),
  );
  const quote = (cell: string, force: boolean) => (force || /[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell);

  test('reads the same cells as csv-parse', () => {
    fc.assert(
      fc.property(table, fc.boolean(), fc.boolean(), (rows, crlf, quoteAll) => {
        const text = rows.map((row) => row.map((cell) => quote(cell, quoteAll)).join(',')).join(crlf ? '\r\n' : '\n');
        const problems: RuleProblem[] = [];
        const ours = tokenizeCsv(text, ',', new SourceMap('t', text), problems).map((r) => r.cells.map((c) => c.value));
        assert.deepEqual(problems, []);
        // Both skip blank records: csv-parse by option for empty lines, ours for any record of blank cells.
        const theirs = (parseCsv(text, { relax_column_count: true }) as string[][]).filter((r) => r.some((c) => c.trim() !== ''));
        assert.deepEqual(ours, theirs);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 300), ...FC_SEED },
    );
  });
});
