/**
 * SAP Concur FIS as a source of reports, end to end (the protocol is in
 * src/connectors/concur-fis/README.md):
 *
 * 1. **Pull** the READY documents, page by page; read each into a report (revision: 1 for a
 *    report's first document, the next one for a document that replaces it after a failure).
 * 2. **Take it in** as the events API does (inbox de-duplicated on source and document id), and
 *    record the document (`fis_documents`). Only then
 * 3. **acknowledge** it: Concur takes it off the ready queue. A crash before the acknowledgement
 *    means the next pull returns it again, and the inbox answers it as a repeat.
 * 4. **Confirm the posting** when the journal is posted (success with the ERP document number,
 *    company, fiscal year and posting date) or when the report is quarantined for a reason only
 *    the platform can fix (failure with the reason). The confirmation is queued in the transaction
 *    that records the outcome (status-back.ts), so it survives a crash, and is sent until Concur has it.
 * 5. **Confirm payments**: reimbursement milestones (reimbursements.ts) paid → CP (PP when
 *    partial), returned → RE.
 *
 * A document finsync cannot read is acknowledged and confirmed as a failure naming every problem,
 * so the user sees it in Concur's audit trail and can correct and resubmit the report.
 * Concur answering 102/112 (recalled) takes a recall in, as the events API would.
 */
import type { Logger } from 'pino';
import { createConcurFisClient, type ConcurFisClient, type DocumentResult, type FisPostingConfirmation } from '../connectors/concur-fis/client.ts';
import { fromFisDocument, type FromFisOptions } from '../connectors/concur-fis/document.ts';
import { EVENT_TYPES } from '../domain/events.ts';
import { postingDateOf, type ReportInput } from '../domain/report.ts';
import { DeliverLater } from '../pipeline/broker.ts';
import type { Clock } from '../pipeline/clock.ts';
import type { Db, Store } from '../store/db.ts';
import type { OutboxMessage } from '../store/outbox.ts';
import { platformReportEvent } from '../reconcile/heal.ts';
import type { PlatformKey, PlatformReport } from '../reconcile/platform-lines.ts';
import type { PlatformConnection } from '../reconcile/sides.ts';
import { isPlatformFix, STATUS_BACK_TOPICS } from './status-back.ts';

export interface ConcurFisSourceOptions {
  readonly client: ConcurFisClient;
  /** The inbox source of its reports, e.g. `concur-fis`. */
  readonly source: string;
  readonly parse?: FromFisOptions;
  /** The entities whose reports come this way (the platform side of their reconciliation); all when absent. */
  readonly entities?: readonly string[];
  readonly pollIntervalMs: number;
  /** Documents per page pulled; default 100. */
  readonly pageLimit?: number;
}

export interface ConcurFisDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly ingest: (events: readonly object[]) => Promise<{ refused: { id: string; code: string; message: string }[] }>;
}

export interface PollResult {
  readonly pulled: number;
  readonly ingested: number;
  readonly unreadable: number;
  readonly acknowledged: number;
}

export interface ConcurFisSource {
  readonly source: string;
  /** One pull of the ready queue, taken in and acknowledged. */
  pollOnce(): Promise<PollResult>;
  start(): void;
  stop(): Promise<void>;
  /** The broker handlers of the status-back topics. */
  confirmPosting(message: OutboxMessage): Promise<void>;
  confirmPayment(message: OutboxMessage): Promise<void>;
  /** Concur as the platform side of reconciliation. */
  readonly platform: PlatformConnection;
}

/** Intake refusals only a corrected report can cure: confirmed to Concur as failures. */
const PLATFORM_FIX_PREFIXES = ['EVENT_INVALID', 'AMOUNT_', 'ALLOCATION_', 'CURRENCY_', 'REPORT_', 'REVISION_'];

/** A status-back call Concur did not take yet: thrown so the broker redelivers with backoff. */
class NotYetConfirmed extends DeliverLater {}

export function createConcurFisSource(deps: ConcurFisDeps, options: ConcurFisSourceOptions): ConcurFisSource {
  const { client, source } = options;
  const db = deps.store.db;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;

  async function pollOnce(): Promise<PollResult> {
    let pulled = 0;
    let ingested = 0;
    let unreadable = 0;
    let acknowledged = 0;
    // Page 0 each time: acknowledged documents leave the queue, so the next page 0 holds the next ones.
    for (let round = 0; round < 1_000; round++) {
      const answer = await client.pull({ page: 0, limit: options.pageLimit ?? 100 });
      if (!answer.ok) {
        deps.logger.warn({ err: answer.error }, 'concur fis: pull failed; retrying at the next poll');
        break;
      }
      const { content } = answer.page;
      if (content.length === 0) break;
      pulled += content.length;
      const { toAck, failures, taken } = await takePage(content);
      ingested += taken;
      unreadable += failures.length;
      acknowledged += await acknowledge(toAck);
      if (failures.length > 0) await sendPostingConfirmations(failures);
      if (toAck.length === 0) break;
    }
    return { pulled, ingested, unreadable, acknowledged };
  }

  /**
   * Takes a page of documents in (one transaction for the whole page unless one is refused): the
   * documents to acknowledge (taken in, or unreadable), and the failure confirmations to send for
   * the unreadable ones and for reports only Concur can fix. A document the hub could not store now
   * is neither: it stays ready for the next poll.
   */
  async function takePage(content: readonly { id: string; companyId?: string | null; document: unknown }[]): Promise<{ toAck: string[]; failures: FisPostingConfirmation[]; taken: number }> {
    const toAck: string[] = [];
    const failures: FisPostingConfirmation[] = [];
    const events: object[] = [];
    for (const transaction of content) {
      const docId = transaction.id;
      const companyId = transaction.companyId ?? '';
      const parsed = fromFisDocument(transaction, options.parse);
      if (!parsed.ok) {
        await recordDocument(docId, `unreadable:${docId}`, 1, companyId, 'error');
        failures.push(failure(docId, parsed.problems.map((p) => ({ short: 'DOCUMENT_INVALID', long: `${p.path}: ${p.message}` }))));
        toAck.push(docId);
        continue;
      }
      const report = await withRevision(docId, parsed.report);
      // Recorded before the report is taken in: the transaction that posts it must find the document to confirm.
      await recordDocument(docId, report.reportId, report.revision, companyId, null);
      events.push(platformReportEvent(source, docId, report));
    }
    const refused = new Map((events.length > 0 ? (await deps.ingest(events)).refused : []).map((r) => [r.id, r]));
    let taken = 0;
    for (const event of events as { id: string }[]) {
      const refusal = refused.get(event.id);
      if (!refusal) {
        taken++;
        toAck.push(event.id);
      } else if (PLATFORM_FIX_PREFIXES.some((prefix) => refusal.code.startsWith(prefix))) {
        // The hub refused the report itself (schema, amounts): only the platform can fix it.
        await db.updateTable('fis_documents').set({ posting_status: 'error', posting_confirmed_at: deps.clock.now() }).where('doc_id', '=', event.id).execute();
        failures.push(failure(event.id, [{ short: refusal.code, long: refusal.message }]));
        toAck.push(event.id);
      } else {
        deps.logger.warn({ docId: event.id, code: refusal.code }, 'concur fis: document not taken in; it stays ready for the next poll');
      }
    }
    return { toAck, failures, taken };
  }

  /** A report's first document is revision 1; a later document for the same report (resubmitted after a failure) the next. */
  async function withRevision(docId: string, report: ReportInput): Promise<ReportInput> {
    const docs = await db.selectFrom('fis_documents').select(['doc_id', 'revision']).where('report_id', '=', report.reportId).execute();
    const known = docs.find((d) => d.doc_id === docId);
    const revision = known?.revision ?? docs.reduce((max, d) => Math.max(max, d.revision), 0) + 1;
    return { ...report, revision };
  }

  async function recordDocument(docId: string, reportId: string, revision: number, companyId: string, postingStatus: 'error' | null): Promise<void> {
    const now = deps.clock.now();
    await db
      .insertInto('fis_documents')
      .values({ doc_id: docId, report_id: reportId, revision, company_id: companyId, pulled_at: now, acked_at: null, posting_status: postingStatus, document_number: null, posting_confirmed_at: postingStatus === null ? null : now, payment_status: null, payment_confirmed_at: null })
      .onConflict((oc) => oc.column('doc_id').doNothing())
      .execute();
  }

  async function acknowledge(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const answer = await client.acknowledge(ids);
    if (!answer.ok) {
      deps.logger.warn({ err: answer.error, documents: ids.length }, 'concur fis: acknowledgement failed; the documents come again at the next poll and are answered as repeats');
      return 0;
    }
    const now = deps.clock.now();
    let done = 0;
    for (const result of answer.results) {
      if (result.outcome === 'ok' || result.outcome === 'already_done') {
        await db.updateTable('fis_documents').set({ acked_at: now }).where('doc_id', '=', result.docId).where('acked_at', 'is', null).execute();
        done++;
      } else if (result.outcome === 'recalled') await takeRecall(result.docId);
      else deps.logger.warn({ docId: result.docId, code: result.code, message: result.errorMessage }, 'concur fis: acknowledgement refused');
    }
    return done;
  }

  async function takeRecall(docId: string): Promise<void> {
    const doc = await db.selectFrom('fis_documents').select(['report_id', 'revision']).where('doc_id', '=', docId).executeTakeFirst();
    if (!doc || doc.report_id.startsWith('unreadable:')) return;
    await deps.ingest([{ specversion: '1.0', id: `${docId}-recalled`, source, type: EVENT_TYPES.recalled, subject: doc.report_id, data: { reportId: doc.report_id, revision: doc.revision, reason: 'recalled in SAP Concur' } }]);
    await db.updateTable('fis_documents').set({ posting_status: 'recalled', posting_confirmed_at: deps.clock.now() }).where('doc_id', '=', docId).execute();
  }

  async function sendPostingConfirmations(entries: readonly FisPostingConfirmation[]): Promise<void> {
    const answer = await client.confirmPosting(entries);
    if (!answer.ok) throw new NotYetConfirmed(`concur fis: posting confirmation failed (${answer.error.kind}): ${answer.error.message}`);
    for (const result of answer.results) await settlePostingResult(result, entries.find((e) => e.docId === result.docId));
  }

  async function settlePostingResult(result: DocumentResult, sent: FisPostingConfirmation | undefined): Promise<void> {
    const now = deps.clock.now();
    switch (result.outcome) {
      case 'ok':
      case 'already_done':
        await db
          .updateTable('fis_documents')
          .set({ posting_status: sent?.overallPostingStatusCode ?? 'success', document_number: sent?.postingDocs[0]?.documentNumber ?? null, posting_confirmed_at: now })
          .where('doc_id', '=', result.docId)
          .execute();
        return;
      case 'recalled':
        await takeRecall(result.docId);
        return;
      case 'retry':
        throw new NotYetConfirmed(`concur fis: ${result.docId} answered ${result.code}; retrying`);
      case 'state':
        // Not acknowledged yet (111): acknowledge, then the confirmation is tried again.
        await acknowledge([result.docId]);
        throw new NotYetConfirmed(`concur fis: ${result.docId} was not acknowledged (${result.code}); acknowledged now, confirming again`);
      default:
        deps.logger.error({ docId: result.docId, code: result.code, message: result.errorMessage }, 'concur fis: posting confirmation refused; not retried');
        await db.updateTable('fis_documents').set({ posting_status: `refused:${result.code}`, posting_confirmed_at: now }).where('doc_id', '=', result.docId).execute();
    }
  }

  async function confirmPosting(message: OutboxMessage): Promise<void> {
    const { docId } = message.payload as { docId: string };
    // The pipeline can post before the poller's acknowledgement is out; Concur would answer 111.
    // Wait for it rather than acknowledge here too: each document is acknowledged once, by the poller.
    const doc = await db.selectFrom('fis_documents').select(['acked_at', 'posting_status']).where('doc_id', '=', docId).executeTakeFirst();
    if (doc && doc.posting_status === null && doc.acked_at === null) throw new NotYetConfirmed(`concur fis: ${docId} is not acknowledged yet`);
    const entry = await postingConfirmationOf(db, docId);
    if (entry) await sendPostingConfirmations([entry]);
  }

  async function confirmPayment(message: OutboxMessage): Promise<void> {
    const payload = message.payload as { docId: string; code: 'CP' | 'PP' | 'RE'; amount?: string; currency?: string; date: string; reference?: string; companyId: string; documentNumber?: string };
    const answer = await client.confirmPayment([
      {
        docId: payload.docId,
        processingStatusCode: payload.code,
        ...(payload.amount !== undefined &&
          payload.currency !== undefined && {
            clearingDetails: [{ clearingDate: payload.date, clearingAmount: payload.amount, clearingCurrency: payload.currency, clearingReference: { companyCode: payload.companyId, ...(payload.documentNumber && { financialDocumentId: payload.documentNumber }), ...(payload.reference && { paymentRef: payload.reference }), paymentMethod: 'E' } }],
          }),
      },
    ]);
    if (!answer.ok) throw new NotYetConfirmed(`concur fis: payment confirmation failed (${answer.error.kind}): ${answer.error.message}`);
    const [result] = answer.results;
    if (result?.outcome === 'retry') throw new NotYetConfirmed(`concur fis: payment confirmation of ${payload.docId} answered ${result.code}; retrying`);
    const ok = result?.outcome === 'ok' || result?.outcome === 'already_done';
    if (!ok) deps.logger.error({ docId: payload.docId, code: result?.code, message: result?.errorMessage }, 'concur fis: payment confirmation refused; not retried');
    await db.updateTable('fis_documents').set({ payment_status: ok ? payload.code : `refused:${result?.code ?? '?'}`, payment_confirmed_at: deps.clock.now() }).where('doc_id', '=', payload.docId).execute();
  }

  const platform: PlatformConnection = {
    ...(options.entities && { entities: options.entities }),
    reader: { name: `concur-fis (${source})`, source, reports: (entity, period) => readAll(entity, period) },
    fetch: async (key: PlatformKey) => {
      const answer = await client.pull({ docId: key.eventId, ignoreDocumentStatus: true });
      if (!answer.ok) throw Object.assign(new Error(answer.error.message), { side: 'platform' });
      const transaction = answer.page.content.find((t) => t.id === key.eventId);
      const parsed = transaction && fromFisDocument(transaction, options.parse);
      return parsed?.ok ? withRevision(key.eventId, parsed.report) : undefined;
    },
  };

  /** Every document, whatever its status (ignoreDocumentStatus), with the report's approval status from Expense v4. */
  async function* readAll(entity: string, period: string): AsyncGenerator<readonly PlatformReport[]> {
    for await (const answer of client.pages({ ignoreDocumentStatus: true, limit: 100 })) {
      if (!answer.ok) throw Object.assign(new Error(`concur fis: ${answer.error.message}`), { side: 'platform' });
      const page: PlatformReport[] = [];
      for (const transaction of answer.page.content) {
        const parsed = fromFisDocument(transaction, options.parse);
        if (!parsed.ok || parsed.report.entity !== entity || postingDateOf(parsed.report).slice(0, 7) !== period) continue;
        const report = await withRevision(transaction.id, parsed.report);
        page.push({ report, eventId: transaction.id, status: await approvalStatus(report) });
      }
      yield page;
    }
  }

  async function approvalStatus(report: ReportInput): Promise<'approved' | 'recalled'> {
    const concurId = report.reportId.slice((options.parse?.reportIdPrefix ?? '').length);
    const answer = await client.getReport(report.employeeId, concurId);
    if (!answer.ok) {
      if (answer.error.kind === 'not_found') return 'recalled';
      throw Object.assign(new Error(`concur expense v4: ${answer.error.message}`), { side: 'platform' });
    }
    return answer.report.approvalStatusId === 'A_APPR' ? 'approved' : 'recalled';
  }

  function schedule(): void {
    timer = setTimeout(() => {
      running = pollOnce()
        .catch((error: unknown) => deps.logger.error({ err: error }, 'concur fis: poll failed'))
        .finally(() => {
          running = undefined;
          if (timer !== undefined) schedule();
        });
    }, options.pollIntervalMs);
  }

  return {
    source,
    pollOnce,
    start() {
      if (timer === undefined) schedule();
    },
    async stop() {
      clearTimeout(timer);
      timer = undefined;
      await running;
    },
    confirmPosting,
    confirmPayment,
    platform,
  };
}

function failure(docId: string, messages: readonly { short: string; long: string }[]): FisPostingConfirmation {
  return { docId, overallPostingStatusCode: 'error', postingDocs: [], systemMessages: messages.slice(0, 50).map((m) => ({ messageShortText: m.short.slice(0, 50), messageLongText: m.long.slice(0, 1_000) })) };
}

/**
 * The confirmation a document's report calls for now: success once its journal is posted (with the
 * ERP document), failure while it is quarantined for a reason the platform must fix, else none
 * (nothing to say yet, or already said).
 */
export async function postingConfirmationOf(db: Db, docId: string): Promise<FisPostingConfirmation | undefined> {
  const doc = await db.selectFrom('fis_documents').selectAll().where('doc_id', '=', docId).executeTakeFirst();
  if (!doc || doc.posting_status !== null) return undefined;
  const revision = await db.selectFrom('revisions').select(['state', 'reason_code', 'reason_detail']).where('report_id', '=', doc.report_id).where('revision', '=', doc.revision).executeTakeFirst();
  const posting = await db
    .selectFrom('postings')
    .select(['document_id', 'journal', 'posted_at'])
    .where('report_id', '=', doc.report_id)
    .where('revision', '=', doc.revision)
    .where('kind', '=', 'journal')
    .where('state', '=', 'posted')
    .executeTakeFirst();
  if (posting?.document_id) {
    const postingDate = (JSON.parse(posting.journal) as { postingDate: string }).postingDate;
    return { docId, overallPostingStatusCode: 'success', postingDocs: [{ companyId: doc.company_id, documentNumber: posting.document_id, fiscalYear: Number(postingDate.slice(0, 4)), postingDate }], systemMessages: [] };
  }
  if (revision?.state === 'quarantined' && revision.reason_code !== null && isPlatformFix(revision.reason_code)) {
    return failure(docId, [{ short: revision.reason_code, long: revision.reason_detail ?? revision.reason_code }]);
  }
  return undefined;
}

export { createConcurFisClient };
