/**
 * Writes a stored rule set (its RuleSetDocument) back as a rule file, to edit an existing version in
 * an editor or a spreadsheet and propose the result. Parsing the output gives the same document
 * again (a property test holds it to that); CSV carries the decision table only, so a CSV export
 * drops the description and settings.
 */
import { Document, isMap, isSeq } from 'yaml';
import { PAYMENT_TYPES } from '../domain/report.ts';
import { MATCH_COLUMNS, OUTPUT_FIELDS, type RuleSetDocument } from './rule-set.ts';

export function exportRuleSet(doc: RuleSetDocument, format: 'yaml' | 'csv'): string {
  return format === 'csv' ? exportCsv(doc) : exportYaml(doc);
}

/** Keys in a fixed order (settings as in the docs, payment types as in the model) so exports diff well. */
function exportYaml(doc: RuleSetDocument): string {
  const credit: Record<string, string> = {};
  for (const type of PAYMENT_TYPES) {
    const account = doc.settings.credit[type];
    if (account !== undefined) credit[type] = account;
  }
  const settings = {
    ...(Object.keys(credit).length > 0 && { credit }),
    ...(doc.settings.roundingAccount !== undefined && { roundingAccount: doc.settings.roundingAccount }),
  };
  const data = {
    scope: doc.scope,
    ...(doc.description !== undefined && { description: doc.description }),
    ...(Object.keys(settings).length > 0 && { settings }),
    rules: doc.rules.map((row) => ({
      id: row.id,
      ...(Object.keys(row.when).length > 0 && { when: ordered(row.when, whenOrder(row.when)) }),
      then: ordered(row.then, OUTPUT_FIELDS),
    })),
  };
  const yaml = new Document(data);
  // Conditions read best on one line: when: { category: LODGING, personal: "false" }. A value with
  // a line break stays in block style: the yaml library writes it as an invalid plain scalar in a
  // flow mapping.
  const rules = yaml.get('rules');
  if (isSeq(rules)) {
    rules.items.forEach((rule, i) => {
      const when = isMap(rule) ? rule.get('when') : undefined;
      if (isMap(when) && !Object.values(doc.rules[i]!.when).some((v) => /[\r\n]/.test(v))) when.flow = true;
    });
  }
  return yaml.toString({ lineWidth: 0 });
}

function whenOrder(when: Readonly<Record<string, string>>): string[] {
  return [...MATCH_COLUMNS, ...Object.keys(when).filter((k) => !(MATCH_COLUMNS as readonly string[]).includes(k))];
}

function ordered(record: Readonly<Record<string, string>>, order: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of order) if (record[key] !== undefined) out[key] = record[key];
  for (const key of Object.keys(record)) if (!(key in out)) out[key] = record[key]!;
  return out;
}

/** The CSV column of an output field: costCenter and project are out. columns in CSV. */
function csvOutputColumn(field: string): string {
  return field === 'costCenter' || field === 'project' ? `out.${field}` : field;
}

/** id, the match columns in first-use order, then the outputs any row uses (account always). */
function exportCsv(doc: RuleSetDocument): string {
  const when: string[] = [];
  for (const row of doc.rules) for (const column of Object.keys(row.when)) if (!when.includes(column)) when.push(column);
  const used = new Set(doc.rules.flatMap((row) => Object.keys(row.then)));
  const then = [...OUTPUT_FIELDS.filter((f) => f === 'account' || used.has(f)), ...[...used].filter((f) => !(OUTPUT_FIELDS as readonly string[]).includes(f))];
  const header = ['id', ...when, ...then.map(csvOutputColumn)];
  const lines = [header.map(csvCell).join(',')];
  for (const row of doc.rules) {
    lines.push([row.id, ...when.map((c) => row.when[c] ?? ''), ...then.map((f) => row.then[f] ?? '')].map(csvCell).join(','));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Quotes a cell when it holds a delimiter, quote or line break, starts with # (a comment line if it
 * is the first cell) or with blank space (which the parser trims).
 */
function csvCell(value: string): string {
  return /[",;\t\r\n]|^[#\s]|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
