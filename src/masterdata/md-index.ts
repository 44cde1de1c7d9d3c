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
import { versionOn } from './temporal.ts';

export type Lookup = { readonly found: false } | { readonly found: true; readonly active: boolean; readonly record: RecordVersion };

/** What validation, mapping and posting read: each record as it was on a given date. */
export interface ReferenceData {
  entity(code: string): LegalEntity | undefined;
  entities(): readonly LegalEntity[];
  /** The record on `date`. A GL account that is not postable on that date is found but not active. */
  lookup(kind: Kind, entity: string, key: string, date: string): Lookup;
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
}

const slot = (kind: string, entity: string, key: string) => `${kind}\u0000${entity}\u0000${key}`;

export class MasterDataIndex implements ReferenceData {
  #entities: Map<string, LegalEntity>;
  #records = new Map<string, Held>();
  #seq = 0;

  constructor(entities: readonly LegalEntity[]) {
    this.#entities = new Map(entities.map((e) => [e.code, e]));
  }

  get seq(): number {
    return this.#seq;
  }

  get size(): number {
    return this.#records.size;
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
      const id = slot(row.kind, row.entity, row.key);
      const held = this.#records.get(id);
      if (!held || row.keyRevision > held.keyRevision) {
        this.#records.set(id, { keyRevision: row.keyRevision, versions: [stripStored(row)], seqs: new Set([row.seq]) });
      } else if (row.keyRevision === held.keyRevision && !held.seqs.has(row.seq)) {
        held.seqs.add(row.seq);
        held.versions.push(stripStored(row));
        held.versions.sort((a, b) => (a.validFrom < b.validFrom ? -1 : 1));
      }
    }
  }

  /**
   * Replaces everything held with `rows` (current versions only, read after the feed stood at
   * `seq`); rows past `seq` are applied again by the next feed read, which is harmless.
   */
  load(rows: readonly StoredVersion[], seq: number): void {
    this.#records.clear();
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
    return this.#records.get(slot(kind, entity, key))?.versions ?? [];
  }

  lookup(kind: Kind, entity: string, key: string, date: string): Lookup {
    const held = this.#records.get(slot(kind, entity, key));
    if (!held) return { found: false };
    const version = versionOn(held.versions, date);
    if (!version) return { found: true, active: false, record: held.versions[held.versions.length - 1] };
    const active = version.active && (kind !== 'gl_account' || version.attributes.postable === true);
    return { found: true, active, record: version };
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
