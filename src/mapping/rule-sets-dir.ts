/** Reads a folder of rule files named after their scope (`GROUP.yaml`, `DE01.csv`): FINSYNC_RULE_SETS_DIR. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../errors.ts';
import { ruleFileFormat } from './rule-file.ts';
import type { RuleFileSource } from './rule-set.ts';

const SCOPE_FILE = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,39})\.(ya?ml|csv)$/i;

export function readRuleSetsDir(dir: string): RuleFileSource[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (error) {
    throw new AppError('CONFIG_INVALID', { detail: `FINSYNC_RULE_SETS_DIR ${dir} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})` });
  }
  const files: RuleFileSource[] = [];
  const scopes = new Set<string>();
  for (const name of names) {
    const match = SCOPE_FILE.exec(name);
    const format = ruleFileFormat(name);
    if (!match || !format) continue;
    if (scopes.has(match[1])) throw new AppError('CONFIG_INVALID', { detail: `FINSYNC_RULE_SETS_DIR ${dir} holds two files for scope ${match[1]}; keep one` });
    scopes.add(match[1]);
    files.push({ scope: match[1], file: name, format, text: readFileSync(join(dir, name), 'utf8') });
  }
  return files;
}
