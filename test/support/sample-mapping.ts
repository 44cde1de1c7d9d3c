/**
 * The sample company's rule sets (src/demo/rules/) as a mapping service without a store: each file
 * is version 1 of its scope. Tests that code reports the way the demo does use this.
 */
import type { ExpenseReport } from '../../src/domain/report.ts';
import { accountsUsed, mapWithRules } from '../../src/mapping/engine.ts';
import { taxLookup, type MappingService } from '../../src/mapping/mapping-service.ts';
import { parseRuleFile } from '../../src/mapping/rule-file.ts';
import { GROUP_SCOPE, resolvedRef, versionRef, type ResolvedRules, type RuleLayer } from '../../src/mapping/rule-set.ts';
import type { ReferenceData } from '../../src/masterdata/md-index.ts';
import { sampleRuleFiles } from '../../src/demo/sample-rules.ts';

export type SampleMapping = Pick<MappingService, 'accountsUsed' | 'versionFor' | 'mapReport'> & { rules(entity: string): ResolvedRules };

/** `texts` replaces the text of a scope's file (same format), e.g. to add a row. */
export function sampleMapping(reference: ReferenceData, texts: Readonly<Record<string, string>> = {}): SampleMapping {
  const layers = new Map<string, RuleLayer>();
  for (const file of sampleRuleFiles()) {
    const parsed = parseRuleFile({ ...file, text: texts[file.scope] ?? file.text });
    if (!parsed.ok) throw new Error(`sample rule set ${file.file} does not parse: ${JSON.stringify(parsed.problems.slice(0, 3))}`);
    layers.set(file.scope, { ref: versionRef(file.scope, 1), set: parsed.ruleSet });
  }
  const rules = (entity: string): ResolvedRules => {
    const own = layers.get(entity);
    const group = layers.get(GROUP_SCOPE);
    return { ...(own && { own }), ...(group && { group }) };
  };
  return {
    rules,
    accountsUsed: (report: ExpenseReport) => accountsUsed(rules(report.entity), report),
    versionFor: (report: ExpenseReport) => resolvedRef(rules(report.entity)),
    mapReport: (report: ExpenseReport) => mapWithRules(rules(report.entity), report, taxLookup(reference, report.entity)),
  };
}

/** The sample DE01 file's text. */
export function sampleRuleText(scope: string): string {
  const file = sampleRuleFiles().find((f) => f.scope === scope);
  if (!file) throw new Error(`no sample rule file for ${scope}`);
  return file.text;
}

