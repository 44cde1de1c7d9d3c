/**
 * The company group finsync posts for: its legal entities (configuration), and a compact way to
 * describe their reference data (the sample company, tests, the NetSuite simulator's seed). The
 * hub holds reference data as records (records.ts); `companyRecords` turns a definition into them.
 */
import { MasterDataIndex } from './md-index.ts';
import { normalizeRecord, OPEN_FROM, recordId, type Policy, type RecordInput, type RecordVersion } from './records.ts';
import { applyIncoming } from './temporal.ts';

export interface Validity {
  /** First day the record is valid (YYYY-MM-DD), inclusive; open when absent. */
  readonly validFrom?: string;
  /** Last day the record is valid (YYYY-MM-DD), inclusive; open when absent. */
  readonly validTo?: string;
}

export interface LegalEntity {
  readonly code: string;
  readonly name: string;
  readonly country: string;
  readonly currency: string;
  /** The target connection that holds this entity's ledger. */
  readonly target: string;
  /** The entity's id in the target ERP (NetSuite subsidiary internal id). */
  readonly erpSubsidiaryId: string;
  /**
   * What finsync does when the expense platform recalls or rejects a report it already posted:
   * `reverse` (the default) posts a reversal; `flag` leaves the books alone and opens an exception
   * (RECON_RECALLED_AFTER_POSTING) for the controller to decide.
   */
  readonly recalledAfterPosting?: RecalledAfterPosting;
  /** Cron expression of the entity's scheduled reconciliation (of the previous and the current period); none when absent. */
  readonly reconcileSchedule?: string;
}

export type RecalledAfterPosting = 'reverse' | 'flag';

export interface Employee extends Validity {
  readonly entity: string;
  readonly employeeId: string;
  readonly name: string;
  /** The employee's record id in the ERP. */
  readonly erpId: string;
}

export interface CostCenter extends Validity {
  readonly entity: string;
  readonly code: string;
  readonly name: string;
  readonly erpId: string;
}

export interface GlAccount extends Validity {
  readonly entity: string;
  readonly number: string;
  readonly name: string;
  readonly postable: boolean;
  readonly erpId: string;
}

export interface TaxCode extends Validity {
  readonly entity: string;
  readonly code: string;
  /** Rate in basis points: 1900 = 19%. */
  readonly rateBp: number;
  readonly erpId: string;
}

export interface Category extends Validity {
  readonly entity: string;
  readonly code: string;
  readonly name: string;
  readonly erpId: string;
}

export interface CompanyDefinition {
  readonly name: string;
  readonly entities: readonly LegalEntity[];
  readonly employees: readonly Employee[];
  readonly costCenters: readonly CostCenter[];
  readonly glAccounts: readonly GlAccount[];
  readonly taxCodes: readonly TaxCode[];
  readonly categories?: readonly Category[];
  /** The expense policy per entity (system `finsync`). */
  readonly policies?: readonly { readonly entity: string; readonly policy: Policy; readonly validFrom?: string }[];
}

export function isValidOn(record: Validity, date: string): boolean {
  return (record.validFrom === undefined || record.validFrom <= date) && (record.validTo === undefined || date <= record.validTo);
}

const dates = (r: Validity) => ({ ...(r.validFrom !== undefined && { validFrom: r.validFrom }), ...(r.validTo !== undefined && { validTo: r.validTo }) });

/** The company's reference data as hub records: the ERP's view, and finsync's own policies. */
export function companyRecords(company: CompanyDefinition): { erp: RecordInput[]; finsync: RecordInput[] } {
  const percent = (bp: number) => `${Math.trunc(bp / 100)}${bp % 100 === 0 ? '' : `.${String(bp % 100).padStart(2, '0')}`}`;
  const erp: RecordInput[] = [
    ...company.employees.map((e) => ({ kind: 'employee' as const, entity: e.entity, key: e.employeeId, ...dates(e), attributes: { name: e.name, erpId: e.erpId } })),
    ...company.costCenters.map((c) => ({ kind: 'cost_center' as const, entity: c.entity, key: c.code, ...dates(c), attributes: { name: c.name, erpId: c.erpId } })),
    ...company.glAccounts.map((a) => ({ kind: 'gl_account' as const, entity: a.entity, key: a.number, ...dates(a), attributes: { name: a.name, postable: a.postable, erpId: a.erpId } })),
    ...company.taxCodes.map((t) => {
      const country = company.entities.find((e) => e.code === t.entity)?.country ?? t.entity;
      return { kind: 'tax_code' as const, entity: t.entity, key: t.code, ...dates(t), attributes: { jurisdiction: country, rate: percent(t.rateBp), erpId: t.erpId } };
    }),
    ...(company.categories ?? []).map((c) => ({ kind: 'category' as const, entity: c.entity, key: c.code, ...dates(c), attributes: { name: c.name, erpId: c.erpId } })),
  ];
  const finsync: RecordInput[] = (company.policies ?? []).map((p) => ({ kind: 'policy' as const, entity: p.entity, key: 'expense', ...(p.validFrom !== undefined && { validFrom: p.validFrom }), attributes: p.policy as Record<string, unknown> }));
  return { erp, finsync };
}

/**
 * An in-memory index holding a company definition's records, with no store behind it: for tests,
 * examples and tools that need reference data without a hub.
 */
export function createReferenceData(company: CompanyDefinition): MasterDataIndex {
  const index = new MasterDataIndex(company.entities);
  const { erp, finsync } = companyRecords(company);
  const held = new Map<string, RecordVersion[]>();
  const inputs = [...erp.map((r, i) => normalizeRecord('erp', r, `erp[${i}]`)), ...finsync.map((r, i) => normalizeRecord('finsync', r, `finsync[${i}]`))];
  for (const incoming of inputs) {
    const id = recordId(incoming);
    held.set(id, applyIncoming(held.get(id) ?? [], incoming, OPEN_FROM) ?? held.get(id) ?? []);
  }
  let seq = 0;
  index.load(
    [...held.values()].flatMap((versions) => versions.map((v) => ({ ...v, seq: ++seq, keyRevision: 1, source: 'company', recordedAt: 0, replacedAt: null }))),
    seq,
  );
  return index;
}
