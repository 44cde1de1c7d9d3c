/**
 * The simulator's in-memory journalEntry ledger and its validation: what NetSuite checks before it
 * commits a journal (shape, decimals, balance, active references), answered as rejections that the
 * server turns into NetSuite's error envelope.
 */
import { createRandom } from '../../simulation/seeded-random.ts';
import { formatAmount } from '../../domain/money.ts';
import { EXTERNAL_ID_PATTERN, fromNetSuiteJournal, NetSuiteShapeError, type NormalizedNetSuiteJournal } from './mapping.ts';

/** A refusal the simulator answers with NetSuite's error envelope. */
export interface Rejection {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly path?: string;
  /** The query parameter at fault (`o:errorQueryParam`), e.g. `q` for a SuiteQL query NetSuite cannot run. */
  readonly queryParam?: string;
  readonly retryAfterSeconds?: number;
}

export interface SimDocument extends Omit<NormalizedNetSuiteJournal, 'externalId'> {
  readonly id: string;
  readonly externalId: string | null;
}

/** A change to one line of a stored document (tests inject breaks with it). */
export interface DocumentLineChange {
  readonly accountId?: string;
  readonly debitMinor?: number;
  readonly creditMinor?: number;
}

export interface LedgerCounts {
  readonly documents: number;
  readonly externalIds: number;
  /** External ids holding more than one document: duplicates a naive integration produced. */
  readonly duplicateExternalIds: number;
}

export interface LedgerMasterData {
  readonly seed: number;
  readonly subsidiaries: readonly string[];
  readonly accounts: readonly string[];
  readonly departments: readonly string[];
  readonly employees: readonly string[];
  readonly inactive?: { readonly accounts?: readonly string[]; readonly departments?: readonly string[]; readonly employees?: readonly string[] };
  /** The live master-data tables (SuiteQL): where they hold an id, their isinactive decides over the lists above. */
  readonly referenceStatus?: (table: 'subsidiary' | 'account' | 'department' | 'employee', id: string) => 'active' | 'inactive' | undefined;
}

/** A number in [0, 1) fixed by (seed, text): FNV-1a of the text, then one mulberry32 step. */
export function hashUnit(seed: number, text: string): number {
  let hash = 0x811c9dc5 ^ seed;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return createRandom(hash)();
}

function invalidContent(detail: string, path?: string): Rejection {
  return { status: 400, code: 'INVALID_CONTENT', detail, ...(path !== undefined && { path }) };
}

export class SimulatorLedger {
  private readonly documents = new Map<string, SimDocument>();
  private readonly idsByExternalId = new Map<string, string[]>();
  private nextId = 1;
  private readonly subsidiaries: ReadonlySet<string>;
  private readonly accounts: ReadonlySet<string>;
  private readonly departments: ReadonlySet<string>;
  private readonly employees: ReadonlySet<string>;

  constructor(private readonly masterData: LedgerMasterData) {
    const active = (all: readonly string[], inactive: readonly string[] = []) => new Set(all.filter((id) => !inactive.includes(id)));
    this.subsidiaries = active(masterData.subsidiaries);
    this.accounts = active(masterData.accounts, masterData.inactive?.accounts);
    this.departments = active(masterData.departments, masterData.inactive?.departments);
    this.employees = active(masterData.employees, masterData.inactive?.employees);
  }

  /**
   * Validates and commits a journal. With `externalIdFromUrl` (PUT eid:) it upserts the first
   * document holding that external id; without it (POST) it always adds a document.
   */
  write(body: string, externalIdFromUrl: string | undefined, invalidReferenceRate: number): SimDocument | Rejection {
    const journal = this.validate(body, externalIdFromUrl, invalidReferenceRate);
    if ('status' in journal) return journal;
    const externalId = journal.externalId === '' ? null : journal.externalId;
    const existingId = externalIdFromUrl === undefined || externalId === null ? undefined : this.idsByExternalId.get(externalId)?.[0];
    const id = existingId ?? String(this.nextId++);
    const document: SimDocument = { ...journal, id, externalId };
    this.documents.set(id, document);
    if (existingId === undefined && externalId !== null) {
      this.idsByExternalId.set(externalId, [...(this.idsByExternalId.get(externalId) ?? []), id]);
    }
    return document;
  }

  /**
   * Adds a document as another integration would through POST: an external id that exists gets a
   * second document. NetSuite's checks apply (balance, active references), injected faults do not.
   */
  insert(journal: NormalizedNetSuiteJournal): SimDocument | Rejection {
    if (journal.externalId !== '' && !EXTERNAL_ID_PATTERN.test(journal.externalId)) return invalidContent(`Invalid value ${journal.externalId} for field externalId: use only letters, digits, _ and -.`, 'externalId');
    const refused = checkBalance(journal) ?? this.checkReferences(journal);
    if (refused) return refused;
    const externalId = journal.externalId === '' ? null : journal.externalId;
    const document: SimDocument = { ...journal, id: String(this.nextId++), externalId };
    this.documents.set(document.id, document);
    if (externalId !== null) this.idsByExternalId.set(externalId, [...(this.idsByExternalId.get(externalId) ?? []), document.id]);
    return document;
  }

  /** Deletes a document, as a user deleting the journal in NetSuite; false when there is none with that id. */
  remove(id: string): boolean {
    const document = this.documents.get(id);
    if (document === undefined) return false;
    this.documents.delete(id);
    if (document.externalId !== null) {
      const left = (this.idsByExternalId.get(document.externalId) ?? []).filter((other) => other !== id);
      if (left.length === 0) this.idsByExternalId.delete(document.externalId);
      else this.idsByExternalId.set(document.externalId, left);
    }
    return true;
  }

  /** Changes one line of a stored document in place, without NetSuite's checks: the journal may no longer balance. */
  changeLine(id: string, index: number, change: DocumentLineChange): SimDocument {
    const document = this.documents.get(id);
    if (document === undefined) throw new Error(`Assertion failed: the simulator holds no document ${id}`);
    const line = document.lines[index];
    if (line === undefined) throw new Error(`Assertion failed: document ${id} has no line ${index} (it has ${document.lines.length})`);
    for (const amount of [change.debitMinor, change.creditMinor]) {
      if (amount !== undefined && (!Number.isSafeInteger(amount) || amount < 0)) throw new Error(`Assertion failed: ${amount} is not a non-negative integer of minor units`);
    }
    const changed: SimDocument = { ...document, lines: document.lines.map((l, i) => (i === index ? { ...l, ...change } : l)) };
    this.documents.set(id, changed);
    return changed;
  }

  findById(id: string): SimDocument | undefined {
    return this.documents.get(id);
  }

  findByExternalId(externalId: string): SimDocument | undefined {
    const firstId = this.idsByExternalId.get(externalId)?.[0];
    return firstId === undefined ? undefined : this.documents.get(firstId);
  }

  listByExternalId(externalId: string): SimDocument[] {
    return (this.idsByExternalId.get(externalId) ?? []).map((id) => this.documents.get(id) as SimDocument);
  }

  list(): SimDocument[] {
    return [...this.documents.values()];
  }

  count(): LedgerCounts {
    return {
      documents: this.documents.size,
      externalIds: this.idsByExternalId.size,
      duplicateExternalIds: [...this.idsByExternalId.values()].filter((ids) => ids.length > 1).length,
    };
  }

  private validate(body: string, externalIdFromUrl: string | undefined, invalidReferenceRate: number): NormalizedNetSuiteJournal | Rejection {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return invalidContent('The request body is not valid JSON.');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return invalidContent('The request body must be a JSON object.');
    const externalId = externalIdFromUrl ?? (parsed as { externalId?: unknown }).externalId ?? '';
    if (typeof externalId !== 'string' || (externalId !== '' && !EXTERNAL_ID_PATTERN.test(externalId))) {
      return invalidContent(`Invalid value ${String(externalId)} for field externalId: use only letters, digits, _ and -.`, 'externalId');
    }
    let journal: NormalizedNetSuiteJournal;
    try {
      journal = fromNetSuiteJournal({ ...parsed, externalId });
    } catch (error) {
      if (error instanceof NetSuiteShapeError) return invalidContent(error.detail, error.path);
      throw error;
    }
    return checkBalance(journal) ?? this.checkReferences(journal) ?? this.injectRejection(journal, invalidReferenceRate) ?? journal;
  }

  private checkReferences(journal: NormalizedNetSuiteJournal): Rejection | undefined {
    const invalid = (id: string, field: string, path: string) => invalidContent(`Invalid value ${id} for field ${field}`, path);
    type Table = Parameters<NonNullable<LedgerMasterData['referenceStatus']>>[0];
    const active = (table: Table, ids: ReadonlySet<string>, id: string) => {
      const status = this.masterData.referenceStatus?.(table, id);
      return status === undefined ? ids.has(id) : status === 'active';
    };
    if (!active('subsidiary', this.subsidiaries, journal.subsidiaryId)) return invalid(journal.subsidiaryId, 'subsidiary', 'subsidiary');
    for (const [index, line] of journal.lines.entries()) {
      const path = `line.items[${index}]`;
      if (!active('account', this.accounts, line.accountId)) return invalid(line.accountId, 'account', `${path}.account`);
      if (line.departmentId !== undefined && !active('department', this.departments, line.departmentId)) return invalid(line.departmentId, 'department', `${path}.department`);
      if (line.entityId !== undefined && !active('employee', this.employees, line.entityId)) return invalid(line.entityId, 'entity', `${path}.entity`);
    }
    return undefined;
  }

  /** The injected fault: the verdict and the named line depend only on (seed, external id). */
  private injectRejection(journal: NormalizedNetSuiteJournal, invalidReferenceRate: number): Rejection | undefined {
    const { externalId, lines } = journal;
    if (externalId === '' || hashUnit(this.masterData.seed, externalId) >= invalidReferenceRate) return undefined;
    const index = Math.floor(hashUnit(this.masterData.seed + 1, externalId) * lines.length);
    return invalidContent(`Invalid value ${lines[index].accountId} for field account`, `line.items[${index}].account`);
  }
}

function checkBalance(journal: NormalizedNetSuiteJournal): Rejection | undefined {
  const debitMinor = journal.lines.reduce((sum, line) => sum + BigInt(line.debitMinor), 0n);
  const creditMinor = journal.lines.reduce((sum, line) => sum + BigInt(line.creditMinor), 0n);
  if (debitMinor === creditMinor) return undefined;
  const amounts = `debits ${formatAmount(Number(debitMinor), journal.currency)}, credits ${formatAmount(Number(creditMinor), journal.currency)}`;
  return invalidContent(`The transaction is out of balance (${amounts}).`, 'line.items');
}
