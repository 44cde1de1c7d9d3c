/**
 * The sample company's mapping rule sets, as rule files in ./rules/: GROUP.yaml (settings and the
 * coding the entities share) and each entity's own rows (DE01.csv, US01.yaml, JP01.yaml, GB01.yaml). They
 * code the demo's reports exactly as the mapping v0 tables did (test/mapping/engine.test.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GROUP_SCOPE } from '../mapping/rule-set.ts';

const RULES_DIR = fileURLToPath(new URL('./rules/', import.meta.url));
const RULE_FILE = /^([A-Z0-9]+)\.(yaml|csv)$/;

/** The rule files, the group's first, then the entities' in name order. */
export function sampleRuleFiles(): { scope: string; file: string; format: 'yaml' | 'csv'; text: string }[] {
  const files: { scope: string; file: string; format: 'yaml' | 'csv'; text: string }[] = [];
  for (const name of readdirSync(RULES_DIR).sort()) {
    const match = RULE_FILE.exec(name);
    if (!match) continue;
    files.push({ scope: match[1], file: name, format: match[2] as 'yaml' | 'csv', text: readFileSync(join(RULES_DIR, name), 'utf8') });
  }
  return files.sort((a, b) => Number(b.scope === GROUP_SCOPE) - Number(a.scope === GROUP_SCOPE));
}
