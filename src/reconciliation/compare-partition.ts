/**
 * Phase 2 of the engine (engine.ts) for one partition: its files (one per phase-1 writer) read
 * whole, lines gathered per key, every key classified. Runs on the calling thread or in a worker
 * (reconcile-worker.ts); either way the partition's breaks come back sorted by key, so the output
 * does not depend on how phase 1 split the input.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { BalanceEntry } from './balance-totals.ts';
import { addLine, classifyKey, CLEAN, CLEAN_APPROVED, isApproved, KeyNets, newKeyState, statusFlag, type SideCode } from './compare-key.ts';
import { AT_AMOUNT, AT_DOCUMENT_BYTES, AT_GROUP, AT_HASH, AT_KEY_BYTES, readAmount, RECORD_HEADER_BYTES, recordBytes, sameBytes, STATUS_CODES, viewOf } from './partition-record.ts';
import { BREAK_CLASSES, type Break, type BreakClass } from './types.ts';

/** What one partition (or a whole run) found. */
export interface Tally {
  readonly breaks: Record<BreakClass, number>;
  matchedKeys: number;
  approvedKeys: number;
  keys: number;
}

export function newTally(): Tally {
  return { breaks: Object.fromEntries(BREAK_CLASSES.map((c) => [c, 0])) as Record<BreakClass, number>, matchedKeys: 0, approvedKeys: 0, keys: 0 };
}

export function addTally(into: Tally, from: Tally): void {
  for (const cls of BREAK_CLASSES) into.breaks[cls] += from.breaks[cls];
  into.matchedKeys += from.matchedKeys;
  into.approvedKeys += from.approvedKeys;
  into.keys += from.keys;
}

export interface ComparedPartition {
  readonly tally: Tally;
  /** Sorted by key (stable: a key's breaks stay in the order of BREAK_CLASSES). */
  readonly breaks: Break[];
}

const SIDE_CODES: readonly SideCode[] = ['p', 'f', 'e'];
const STATUS_FLAGS = Int32Array.from(STATUS_CODES, statusFlag);

/**
 * The balance groups of every phase-1 writer (its BalanceTotals.entries(), in id order), numbered
 * for the whole run: writer w's group g is `bases[w] + g`. The strings are as they come back from
 * UTF-8 (as the key and document do), and equal accounts have equal numbers.
 */
export class RunGroups {
  readonly bases: number[] = [];
  readonly entities: string[] = [];
  readonly currencies: string[] = [];
  readonly periods: string[] = [];
  readonly accounts: string[] = [];
  readonly accountNumbers: Int32Array;

  constructor(tables: readonly (readonly BalanceEntry[])[]) {
    const numbers = new Map<string, number>();
    const accountNumbers: number[] = [];
    const utf8 = (text: string) => Buffer.from(text, 'utf8').toString('utf8');
    for (const table of tables) {
      this.bases.push(this.entities.length);
      for (const [entity, currency, period, account] of table) {
        this.entities.push(utf8(entity));
        this.currencies.push(utf8(currency));
        this.periods.push(utf8(period));
        const name = utf8(account);
        this.accounts.push(name);
        let number = numbers.get(name);
        if (number === undefined) numbers.set(name, (number = numbers.size));
        accountNumbers.push(number);
      }
    }
    this.accountNumbers = Int32Array.from(accountNumbers);
  }
}

/** A partition's files read into one buffer, in writer order; `ends[w]`: where writer w's bytes end. */
export interface PartitionBytes {
  readonly bytes: Buffer;
  readonly ends: readonly number[];
}

/**
 * Reads a partition's files (one per phase-1 writer, in writer order). Synchronously: a read from
 * the page cache takes a few ms, while handing it to the thread pool in pieces left the thread idle
 * a quarter of phase 2 waiting for them, and a worker thread has nothing else to do meanwhile.
 */
export function readPartitionSync(paths: readonly string[]): PartitionBytes {
  const fds: number[] = [];
  try {
    for (const path of paths) fds.push(openSync(path, 'r'));
    const ends: number[] = [];
    for (const fd of fds) ends.push((ends.at(-1) ?? 0) + fstatSync(fd).size);
    // One buffer, each file read straight into its place.
    const bytes = Buffer.allocUnsafe(ends.at(-1) ?? 0);
    fds.forEach((fd, w) => {
      for (let at = w === 0 ? 0 : ends[w - 1]; at < ends[w]; ) {
        const bytesRead = readSync(fd, bytes, at, ends[w] - at, null);
        if (bytesRead === 0) throw new Error(`Assertion failed: partition file ${paths[w]} ended early`);
        at += bytesRead;
      }
    });
    return { bytes, ends };
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

/**
 * The partition's keys, numbered in order of first appearance: per line its record's offset and
 * its key's number; per key its hash and the offset of its first record. Groups are made the run's
 * in place (RunGroups.bases). Keys are told apart by hash and bytes, in an open-addressing table.
 */
function numberKeys(bytes: DataView, ends: readonly number[], groups: RunGroups) {
  let starts: Int32Array = new Int32Array(1024);
  let ids: Int32Array = new Int32Array(1024);
  let keyHashes: Int32Array = new Int32Array(1024);
  let keyStarts: Int32Array = new Int32Array(1024);
  let slots = new Int32Array(4096);
  let shift = 20;
  let keys = 0;
  let lines = 0;
  for (let w = 0, at = 0; w < ends.length; w++) {
    for (; at < ends[w]; lines++, at += recordBytes(bytes, at)) {
      bytes.setUint32(at + AT_GROUP, groups.bases[w] + bytes.getUint32(at + AT_GROUP, true), true);
      const hash = bytes.getInt32(at + AT_HASH, true);
      const mask = slots.length - 1;
      let slot = Math.imul(hash, 0x9e3779b1) >>> shift;
      let id = slots[slot] - 1;
      while (id >= 0 && !(keyHashes[id] === hash && sameKey(bytes, keyStarts[id], at))) id = slots[(slot = (slot + 1) & mask)] - 1;
      if (id < 0) {
        id = keys++;
        if (id === keyHashes.length) (keyHashes = grow(keyHashes)), (keyStarts = grow(keyStarts));
        keyHashes[id] = hash;
        keyStarts[id] = at;
        slots[slot] = id + 1;
        if (2 * keys > slots.length) {
          slots = new Int32Array(2 * slots.length);
          shift--;
          for (let k = 0; k < keys; k++) {
            let free = Math.imul(keyHashes[k], 0x9e3779b1) >>> shift;
            while (slots[free] !== 0) free = (free + 1) & (slots.length - 1);
            slots[free] = k + 1;
          }
        }
      }
      if (lines === starts.length) (starts = grow(starts)), (ids = grow(ids));
      starts[lines] = at;
      ids[lines] = id;
    }
  }
  return { starts, ids, lines, keys, keyStarts };
}

function sameKey(bytes: DataView, a: number, b: number): boolean {
  const length = bytes.getUint32(a + AT_KEY_BYTES, true);
  return bytes.getUint32(b + AT_KEY_BYTES, true) === length && sameBytes(bytes, a + RECORD_HEADER_BYTES, b + RECORD_HEADER_BYTES, length);
}

/** Whether the ERP's lines among `order[from]`…`order[to - 1]` are all of one document. */
function oneDocument(bytes: DataView, order: Int32Array, from: number, to: number): boolean {
  let first = -1;
  for (let j = from; j < to; j++) {
    const at = order[j];
    if ((bytes.getUint8(at) & 3) !== 2) continue;
    if (first < 0) first = at;
    else {
      const length = bytes.getUint32(at + AT_DOCUMENT_BYTES, true);
      if (bytes.getUint32(first + AT_DOCUMENT_BYTES, true) !== length) return false;
      const a = first + RECORD_HEADER_BYTES + bytes.getUint32(first + AT_KEY_BYTES, true);
      const b = at + RECORD_HEADER_BYTES + bytes.getUint32(at + AT_KEY_BYTES, true);
      if (!sameBytes(bytes, a, b, length)) return false;
    }
  }
  return true;
}

/** The breaks of a key by the rules of compare-key.ts, from its lines as strings. */
function classifyLines(bytes: Buffer, view: DataView, order: Int32Array, from: number, to: number, groups: RunGroups): { found: Break[]; approved: boolean } {
  const state = newKeyState();
  for (let j = from; j < to; j++) {
    const at = order[j];
    const group = view.getUint32(at + AT_GROUP, true);
    const document = at + RECORD_HEADER_BYTES + view.getUint32(at + AT_KEY_BYTES, true);
    const tag = bytes[at];
    const documentText = bytes.toString('utf8', document, document + view.getUint32(at + AT_DOCUMENT_BYTES, true));
    addLine(state, SIDE_CODES[tag & 3], groups.entities[group], groups.currencies[group], groups.periods[group], groups.accounts[group], readAmount(view, at + AT_AMOUNT), STATUS_CODES[tag >>> 2], documentText);
  }
  const first = order[from];
  const key = bytes.toString('utf8', first + RECORD_HEADER_BYTES, first + RECORD_HEADER_BYTES + view.getUint32(first + AT_KEY_BYTES, true));
  return { found: classifyKey(key, state), approved: isApproved(state) };
}

const byKey = (a: Break, b: Break) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * Numbers the partition's keys, orders its lines by key (a counting sort), then classifies one
 * key at a time: on numbers alone (KeyNets) when the key makes no break, which is nearly every
 * key, and through classifyKey, with strings, when it may. Only breaks make objects.
 */
export function comparePartition({ bytes, ends }: PartitionBytes, groups: RunGroups): ComparedPartition {
  const view = viewOf(bytes);
  const { starts, ids, lines, keys } = numberKeys(view, ends, groups);
  // Counting sort of the lines by key number: `first[id]` … `first[id + 1]` index `order`.
  const first = new Int32Array(keys + 1);
  for (let i = 0; i < lines; i++) first[ids[i] + 1]++;
  for (let id = 0; id < keys; id++) first[id + 1] += first[id];
  const order = new Int32Array(lines);
  const next = first.slice(0, keys);
  for (let i = 0; i < lines; i++) order[next[ids[i]]++] = starts[i];
  const tally = newTally();
  const breaks: Break[] = [];
  const nets = new KeyNets();
  for (let id = 0; id < keys; id++) {
    let verdict = 0;
    if (oneDocument(view, order, first[id], first[id + 1])) {
      nets.reset();
      for (let j = first[id]; j < first[id + 1]; j++) {
        const at = order[j];
        nets.add(bytes[at] & 3, STATUS_FLAGS[bytes[at] >>> 2], groups.accountNumbers[view.getUint32(at + AT_GROUP, true)], readAmount(view, at + AT_AMOUNT));
      }
      verdict = nets.verdict();
    }
    if (verdict === CLEAN || verdict === CLEAN_APPROVED) {
      if (verdict === CLEAN_APPROVED) (tally.approvedKeys++, tally.matchedKeys++);
      continue;
    }
    const { found, approved } = classifyLines(bytes, view, order, first[id], first[id + 1], groups);
    for (const one of found) (tally.breaks[one.class]++, breaks.push(one));
    if (approved) {
      tally.approvedKeys++;
      if (found.length === 0) tally.matchedKeys++;
    }
  }
  tally.keys = keys;
  return { tally, breaks: breaks.sort(byKey) };
}

function grow(array: Int32Array): Int32Array {
  const bigger = new Int32Array(array.length * 2);
  bigger.set(array);
  return bigger;
}
