/**
 * Where a hub reads each side of an entity: finsync from its postings, the ERP through the entity's
 * target connector (its `readBack`), the platform through the source connection that delivers
 * the entity's reports (a PlatformReader, e.g. SAP Concur FIS).
 */
import type { TargetConnector } from '../connectors/contract.ts';
import type { ReportInput } from '../domain/report.ts';
import type { LegalEntity } from '../masterdata/company.ts';
import type { ReferenceData } from '../masterdata/md-index.ts';
import { finsyncLines } from '../reconciliation/finsync-lines.ts';
import type { Db } from '../store/db.ts';
import type { LineSource } from '../reconciliation/types.ts';
import type { PlatformKey, PlatformReader } from './platform-lines.ts';
import type { SideProviders } from './run.ts';

/** A source connection that can be read back: its reader, and one report again by key (for re-ingest). */
export interface PlatformConnection {
  /** The entities whose reports it delivers; all when absent. */
  readonly entities?: readonly string[];
  readonly reader: PlatformReader;
  fetch(key: PlatformKey): Promise<ReportInput | undefined>;
}

export interface HubSideOptions {
  readonly db: Db;
  readonly reference: ReferenceData;
  readonly connectors: readonly TargetConnector[];
  readonly platforms: () => readonly PlatformConnection[];
  /** The targets an entity posts to in a period (a cutover inside the period gives two). */
  readonly targetsOf: (entity: LegalEntity, from: string, to: string) => readonly string[];
}

export function hubSideProviders(options: HubSideOptions): SideProviders {
  const platformOf = (entity: LegalEntity) => options.platforms().find((p) => p.entities === undefined || p.entities.includes(entity.code));
  return {
    platform: (entity) => platformOf(entity)?.reader,
    fetchPlatformReport: async (entity, key) => platformOf(entity)?.fetch(key),
    finsync: (entity, period) => {
      const targets = options.targetsOf(entity, ...periodDays(period));
      return concatSources(`finsync postings of ${entity.code} in ${period} to ${targets.join(' and ')}`, 'finsync', targets.map((target) => finsyncLines(options.db, { entity: entity.code, period, target })));
    },
    erp: (entity, period) => {
      const sources: LineSource[] = [];
      for (const target of options.targetsOf(entity, ...periodDays(period))) {
        const connector = options.connectors.find((c) => c.target === target);
        const source = connector?.readBack?.({ entity: entity.code, subsidiaryId: entity.erpSubsidiaryId, period, accountCodeOf: accountCodes(options.reference, entity.code, period) });
        if (!source) return undefined;
        sources.push(source);
      }
      return sources.length === 1 ? sources[0] : concatSources(sources.map((s) => s.name).join(' and '), 'erp', sources);
    },
  };
}

/** The first and last day of a `YYYY-MM` period. */
export function periodDays(period: string): [string, string] {
  const [year, month] = period.split('-').map(Number);
  return [`${period}-01`, new Date(Date.UTC(year, month, 0)).toISOString().slice(0, 10)];
}

/** Several sources of one side read one after the other, as one. */
export function concatSources(name: string, side: LineSource['side'], sources: readonly LineSource[]): LineSource {
  return {
    name,
    side,
    checked: sources.every((s) => s.checked),
    batches: (async function* () {
      for (const source of sources) yield* source.batches;
    })(),
  };
}

/** ERP account id → our account code, from the accounts held on the period's first and last day. */
function accountCodes(reference: ReferenceData, entity: string, period: string): (erpId: string) => string | undefined {
  let byErpId: Map<string, string> | undefined;
  return (erpId) => {
    if (!byErpId) {
      byErpId = new Map();
      const [year, month] = period.split('-').map(Number);
      const days = [`${period}-01`, new Date(Date.UTC(year, month, 0)).toISOString().slice(0, 10)];
      for (const day of days) {
        for (const code of reference.keys('gl_account', entity, day)) {
          const id = reference.erpId('gl_account', entity, code, day);
          if (id !== undefined && !byErpId.has(id)) byErpId.set(id, code);
        }
      }
    }
    return byErpId.get(erpId);
  };
}
