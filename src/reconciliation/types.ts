/**
 * The contract of three-way reconciliation: the lines each side delivers, the breaks found, the
 * balances and the result. See README.md in this folder for how lines are compared.
 */

/** The three sides: what the expense platform approved, what finsync posted, what the ERP holds. */
export type Side = 'platform' | 'finsync' | 'erp';
export const SIDES: readonly Side[] = ['platform', 'finsync', 'erp'];

/**
 * The status a line carries, by side: the platform's `approved` | `recalled`; finsync's `posted`
 * (sent, no confirmation recorded) | `confirmed` (the ERP's document number recorded) | `reversed`
 * (confirmed, and its reversal is posted too: the report was recalled or revised); the ERP none
 * (`''`).
 */
export type LineStatus = 'approved' | 'recalled' | 'posted' | 'confirmed' | 'reversed' | '';

export const STATUSES_BY_SIDE: Readonly<Record<Side, readonly LineStatus[]>> = {
  platform: ['approved', 'recalled'],
  finsync: ['posted', 'confirmed', 'reversed'],
  erp: [''],
};

/**
 * One journal line as one side holds it. Text fields hold no comma, double quote or control
 * character (they are codes), so they pass through CSV and the partition files unquoted.
 */
export interface ReconLine {
  /** Our external key (`fs_<hash>_r<revision>`): the same on every side for one posting. */
  readonly key: string;
  readonly entity: string;
  /** ISO 4217 code; `amountMinor` is in its minor units. */
  readonly currency: string;
  /** Accounting period, `YYYY-MM`. */
  readonly period: string;
  readonly account: string;
  /** Signed integer minor units: debit positive, credit negative. */
  readonly amountMinor: number;
  readonly status: LineStatus;
  /** The ERP's document number (ERP side; `''` elsewhere): tells a duplicate document apart. */
  readonly document: string;
}

export type BreakClass = 'missing_in_erp' | 'extra_in_erp' | 'amount_mismatch' | 'account_mismatch' | 'status_mismatch' | 'missing_in_finsync';

export const BREAK_CLASSES: readonly BreakClass[] = ['missing_in_erp', 'extra_in_erp', 'amount_mismatch', 'account_mismatch', 'status_mismatch', 'missing_in_finsync'];

/** The net amount of one key on one account (accounts whose lines net to zero are left out). */
export interface AccountAmount {
  readonly account: string;
  readonly amountMinor: number;
}

/** What one side holds for a key, as the comparison saw it. */
export interface SideValues {
  /**
   * Platform: `recalled` when any line is, else `approved`. finsync, when its lines differ: `posted`
   * when any line is (unconfirmed), else `reversed` when any line is, else `confirmed`. ERP: `''`.
   */
  readonly status: LineStatus;
  /** Net per account, sorted by account. ERP: of the first document (in string order) only. */
  readonly amounts: readonly AccountAmount[];
  /** ERP: every distinct document number holding the key, sorted; elsewhere empty. */
  readonly documents: readonly string[];
}

/** One break: a key, its class, and what each side holds for it (null: the side has no line of the key). */
export interface Break {
  readonly class: BreakClass;
  readonly key: string;
  /** Entity, currency and period of the key's first line on finsync's side, else the platform's, else the ERP's. */
  readonly entity: string;
  readonly currency: string;
  readonly period: string;
  readonly platform: SideValues | null;
  readonly finsync: SideValues | null;
  readonly erp: SideValues | null;
}

/** Totals of one entity × currency × period × account on each side, with the differences; a row for every group where any side has a line. */
export interface BalanceRow {
  readonly entity: string;
  readonly currency: string;
  readonly period: string;
  readonly account: string;
  /** Lines the platform holds as approved (recalled ones are not approved). */
  readonly platformMinor: number;
  readonly finsyncMinor: number;
  /** Every ERP line, duplicate documents included: a duplicate shows here. */
  readonly erpMinor: number;
  readonly finsyncMinusPlatformMinor: number;
  readonly erpMinusFinsyncMinor: number;
}

export interface Completeness {
  /** Keys approved in the platform (not recalled) that have no break of any class. */
  readonly matchedKeys: number;
  /** Keys approved in the platform (not recalled). */
  readonly approvedKeys: number;
  /** matchedKeys ÷ approvedKeys in percent with 2 decimals, rounded half up from the exact ratio; null when nothing was approved. */
  readonly percent: string | null;
}

export interface ReconcileResult {
  readonly breaks: Readonly<Record<BreakClass, number>>;
  readonly completeness: Completeness;
  /** Sorted by entity, currency, period, account. */
  readonly balances: readonly BalanceRow[];
  readonly linesRead: Readonly<Record<Side, number>>;
  readonly keys: number;
  readonly partitions: number;
}

export interface ReconcileProgress {
  readonly phase: 'partition' | 'compare';
  readonly linesRead: Readonly<Record<Side, number>>;
  readonly partitionsDone: number;
  readonly partitions: number;
}

/** A side's lines, in batches (a batch per chunk read keeps the per-line cost of async iteration away). */
export interface LineSource {
  /** Names the source in errors: a file path, or a connector and query. */
  readonly name: string;
  readonly side: Side;
  readonly batches: AsyncIterable<readonly ReconLine[]>;
  /** True when every line was already checked with checkLine (the CSV reader does); the engine checks the others. */
  readonly checked: boolean;
}
