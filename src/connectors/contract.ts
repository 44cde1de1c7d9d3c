/**
 * The connector contract: what the posting lanes need from a target ERP. Each connector folder
 * (client.ts, mapping.ts, errors.ts, simulator.ts, fixtures/, README.md) conforms to it; the
 * pipeline imports only this file.
 */
import type { JournalEntry } from '../domain/journal.ts';
import type { LineSource } from '../reconciliation/types.ts';

/** External-system failures, classified. The runner decides retry or quarantine from the kind alone. */
export type ErrorKind = 'transient' | 'rate_limited' | 'unavailable' | 'auth' | 'invalid' | 'conflict' | 'not_found';

export const RETRYABLE_KINDS: ReadonlySet<ErrorKind> = new Set(['transient', 'rate_limited', 'unavailable']);

export interface ConnectorError {
  readonly kind: ErrorKind;
  /** The vendor's own error code when it sent one (e.g. INVALID_CONTENT), else an HTTP or network code. */
  readonly vendorCode: string;
  readonly message: string;
  readonly httpStatus?: number;
  /** From a Retry-After header, in milliseconds. */
  readonly retryAfterMs?: number;
  /** The offending field and value, when the vendor's message names a reference (account, department, ...). */
  readonly field?: string;
  readonly value?: string;
  /** The raw answer, kept on the posting attempt for the exception queue. */
  readonly raw?: string;
}

/** ERP internal ids of the records a journal refers to, resolved from master data by the pipeline. */
export interface ErpReferences {
  readonly subsidiaryId: string;
  readonly accounts: Readonly<Record<string, string>>;
  readonly costCenters: Readonly<Record<string, string>>;
  readonly employees: Readonly<Record<string, string>>;
  readonly taxCodes: Readonly<Record<string, string>>;
}

export interface PostingRequest {
  /** Deterministic from (report, revision, target, kind): the ERP's duplicate guard key. */
  readonly externalKey: string;
  readonly journal: JournalEntry;
  readonly references: ErpReferences;
  readonly correlationId: string;
}

/** Idempotent outcomes are values, not exceptions. */
export type PostOutcome =
  | { readonly status: 'created' | 'already_exists'; readonly documentId: string }
  /** The ERP answered and refused, or could not be reached before the request was sent. */
  | { readonly status: 'failed'; readonly error: ConnectorError }
  /** The request may have reached the ERP (timeout, connection cut after sending): look up before any resend. */
  | { readonly status: 'unknown'; readonly error: ConnectorError };

export type LookupOutcome =
  | { readonly status: 'found'; readonly documentId: string }
  | { readonly status: 'absent' }
  | { readonly status: 'failed'; readonly error: ConnectorError };

export interface TargetConnector {
  /** The connection name, e.g. "netsuite". */
  readonly target: string;
  /** The vendor's limit on requests in flight; the lane never exceeds it. */
  readonly maxConcurrency: number;
  /** The vendor's limits on calls over time (Xero: 60 a minute, 5,000 a day); the lane spaces its calls to stay under them. */
  readonly rateLimit?: { readonly perMinute?: number; readonly perDay?: number };
  post(request: PostingRequest): Promise<PostOutcome>;
  /**
   * Where the ERP takes several documents in one call (an S/4HANA bulk request, one legacy import
   * file): at most this many per call. Absent or 1: the lane posts one at a time.
   */
  readonly maxBatch?: number;
  /**
   * Posts several documents in one call and answers one outcome per request, in the same order. An
   * item that fails is retried alone later; the others are never sent again. A failure of the whole
   * call is an outcome per item too (`failed` when nothing was sent, `unknown` when it may have been).
   */
  postBatch?(requests: readonly PostingRequest[]): Promise<PostOutcome[]>;
  /** Finds the document holding an external key, to settle an unknown outcome before any resend. */
  lookup(externalKey: string): Promise<LookupOutcome>;
  /**
   * Reads back the journals the ERP holds for one entity and accounting period, as the ERP side of
   * a reconciliation (src/reconciliation). A connector without it cannot be reconciled except
   * from a file extract.
   */
  readBack?(scope: ReadBackScope): LineSource;
}

export interface ReadBackScope {
  /** Our entity code, written on every line. */
  readonly entity: string;
  /** The entity's id in the ERP (NetSuite subsidiary). */
  readonly subsidiaryId: string;
  /** `YYYY-MM`. */
  readonly period: string;
  /** Our GL account code for an ERP account id; undefined when finsync knows none (the connector then writes a code of its own, e.g. `netsuite:<id>`, which breaks as an account mismatch). */
  readonly accountCodeOf: (erpId: string) => string | undefined;
}
