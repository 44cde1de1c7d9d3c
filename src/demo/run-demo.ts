/**
 * `finsync demo`: the reference scenario end to end. DE01's reports come through the SAP Concur
 * FIS simulator (pulled, acknowledged, confirmed back with the ERP document number); the other
 * entities' through the expense-platform simulator, which sends approved reports as CloudEvents to
 * the hub's HTTP API (with duplicate deliveries when faults are on) and later revisions of reports
 * already posted. The hub posts balanced journals to the NetSuite simulator. At the end a payment
 * run reports reimbursements (confirmed to Concur as payments), and DE01 is reconciled three ways
 * (Concur, finsync, NetSuite). Master data comes from the NetSuite simulator through SuiteQL. Reports for employees
 * the ERP does not have yet wait; the demo then adds those new hires to NetSuite and syncs, and the
 * waiting reports resume by themselves. Ends when every report is in an end state (posted,
 * quarantined, or still waiting for master data nobody added), then reports the figures.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Faults } from '../connectors/netsuite/simulator.ts';
import type { ReportInput } from '../domain/report.ts';
import { startDemoEnvironment, type DemoEnvironment } from './demo-environment.ts';
import { summarizeDemo, type DemoSummary } from './demo-summary.ts';
import { generateReports, reviseReport, toCloudEvent } from './expense-platform.ts';
import { countReportStates } from '../store/reports.ts';
import { SAMPLE_COMPANY } from './sample-company.ts';
import { runReconciliation } from '../reconcile/run.ts';
import { recordMilestone } from '../sources/reimbursements.ts';

export interface DemoOptions {
  readonly reports: number;
  readonly seed: number;
  readonly faults: boolean;
  readonly config: Config;
  readonly keep: boolean;
  readonly logger?: Logger;
  /** Called with (reports in an end state, reports expected) as the run progresses. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Stop waiting after this long; the run then fails rather than hang. */
  readonly timeoutMs?: number;
}

const BATCH_SIZE = 50;
const SENDERS = 4;
const END_STATES = new Set(['posted', 'quarantined', 'waiting']);

export function demoFaults(startMs: number): Faults {
  return {
    timeoutAfterCommitRate: 0.02,
    holdMs: 60_000,
    rateLimitBurstRate: 0.01,
    burstLength: 4,
    invalidReferenceRate: 0.01,
    // One maintenance window early in the run: the lane holds its postings and drains afterwards.
    maintenanceWindows: [{ fromMs: startMs + 1_500, toMs: startMs + 4_000 }],
  };
}

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const startedAt = Date.now();
  const stamp = `${startedAt}_${process.pid}`;
  const storage = options.config.databaseUrl
    ? ({ kind: 'postgres', url: options.config.databaseUrl, schema: `finsync_demo_${stamp}` } as const)
    : ({ kind: 'sqlite', file: join('.finsync', `demo-${stamp}.db`) } as const);
  if (storage.kind === 'sqlite') mkdirSync('.finsync', { recursive: true });
  const env = await startDemoEnvironment({
    config: options.config,
    seed: options.seed,
    storage,
    keep: options.keep,
    concurEntities: CONCUR_ENTITIES,
    ...(options.logger && { logger: options.logger }),
  });
  try {
    // Faults start once the hub is up and has its master data, so the maintenance window falls on postings.
    if (options.faults) env.simulator.setFaults(demoFaults(Date.now()));
    const reports = generateReports({ count: options.reports, seed: options.seed });
    const viaConcur = reports.filter((r) => CONCUR_ENTITIES.includes(r.entity));
    const viaEvents = reports.filter((r) => !CONCUR_ENTITIES.includes(r.entity));
    // Concur FIS documents carry one revision per report: only the CloudEvents platform revises.
    const revised = pickRevisions(viaEvents, options.seed);
    for (const report of viaConcur) env.concur.publish(stampApproval(report));
    await sendReports(env, viaEvents, options.faults, options.seed);
    await waitForEndStates(env, reports.length, options, (done) => options.onProgress?.(Math.min(done, reports.length), reports.length));
    // New hires reach the ERP late: add them to NetSuite, sync, and the reports waiting for them resume.
    if ((await addLateHires(env)) > 0) {
      await env.syncMasterData();
      await waitForEndStates(env, reports.length, options, (done) => options.onProgress?.(Math.min(done, reports.length), reports.length));
    }
    // Revisions of reports that are already posted: the hub reverses and posts again.
    const revisions = revised.map((r) => reviseReport(r, options.seed));
    await sendEvents(env, revisions.map((r) => toCloudEvent(stampApproval(r), { type: 'updated' })));
    await waitForEndStates(env, reports.length, options, (done) => options.onProgress?.(done, reports.length));
    await waitForIdleLanes(env, options);
    await payReimbursements(env);
    const reconciliation = await runReconciliation(env.hub.reconciliation, { entity: 'DE01', period: new Date().toISOString().slice(0, 7), trigger: 'manual', actor: 'finsync-demo' });
    await waitForConfirmations(env, options);
    return await summarizeDemo(env.hub.store, env.simulator.url, startedAt, Date.now(), { concur: env.concur, reconciliation });
  } finally {
    await env.close();
  }
}

/** The entities whose reports the demo sends through SAP Concur FIS. */
export const CONCUR_ENTITIES: readonly string[] = ['DE01'];

/** The payment run: every posted report of a Concur entity is scheduled, then paid (one in 50 is returned by the bank). */
async function payReimbursements(env: DemoEnvironment): Promise<void> {
  const posted = await env.hub.store.db
    .selectFrom('postings')
    .innerJoin('reports', 'reports.report_id', 'postings.report_id')
    .select(['postings.report_id'])
    .where('postings.kind', '=', 'journal')
    .where('postings.state', '=', 'posted')
    .where('reports.entity', 'in', [...CONCUR_ENTITIES])
    .orderBy('postings.report_id')
    .execute();
  const now = Date.now();
  for (const [n, { report_id: reportId }] of posted.entries()) {
    const run = `PAYRUN-${new Date(now).toISOString().slice(0, 10)}`;
    await recordMilestone(env.hub.store, { reportId, milestone: 'scheduled', reference: run }, now);
    await recordMilestone(env.hub.store, { reportId, milestone: 'paid', reference: run }, now);
    if (n % 50 === 49) await recordMilestone(env.hub.store, { reportId, milestone: 'returned', reference: `${run}-R` }, now);
  }
  env.hub.broker.notify();
}

/** Waits until the status-back messages to Concur (posting and payment confirmations) are delivered. */
async function waitForConfirmations(env: DemoEnvironment, options: DemoOptions): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 15 * 60_000);
  for (;;) {
    const open = await env.hub.store.db.selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).where('done_at', 'is', null).executeTakeFirst();
    if (Number(open?.n ?? 0) === 0) return;
    if (Date.now() > deadline) throw new Error(`Demo timed out with ${open?.n} messages undelivered`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Adds to the NetSuite simulator every employee a waiting report misses, as the ERP team would. */
async function addLateHires(env: DemoEnvironment): Promise<number> {
  const missing = await env.hub.store.db.selectFrom('md_blockers').select(['entity', 'key']).distinct().where('kind', '=', 'employee').where('reason', '=', 'missing').execute();
  for (const { entity, key } of missing) {
    const legal = SAMPLE_COMPANY.entities.find((e) => e.code === entity);
    const department = SAMPLE_COMPANY.costCenters.find((c) => c.entity === entity && c.validTo === undefined);
    if (!legal || !department) continue;
    env.simulator.upsertMasterRecord('employee', { entityid: key, externalid: key, firstname: 'New', lastname: `Hire ${key}`, subsidiary: legal.erpSubsidiaryId, department: department.erpId, hiredate: '2020-01-01', isinactive: false });
  }
  return missing.length;
}

function pickRevisions(reports: readonly ReportInput[], seed: number): ReportInput[] {
  // Every 20th report, offset by the seed: about 5% get a later revision.
  return reports.filter((_, i) => (i + seed) % 20 === 0);
}

/** The approval time is when the platform sends the event, so lag measures the hub, not the queue of the simulator. */
function stampApproval(report: ReportInput): ReportInput {
  return { ...report, approvedAt: new Date().toISOString() };
}

async function sendReports(env: DemoEnvironment, reports: readonly ReportInput[], faults: boolean, seed: number): Promise<void> {
  const events: object[] = [];
  reports.forEach((report, i) => {
    const event = toCloudEvent(stampApproval(report), { type: 'approved' });
    events.push(event);
    // Faults: the platform delivers some events twice (at-least-once delivery).
    if (faults && (i * 7 + seed) % 25 === 0) events.push(event);
  });
  await sendEvents(env, events);
}

async function sendEvents(env: DemoEnvironment, events: readonly object[]): Promise<void> {
  const batches: object[][] = [];
  for (let i = 0; i < events.length; i += BATCH_SIZE) batches.push(dedupeBatch(events.slice(i, i + BATCH_SIZE)));
  let next = 0;
  const sender = async () => {
    while (next < batches.length) {
      const batch = batches[next++];
      const response = await fetch(`${env.apiUrl}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents-batch+json', authorization: `Bearer ${env.apiKey}` },
        body: JSON.stringify(batch),
      });
      if (response.status !== 202) throw new Error(`The hub refused a batch: HTTP ${response.status} ${await response.text()}`);
      await response.arrayBuffer().catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: SENDERS }, sender));
}

/** A batch may not hold one event twice; a duplicate delivery goes in the next request instead. */
function dedupeBatch(batch: object[]): object[] {
  const seen = new Set<string>();
  return batch.filter((e) => {
    const id = (e as { id: string }).id;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

async function waitForEndStates(env: DemoEnvironment, total: number, options: DemoOptions, progress: (done: number) => void): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 15 * 60_000);
  for (;;) {
    const counts = await countReportStates(env.hub.store.db);
    const done = Object.entries(counts.byState).filter(([state]) => END_STATES.has(state)).reduce((sum, [, n]) => sum + n, 0);
    progress(done);
    if (counts.reports >= total && done >= total) return;
    if (Date.now() > deadline) throw new Error(`Demo timed out: ${done} of ${total} reports reached an end state (${JSON.stringify(counts.byState)})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function waitForIdleLanes(env: DemoEnvironment, options: DemoOptions): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 15 * 60_000);
  for (;;) {
    const open = await env.hub.store.db.selectFrom('postings').select((eb) => eb.fn.countAll<number>().as('n')).where('state', 'in', ['queued', 'posting']).executeTakeFirst();
    if (Number(open?.n ?? 0) === 0) return;
    if (Date.now() > deadline) throw new Error(`Demo timed out with ${open?.n} postings still open`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
