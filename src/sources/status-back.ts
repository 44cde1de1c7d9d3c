/**
 * Status back to the expense platform, made durable: the transaction that records a posting's
 * outcome (or a revision's quarantine) also queues an outbox message to tell the platform, so a
 * crash between posting and confirming loses nothing — the broker delivers the message after the
 * restart — and the message handler (concur-fis.ts) sends it until the platform has it.
 *
 * Only reports that came through SAP Concur FIS get a message: the lookup is one indexed read of
 * `fis_documents` by report, nothing for other sources.
 */
import { kindOfCode } from '../exceptions/exception-causes.ts';
import type { Tx } from '../store/db.ts';
import { enqueueMessage } from '../store/outbox.ts';

export const STATUS_BACK_TOPICS = {
  /** Payload `{ docId }`: confirm the document's posting (success or failure) to Concur FIS. */
  fisPosting: 'fis.confirm-posting',
  /** Payload `{ docId, milestone, ... }`: a reimbursement milestone for Concur FIS. */
  fisPayment: 'fis.confirm-payment',
} as const;

/**
 * Quarantine codes whose fix is in the report itself, in the expense platform (kinds `report` and
 * `policy`): Concur is told of the failure so the report can be corrected and sent again (it comes
 * back as a new document, the next revision, which supersedes this one). Other quarantines are
 * fixed in finsync or the ERP and replayed, and Concur hears of the posting then.
 */
export function isPlatformFix(code: string): boolean {
  const kind = kindOfCode(code);
  return kind === 'report' || kind === 'policy';
}

/** Queues the posting confirmation of the report's Concur document, if the report came through FIS and it is not confirmed yet. */
export async function queuePostingStatus(tx: Tx, reportId: string, revision: number, now: number): Promise<void> {
  const doc = await tx.selectFrom('fis_documents').select(['doc_id', 'posting_status']).where('report_id', '=', reportId).where('revision', '=', revision).executeTakeFirst();
  if (!doc || doc.posting_status !== null) return;
  await enqueueMessage(tx, now, STATUS_BACK_TOPICS.fisPosting, reportId, { docId: doc.doc_id });
}
