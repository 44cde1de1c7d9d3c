/**
 * The rule sets in force, in memory: the activations of every scope and their compiled versions,
 * kept current from the store's activation table. The pipeline refreshes it inside its transaction
 * before mapping (one indexed look-up), the validation API from a short poll, so an approval made in
 * one process codes the next report in every process.
 */
import type { Db, Tx } from '../store/db.ts';
import { headActivationSeq, readActivations, readVersion, type ActivationRow } from './mapping-store.ts';
import { parseRuleFile } from './rule-file.ts';
import { GROUP_SCOPE, versionRef, type CompiledRuleSet, type ResolvedRules, type RuleLayer } from './rule-set.ts';

export interface MappingRegistry {
  /** Reads activations recorded since the last refresh. */
  refresh(db: Db | Tx): Promise<void>;
  /** The entity's own and the group's rule sets in force on `date` (YYYY-MM-DD). */
  resolve(entity: string, date: string): ResolvedRules;
  /** The version of one scope in force on `date`, if any. */
  activeVersion(scope: string, date: string): number | undefined;
  /** A scope's activations, in the order they were made. */
  activationsOf(scope: string): readonly ActivationRow[];
  /** A compiled version, loaded on first use. */
  load(db: Db | Tx, scope: string, version: number): Promise<RuleLayer>;
}

/** Resolutions held at most (entities × distinct posting dates seen since the last activation). */
const RESOLVED_MAX = 10_000;

export function createMappingRegistry(): MappingRegistry {
  const activations = new Map<string, ActivationRow[]>();
  const compiled = new Map<string, RuleLayer>();
  /**
   * Resolutions by entity and date, dropped whenever an activation is applied: the validation API
   * resolves on every request, and reports of one day share one answer.
   */
  const resolved = new Map<string, ResolvedRules>();
  let seq = 0;

  const activeVersion = (scope: string, date: string): number | undefined => {
    const list = activations.get(scope);
    if (!list) return undefined;
    // Each activation replaces the scope's versions from its date on: the latest one (by seq)
    // whose date has come is in force.
    for (let i = list.length - 1; i >= 0; i--) if (list[i].effective_from <= date) return list[i].version;
    return undefined;
  };

  const layer = (scope: string, date: string): RuleLayer | undefined => {
    const version = activeVersion(scope, date);
    if (version === undefined) return undefined;
    const found = compiled.get(versionRef(scope, version));
    if (!found) throw new Error(`Assertion failed: ${versionRef(scope, version)} is active but was not loaded by refresh`);
    return found;
  };

  const registry: MappingRegistry = {
    async refresh(db) {
      if ((await headActivationSeq(db)) === seq) return;
      for (const row of await readActivations(db, seq)) {
        await registry.load(db, row.scope, row.version);
        // Steps run concurrently and each refreshes: a row another refresh applied meanwhile is skipped.
        if (row.seq <= seq) continue;
        const list = activations.get(row.scope) ?? [];
        list.push(row);
        activations.set(row.scope, list);
        seq = row.seq;
        resolved.clear();
      }
    },
    resolve(entity, date) {
      const key = `${entity}\u0000${date}`;
      let rules = resolved.get(key);
      if (rules === undefined) {
        const own = entity === GROUP_SCOPE ? undefined : layer(entity, date);
        const group = layer(GROUP_SCOPE, date);
        rules = { ...(own && { own }), ...(group && { group }) };
        // Bounded: a flood of distinct dates must not grow it without end.
        if (resolved.size >= RESOLVED_MAX) resolved.clear();
        resolved.set(key, rules);
      }
      return rules;
    },
    activeVersion,
    activationsOf: (scope) => activations.get(scope) ?? [],
    async load(db, scope, version) {
      const ref = versionRef(scope, version);
      const cached = compiled.get(ref);
      if (cached) return cached;
      const row = await readVersion(db, scope, version);
      if (!row) throw new Error(`Assertion failed: ${ref} is activated but not stored`);
      const set = compileStored(row.source, row.file_name, row.format, scope);
      const loaded = { ref, set };
      compiled.set(ref, loaded);
      return loaded;
    },
  };
  return registry;
}

/** Compiles a stored version; it was checked when proposed, so a failure here is a defect. */
export function compileStored(source: string, file: string, format: 'yaml' | 'csv', scope: string): CompiledRuleSet {
  const parsed = parseRuleFile({ text: source, file, format, scope });
  if (!parsed.ok) throw new Error(`Assertion failed: stored rule set ${scope} (${file}) no longer compiles: ${parsed.problems[0]?.message}`);
  return parsed.ruleSet;
}
