/**
 * The fast path: the authoritative versions of every record, held in memory and indexed by
 * (kind, entity, key), so a validation answers without a database round trip. The index follows
 * the store's change feed (md_records in seq order): the process that writes applies its own
 * change at once, and every process polls the feed, so a change anywhere is visible everywhere
 * within one poll interval.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/db.ts';
import type { LegalEntity } from './company.ts';
import { readAuthoritative, readChanges, readHeadSeq, type StoredVersion } from './md-store.ts';
import { AUTHORITY, percentToBp, type Kind, type Policy, type RecordVersion } from './records.ts';
import { coversDate, versionOn } from './temporal.ts';

export type Lookup = { readonly found: false } | { readonly found: true; readonly active: boolean; readonly record: RecordVersion };

/** What validation, mapping and posting read: each record as it was on a given date. */
export interface ReferenceData {
  entity(code: string): LegalEntity | undefined;
  entities(): readonly LegalEntity[];
  /** The record on `date`. A GL account that is not postable on that date is found but not active. */
  lookup(kind: Kind, entity: string, key: string, date: string): Lookup;
  /**
   * The keys of the entity's records of `kind` that exist and are active on `date` (GL accounts:
   * postable), in no particular order: the codes a valid report can use on that date. Records that
   * are held but closed or blocked on the date are left out.
   */
  keys(kind: Kind, entity: string, date: string): string[];
  /** The entity's expense policy on `date`, if one is held. */
  policy(entity: string, date: string): Policy | undefined;
  /** A tax code's rate in basis points on `date`. */
  taxRateBp(entity: string, code: string, date: string): number | undefined;
  /** Units of `to` per unit of `from` on `date` (the latest rate on or before it), as a decimal string. */
  fxRate(entity: string, from: string, to: string, date: string): { rate: string; source: string; date: string } | undefined;
  /** The ERP's id of a record, if the record is held and carries one. */
  erpId(kind: Kind, entity: string, key: string, date: string): string | undefined;
  /** The change-feed position the index has applied. */
  readonly seq: number;
}

interface Held {
  keyRevision: number;
  versions: RecordVersion[];
  seqs: Set<number>;
  /**
   * What `lookup` answers, made on first use: one per version, and last the answer for a date no
   * version covers. Look-ups then allocate nothing; cleared whenever `versions` changes.
   */
  answers?: Lookup[];
}

/** Records of one entity: kind → key → record. */
type EntityRecords = Map<Kind, Map<string, Held>>;

/** Shared by every miss: a look-up allocates nothing for a record that is not held. */
const NOT_FOUND: Lookup = Object.freeze({ found: false });

/**
 * Records are held in nested maps (entity → kind → key) rather than one map keyed by a joined
 * string: the validation API makes about 30 look-ups per request, and a joined key is a new string
 * per call that V8 must flatten and hash, while the parts are strings whose hash is computed once.
 * The maps of the entity looked up last are kept at hand, since a report's look-ups are all in
 * one entity.
 */
export class MasterDataIndex implements ReferenceData {
  #entities: Map<string, LegalEntity>;
  #records = new Map<string, EntityRecords>();
  #lastEntity: string | undefined;
  #lastRecords: EntityRecords | undefined;
  #size = 0;
  #seq = 0;

  constructor(entities: readonly LegalEntity[]) {
    this.#entities = new Map(entities.map((e) => [e.code, e]));
  }

  get seq(): number {
    return this.#seq;
  }

  get size(): number {
    return this.#size;
  }

  /**
   * Applies feed rows in seq order. Rows of other systems move the position but are not held. A
   * record's rows with a newer key_revision replace all it held: a change always rewrites every
   * current version of the record.
   */
  apply(rows: readonly StoredVersion[]): void {
    for (const row of rows) {
      if (row.seq > this.#seq) this.#seq = row.seq;
      if (AUTHORITY[row.kind] !== row.system) continue;
      const byKey = this.#keysOf(row.kind, row.entity);
      const held = byKey.get(row.key);
      if (!held || row.keyRevision > held.keyRevision) {
        if (!held) this.#size++;
        byKey.set(row.key, { keyRevision: row.keyRevision, versions: [stripStored(row)], seqs: new Set([row.seq]) });
      } else if (row.keyRevision === held.keyRevision && !held.seqs.has(row.seq)) {
        held.seqs.add(row.seq);
        held.versions.push(stripStored(row));
        held.versions.sort(byValidFrom);
        held.answers = undefined;
      }
    }
  }

  /**
   * Replaces everything held with `rows` (current versions only, read after the feed stood at
   * `seq`); rows past `seq` are applied again by the next feed read, which is harmless.
   */
  load(rows: readonly StoredVersion[], seq: number): void {
    this.#records.clear();
    this.#lastEntity = undefined;
    this.#size = 0;
    this.#seq = 0;
    this.apply(rows);
    this.#seq = seq;
  }

  entity(code: string): LegalEntity | undefined {
    return this.#entities.get(code);
  }

  entities(): readonly LegalEntity[] {
    return [...this.#entities.values()];
  }

  versions(kind: Kind, entity: string, key: string): readonly RecordVersion[] {
    return this.#held(kind, entity, key)?.versions ?? [];
  }

  lookup(kind: Kind, entity: string, key: string, date: string): Lookup {
    const held = this.#held(kind, entity, key);
    return held ? answerOn(kind, held, date) : NOT_FOUND;
  }

  keys(kind: Kind, entity: string, date: string): string[] {
    const keys: string[] = [];
    for (const [key, held] of this.#records.get(entity)?.get(kind) ?? []) {
      const answer = answerOn(kind, held, date);
      if (answer.found && answer.active) keys.push(key);
    }
    return keys;
  }

  #held(kind: Kind, entity: string, key: string): Held | undefined {
    if (entity !== this.#lastEntity) {
      this.#lastEntity = entity;
      this.#lastRecords = this.#records.get(entity);
    }
    return this.#lastRecords?.get(kind)?.get(key);
  }

  /** The records of one entity and kind, by key; the maps are made on first use. */
  #keysOf(kind: Kind, entity: string): Map<string, Held> {
    let byKind = this.#records.get(entity);
    if (!byKind) {
      this.#records.set(entity, (byKind = new Map()));
      // The entity looked up last may be this one, remembered as holding nothing.
      this.#lastEntity = undefined;
    }
    let byKey = byKind.get(kind);
    if (!byKey) byKind.set(kind, (byKey = new Map()));
    return byKey;
  }

  policy(entity: string, date: string): Policy | undefined {
    const found = this.lookup('policy', entity, 'expense', date);
    return found.found && found.active ? (found.record.attributes as Policy) : undefined;
  }

  taxRateBp(entity: string, code: string, date: string): number | undefined {
    const found = this.lookup('tax_code', entity, code, date);
    return found.found ? percentToBp(found.record.attributes.rate as string) : undefined;
  }

  fxRate(entity: string, from: string, to: string, date: string): { rate: string; source: string; date: string } | undefined {
    const versions = this.versions('fx_rate', entity, `${from}/${to}`);
    const version = versionOn(versions, date);
    if (!version || !version.active) return undefined;
    return { rate: version.attributes.rate as string, source: version.attributes.source as string, date: version.validFrom };
  }

  erpId(kind: Kind, entity: string, key: string, date: string): string | undefined {
    const found = this.lookup(kind, entity, key, date);
    return found.found ? (found.record.attributes.erpId as string | undefined) : undefined;
  }
}

/** What `lookup` answers for a held record on `date`. */
function answerOn(kind: Kind, held: Held, date: string): Lookup {
  const answers = (held.answers ??= answersOf(kind, held.versions));
  const { versions } = held;
  for (let i = 0; i < versions.length; i++) if (coversDate(versions[i], date)) return answers[i];
  return answers[versions.length];
}

/** The answers of `lookup` for one record: each version on a date it covers, then a date none covers. */
function answersOf(kind: Kind, versions: readonly RecordVersion[]): Lookup[] {
  // Frozen: every caller gets the same objects.
  const answers: Lookup[] = versions.map((version) => Object.freeze({ found: true, active: version.active && (kind !== 'gl_account' || version.attributes.postable === true), record: version }));
  answers.push(Object.freeze({ found: true, active: false, record: versions[versions.length - 1] }));
  return answers;
}

function byValidFrom(a: RecordVersion, b: RecordVersion): number {
  return a.validFrom < b.validFrom ? -1 : 1;
}

function stripStored(row: StoredVersion): RecordVersion {
  return { system: row.system, kind: row.kind, entity: row.entity, key: row.key, validFrom: row.validFrom, validTo: row.validTo, active: row.active, attributes: row.attributes };
}

export interface IndexFeed {
  /** Reads the feed up to its head now. Concurrent calls share one read. */
  refresh(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

const FEED_PAGE = 5_000;

/** Loads the index from the store, then follows the change feed every `intervalMs`. */
export async function createIndexFeed(store: Store, index: MasterDataIndex, intervalMs: number, logger?: Logger): Promise<IndexFeed> {
  const seq = await readHeadSeq(store.db);
  index.load(await readAuthoritative(store.db), seq);
  await drain();
  let inFlight: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running = false;

  async function drain(): Promise<void> {
    for (;;) {
      const changes = await readChanges(store.db, index.seq, FEED_PAGE);
      index.apply(changes);
      if (changes.length < FEED_PAGE) return;
    }
  }

  const feed: IndexFeed = {
    refresh() {
      inFlight ??= drain().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
    start() {
      if (running) return;
      running = true;
      const tick = () => {
        if (!running) return;
        feed
          .refresh()
          .catch((error: unknown) => logger?.error({ err: error }, 'master-data index: reading the change feed failed; retrying'))
          .finally(() => {
            if (running) timer = setTimeout(tick, intervalMs);
          });
      };
      timer = setTimeout(tick, intervalMs);
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      await inFlight;
    },
  };
  return feed;
}
