/**
 * The demo's closing figures. ERP figures come from the simulator's own ledger over its admin
 * HTTP routes, not from finsync's records, so they check finsync rather than repeat it.
 */
import { checkBalance, type JournalEntry } from '../domain/journal.ts';
import type { Store } from '../store/db.ts';
import { countLogKinds } from '../store/event-log.ts';
import { countReportStates } from '../store/reports.ts';
import { countAllDefects } from '../mapping/mapping-store.ts';
import { versionRef } from '../mapping/rule-set.ts';
import type { SimDocumentView } from '../connectors/concur-fis/simulator.ts';
import type { ReconRunSummary } from '../reconcile/run.ts';

export interface DemoSummary {
  reports: number;
  posted: number;
  quarantined: number;
  quarantineReasons: Record<string, number>;
  /** Reports still waiting for master data no source has brought. */
  waiting: number;
  waitingReasons: Record<string, number>;
  /** Report revisions that waited for master data and resumed by themselves when a sync brought it. */
  resumedAfterMasterData: number;
  /** Current master-data records in the hub (every system). */
  masterDataRecords: number;
  /** The mapping rule-set versions approved (the sample rule files, installed as version 1 of each scope). */
  ruleSets: string[];
  /** Quarantines a mapping was to blame for (docs/mapping.md), replayed or not. */
  mappingDefects: number;
  duplicatesPrevented: number;
  erpDocuments: number;
  erpDuplicates: number;
  reversals: number;
  unbalanced: number;
  lagMsP50: number;
  lagMsP99: number;
  elapsedMs: number;
  /** SAP Concur FIS as a source, from the simulator's own record of what it received. */
  concur?: {
    documents: number;
    /** Documents acknowledged exactly once (and none more than once). */
    acknowledgedOnce: number;
    acknowledgedMoreThanOnce: number;
    confirmedSuccess: number;
    confirmedFailure: number;
    /** Accepted payment confirmations by code (CP, PP, RE). */
    payments: Record<string, number>;
  };
  /** The three-way reconciliation of DE01 at the end of the run. */
  reconciliation?: {
    entity: string;
    period: string;
    completeness: string | null;
    breaks: Record<string, number>;
    healed: Record<string, number>;
    exceptionsOpened: number;
    alreadyInQueue: number;
  };
}

export interface SummaryExtras {
  readonly concur?: { documents(): readonly SimDocumentView[] };
  readonly reconciliation?: ReconRunSummary;
}

function concurFigures(documents: readonly SimDocumentView[]): NonNullable<DemoSummary['concur']> {
  const payments: Record<string, number> = {};
  for (const d of documents) for (const p of d.paymentConfirmations) if (p.code === 0) payments[p.processingStatusCode] = (payments[p.processingStatusCode] ?? 0) + 1;
  return {
    documents: documents.length,
    acknowledgedOnce: documents.filter((d) => d.acknowledgements.successful === 1).length,
    acknowledgedMoreThanOnce: documents.filter((d) => d.acknowledgements.successful + d.acknowledgements.repeats > 1).length,
    confirmedSuccess: documents.filter((d) => d.status === 'POSTING_CONFIRMED_SUCCESS').length,
    confirmedFailure: documents.filter((d) => d.status === 'POSTING_CONFIRMED_FAILURE').length,
    payments,
  };
}

interface SimLedgerDocument {
  currency: string;
  lines: { debitMinor: number; creditMinor: number }[];
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

export async function summarizeDemo(store: Store, simulatorUrl: string, startedAt: number, now: number, extras: SummaryExtras = {}): Promise<DemoSummary> {
  const states = await countReportStates(store.db);
  const kinds = await countLogKinds(store.db, ['event.duplicate', 'revision.duplicate', 'posting.found-on-lookup', 'revision.resumed']);
  const records = await store.db.selectFrom('md_records').select((eb) => eb.fn.countAll<number>().as('n')).where('replaced_at', 'is', null).executeTakeFirst();
  const stats = (await (await fetch(`${simulatorUrl}/__sim/stats`)).json()) as { documents: number; duplicateExternalIds: number };
  const ledger = (await (await fetch(`${simulatorUrl}/__sim/ledger`)).json()) as SimLedgerDocument[];
  const erpUnbalanced = ledger.filter((d) => d.lines.reduce((sum, l) => sum + l.debitMinor - l.creditMinor, 0) !== 0 || d.lines.length === 0).length;
  const posted = await store.db.selectFrom('postings').select(['kind', 'journal', 'posted_at', 'approved_at']).where('state', '=', 'posted').execute();
  const hubUnbalanced = posted.filter((p) => !checkBalance(JSON.parse(p.journal) as JournalEntry).balanced).length;
  const ruleSets = await store.db.selectFrom('mapping_versions').select(['scope', 'version']).where('state', '=', 'approved').orderBy('scope').orderBy('version').execute();
  const lags = posted.filter((p) => p.kind === 'journal').map((p) => Number(p.posted_at) - Number(p.approved_at)).sort((a, b) => a - b);
  return {
    reports: states.reports,
    posted: states.byState.posted ?? 0,
    quarantined: states.byState.quarantined ?? 0,
    quarantineReasons: states.quarantineReasons,
    waiting: states.byState.waiting ?? 0,
    waitingReasons: states.waitingReasons,
    resumedAfterMasterData: kinds['revision.resumed'],
    masterDataRecords: Number(records?.n ?? 0),
    ruleSets: ruleSets.map((r) => versionRef(r.scope, r.version)),
    mappingDefects: await countAllDefects(store.db),
    duplicatesPrevented: kinds['event.duplicate'] + kinds['revision.duplicate'] + kinds['posting.found-on-lookup'],
    erpDocuments: stats.documents,
    erpDuplicates: stats.duplicateExternalIds,
    reversals: posted.filter((p) => p.kind === 'reversal').length,
    unbalanced: erpUnbalanced + hubUnbalanced,
    lagMsP50: percentile(lags, 50),
    lagMsP99: percentile(lags, 99),
    elapsedMs: now - startedAt,
    ...(extras.concur && { concur: concurFigures(extras.concur.documents()) }),
    ...(extras.reconciliation && {
      reconciliation: {
        entity: extras.reconciliation.entity,
        period: extras.reconciliation.period,
        completeness: extras.reconciliation.completeness.percent,
        breaks: { ...extras.reconciliation.breaks },
        healed: { ...extras.reconciliation.healed },
        exceptionsOpened: extras.reconciliation.exceptionsOpened,
        alreadyInQueue: extras.reconciliation.alreadyInQueue,
      },
    }),
  };
}

export function formatSummary(s: DemoSummary): string {
  const reasons = Object.entries(s.quarantineReasons).map(([code, n]) => `    ${code}: ${n}`).join('\n');
  const waiting = Object.entries(s.waitingReasons).map(([code, n]) => `    ${code}: ${n}`).join('\n');
  return [
    `finsync demo: ${s.reports} reports in ${(s.elapsedMs / 1000).toFixed(1)} s`,
    `  posted:               ${s.posted}`,
    `  quarantined:          ${s.quarantined}${reasons ? `\n${reasons}` : ''}`,
    `  waiting for master data: ${s.waiting}${waiting ? `\n${waiting}` : ''}`,
    `  resumed after a master-data sync: ${s.resumedAfterMasterData} (master-data records held: ${s.masterDataRecords})`,
    `  mapping rule sets:    ${s.ruleSets.join(', ')} (mapping defects: ${s.mappingDefects})`,
    `  reversals posted:     ${s.reversals}`,
    `  duplicates prevented: ${s.duplicatesPrevented}`,
    `  ERP documents:        ${s.erpDocuments} (external ids with more than one document: ${s.erpDuplicates})`,
    `  unbalanced journals:  ${s.unbalanced}`,
    `  approval-to-posted lag: p50 ${s.lagMsP50} ms, p99 ${s.lagMsP99} ms`,
    ...(s.concur
      ? [
          `  SAP Concur FIS:       ${s.concur.documents} documents, ${s.concur.acknowledgedOnce} acknowledged once (more than once: ${s.concur.acknowledgedMoreThanOnce}), ${s.concur.confirmedSuccess} confirmed posted, ${s.concur.confirmedFailure} confirmed failed`,
          `  payments confirmed:   ${Object.entries(s.concur.payments).map(([code, n]) => `${code} ${n}`).join(', ') || 'none'}`,
        ]
      : []),
    ...(s.reconciliation
      ? [
          `  reconciliation ${s.reconciliation.entity} ${s.reconciliation.period}: ${s.reconciliation.completeness ?? 'n/a'}% complete; breaks ${breakList(s.reconciliation.breaks)}; ${s.reconciliation.alreadyInQueue} already in the exception queue; ${s.reconciliation.exceptionsOpened} new exceptions`,
        ]
      : []),
  ].join('\n');
}

function breakList(breaks: Record<string, number>): string {
  const found = Object.entries(breaks).filter(([, n]) => n > 0);
  return found.length === 0 ? 'none' : found.map(([c, n]) => `${n} ${c}`).join(', ');
}

