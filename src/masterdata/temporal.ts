/**
 * Effective dating: how an incoming version of a record changes the versions the hub holds.
 *
 * The versions of one record (one system, kind, entity and key) never overlap. An incoming version
 * says what the record is from its start on: versions before that start are kept (history
 * survives), everything from the start on is replaced, and after the incoming version's end the
 * record no longer exists (a termination, a closed cost center). A source that sends history sends
 * one row per period of a record, in one batch, applied in date order. Where the source gave no
 * start date, the hub decides: the beginning of time for a record it has never seen, the start of
 * the latest version when only the end date or nothing changed (a closure), and today when the
 * attributes changed (a change takes effect from the day it was seen). Adjacent versions that say
 * the same are merged, so re-sending a record changes nothing.
 */
import { addDays, OPEN_FROM, type IncomingVersion, type RecordVersion } from './records.ts';

export interface Period {
  readonly validFrom: string;
  readonly validTo: string;
}

export function coversDate(period: Period, date: string): boolean {
  return period.validFrom <= date && date <= period.validTo;
}

export function sameContent(a: Pick<RecordVersion, 'active' | 'attributes'>, b: Pick<RecordVersion, 'active' | 'attributes'>): boolean {
  return a.active === b.active && canonicalJson(a.attributes) === canonicalJson(b.attributes);
}

/** JSON with keys sorted, so attribute order never counts as a change. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Where an incoming version without a start date begins (see the module comment). */
export function resolveStart(current: readonly RecordVersion[], incoming: IncomingVersion, today: string): string {
  if (incoming.validFrom !== undefined) return incoming.validFrom;
  if (current.length === 0) return OPEN_FROM;
  const latest = current.reduce((a, b) => (b.validFrom > a.validFrom ? b : a));
  if (sameContent(latest, incoming)) return latest.validFrom;
  // A change seen today, unless the record ends before today: then it is a correction of the latest version.
  const start = today > latest.validFrom ? today : latest.validFrom;
  return start > incoming.validTo ? latest.validFrom : start;
}

/**
 * The versions after `incoming` is applied, sorted by start, or undefined when nothing changes.
 * `current` must be one record's versions, non-overlapping (as this function always leaves them).
 */
export function applyIncoming(current: readonly RecordVersion[], incoming: IncomingVersion, today: string): RecordVersion[] | undefined {
  const validFrom = resolveStart(current, incoming, today);
  const next: RecordVersion = { ...incoming, validFrom, validTo: incoming.validTo };
  if (next.validFrom > next.validTo) return undefined;
  const result: RecordVersion[] = [];
  for (const version of current) {
    if (version.validTo < next.validFrom) result.push(version);
    else if (version.validFrom < next.validFrom) result.push({ ...version, validTo: addDays(next.validFrom, -1) });
  }
  result.push(next);
  const merged = mergeAdjacent(result.sort((a, b) => (a.validFrom < b.validFrom ? -1 : 1)));
  return sameVersions(merged, current) ? undefined : merged;
}

function mergeAdjacent(sorted: RecordVersion[]): RecordVersion[] {
  const out: RecordVersion[] = [];
  for (const version of sorted) {
    const last = out[out.length - 1];
    if (last && addDays(last.validTo, 1) === version.validFrom && sameContent(last, version)) {
      out[out.length - 1] = { ...last, validTo: version.validTo };
    } else {
      out.push(version);
    }
  }
  return out;
}

function sameVersions(a: readonly RecordVersion[], b: readonly RecordVersion[]): boolean {
  if (a.length !== b.length) return false;
  const sortedB = [...b].sort((x, y) => (x.validFrom < y.validFrom ? -1 : 1));
  return a.every((v, i) => v.validFrom === sortedB[i].validFrom && v.validTo === sortedB[i].validTo && sameContent(v, sortedB[i]));
}

/** The version that holds on `date`, if any. */
export function versionOn<T extends Period>(versions: readonly T[], date: string): T | undefined {
  for (const version of versions) if (coversDate(version, date)) return version;
  return undefined;
}
