/**
 * The duplicate index: every line of the reports this process has validated recently, keyed by
 * what makes two expenses "the same" (entity and employee, then amount, currency, expense date and
 * merchant, the merchant compared without case and spaces), so a suspicion is one map look-up, and
 * an employee with nothing held costs one look-up per report.
 *
 * Held in memory per process: filled at start from the store's recent revisions
 * (`loadRecentRevisions`) and then by the pipeline as it validates. A newer revision of a report
 * replaces the lines of the older one; a report is never its own duplicate. Entries whose report
 * was approved before the longest duplicate window are evicted.
 */
import type { ExpenseLine, ExpenseReport } from '../domain/report.ts';
import type { ReferenceData } from '../masterdata/md-index.ts';
import type { Db } from '../store/db.ts';

const DAY_MS = 86_400_000;
const EVICT_EVERY_ADDS = 1_024;
const LOAD_PAGE = 1_000;

/** A line of another report that matches. */
export interface DuplicateSuspect {
  readonly reportId: string;
  readonly lineId: string;
  /** The other report's approval date (YYYY-MM-DD). */
  readonly approvedOn: string;
}

export interface SuspectQuery {
  readonly entity: string;
  readonly employeeId: string;
  readonly line: Pick<ExpenseLine, 'date' | 'amount' | 'merchant'>;
  /** The report asking: its own lines never count. */
  readonly reportId: string;
  /** The asking report's approval instant (ISO 8601); the window is counted in days from it. */
  readonly approvedAt: string;
  readonly windowDays: number;
}

export interface Entry {
  readonly reportId: string;
  readonly lineId: string;
  readonly approvedDay: number;
}

interface HeldReport {
  readonly revision: number;
  readonly approvedDay: number;
  readonly employee: string;
  readonly keys: readonly string[];
}

export interface DuplicateIndexOptions {
  /** The longest duplicate window of any policy, in days: entries older than that are evicted. */
  readonly retentionDays: () => number;
  /** Now, in epoch milliseconds (the clock of the hub). */
  readonly now?: () => number;
}

/** Merchants compare without case and without any whitespace: "Motel One" = "motelone". */
export function normalizeMerchant(merchant: string | undefined): string {
  return (merchant ?? '').toLowerCase().replace(/\s+/g, '');
}

/** What makes two lines of one employee the same expense. */
function expenseKey(line: Pick<ExpenseLine, 'date' | 'amount' | 'merchant'>): string {
  return `${line.amount.currency}\u0000${line.amount.amountMinor}\u0000${line.date}\u0000${normalizeMerchant(line.merchant)}`;
}

function employeeKey(entity: string, employeeId: string): string {
  return `${entity}\u0000${employeeId}`;
}

/**
 * Days since 1970-01-01 of a date (YYYY-MM-DD) or of an instant's own calendar date (its first ten
 * characters, as validation reads the approval date).
 */
export function epochDay(isoDateOrInstant: string): number {
  return Math.floor(Date.parse(`${isoDateOrInstant.slice(0, 10)}T00:00:00Z`) / DAY_MS);
}

/** The lines held for one employee, by expense. Opaque to callers: pass it to `suspectsIn`. */
export type EmployeeLines = ReadonlyMap<string, readonly Entry[]>;

/** Lines among `held` that match `line`, of reports other than `reportId`, approved within `windowDays` of `approvedDay`. */
export function suspectsIn(held: EmployeeLines, line: Pick<ExpenseLine, 'date' | 'amount' | 'merchant'>, reportId: string, approvedDay: number, windowDays: number): DuplicateSuspect[] {
  const list = held.get(expenseKey(line));
  if (!list || !Number.isFinite(approvedDay)) return [];
  const found: DuplicateSuspect[] = [];
  for (const entry of list) {
    if (entry.reportId === reportId || Math.abs(entry.approvedDay - approvedDay) > windowDays) continue;
    found.push({ reportId: entry.reportId, lineId: entry.lineId, approvedOn: new Date(entry.approvedDay * DAY_MS).toISOString().slice(0, 10) });
  }
  return found;
}

export class DuplicateIndex {
  /** Employee (entity and id) → expense → the lines held. Most employees have none: one miss per report. */
  readonly #byEmployee = new Map<string, Map<string, Entry[]>>();
  readonly #byReport = new Map<string, HeldReport>();
  readonly #retentionDays: () => number;
  readonly #now: () => number;
  #addsSinceEviction = 0;

  constructor(options: DuplicateIndexOptions) {
    this.#retentionDays = options.retentionDays;
    this.#now = options.now ?? Date.now;
  }

  /** Reports held. */
  get reports(): number {
    return this.#byReport.size;
  }

  /**
   * Holds the lines of `report`, replacing those of an earlier revision of it. An older revision
   * than the one held changes nothing (revisions can be validated out of order).
   */
  add(report: ExpenseReport): void {
    const held = this.#byReport.get(report.reportId);
    if (held && held.revision > report.revision) return;
    if (held) this.#remove(report.reportId, held);
    const approvedDay = epochDay(report.approvedAt);
    // The schema admits only real dates; a report that still has none cannot be placed in a window.
    if (!Number.isFinite(approvedDay)) return;
    const employee = employeeKey(report.entity, report.employeeId);
    let lines = this.#byEmployee.get(employee);
    if (!lines) this.#byEmployee.set(employee, (lines = new Map()));
    const keys = report.lines.map(expenseKey);
    report.lines.forEach((line, i) => {
      const entry: Entry = { reportId: report.reportId, lineId: line.lineId, approvedDay };
      const list = lines.get(keys[i]);
      if (list) list.push(entry);
      else lines.set(keys[i], [entry]);
    });
    this.#byReport.set(report.reportId, { revision: report.revision, approvedDay, employee, keys });
    if (++this.#addsSinceEviction >= EVICT_EVERY_ADDS) this.evict();
  }

  /** The lines held for an employee, or undefined when there are none (then no line of theirs is suspect). */
  linesOf(entity: string, employeeId: string): EmployeeLines | undefined {
    return this.#byEmployee.get(employeeKey(entity, employeeId));
  }

  /** Lines of other reports, approved within the window, that match the line. */
  suspects(query: SuspectQuery): DuplicateSuspect[] {
    const held = this.linesOf(query.entity, query.employeeId);
    return held ? suspectsIn(held, query.line, query.reportId, epochDay(query.approvedAt), query.windowDays) : [];
  }

  /** Drops reports approved before today minus the longest window; returns how many. */
  evict(): number {
    this.#addsSinceEviction = 0;
    const oldestDay = Math.floor(this.#now() / DAY_MS) - this.#retentionDays();
    let evicted = 0;
    for (const [reportId, held] of this.#byReport) {
      if (held.approvedDay >= oldestDay) continue;
      this.#remove(reportId, held);
      evicted++;
    }
    return evicted;
  }

  #remove(reportId: string, held: HeldReport): void {
    const lines = this.#byEmployee.get(held.employee);
    for (const key of new Set(held.keys)) {
      const list = lines?.get(key);
      if (!lines || !list) continue;
      const kept = list.filter((e) => e.reportId !== reportId);
      if (kept.length === 0) lines.delete(key);
      else lines.set(key, kept);
    }
    if (lines?.size === 0) this.#byEmployee.delete(held.employee);
    this.#byReport.delete(reportId);
  }
}

/**
 * Fills the index at start with the latest revision of every report approved since `sinceMs`,
 * unless that revision was superseded or recalled. Reads in pages by report id, so memory stays
 * bounded by the index itself. Returns the number of reports added.
 */
export async function loadRecentRevisions(db: Db, index: DuplicateIndex, sinceMs: number): Promise<number> {
  let after = '';
  let added = 0;
  for (;;) {
    const rows = await db
      .selectFrom('revisions as r')
      .select(['r.report_id', 'r.report'])
      .where('r.report_id', '>', after)
      .where('r.approved_at', '>=', sinceMs)
      .where('r.state', 'not in', ['superseded', 'recalled'])
      .where((eb) => eb('r.revision', '=', eb.selectFrom('revisions as l').select((l) => l.fn.max('l.revision').as('latest')).whereRef('l.report_id', '=', 'r.report_id')))
      .orderBy('r.report_id')
      .limit(LOAD_PAGE)
      .execute();
    for (const row of rows) index.add(JSON.parse(row.report) as ExpenseReport);
    added += rows.length;
    if (rows.length < LOAD_PAGE) return added;
    after = rows[rows.length - 1].report_id;
  }
}

/** The longest duplicate window of the policies in force on `date`, over every entity: how long entries are kept. */
export function longestWindowDays(reference: ReferenceData, date: string): number {
  let longest = 0;
  for (const entity of reference.entities()) longest = Math.max(longest, reference.policy(entity.code, date)?.duplicateWindowDays ?? 0);
  return longest;
}
