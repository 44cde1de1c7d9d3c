/**
 * Phase 2 of the engine (engine.ts) for one partition: its files (one per phase-1 writer) read
 * whole, lines gathered per key, every key classified. Runs on the calling thread or in a worker
 * (reconcile-worker.ts); either way the partition's breaks come back sorted by key, so the output
 * does not depend on how phase 1 split the input.
 */
import { readFile } from 'node:fs/promises';
import { addLine, classifyKey, isApproved, newKeyState, type SideCode } from './compare-key.ts';
import { BREAK_CLASSES, type Break, type BreakClass, type LineStatus } from './types.ts';

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

const byKey = (a: Break, b: Break) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * Numbers the partition's keys, orders its lines by key (a counting sort), then gathers and
 * classifies one key at a time. Only the key numbers outlive a key's turn, so the garbage
 * collector is not made to carry a per-key object graph for the whole partition.
 */
export async function comparePartition(paths: readonly string[]): Promise<ComparedPartition> {
  const texts = await Promise.all(paths.map((path) => readFile(path, 'utf8')));
  const text = texts.length === 1 ? texts[0] : texts.join('');
  const keyIds = new Map<string, number>();
  const keys: string[] = [];
  let starts: Int32Array = new Int32Array(1024);
  let ids: Int32Array = new Int32Array(1024);
  let lines = 0;
  for (let start = 0; start < text.length; lines++) {
    const keyEnd = text.indexOf('\t', start + 2);
    const key = text.slice(start + 2, keyEnd);
    let id = keyIds.get(key);
    if (id === undefined) (keyIds.set(key, (id = keys.length)), keys.push(key));
    if (lines === starts.length) (starts = grow(starts), (ids = grow(ids)));
    starts[lines] = start;
    ids[lines] = id;
    start = text.indexOf('\n', keyEnd) + 1;
  }
  keyIds.clear();
  // Counting sort of the lines by key id: `first[id]` … `first[id + 1]` index `order`.
  const first = new Int32Array(keys.length + 1);
  for (let i = 0; i < lines; i++) first[ids[i] + 1]++;
  for (let id = 0; id < keys.length; id++) first[id + 1] += first[id];
  const order = new Int32Array(lines);
  const next = first.slice(0, keys.length);
  for (let i = 0; i < lines; i++) order[next[ids[i]]++] = starts[i];
  const tally = newTally();
  const breaks: Break[] = [];
  for (let id = 0; id < keys.length; id++) {
    const state = newKeyState();
    for (let j = first[id]; j < first[id + 1]; j++) {
      const f = text.slice(order[j], text.indexOf('\n', order[j])).split('\t');
      addLine(state, f[0] as SideCode, f[2], f[3], f[4], f[5], Number(f[6]), f[7] as LineStatus, f[8]);
    }
    const found = classifyKey(keys[id], state);
    for (const one of found) (tally.breaks[one.class]++, breaks.push(one));
    if (isApproved(state)) {
      tally.approvedKeys++;
      if (found.length === 0) tally.matchedKeys++;
    }
  }
  tally.keys = keys.length;
  return { tally, breaks: breaks.sort(byKey) };
}

function grow(array: Int32Array): Int32Array {
  const bigger = new Int32Array(array.length * 2);
  bigger.set(array);
  return bigger;
}
