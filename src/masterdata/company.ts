/**
 * The company group finsync posts for: legal entities and their reference (master) data, with
 * effective dates. Validation v0 reads it through the `ReferenceData` interface, which the
 * master-data hub (a later issue) will implement from synced, effective-dated tables.
 */
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
}

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

export interface CompanyDefinition {
  readonly name: string;
  readonly entities: readonly LegalEntity[];
  readonly employees: readonly Employee[];
  readonly costCenters: readonly CostCenter[];
  readonly glAccounts: readonly GlAccount[];
  readonly taxCodes: readonly TaxCode[];
}

export type Lookup<T> = { found: false } | { found: true; active: boolean; record: T };

/** What validation needs from reference data: each record as it was on a given date. */
export interface ReferenceData {
  entity(code: string): LegalEntity | undefined;
  employee(entity: string, employeeId: string, date: string): Lookup<Employee>;
  costCenter(entity: string, code: string, date: string): Lookup<CostCenter>;
  glAccount(entity: string, number: string, date: string): Lookup<GlAccount>;
  taxCode(entity: string, code: string, date: string): Lookup<TaxCode>;
}

export function isValidOn(record: Validity, date: string): boolean {
  return (record.validFrom === undefined || record.validFrom <= date) && (record.validTo === undefined || date <= record.validTo);
}

/** Reference data held in memory, indexed by entity and key, from a company definition. */
export function createReferenceData(company: CompanyDefinition): ReferenceData {
  const index = <T extends Validity>(records: readonly T[], key: (r: T) => string) => {
    const map = new Map<string, T[]>();
    for (const record of records) {
      const k = key(record);
      map.set(k, [...(map.get(k) ?? []), record]);
    }
    return (k: string, date: string): Lookup<T> => {
      const versions = map.get(k);
      if (!versions) return { found: false };
      const current = versions.find((v) => isValidOn(v, date));
      return current ? { found: true, active: true, record: current } : { found: true, active: false, record: versions[versions.length - 1] };
    };
  };
  const entities = new Map(company.entities.map((e) => [e.code, e]));
  const employees = index(company.employees, (r) => `${r.entity}/${r.employeeId}`);
  const costCenters = index(company.costCenters, (r) => `${r.entity}/${r.code}`);
  const glAccounts = index(company.glAccounts, (r) => `${r.entity}/${r.number}`);
  const taxCodes = index(company.taxCodes, (r) => `${r.entity}/${r.code}`);
  return {
    entity: (code) => entities.get(code),
    employee: (entity, id, date) => employees(`${entity}/${id}`, date),
    costCenter: (entity, code, date) => costCenters(`${entity}/${code}`, date),
    glAccount: (entity, number, date) => {
      const found = glAccounts(`${entity}/${number}`, date);
      return found.found && found.active && !found.record.postable ? { ...found, active: false } : found;
    },
    taxCode: (entity, code, date) => taxCodes(`${entity}/${code}`, date),
  };
}
