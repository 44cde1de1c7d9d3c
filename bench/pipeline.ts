/**
 * The posting pipeline end to end, as a client sees it: CloudEvents posted in batches to the hub's
 * HTTP API (as `finsync demo` sends them), until every report's journal is posted to the NetSuite
 * simulator and acknowledged in the store. Hub, simulator and senders share this process, as in
 * the demo; the figures are for that whole setup on one machine.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { startDemoEnvironment, type DemoEnvironment, type EnvironmentOptions } from '../src/demo/demo-environment.ts';
import { percentile } from '../src/demo/demo-summary.ts';
import { generateReports, toCloudEvent, type SimulatedCloudEvent } from '../src/demo/expense-platform.ts';
import type { ReportInput } from '../src/domain/report.ts';
import { countReportStates } from '../src/store/reports.ts';
import { note, sampleRss, sleep } from './output.ts';

export type StoreKind = 'sqlite' | 'postgres';
type ReportEvent = SimulatedCloudEvent<ReportInput>;

const BATCH_SIZE = 100;
const SENDERS = 4;
const POLL_MS = 20;
const END_STATES = ['posted', 'quarantined'];

export const BENCH_CONFIG = loadConfig({}, {
  pollIntervalMs: 10,
  retryDelayMs: 50,
  retryDelayMsMax: 1000,
  requestTimeoutMs: 5000,
  leaseMs: 60000,
  netsuiteConcurrency: 10,
  logLevel: 'silent',
});

export interface RunResult {
  readonly reports: number;
  readonly seconds: number;
  readonly reportsPerS: number;
  readonly lagP50Ms: number;
  readonly lagP99Ms: number;
  readonly peakRssMb: number;
}

export async function startBenchEnvironment(kind: StoreKind, databaseUrl: string, seed: number): Promise<DemoEnvironment> {
  const stamp = `${Date.now()}_${process.pid}_${seed}`;
  const storage: EnvironmentOptions['storage'] =
    kind === 'sqlite' ? { kind: 'sqlite', file: join(tmpdir(), `finsync-bench-${stamp}.db`) } : { kind: 'postgres', url: databaseUrl, schema: `finsync_bench_${stamp}` };
  return startDemoEnvironment({ config: BENCH_CONFIG, seed, storage });
}

/** Events built ahead of the clock, so the CloudEvents SDK's validation is not part of the measurement. */
export function buildEvents(count: number, seed: number): ReportEvent[] {
  return generateReports({ count, seed, invalidShare: 0 }).map((r) => toCloudEvent(r, { type: 'approved' }));
}

/** Peak load: all `count` reports as fast as SENDERS concurrent clients can post batches of BATCH_SIZE. */
export async function runAtPeak(kind: StoreKind, databaseUrl: string, count: number, seed: number): Promise<RunResult> {
  const env = await startBenchEnvironment(kind, databaseUrl, seed);
  try {
    const events = buildEvents(count, seed);
    const batches: ReportEvent[][] = [];
    for (let i = 0; i < events.length; i += BATCH_SIZE) batches.push(events.slice(i, i + BATCH_SIZE));
    const rss = sampleRss();
    const startedAt = Date.now();
    let next = 0;
    const sender = async () => {
      while (next < batches.length) await postBatch(env, batches[next++]);
    };
    await Promise.all(Array.from({ length: SENDERS }, sender));
    note(`${kind}: ${count} reports submitted in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; waiting for the postings`);
    await waitUntilAllPosted(env, count);
    const peakRssMb = rss.stop();
    return { ...(await postedFigures(env, count, startedAt)), peakRssMb };
  } finally {
    await env.close();
  }
}

/**
 * A steady load of `ratePerS` reports for about `seconds`: every 100 ms the reports due by then go
 * out in one request, so arrivals are spread evenly rather than in bursts of BATCH_SIZE.
 */
export async function runPaced(kind: StoreKind, databaseUrl: string, ratePerS: number, seconds: number, seed: number): Promise<RunResult> {
  const count = Math.max(1, Math.round(ratePerS * seconds));
  const env = await startBenchEnvironment(kind, databaseUrl, seed);
  try {
    const events = buildEvents(count, seed);
    const rss = sampleRss();
    const startedAt = Date.now();
    const requests: Promise<void>[] = [];
    let sent = 0;
    while (sent < count) {
      const due = Math.min(count, Math.floor(((Date.now() - startedAt) / 1000) * ratePerS) + 1);
      if (due > sent) {
        // Not awaited here, so a slow answer does not delay the next tick; awaited (and failed) below.
        const request = postBatch(env, events.slice(sent, due));
        request.catch(() => undefined);
        requests.push(request);
        sent = due;
      }
      await sleep(100);
    }
    await Promise.all(requests);
    await waitUntilAllPosted(env, count);
    const peakRssMb = rss.stop();
    return { ...(await postedFigures(env, count, startedAt)), peakRssMb };
  } finally {
    await env.close();
  }
}

/** Stamps approvedAt when the request leaves, as run-demo's stampApproval does, so lag measures the hub and not our queue. */
async function postBatch(env: DemoEnvironment, batch: readonly ReportEvent[]): Promise<void> {
  const approvedAt = new Date().toISOString();
  const body = JSON.stringify(batch.map((e) => ({ ...e, data: { ...e.data, approvedAt } })));
  const response = await fetch(`${env.apiUrl}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents-batch+json', authorization: `Bearer ${env.apiKey}` },
    body,
  });
  const text = await response.text();
  if (response.status !== 202) throw new Error(`The hub refused a batch: HTTP ${response.status} ${text.slice(0, 500)}`);
}

/** Done when every report's latest revision is in an end state and no posting is queued or in flight. */
async function waitUntilAllPosted(env: DemoEnvironment, total: number): Promise<void> {
  const db = env.hub.store.db;
  // Generous (10 reports/s, at least 3 minutes): a stalled pipeline fails the run instead of hanging it.
  const timeoutMs = Math.max(180_000, total * 100);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // The cheap count first; the join over reports and revisions only once it says we may be done.
    const open = await db.selectFrom('postings').select((eb) => eb.fn.countAll<number>().as('n')).where('state', 'in', ['queued', 'posting']).executeTakeFirstOrThrow();
    const posted = await db.selectFrom('postings').select((eb) => eb.fn.countAll<number>().as('n')).where('state', '=', 'posted').where('kind', '=', 'journal').executeTakeFirstOrThrow();
    if (Number(open.n) === 0 && Number(posted.n) >= total) {
      const counts = await countReportStates(db);
      const ended = END_STATES.reduce((sum, state) => sum + (counts.byState[state] ?? 0), 0);
      if (counts.reports >= total && ended >= total) return;
    }
    if (Date.now() > deadline) {
      const counts = await countReportStates(db);
      throw new Error(`Timed out: ${JSON.stringify(counts.byState)} of ${total} reports, ${open.n} postings open`);
    }
    await sleep(POLL_MS);
  }
}

/** Throughput up to the last posting's own timestamp (not our poll), and approval-to-posted lag. */
async function postedFigures(env: DemoEnvironment, count: number, startedAt: number): Promise<Omit<RunResult, 'peakRssMb'>> {
  const rows = await env.hub.store.db.selectFrom('postings').select(['posted_at', 'approved_at']).where('kind', '=', 'journal').where('state', '=', 'posted').execute();
  const postedAts = rows.map((r) => Number(r.posted_at));
  const lags = rows.map((r) => Number(r.posted_at) - Number(r.approved_at)).sort((a, b) => a - b);
  const lastPostedAt = postedAts.reduce((a, b) => Math.max(a, b), 0);
  const seconds = (lastPostedAt - startedAt) / 1000;
  if (rows.length !== count) note(`expected ${count} posted journals, found ${rows.length}`);
  return { reports: count, seconds, reportsPerS: count / seconds, lagP50Ms: percentile(lags, 50), lagP99Ms: percentile(lags, 99) };
}
