/**
 * The per-revision state machine, up to the posting queue: received → validated → mapped →
 * queued, or quarantined with a coded reason. One transaction per step run, holding the report's
 * row lock, so two revisions of one report never interleave. A newer revision supersedes an
 * unposted older one; after a posting (or while one is in flight) it queues a reversal first.
 */
import { checkBalance, reverseJournal, type JournalEntry } from '../domain/journal.ts';
import { postingKey } from '../domain/keys.ts';
import { postingDateOf, type ExpenseReport } from '../domain/report.ts';
import type { RoutingService } from '../routing/routing.ts';
import { formatErrorMessage, type ErrorCode } from '../errors.ts';
import type { MappingService } from '../mapping/mapping-service.ts';
import { recordDefect } from '../mapping/mapping-store.ts';
import { MAPPING_DEFECT_CODES } from '../mapping/rule-set.ts';
import type { ReferenceData } from '../masterdata/md-index.ts';
import { authoritativeExists, clearBlockers, findResumable, lockMasterData, recordBlockers, type Blocker } from '../masterdata/md-store.ts';
import { enqueueMessage } from '../store/outbox.ts';
import { TOPICS } from './topics.ts';
import { isPlatformFix, queuePostingStatus } from '../sources/status-back.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Store, Tx } from '../store/db.ts';
import { lockReportRow } from '../store/reports.ts';
import { appendLog } from '../store/event-log.ts';
import type { ErpReferences } from '../connectors/contract.ts';
import { onlyMissingData, type Finding } from '../validation/validate-report.ts';
import type { Clock } from './clock.ts';

export interface ProcessDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly reference: ReferenceData;
  /** Master-data and policy findings for a report whose mapping posts to `accountsUsed`. */
  readonly validate: (report: ExpenseReport, accountsUsed: readonly string[]) => Finding[];
  /** Brings the in-memory reference data up to the store's change feed. */
  readonly refreshReference: () => Promise<void>;
  /** The governed rule sets in force (refreshed inside each step's transaction). */
  readonly mapping: MappingService;
  readonly metrics: Metrics;
  readonly notifyLane: (target: string) => void;
  /** Which target holds an entity's journal on a date (cutovers, shadow targets). */
  readonly routing: RoutingService;
}

type Outcome = { queuedTargets?: string[]; quarantined?: ErrorCode; indexBehind?: boolean; mappingDefect?: { entity: string; version: string } };

export async function processRevision(deps: ProcessDeps, reportId: string, revision: number, completeIn?: (tx: Tx) => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const outcome = await deps.store.db.transaction().execute(async (tx): Promise<Outcome> => {
      const result = await stepRevision(deps, tx, reportId, revision, attempt > 1);
      if (!result.indexBehind) await completeIn?.(tx);
      return result;
    });
    if (outcome.indexBehind) {
      // The store holds a record this process's index has not read yet: catch up and run again.
      await deps.refreshReference();
      continue;
    }
    if (outcome.quarantined) deps.metrics.quarantines.inc({ code: outcome.quarantined });
    if (outcome.quarantined && outcome.mappingDefect) deps.metrics.mappingDefects.inc({ ...outcome.mappingDefect, code: outcome.quarantined });
    for (const target of outcome.queuedTargets ?? []) deps.notifyLane(target);
    return;
  }
}

async function stepRevision(deps: ProcessDeps, tx: Tx, reportId: string, revision: number, refreshed: boolean): Promise<Outcome> {
  const latest = (await lockReportRow(tx, deps.store, reportId))?.latestRevision;
  const row = await tx.selectFrom('revisions').selectAll().where('report_id', '=', reportId).where('revision', '=', revision).executeTakeFirst();
  if (!row || row.state !== 'received' || latest === undefined) return {};
  const now = deps.clock.now();
  const log = { correlationId: row.correlation_id, reportId, revision };
  if (revision < latest) {
    await setRevisionState(tx, reportId, revision, now, 'superseded', 'STALE_REVISION', `revision ${latest} arrived before this one was processed`);
    await appendLog(tx, now, [{ ...log, kind: 'revision.superseded', payload: { latest } }]);
    return {};
  }
  const report = JSON.parse(row.report) as ExpenseReport;
  // An approval in another process is in force for this report as soon as it is committed.
  await deps.mapping.refresh(tx);
  const built = await buildForReport(deps, report);
  if ('code' in built) {
    const findings = built.findings ?? [];
    if (onlyMissingData(findings)) {
      const parked = await parkRevision(deps, tx, reportId, revision, now, row.correlation_id, findings, refreshed);
      return parked === 'index-behind' ? { indexBehind: true } : {};
    }
    await recordBlockers(tx, reportId, revision, blockersOf(findings), now);
    await quarantineRevision(tx, reportId, revision, now, row.correlation_id, built.code, built.params, findings.length > 0 ? findings : undefined, built.mappingVersion);
    const defect = MAPPING_DEFECT_CODES.includes(built.code) && built.mappingVersion !== undefined;
    if (built.mappingVersion !== undefined) {
      await tx.updateTable('revisions').set({ mapping_version: built.mappingVersion }).where('report_id', '=', reportId).where('revision', '=', revision).execute();
    }
    // Which rule sets were in force: a mapping defect is counted against them (docs/mapping.md).
    if (defect) await recordDefect(tx, built.mappingVersion!, built.code, reportId, revision, now);
    return { quarantined: built.code, ...(defect && { mappingDefect: { entity: report.entity, version: built.mappingVersion! } }) };
  }
  const entity = deps.reference.entity(report.entity);
  if (!entity) throw new Error('Assertion failed: validation checked the entity');
  await appendLog(tx, now, [
    { ...log, kind: 'revision.validated', ...(built.warnings.length > 0 && { payload: { findings: built.warnings } }) },
    { ...log, kind: 'revision.mapped', payload: { mappingVersion: built.mappingVersion, journal: built.journal } },
  ]);
  await supersedeEarlier(tx, reportId, revision, now, row.correlation_id);
  // Where it posts: the routing in force for the entity on the posting date (a cutover moves it), and a shadow target during a migration wave.
  await deps.routing.refresh(tx);
  const route = deps.routing.route(entity, { entity: report.entity, date: postingDateOf(report), ...(report.customFields?.ledger !== undefined && { ledger: report.customFields.ledger }), processType: 'expense' });
  const externalKey = postingKey(reportId, revision, route.target);
  const common = { reportId, revision, entity: report.entity, kind: 'journal' as const, journal: built.journal, correlationId: row.correlation_id, approvedAt: row.approved_at, now };
  await insertPosting(tx, { ...common, target: route.target, externalKey, references: resolveReferences(deps.reference, built.journal, route.companyId, report), role: 'primary' });
  const shadowKey = route.shadow && postingKey(reportId, revision, route.shadow.target);
  if (route.shadow && shadowKey) {
    await insertPosting(tx, { ...common, target: route.shadow.target, externalKey: shadowKey, references: resolveReferences(deps.reference, built.journal, route.shadow.companyId, report), role: 'shadow' });
  }
  await tx.updateTable('revisions').set({ state: 'queued', journal: JSON.stringify(built.journal), mapping_version: built.mappingVersion, target: route.target, updated_at: now }).where('report_id', '=', reportId).where('revision', '=', revision).execute();
  await appendLog(tx, now, [{ ...log, kind: 'revision.queued', payload: { target: route.target, externalKey, routingVersion: route.version, ...(route.shadow && { shadow: { target: route.shadow.target, externalKey: shadowKey } }) } }]);
  return { queuedTargets: route.shadow ? [route.target, route.shadow.target] : [route.target] };
}

type Built =
  | { journal: JournalEntry; mappingVersion: string; warnings: Finding[] }
  | { code: ErrorCode; params: Record<string, string | number>; findings?: Finding[]; mappingVersion?: string };

async function buildForReport(deps: ProcessDeps, report: ExpenseReport): Promise<Built> {
  if (!deps.reference.entity(report.entity)) return { code: 'MD_ENTITY_UNKNOWN', params: { entity: report.entity } };
  const findings = deps.validate(report, deps.mapping.accountsUsed(report));
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length > 0) return { code: errors[0].code, params: errors[0].params, findings, mappingVersion: deps.mapping.versionFor(report) };
  const mapped = await deps.mapping.mapReport(report);
  if (!mapped.ok) return { code: mapped.code, params: mapped.params, mappingVersion: mapped.mappingVersion };
  if (mapped.journal.lines.length === 0) return { code: 'REPORT_NOTHING_TO_POST', params: { reportId: report.reportId, revision: report.revision } };
  const balance = checkBalance(mapped.journal);
  if (!balance.balanced) {
    return {
      code: 'JOURNAL_UNBALANCED',
      params: { reportId: report.reportId, revision: report.revision, currency: balance.currency, debitMinor: balance.debitMinor, creditMinor: balance.creditMinor },
      mappingVersion: mapped.mappingVersion,
    };
  }
  return { journal: mapped.journal, mappingVersion: mapped.mappingVersion, warnings: findings };
}

function blockersOf(findings: readonly Finding[]): Blocker[] {
  return findings.flatMap((f) => (f.record ? [{ kind: f.record.kind, entity: f.record.entity, key: f.record.key, reason: f.record.state }] : []));
}

/**
 * Parks a revision that only lacks master data: state `waiting`, with the records it waits for in
 * md_blockers, until a sync brings them (resumeWaiting). Under the master-data lock, and after
 * checking the store itself, so a record committed a moment ago cannot slip between this
 * process's index and the parking: then the index is behind, and the caller refreshes and retries.
 */
async function parkRevision(deps: ProcessDeps, tx: Tx, reportId: string, revision: number, now: number, correlationId: string, findings: readonly Finding[], refreshed: boolean): Promise<'parked' | 'index-behind'> {
  await lockMasterData(tx, deps.store, 'shared');
  const missing = blockersOf(findings).filter((b) => b.reason === 'missing');
  for (const blocker of missing) {
    if (await authoritativeExists(tx, blocker.kind, blocker.entity, blocker.key)) {
      if (!refreshed) return 'index-behind';
      throw new Error(`Assertion failed: ${blocker.kind} ${blocker.key} of ${blocker.entity} is in the store but not in the refreshed index`);
    }
  }
  await recordBlockers(tx, reportId, revision, missing, now);
  const first = findings.find((f) => f.severity === 'error')!;
  await setRevisionState(tx, reportId, revision, now, 'waiting', first.code, first.message);
  await appendLog(tx, now, [{ correlationId, reportId, revision, kind: 'revision.waiting', payload: { waitingFor: missing, findings } }]);
  return 'parked';
}

/**
 * Runs again every revision that waited for a record the current master-data batch brought
 * (rows with seq > fromSeq). Called inside the batch's transaction, so the batch and the resumption
 * commit together. Returns how many revisions resumed.
 */
export async function resumeWaiting(tx: Tx, fromSeq: number, now: number): Promise<number> {
  let resumed = 0;
  for (const { reportId, revision } of await findResumable(tx, fromSeq)) {
    await clearBlockers(tx, reportId, revision);
    // A conditional update, not the report's row lock: processing holds that lock while it waits
    // for the master-data lock this batch holds, so taking it here could deadlock. A revision that
    // stopped waiting meanwhile (recalled, superseded) is left alone.
    const updated = await tx
      .updateTable('revisions')
      .set({ state: 'received', reason_code: null, reason_detail: null, updated_at: now })
      .where('report_id', '=', reportId)
      .where('revision', '=', revision)
      .where('state', '=', 'waiting')
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) !== 1) continue;
    const row = await tx.selectFrom('revisions').select('correlation_id').where('report_id', '=', reportId).where('revision', '=', revision).executeTakeFirstOrThrow();
    await appendLog(tx, now, [{ correlationId: row.correlation_id, reportId, revision, kind: 'revision.resumed', payload: { reason: 'master data arrived' } }]);
    await enqueueMessage(tx, now, TOPICS.processRevision, reportId, { reportId, revision });
    resumed++;
  }
  return resumed;
}

export async function setRevisionState(tx: Tx, reportId: string, revision: number, now: number, state: 'superseded' | 'quarantined' | 'waiting' | 'recalled' | 'posted' | 'reversed', code: string | null, detail: string | null): Promise<void> {
  await tx.updateTable('revisions').set({ state, reason_code: code, reason_detail: detail, updated_at: now }).where('report_id', '=', reportId).where('revision', '=', revision).execute();
}

/** `mappingVersion`: the rule sets in force when mapping or validation found the problem; the caller stores it on the revision, the log entry carries it (rebuild). */
export async function quarantineRevision(tx: Tx, reportId: string, revision: number, now: number, correlationId: string, code: ErrorCode, params: Record<string, string | number>, findings?: unknown, mappingVersion?: string): Promise<void> {
  const message = formatErrorMessage(code, params);
  await setRevisionState(tx, reportId, revision, now, 'quarantined', code, message);
  await appendLog(tx, now, [{ correlationId, reportId, revision, kind: 'revision.quarantined', payload: { code, params, message, ...(findings !== undefined && { findings }), ...(mappingVersion !== undefined && { mappingVersion }) } }]);
  if (isPlatformFix(code)) await queuePostingStatus(tx, reportId, revision, now);
}

/**
 * Earlier revisions of the report: an unposted one is superseded; a posting that is posted or in
 * flight gets a reversal queued ahead of the new journal. The lane runs a report's postings in
 * order, and skips a reversal whose original never posted.
 */
export async function supersedeEarlier(tx: Tx, reportId: string, revision: number, now: number, correlationId: string, reason = 'SUPERSEDED'): Promise<void> {
  await tx
    .updateTable('revisions')
    .set({ state: 'superseded', reason_code: reason, reason_detail: `revision ${revision} replaces it`, updated_at: now })
    .where('report_id', '=', reportId)
    .where('revision', '<', revision)
    .where('state', 'in', ['received', 'validated', 'mapped', 'queued', 'quarantined', 'waiting'])
    .execute();
  const earlier = await tx.selectFrom('postings').selectAll().where('report_id', '=', reportId).where('kind', '=', 'journal').where('revision', '<=', revision).where('state', 'in', ['queued', 'posting', 'posted', 'quarantined']).execute();
  for (const posting of earlier) {
    if (posting.revision === revision && reason === 'SUPERSEDED') continue;
    // Only a posting that certainly never reached the ERP may be dropped silently; one whose last
    // attempt had an unknown outcome (a timeout after sending) may exist there and needs a reversal.
    if ((posting.state === 'queued' || posting.state === 'quarantined') && posting.unknown_outcome === 0) {
      const updated = await tx.updateTable('postings').set({ state: 'superseded', updated_at: now }).where('id', '=', posting.id).where('state', '=', posting.state).where('unknown_outcome', '=', 0).executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 1) {
        await appendLog(tx, now, [{ correlationId, reportId, revision: posting.revision, kind: 'posting.superseded', payload: { externalKey: posting.external_key, by: revision } }]);
        continue;
      }
    }
    const reversalKey = postingKey(reportId, posting.revision, posting.target, 'reversal');
    const exists = await tx.selectFrom('postings').select('id').where('external_key', '=', reversalKey).executeTakeFirst();
    if (exists) continue;
    const reversal = reverseJournal(JSON.parse(posting.journal) as JournalEntry, new Date(now).toISOString().slice(0, 10));
    await insertPosting(tx, { reportId, revision: posting.revision, entity: posting.entity, target: posting.target, kind: 'reversal', externalKey: reversalKey, journal: reversal, references: JSON.parse(posting.erp_refs) as ErpReferences, correlationId, approvedAt: now, now, role: posting.role });
    await appendLog(tx, now, [{ correlationId, reportId, revision: posting.revision, kind: 'reversal.queued', payload: { externalKey: reversalKey, of: posting.external_key, by: revision } }]);
  }
}

interface NewPosting {
  reportId: string;
  revision: number;
  entity: string;
  /** A shadow posting (a migration wave's second target) never decides its revision's state. */
  role: 'primary' | 'shadow';
  target: string;
  kind: 'journal' | 'reversal';
  externalKey: string;
  journal: JournalEntry;
  references: ErpReferences;
  correlationId: string;
  approvedAt: number;
  now: number;
}

async function insertPosting(tx: Tx, p: NewPosting): Promise<void> {
  await tx
    .insertInto('postings')
    .values({
      report_id: p.reportId,
      revision: p.revision,
      target: p.target,
      kind: p.kind,
      external_key: p.externalKey,
      state: 'queued',
      journal: JSON.stringify(p.journal),
      erp_refs: JSON.stringify(p.references),
      correlation_id: p.correlationId,
      attempts: 0,
      next_attempt_at: p.now,
      lease_until: null,
      unknown_outcome: 0,
      document_id: null,
      reason_code: null,
      reason_detail: null,
      approved_at: p.approvedAt,
      created_at: p.now,
      updated_at: p.now,
      posted_at: null,
      entity: p.entity,
      role: p.role,
    })
    .execute();
}

function resolveReferences(reference: ReferenceData, journal: JournalEntry, subsidiaryId: string, report: ExpenseReport): ErpReferences {
  const date = report.approvedAt.slice(0, 10);
  const accounts: Record<string, string> = {};
  const costCenters: Record<string, string> = {};
  const employees: Record<string, string> = {};
  const taxCodes: Record<string, string> = {};
  const erpId = (kind: 'gl_account' | 'cost_center' | 'employee' | 'tax_code', key: string) => reference.erpId(kind, journal.entity, key, date) ?? key;
  for (const line of journal.lines) {
    accounts[line.account] ??= erpId('gl_account', line.account);
    if (line.costCenter) costCenters[line.costCenter] ??= erpId('cost_center', line.costCenter);
    if (line.employeeId) employees[line.employeeId] ??= erpId('employee', line.employeeId);
    if (line.taxCode) taxCodes[line.taxCode] ??= erpId('tax_code', line.taxCode);
  }
  return { subsidiaryId, accounts, costCenters, employees, taxCodes };
}
