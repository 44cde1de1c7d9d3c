/**
 * Reimbursement milestones: the payment run (the ERP, or a bank file) tells finsync that an
 * employee's reimbursement of a posted report is scheduled, paid, failed or returned. Each is an
 * event in the report's timeline (`reimbursement.<milestone>`), counted in
 * `finsync_reimbursements_total{milestone}`, and — for a report that came through SAP Concur FIS —
 * queued as a payment confirmation in the same transaction:
 *
 * | milestone | to Concur |
 * |---|---|
 * | `scheduled` | nothing (FIS has no code for it) |
 * | `paid` | `CP`, completely paid; `PP` when `partial` |
 * | `failed` | nothing: the payment never left; a later `paid` follows |
 * | `returned` | `RE`, reversal: the money came back |
 *
 * A milestone is recorded once per (report, milestone, reference): sending it again is answered
 * as a repeat and queues nothing.
 */
import { AppError } from '../errors.ts';
import { DomainError } from '../domain/domain-error.ts';
import { parseAmount, formatAmount } from '../domain/money.ts';
import type { Store } from '../store/db.ts';
import { appendLog } from '../store/event-log.ts';
import { enqueueMessage } from '../store/outbox.ts';
import { STATUS_BACK_TOPICS } from './status-back.ts';

export const MILESTONES = ['scheduled', 'paid', 'failed', 'returned'] as const;
export type Milestone = (typeof MILESTONES)[number];

export interface MilestoneInput {
  readonly reportId: string;
  readonly milestone: Milestone;
  /** The payment's reference in the payment run or bank file: makes a repeat recognisable. */
  readonly reference: string;
  /** When it happened (ISO 8601); default now. */
  readonly at?: string;
  /** The amount paid or returned, a decimal string in `currency`. */
  readonly amount?: string;
  readonly currency?: string;
  /** For `paid`: part of the amount due only. */
  readonly partial?: boolean;
}

export interface MilestoneResult {
  readonly reportId: string;
  readonly milestone: Milestone;
  readonly status: 'recorded' | 'duplicate';
  /** The Concur FIS payment code queued, when the report came through FIS. */
  readonly platformCode: 'CP' | 'PP' | 'RE' | null;
}

/** The amount written canonically ("12.3" EUR → "12.30"); a DomainError becomes the API error of the same code. */
function normalizedAmount(value: string, currency: string): string {
  try {
    const money = parseAmount(value, currency, 'amount');
    if (money.amountMinor <= 0) throw new AppError('AMOUNT_INVALID', { path: 'amount', detail: 'a reimbursement amount is positive' });
    return formatAmount(money.amountMinor, currency);
  } catch (error) {
    if (error instanceof DomainError) throw new AppError(error.code, error.params);
    throw error;
  }
}

export async function recordMilestone(store: Store, input: MilestoneInput, now: number): Promise<MilestoneResult> {
  const at = input.at ?? new Date(now).toISOString();
  if (Number.isNaN(Date.parse(at))) throw new AppError('REQUEST_INVALID', { detail: `at: ${at} is not a date-time` });
  if ((input.amount === undefined) !== (input.currency === undefined)) throw new AppError('REQUEST_INVALID', { detail: 'amount and currency go together: give both or neither' });
  const amount = input.amount === undefined ? undefined : normalizedAmount(input.amount, input.currency!);
  return store.db.transaction().execute(async (tx) => {
    const report = await tx.selectFrom('reports').select(['correlation_id', 'latest_revision']).where('report_id', '=', input.reportId).executeTakeFirst();
    if (!report) throw new AppError('REPORT_NOT_FOUND', { reportId: input.reportId });
    const kind = `reimbursement.${input.milestone}`;
    const seen = await tx.selectFrom('event_log').select('payload').where('report_id', '=', input.reportId).where('kind', '=', kind).execute();
    if (seen.some((row) => (JSON.parse(row.payload) as { reference?: string }).reference === input.reference)) {
      return { reportId: input.reportId, milestone: input.milestone, status: 'duplicate', platformCode: null };
    }
    const posted = await tx
      .selectFrom('postings')
      .select(['revision', 'document_id'])
      .where('report_id', '=', input.reportId)
      .where('kind', '=', 'journal')
      .where('state', '=', 'posted')
      .orderBy('revision', 'desc')
      .executeTakeFirst();
    if (!posted) throw new AppError('REIMBURSEMENT_NOT_POSTED', { reportId: input.reportId, milestone: input.milestone });
    await appendLog(tx, now, [{ correlationId: report.correlation_id, reportId: input.reportId, revision: posted.revision, kind, payload: { reference: input.reference, at, ...(amount !== undefined && { amount, currency: input.currency }), ...(input.partial && { partial: true }) } }]);
    const code = input.milestone === 'paid' ? (input.partial ? 'PP' : 'CP') : input.milestone === 'returned' ? 'RE' : null;
    const doc = code && (await tx.selectFrom('fis_documents').select(['doc_id', 'company_id']).where('report_id', '=', input.reportId).where('revision', '=', posted.revision).executeTakeFirst());
    if (code && doc) {
      await enqueueMessage(tx, now, STATUS_BACK_TOPICS.fisPayment, input.reportId, {
        docId: doc.doc_id,
        code,
        date: at.slice(0, 10),
        reference: input.reference,
        companyId: doc.company_id,
        ...(posted.document_id && { documentNumber: posted.document_id }),
        ...(amount !== undefined && { amount, currency: input.currency }),
      });
    }
    return { reportId: input.reportId, milestone: input.milestone, status: 'recorded', platformCode: doc ? code : null };
  });
}
