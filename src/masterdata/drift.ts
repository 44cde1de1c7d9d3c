/**
 * Master-data drift: records that differ between the ERP (what postings need) and the other
 * systems (HR, the expense platform), as of a date, with the reports each one blocks. Read from the
 * store one (kind, entity) at a time, so memory stays bounded by the largest such slice.
 */
import type { Db } from '../store/db.ts';
import { toStoredVersion, type StoredVersion } from './md-store.ts';
import { type Kind, type System } from './records.ts';
import { versionOn } from './temporal.ts';

export const DRIFT_CLASSES = ['missing_in_erp', 'inactive_in_erp', 'inactive_in_source', 'attribute_mismatch', 'unknown_everywhere'] as const;
export type DriftClass = (typeof DRIFT_CLASSES)[number];

/** The kinds compared, and the attributes whose difference matters for posting. */
const COMPARED: Partial<Record<Kind, readonly string[]>> = {
  employee: ['costCenter'],
  cost_center: [],
  project: [],
  tax_code: ['rate', 'jurisdiction'],
  gl_account: ['postable'],
  category: [],
  supplier: [],
};

type SystemState = { readonly state: 'active' | 'inactive'; readonly validFrom: string; readonly validTo: string; readonly attributes: Readonly<Record<string, unknown>> } | null;

export interface DriftItem {
  readonly kind: Kind;
  readonly entity: string;
  readonly key: string;
  readonly class: DriftClass;
  /** Which systems disagree, and what each holds on the date. */
  readonly source?: System;
  readonly detail: string;
  readonly systems: Readonly<Partial<Record<System, SystemState>>>;
  /** Reports whose latest revision waits for or is quarantined on this record. */
  readonly blockedReports: readonly string[];
}

export interface DriftReport {
  readonly asOf: string;
  readonly entities: readonly { readonly entity: string; readonly counts: Readonly<Record<DriftClass, number>>; readonly blockedReports: number }[];
  readonly items: readonly DriftItem[];
  /** Items beyond `limit` are counted but not listed. */
  readonly truncated: boolean;
}

export interface DriftOptions {
  readonly asOf: string;
  readonly entities: readonly string[];
  readonly entity?: string;
  readonly kind?: Kind;
  readonly limit?: number;
}

export async function computeDrift(db: Db, options: DriftOptions): Promise<DriftReport> {
  const limit = options.limit ?? 1_000;
  const entities = options.entity ? [options.entity] : options.entities;
  const kinds = (options.kind ? [options.kind] : Object.keys(COMPARED)) as Kind[];
  const blocked = await readBlocked(db, entities);
  const items: DriftItem[] = [];
  const counts = new Map<string, Record<DriftClass, number>>(entities.map((e) => [e, Object.fromEntries(DRIFT_CLASSES.map((c) => [c, 0])) as Record<DriftClass, number>]));
  let total = 0;
  const add = (item: Omit<DriftItem, 'blockedReports'>) => {
    counts.get(item.entity)![item.class]++;
    total++;
    if (items.length < limit) items.push({ ...item, blockedReports: blocked.get(slot(item.kind, item.entity, item.key)) ?? [] });
  };
  for (const entity of entities) {
    for (const kind of kinds) {
      const rows = await db.selectFrom('md_records').selectAll().where('kind', '=', kind).where('entity', '=', entity).where('replaced_at', 'is', null).orderBy('key').orderBy('system').orderBy('valid_from').execute();
      const byKey = new Map<string, StoredVersion[]>();
      for (const row of rows) {
        const version = toStoredVersion(row);
        byKey.set(version.key, [...(byKey.get(version.key) ?? []), version]);
      }
      for (const [key, versions] of byKey) {
        for (const item of compareRecord(kind, entity, key, versions, options.asOf, COMPARED[kind] ?? [])) add(item);
      }
      for (const [id] of blocked) {
        const [bKind, bEntity, bKey] = id.split('\u0000');
        if (bKind === kind && bEntity === entity && !byKey.has(bKey)) {
          add({ kind, entity, key: bKey, class: 'unknown_everywhere', detail: `no system holds ${kind} ${bKey}; reports refer to it`, systems: {} });
        }
      }
    }
  }
  const blockedPerEntity = (entity: string) => new Set([...blocked].filter(([id]) => id.split('\u0000')[1] === entity).flatMap(([, reports]) => reports)).size;
  return {
    asOf: options.asOf,
    entities: entities.map((entity) => ({ entity, counts: counts.get(entity)!, blockedReports: blockedPerEntity(entity) })),
    items,
    truncated: total > items.length,
  };
}

function stateOn(versions: readonly StoredVersion[], kind: Kind, date: string): SystemState {
  if (versions.length === 0) return null;
  const onDate = versionOn(versions, date);
  const version = onDate ?? versions[versions.length - 1];
  const active = onDate !== undefined && version.active && (kind !== 'gl_account' || version.attributes.postable === true);
  return { state: active ? 'active' : 'inactive', validFrom: version.validFrom, validTo: version.validTo, attributes: version.attributes };
}

function compareRecord(kind: Kind, entity: string, key: string, versions: readonly StoredVersion[], date: string, compared: readonly string[]): Omit<DriftItem, 'blockedReports'>[] {
  const systems: Partial<Record<System, SystemState>> = {};
  for (const system of new Set(versions.map((v) => v.system))) systems[system] = stateOn(versions.filter((v) => v.system === system), kind, date);
  const erp = systems.erp ?? null;
  const out: Omit<DriftItem, 'blockedReports'>[] = [];
  for (const source of ['hr', 'expense'] as const) {
    const other = systems[source];
    if (!other) continue;
    const base = { kind, entity, key, source, systems };
    if (other.state === 'active' && !erp) out.push({ ...base, class: 'missing_in_erp', detail: `active in ${source}, not in the ERP` });
    else if (other.state === 'active' && erp?.state === 'inactive') out.push({ ...base, class: 'inactive_in_erp', detail: `active in ${source}, inactive in the ERP on ${date} (ERP validity ${erp.validFrom}..${erp.validTo})` });
    else if (other.state === 'inactive' && erp?.state === 'active') out.push({ ...base, class: 'inactive_in_source', detail: `inactive in ${source} on ${date}, still active in the ERP` });
    else if (other.state === 'active' && erp?.state === 'active') {
      const differing = compared.filter((a) => other.attributes[a] !== undefined && erp.attributes[a] !== undefined && JSON.stringify(other.attributes[a]) !== JSON.stringify(erp.attributes[a]));
      if (differing.length > 0) {
        out.push({ ...base, class: 'attribute_mismatch', detail: differing.map((a) => `${a}: ERP ${JSON.stringify(erp.attributes[a])}, ${source} ${JSON.stringify(other.attributes[a])}`).join('; ') });
      }
    }
  }
  return out;
}

const slot = (kind: string, entity: string, key: string) => `${kind}\u0000${entity}\u0000${key}`;

/** Record → ids of reports whose latest revision waits for it or is quarantined on it. */
async function readBlocked(db: Db, entities: readonly string[]): Promise<Map<string, string[]>> {
  if (entities.length === 0) return new Map();
  const rows = await db
    .selectFrom('md_blockers as b')
    .innerJoin('reports as r', (j) => j.onRef('r.report_id', '=', 'b.report_id').onRef('r.latest_revision', '=', 'b.revision'))
    .innerJoin('revisions as v', (j) => j.onRef('v.report_id', '=', 'b.report_id').onRef('v.revision', '=', 'b.revision'))
    .select(['b.kind', 'b.entity', 'b.key', 'b.report_id'])
    .where('v.state', 'in', ['waiting', 'quarantined'])
    .where('b.entity', 'in', [...entities])
    .orderBy('b.report_id')
    .execute();
  const out = new Map<string, string[]>();
  for (const row of rows) {
    const id = slot(row.kind, row.entity, row.key);
    out.set(id, [...(out.get(id) ?? []), row.report_id]);
  }
  return out;
}
