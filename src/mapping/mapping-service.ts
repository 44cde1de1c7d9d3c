/**
 * What the pipeline and the validation API call to code a report: the rule sets in force on the
 * report's posting date (its approval date), applied by the engine, with tax facts from master data.
 */
import { postingDateOf, type ExpenseReport } from '../domain/report.ts';
import type { ReferenceData } from '../masterdata/md-index.ts';
import { percentToBp } from '../masterdata/records.ts';
import type { Db, Tx } from '../store/db.ts';
import { accountsUsed, mapWithRules } from './engine.ts';
import type { MappingRegistry } from './registry.ts';
import { resolvedRef, type ResolvedRules, type RuleMapResult, type TaxLookup } from './rule-set.ts';

export interface MappingService {
  readonly registry: MappingRegistry;
  /** Every GL account the rules in force would post the report to, for validation to check. */
  accountsUsed(report: ExpenseReport): string[];
  /** The rule-set versions in force for the report (`DE01@3+GROUP@2`), as a posting records them. */
  versionFor(report: ExpenseReport): string;
  /** Codes the report with the rules in force on its posting date. */
  mapReport(report: ExpenseReport): Promise<RuleMapResult>;
  /** Codes the report with given rules (a dry run of a proposal). */
  mapWith(rules: ResolvedRules, report: ExpenseReport): Promise<RuleMapResult>;
  /** Brings the registry up to the store's activations. */
  refresh(db: Db | Tx): Promise<void>;
  /** Polls the store so a process that does not map (the API) still sees approvals. */
  start(db: Db, intervalMs: number, onError: (error: unknown) => void): void;
  stop(): void;
}


/**
 * Tax facts on a date: the rate from master data, and the reclaimable share from the tax code's
 * `reclaim` attribute (100% when the record does not say).
 */
export function taxLookup(reference: ReferenceData, entity: string): TaxLookup {
  return (code, date) => {
    const rateBp = reference.taxRateBp(entity, code, date);
    if (rateBp === undefined) return undefined;
    const found = reference.lookup('tax_code', entity, code, date);
    const reclaim = found.found ? (found.record.attributes as { reclaim?: string }).reclaim : undefined;
    return { rateBp, reclaimBp: reclaim === undefined ? 10_000 : percentToBp(reclaim) };
  };
}

export function createMappingService(registry: MappingRegistry, reference: ReferenceData): MappingService {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const service: MappingService = {
    registry,
    accountsUsed: (report) => accountsUsed(registry.resolve(report.entity, postingDateOf(report)), report),
    versionFor: (report) => resolvedRef(registry.resolve(report.entity, postingDateOf(report))),
    mapReport: (report) => service.mapWith(registry.resolve(report.entity, postingDateOf(report)), report),
    mapWith: (rules, report) => mapWithRules(rules, report, taxLookup(reference, report.entity)),
    refresh: (db) => registry.refresh(db),
    start(db, intervalMs, onError) {
      if (timer) return;
      timer = setInterval(() => {
        running ??= registry.refresh(db).catch(onError).finally(() => (running = undefined));
      }, intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
  return service;
}
