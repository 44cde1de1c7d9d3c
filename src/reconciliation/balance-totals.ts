/**
 * Balance totals per entity × currency × period × account (a balance group): [platform, finsync,
 * erp] per group. Every group gets an id, in the order first seen; phase 1 writes a line's group
 * id into its partition record (partition-record.ts), and phase 2 takes the line's entity, currency,
 * period and account from the writer's table of groups (entries(), in id order).
 */
import { addMinor } from './compare-key.ts';
import type { BalanceRow } from './types.ts';

/** One balance group's totals as a plain row: entity, currency, period, account, then [platform, finsync, erp]. */
export type BalanceEntry = [entity: string, currency: string, period: string, account: string, totals: number[]];

/** Bytes of the four fields, as groupOfBytes takes them: start and end of each. */
const FIELDS = 4;

export class BalanceTotals {
  /**
   * Ids by the four strings: nested maps rather than one map keyed by the fields joined, which
   * made a string per line that the map had to flatten and hash.
   */
  private readonly ids = new Map<string, Map<string, Map<string, Map<string, number>>>>();
  private readonly names: [string, string, string, string][] = [];
  private totals = new Float64Array(3 * 256);
  /** Ids by the fields' bytes (the CSV reader's path): open addressing, id + 1 per slot, 0 free. */
  private slots = new Int32Array(1024);
  private slotShift = 22;
  private readonly cachedIds: number[] = [];
  /** Per id: the hash of its bytes, and where its fields' bytes are in `arena` (start, then 4 lengths). */
  private byteHashes = new Int32Array(256);
  private byteFields = new Int32Array(256 * (1 + FIELDS));
  private arena: Buffer = Buffer.allocUnsafe(16 * 1024);
  private arenaView = new DataView(this.arena.buffer, this.arena.byteOffset, this.arena.length);
  private arenaUsed = 0;

  get size(): number {
    return this.names.length;
  }

  /** The id of a group, made when new. */
  groupOf(entity: string, currency: string, period: string, account: string): number {
    let byCurrency = this.ids.get(entity);
    if (byCurrency === undefined) this.ids.set(entity, (byCurrency = new Map()));
    let byPeriod = byCurrency.get(currency);
    if (byPeriod === undefined) byCurrency.set(currency, (byPeriod = new Map()));
    let byAccount = byPeriod.get(period);
    if (byAccount === undefined) byPeriod.set(period, (byAccount = new Map()));
    let id = byAccount.get(account);
    if (id === undefined) {
      id = this.names.length;
      byAccount.set(account, id);
      this.names.push([entity, currency, period, account]);
      if (this.totals.length < 3 * this.names.length) this.totals = grown(this.totals, this.totals.length * 2);
    }
    return id;
  }

  /**
   * The id of the group whose fields are bytes `at[0]`…`at[1]`, `at[2]`…`at[3]` and so on of
   * `line` (`view` over the same bytes), made when new. The bytes must be ASCII (the reader's fast
   * path sees to it), so that they name the same group as the strings they decode to.
   */
  groupOfBytes(line: Buffer, view: DataView, at: Int32Array): number {
    // A hash of our own, 4 bytes at a time: it only places groups in this table.
    let hash = 0;
    for (let f = 0; f < 2 * FIELDS; f += 2) {
      let i = at[f];
      for (; i + 4 <= at[f + 1]; i += 4) hash = Math.imul(hash ^ view.getInt32(i), 0x9e3779b1);
      for (; i < at[f + 1]; i++) hash = Math.imul(hash ^ line[i], 0x01000193);
      hash = Math.imul(hash ^ 0xff, 0x85ebca6b);
    }
    hash ^= hash >>> 15;
    const mask = this.slots.length - 1;
    for (let slot = Math.imul(hash, 0x9e3779b1) >>> this.slotShift; ; slot = (slot + 1) & mask) {
      const held = this.slots[slot] - 1;
      if (held < 0) break;
      if (this.byteHashes[held] === hash && this.sameBytes(held, view, at)) return held;
    }
    const id = this.groupOf(line.toString('latin1', at[0], at[1]), line.toString('latin1', at[2], at[3]), line.toString('latin1', at[4], at[5]), line.toString('latin1', at[6], at[7]));
    this.cacheBytes(id, hash, line, at);
    return id;
  }

  private sameBytes(id: number, view: DataView, at: Int32Array): boolean {
    const fields = this.byteFields;
    const arena = this.arenaView;
    let from = fields[id * (1 + FIELDS)];
    for (let f = 0; f < FIELDS; f++) {
      const length = fields[id * (1 + FIELDS) + 1 + f];
      const start = at[2 * f];
      if (at[2 * f + 1] - start !== length) return false;
      let i = 0;
      for (; i + 4 <= length; i += 4) if (arena.getInt32(from + i) !== view.getInt32(start + i)) return false;
      for (; i < length; i++) if (arena.getUint8(from + i) !== view.getUint8(start + i)) return false;
      from += length;
    }
    return true;
  }

  private cacheBytes(id: number, hash: number, line: Buffer, at: Int32Array): void {
    if (this.byteHashes.length <= id) {
      this.byteHashes = grown(this.byteHashes, Math.max(id + 1, this.byteHashes.length * 2));
      this.byteFields = grown(this.byteFields, this.byteHashes.length * (1 + FIELDS));
    }
    const bytes = at[1] - at[0] + (at[3] - at[2]) + (at[5] - at[4]) + (at[7] - at[6]);
    if (this.arenaUsed + bytes > this.arena.length) {
      const bigger = Buffer.allocUnsafe(Math.max(2 * this.arena.length, this.arenaUsed + bytes));
      this.arena.copy(bigger, 0, 0, this.arenaUsed);
      this.arena = bigger;
      this.arenaView = new DataView(bigger.buffer, bigger.byteOffset, bigger.length);
    }
    this.byteHashes[id] = hash;
    this.byteFields[id * (1 + FIELDS)] = this.arenaUsed;
    for (let f = 0; f < FIELDS; f++) {
      this.byteFields[id * (1 + FIELDS) + 1 + f] = at[2 * f + 1] - at[2 * f];
      this.arenaUsed += line.copy(this.arena, this.arenaUsed, at[2 * f], at[2 * f + 1]);
    }
    this.cachedIds.push(id);
    if (2 * this.cachedIds.length > this.slots.length) {
      this.slots = new Int32Array(this.slots.length * 2);
      this.slotShift--;
      for (const cached of this.cachedIds) this.insertSlot(cached);
    } else this.insertSlot(id);
  }

  private insertSlot(id: number): void {
    const mask = this.slots.length - 1;
    let slot = Math.imul(this.byteHashes[id], 0x9e3779b1) >>> this.slotShift;
    while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
    this.slots[slot] = id + 1;
  }

  /** Adds to a group's total of one side; an error beyond the safe integers (addMinor). */
  add(group: number, sideIndex: number, amountMinor: number): void {
    const at = 3 * group + sideIndex;
    this.totals[at] = addMinor(this.totals[at], amountMinor);
  }

  /** Adds another writer's totals (entries()). */
  merge(entries: readonly BalanceEntry[]): void {
    for (const [entity, currency, period, account, totals] of entries) {
      const group = this.groupOf(entity, currency, period, account);
      for (let side = 0; side < 3; side++) this.add(group, side, totals[side]);
    }
  }

  /** Every group in id order: entries()[id] is group `id`. */
  entries(): BalanceEntry[] {
    return this.names.map(([entity, currency, period, account], id) => [entity, currency, period, account, [this.totals[3 * id], this.totals[3 * id + 1], this.totals[3 * id + 2]]]);
  }

  /** One row per group, sorted by entity, currency, period, account (as strings joined by a tab compare). */
  rows(): BalanceRow[] {
    const sortKey = (e: BalanceEntry) => `${e[0]}\t${e[1]}\t${e[2]}\t${e[3]}`;
    const keyed = this.entries().map((entry) => [sortKey(entry), entry] as const);
    keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return keyed.map(([, [entity, currency, period, account, [platformMinor, finsyncMinor, erpMinor]]]) => ({
      entity,
      currency,
      period,
      account,
      platformMinor,
      finsyncMinor,
      erpMinor,
      finsyncMinusPlatformMinor: finsyncMinor - platformMinor,
      erpMinusFinsyncMinor: erpMinor - finsyncMinor,
    }));
  }
}

function grown<T extends Float64Array | Int32Array>(array: T, length: number): T {
  const bigger = new (array.constructor as new (length: number) => T)(length);
  bigger.set(array);
  return bigger;
}
