// Proves that exporting a rule set and parsing the export gives back the same document (YAML in full, CSV its rules), for the example files and for generated documents, and that a diff of two versions holds exactly the changes between them (applying it to the first gives the second) and renders to the same text whatever the key order.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { PAYMENT_TYPES } from '../../src/domain/report.ts';
import { parseRuleFile } from '../../src/mapping/rule-file.ts';
import { exportRuleSet } from '../../src/mapping/rule-export.ts';
import { diffRuleSets, isEmptyDiff, renderDiff, type RuleRow, type RuleSetDiff } from '../../src/mapping/rule-diff.ts';
import type { RuleSetDocument } from '../../src/mapping/rule-set.ts';

/** Run properties with a random seed (fast-check prints it on failure); FC_SEED=<n> replays one. */
const FC_SEED = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };
const RUNS = Number(process.env.FC_RUNS ?? 200);

function documentOf(text: string, format: 'yaml' | 'csv', scope: string): RuleSetDocument {
  const result = parseRuleFile({ text, file: `rules.${format}`, format, scope });
  assert.ok(result.ok, `expected the file to compile:\n${text}\n${JSON.stringify(!result.ok && result.problems, null, 1)}`);
  return result.ruleSet.document;
}

const EXAMPLE_YAML = documentOf(readFileSync(new URL('./fixtures/de01-rules.yaml', import.meta.url), 'utf8'), 'yaml', 'DE01');
const EXAMPLE_CSV = documentOf(readFileSync(new URL('./fixtures/de01-rules.csv', import.meta.url), 'utf8'), 'csv', 'DE01');

// ------------------------------------------------------------------------------------------------
// Generated documents: every value valid, written the ways people write them.

const code = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/);
const glob = fc.stringMatching(/^[A-Za-z0-9_.-]{0,8}[*?][A-Za-z0-9_.-]{0,8}$/).filter((g) => g !== '*');
const spaced = (alternatives: string[]) => fc.constantFrom('|', ' | ', '| ').map((sep) => alternatives.join(sep));
const codeCondition = fc.oneof(fc.constant('*'), fc.array(fc.oneof(code, glob, fc.constant('-')), { minLength: 1, maxLength: 3 }).chain(spaced));
const paymentCondition = fc.array(fc.constantFrom(...PAYMENT_TYPES, '*_card', 'c*', '-'), { minLength: 1, maxLength: 3 }).map((a) => a.join('|'));
const personalCondition = fc.constantFrom('true', 'false', 'yes', 'no', '*', 'TRUE', 'No', 'true|false');
/** Any text a custom field can hold, trimmed, without the condition syntax characters | * ?. */
const freeText = (maxLength: number) =>
  fc
    .string({ unit: fc.oneof(fc.constantFrom(' ', '"', "'", ',', ';', '#', ':', '-', '\n', '\r\n', '\t', '{', '[', '&', '%', '@', '`', '!', '\\', '~'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength })
    .map((s) => s.trim())
    .filter((s) => s !== '' && s.length <= maxLength);
const customValue = freeText(40)
  .filter((s) => !/[|*?]/.test(s))
  .chain((value) => fc.constantFrom(value, `${value}|-`));
const customName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,39}$/);

const when = fc
  .tuple(
    fc.record({ category: codeCondition, paymentType: paymentCondition, costCenter: codeCondition, project: codeCondition, taxCode: codeCondition, personal: personalCondition }, { requiredKeys: [], noNullPrototype: true }),
    fc.dictionary(customName, customValue, { maxKeys: 2, noNullPrototype: true }),
  )
  .map(([fixed, custom]) => ({ ...fixed, ...Object.fromEntries(Object.entries(custom).map(([k, v]) => [`cf.${k}`, v])) }));

const dimension = fc.oneof(code, fc.constant('-'), fc.constant('= allocation.costCenter'));
const tax = fc.oneof(
  fc.constant({}),
  fc.constant({ tax: 'none' }),
  fc.tuple(fc.constantFrom('reclaim', '70%', '12.5%', '0%', '100%', '99.99%', 'Reclaim'), code).map(([t, account]) => ({ tax: t, taxAccount: account })),
);
const then = fc
  .tuple(
    fc.record(
      {
        account: code,
        costCenter: dimension,
        project: dimension,
        employee: fc.constantFrom('yes', 'no', 'true', 'false', 'YES'),
        memo: fc.oneof(freeText(200).filter((s) => !s.startsWith('=')), fc.constant('= report.reportId & " r" & report.revision')),
      },
      { requiredKeys: ['account'], noNullPrototype: true },
    ),
    tax,
    fc.option(code.map((account) => ({ taxable: '= $max([0, expenseMinor - 2800 * days])', taxableAccount: account })), { nil: undefined }),
  )
  .map(([base, taxFields, taxable]) => ({ ...base, ...taxFields, ...taxable }));

const row: fc.Arbitrary<RuleRow> = fc.record({ id: code, when, then }, { noNullPrototype: true });
const documentArb: fc.Arbitrary<RuleSetDocument> = fc
  .record({
    scope: code,
    description: fc.option(freeText(500), { nil: undefined }),
    credit: fc.dictionary(fc.constantFrom(...PAYMENT_TYPES), code, { noNullPrototype: true }),
    roundingAccount: fc.option(code, { nil: undefined }),
    rules: fc.uniqueArray(row, { minLength: 1, maxLength: 8, selector: (r) => r.id }),
  }, { noNullPrototype: true })
  .map(({ scope, description, credit, roundingAccount, rules }) => ({
    scope,
    ...(description !== undefined && { description }),
    settings: { credit, ...(roundingAccount !== undefined && { roundingAccount }) },
    rules,
  }));

function csvView(doc: RuleSetDocument): RuleSetDocument {
  return { scope: doc.scope, settings: { credit: {} }, rules: doc.rules };
}

describe('export', () => {
  test('the examples survive export and parse, in both formats', () => {
    for (const doc of [EXAMPLE_YAML, EXAMPLE_CSV]) {
      assert.deepEqual(documentOf(exportRuleSet(doc, 'yaml'), 'yaml', doc.scope), doc);
      assert.deepEqual(documentOf(exportRuleSet(doc, 'csv'), 'csv', doc.scope), csvView(doc));
    }
  });

  test('a YAML export reads like the docs', () => {
    const text = exportRuleSet(EXAMPLE_YAML, 'yaml');
    assert.match(text, /^ {2}- id: LODGING\n {4}when: \{ category: LODGING, personal: "false" \}\n {4}then:\n {6}account: "6110"\n/m);
    assert.match(text, /roundingAccount: "07990"/);
  });

  test('generated documents survive export and parse (YAML in full, CSV the rules)', () => {
    fc.assert(
      fc.property(documentArb, (doc) => {
        assert.deepEqual(documentOf(exportRuleSet(doc, 'yaml'), 'yaml', doc.scope), doc);
        assert.deepEqual(documentOf(exportRuleSet(doc, 'csv'), 'csv', doc.scope), csvView(doc));
      }),
      { numRuns: RUNS, ...FC_SEED },
    );
  });
});

// ------------------------------------------------------------------------------------------------

/** Applies a diff to `a`: what b must be if the diff holds exactly the changes. */
function applyDiff(a: RuleSetDocument, diff: RuleSetDiff): RuleSetDocument {
  const set = (record: Record<string, string>, key: string, to: string | undefined) => {
    if (to === undefined) delete record[key];
    else record[key] = to;
  };
  const credit: Record<string, string> = { ...a.settings.credit };
  let roundingAccount = a.settings.roundingAccount;
  for (const change of diff.settings) {
    if (change.name === 'roundingAccount') roundingAccount = change.to;
    else set(credit, change.name.replace(/^credit\./, ''), change.to);
  }
  const removed = new Set(diff.removed.map((r) => r.id));
  const rows = a.rules
    .filter((r) => !removed.has(r.id))
    .map((r) => {
      const fields = diff.changed.find((c) => c.id === r.id)?.fields ?? [];
      const next = { id: r.id, when: { ...r.when }, then: { ...r.then } };
      for (const f of fields) {
        const [part, key] = [f.field.slice(0, 5), f.field.slice(5)];
        set(part === 'when.' ? next.when : next.then, key, f.to);
      }
      return next;
    });
  const description = diff.description ? diff.description.to : a.description;
  return {
    scope: a.scope,
    ...(description !== undefined && { description }),
    settings: { credit, ...(roundingAccount !== undefined && { roundingAccount }) },
    rules: [...rows, ...diff.added],
  };
}

const byId = (doc: RuleSetDocument) => ({ ...doc, rules: [...doc.rules].sort((x, y) => (x.id < y.id ? -1 : 1)) });

/** The same document with every record's keys (and the rows) in reverse order. */
function shuffled(doc: RuleSetDocument): RuleSetDocument {
  const reverse = (r: Readonly<Record<string, string>>) => Object.fromEntries(Object.entries(r).reverse());
  return {
    ...doc,
    settings: { ...doc.settings, credit: reverse(doc.settings.credit) },
    rules: doc.rules.map((r) => ({ id: r.id, when: reverse(r.when), then: reverse(r.then) })),
  };
}

describe('diff', () => {
  const b: RuleSetDocument = {
    ...EXAMPLE_YAML,
    description: 'Travel coding for DE01, 2027',
    settings: { credit: { ...EXAMPLE_YAML.settings.credit, company_card: '2121' } },
    rules: [
      { ...EXAMPLE_YAML.rules[0]!, then: { ...EXAMPLE_YAML.rules[0]!.then, account: '6111' } },
      EXAMPLE_YAML.rules[1]!,
      { ...EXAMPLE_YAML.rules[2]!, when: { ...EXAMPLE_YAML.rules[2]!.when, costCenter: 'DE4*', project: '-' }, then: { account: '6140', costCenter: '-', project: '= allocation.project' } },
      { id: 'TAXI-CC', when: { category: 'TAXI', costCenter: 'DE41*' }, then: { account: '6141', memo: 'Taxi, card' } },
    ],
  };

  test('two versions: exactly the changes made', () => {
    const diff = diffRuleSets(EXAMPLE_YAML, b);
    assert.deepEqual(diff, {
      description: { from: 'Travel coding for DE01', to: 'Travel coding for DE01, 2027' },
      settings: [
        { name: 'credit.company_card', from: '2120', to: '2121' },
        { name: 'roundingAccount', from: '07990' },
      ],
      added: [b.rules[3]],
      removed: [EXAMPLE_YAML.rules[3]],
      changed: [
        { id: 'LODGING', fields: [{ field: 'then.account', from: '6110', to: '6111' }] },
        {
          id: 'CARD-TRAVEL',
          fields: [
            { field: 'when.costCenter', from: 'DE4?|DE5*', to: 'DE4*' },
            { field: 'when.project', from: '-|P-100', to: '-' },
            { field: 'then.tax', from: '70%' },
            { field: 'then.taxAccount', from: '1410' },
          ],
        },
      ],
      unchanged: 1,
    });
    assert.deepEqual(byId(applyDiff(EXAMPLE_YAML, diff)), byId(b));
  });

  test('renders as stable text lines', () => {
    const text = renderDiff(diffRuleSets(EXAMPLE_YAML, b), 'DE01@2', 'DE01@3');
    assert.equal(
      text,
      [
        'DE01@2 → DE01@3',
        '~ description: "Travel coding for DE01" → "Travel coding for DE01, 2027"',
        '~ settings  credit.company_card: 2120 → 2121',
        '~ settings  roundingAccount: 07990 → (none)',
        '~ LODGING  then.account: 6110 → 6111',
        '~ CARD-TRAVEL  when.costCenter: DE4?|DE5* → DE4*',
        '~ CARD-TRAVEL  when.project: -|P-100 → -',
        '~ CARD-TRAVEL  then.tax: 70% → (none)',
        '~ CARD-TRAVEL  then.taxAccount: 1410 → (none)',
        '+ TAXI-CC  when: category=TAXI costCenter=DE41*  then: account=6141 memo="Taxi, card"',
        '- PERSONAL  when: personal=yes cf.trip_purpose=private  then: account=1590 employee=yes memo="Personal expenses, to be repaid"',
        'rules: 1 added, 1 removed, 2 changed, 1 unchanged; 2 settings changed; description changed',
        '',
      ].join('\n'),
    );
    assert.equal(renderDiff(diffRuleSets(shuffled(EXAMPLE_YAML), shuffled(b)), 'DE01@2', 'DE01@3'), text);
  });

  test('a version against itself: no changes', () => {
    const diff = diffRuleSets(EXAMPLE_YAML, EXAMPLE_YAML);
    assert.ok(isEmptyDiff(diff));
    assert.equal(renderDiff(diff, 'DE01@2', 'DE01@2'), 'DE01@2 → DE01@2\nrules: 0 added, 0 removed, 0 changed, 4 unchanged\n');
  });

  test('any two versions: applying the diff to the first gives the second; the text ignores key order', () => {
    // Ids from a small pool, so that versions share rows.
    const pooled = documentArb.map((doc) => ({ ...doc, rules: doc.rules.map((r, i) => ({ ...r, id: `R${i % 4}` })).filter((r, i, all) => all.findIndex((x) => x.id === r.id) === i) }));
    fc.assert(
      fc.property(pooled, pooled, (a, b2) => {
        const second = { ...b2, scope: a.scope };
        const diff = diffRuleSets(a, second);
        assert.deepEqual(byId(applyDiff(a, diff)), byId(second));
        const shared = a.rules.filter((r) => second.rules.some((x) => x.id === r.id)).length;
        assert.equal(diff.changed.length + diff.unchanged, shared);
        for (const c of diff.changed) assert.ok(c.fields.length > 0);
        assert.equal(renderDiff(diffRuleSets(shuffled(a), shuffled(second)), 'A', 'B'), renderDiff(diff, 'A', 'B'));
        assert.ok(isEmptyDiff(diffRuleSets(a, a)));
      }),
      { numRuns: RUNS, ...FC_SEED },
    );
  });
});
