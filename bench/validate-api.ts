/**
 * validate.api: POST /v1/validate of a real hub against a bare Fastify route that validates the
 * same body, in the same run on the same machine (architecture.md, "Performance targets").
 *
 * Each server runs in a process of its own (this file, `serve` mode, started by bench/run.ts);
 * autocannon drives it from the bench process, so load generator and server do not share an event
 * loop. Both get the same request (the same 5-line draft report and the same headers, API key
 * included), 50 connections, a warm-up, then a fixed measured time; latencies are taken from every
 * 2xx answer at sub-millisecond resolution (the autocannon summary rounds to whole milliseconds).
 * The measured time is split into rounds in which the two servers take turns (baseline, hub,
 * baseline, hub), the one not measured stopped (SIGSTOP) so it takes no CPU: a change in the
 * machine's load during the bench then falls on both alike instead of on whichever ran second.
 *
 * - `fastify.typebox` (the baseline): Fastify 5, the same TypeBox body schema and the same
 *   compiled validator as our route (validateBodyCompiler), logger at the same level, answering
 *   `{"valid":true}`.
 * - `validate.api` (ours): createHub on a temporary SQLite store with the sample company, plus
 *   100,000 employees and 10,000 cost centers loaded through hub.masterData.apply; API key
 *   authentication; workers running as under `finsync serve`.
 *
 *   node --import tsx bench/validate-api.ts serve '{"kind":"hub","employees":100000,"costCenters":10000,"logLevel":"warn"}'
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { createHub } from '../src/compose.ts';
import { loadConfig } from '../src/config.ts';
import { SAMPLE_COMPANY } from '../src/demo/sample-company.ts';
import { sampleRuleFiles } from '../src/demo/sample-rules.ts';
import { normalizeRecord, type IncomingVersion } from '../src/masterdata/records.ts';
import { createApiKey } from '../src/store/api-keys.ts';
import { validateBodyCompiler } from '../src/api/validate-routes.ts';
import { ValidateBodySchema } from '../src/validation/validator.ts';
import { note, round, withBaseline, type Figure } from './output.ts';

export interface ValidateApiOptions {
  /** Measured seconds per server, over all rounds. */
  readonly seconds: number;
  /** Warm-up before a server's first round (not measured). */
  readonly warmupSeconds: number;
  /** Warm-up before each later round, after the process was resumed (not measured). */
  readonly rewarmSeconds: number;
  /** Rounds in which the servers take turns; each measures seconds ÷ rounds. */
  readonly rounds: number;
  readonly connections: number;
  readonly employees: number;
  readonly costCenters: number;
  /** The level both servers log at; `warn` keeps per-request lines out, as does `finsync serve` below info. */
  readonly logLevel: 'warn' | 'info';
}

export function validateApiOptions(argv: readonly string[], env: NodeJS.ProcessEnv): ValidateApiOptions {
  const number = (flag: string, name: string, fallback: number) => {
    const at = argv.indexOf(flag);
    const raw = at >= 0 ? argv[at + 1] : env[name];
    const value = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${flag} / ${name} must be a positive integer, got ${raw}`);
    return value;
  };
  const logLevel = env.BENCH_VALIDATE_LOG_LEVEL === 'info' ? 'info' : 'warn';
  return {
    seconds: number('--validate-seconds', 'BENCH_VALIDATE_SECONDS', 10),
    warmupSeconds: 3,
    rewarmSeconds: 0.5,
    rounds: 5,
    connections: 50,
    employees: number('--validate-employees', 'BENCH_VALIDATE_EMPLOYEES', 100_000),
    costCenters: number('--validate-cost-centers', 'BENCH_VALIDATE_COST_CENTERS', 10_000),
    logLevel,
  };
}

type ServerKind = 'baseline' | 'hub';

interface ServeTask {
  readonly kind: ServerKind;
  readonly employees: number;
  readonly costCenters: number;
  readonly logLevel: string;
}

interface Ready {
  readonly type: 'ready';
  readonly port: number;
  readonly key?: string;
  readonly loadSeconds?: number;
  readonly records?: number;
}

interface Stats {
  readonly type: 'stats';
  readonly rssMb: number;
  readonly cpuMs: number;
}

// ---------------------------------------------------------------------------------------------
// The request

const ENTITY = 'DE01';
const benchEmployee = (n: number) => `${ENTITY}-B${String(n).padStart(6, '0')}`;
const benchCostCenter = (n: number) => `DEB${String(n).padStart(5, '0')}`;

/** A realistic 5-line draft of a two-day trip in DE01: hotel, meal, taxi split in two, per diem, a flight paid in USD. */
export function draftBody(options: Pick<ValidateApiOptions, 'employees' | 'costCenters'>): string {
  const a = benchCostCenter(Math.ceil(options.costCenters / 2));
  const b = benchCostCenter(Math.ceil(options.costCenters / 3));
  // 2026-03-09 is a Monday; no public holiday in DE01 that week.
  const report = {
    entity: ENTITY,
    employeeId: benchEmployee(Math.ceil(options.employees * 0.7)),
    currency: 'EUR',
    title: 'Customer visit Munich',
    lines: [
      { lineId: 'L1', date: '2026-03-10', category: 'LODGING', merchant: 'Motel One', description: 'Two nights', amount: { value: '238.00', currency: 'EUR' }, paymentType: 'company_card', tax: { code: 'DE7', amount: '15.57' }, receipt: true, allocations: [{ costCenter: a, percent: '100' }] },
      { lineId: 'L2', date: '2026-03-10', category: 'MEALS', merchant: 'Vapiano', amount: { value: '34.50', currency: 'EUR' }, paymentType: 'out_of_pocket', tax: { code: 'DE19' }, receipt: true, allocations: [{ costCenter: a, percent: '100' }] },
      { lineId: 'L3', date: '2026-03-11', category: 'TAXI', merchant: 'FreeNow', amount: { value: '23.80', currency: 'EUR' }, paymentType: 'out_of_pocket', tax: { code: 'DE7' }, receipt: true, allocations: [{ costCenter: a, percent: '50' }, { costCenter: b, percent: '50' }] },
      { lineId: 'L4', date: '2026-03-11', category: 'PERDIEM', description: 'Per diem, 3 days', amount: { value: '84.00', currency: 'EUR' }, paymentType: 'out_of_pocket', perDiem: { days: 3 }, receipt: false, allocations: [{ costCenter: a, percent: '100' }] },
      { lineId: 'L5', date: '2026-03-09', category: 'AIRFARE', merchant: 'Lufthansa', description: 'Paid in USD', amount: { value: '189.90', currency: 'USD' }, exchangeRate: { rate: '0.9223', source: 'ECB', date: '2026-03-09' }, paymentType: 'company_card', receipt: true, allocations: [{ costCenter: a, amount: '120.00' }, { costCenter: b, amount: '69.90' }] },
    ],
  };
  return JSON.stringify({ report });
}

// ---------------------------------------------------------------------------------------------
// The bench process: starts each server, drives it, and prints the figures

interface LoadResult {
  readonly requestsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  readonly serverCpuPercent: number;
}

/** One measured run of one server. */
interface Slice {
  readonly ok: number;
  readonly seconds: number;
  readonly latenciesMs: number[];
  readonly cpuMs: number;
  readonly elapsedMs: number;
}

export async function benchValidateApi(options: ValidateApiOptions): Promise<Figure[]> {
  const body = draftBody(options);
  const slice = options.seconds / options.rounds;
  note(`validate.api: ${options.connections} connections, ${options.rounds} rounds per server taking turns (${options.warmupSeconds} s warm-up, then ${slice} s measured per round, ${options.rewarmSeconds} s warm-up after each resume), log level ${options.logLevel}, body ${body.length} bytes (5 lines)`);
  const baseline = await startServer({ kind: 'baseline', employees: 0, costCenters: 0, logLevel: options.logLevel });
  try {
    const hub = await startServer({ kind: 'hub', employees: options.employees, costCenters: options.costCenters, logLevel: options.logLevel });
    try {
      note(`validate.api: ${hub.ready.records} master-data records held, loaded in ${hub.ready.loadSeconds?.toFixed(1)} s`);
      // The same bytes to both: the baseline ignores the key.
      const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${hub.ready.key}` };
      for (const server of [baseline, hub]) await probe(server, headers, body);
      baseline.pause();
      hub.pause();
      const slices = new Map<Server, Slice[]>([[baseline, []], [hub, []]]);
      for (let round = 0; round < options.rounds; round++) {
        for (const server of [baseline, hub]) {
          server.resume();
          const measured = await measure(server, headers, body, options, round === 0 ? options.warmupSeconds : options.rewarmSeconds, slice);
          server.pause();
          slices.get(server)?.push(measured);
          note(`validate.api: round ${round + 1}, ${server === hub ? 'validate.api' : 'fastify.typebox'}: ${(measured.ok / measured.seconds).toFixed(0)} requests/s`);
        }
      }
      hub.resume();
      const stats = await hub.stats();
      const base = combine(slices.get(baseline) ?? []);
      const ours = combine(slices.get(hub) ?? []);
      note(`fastify.typebox: ${base.requestsPerS.toFixed(0)} requests/s, p50 ${base.p50Ms.toFixed(2)} ms, p99 ${base.p99Ms.toFixed(2)} ms, server CPU ${base.serverCpuPercent.toFixed(0)}%`);
      note(`validate.api: ${ours.requestsPerS.toFixed(0)} requests/s, p50 ${ours.p50Ms.toFixed(2)} ms, p99 ${ours.p99Ms.toFixed(2)} ms, server CPU ${ours.serverCpuPercent.toFixed(0)}%`);
      return figures(base, ours, stats, hub.ready);
    } finally {
      await hub.close();
    }
  } finally {
    await baseline.close();
  }
}

function figures(baseline: LoadResult, ours: LoadResult, stats: Stats, ready: Ready): Figure[] {
  const base = (metric: string, value: number) => ({ bench: 'fastify.typebox', value: round(value, 2), metric });
  return [
    { bench: 'fastify.typebox', metric: 'requests_per_s', value: round(baseline.requestsPerS), unit: 'requests/s' },
    { bench: 'fastify.typebox', metric: 'p50_ms', value: round(baseline.p50Ms, 2), unit: 'ms' },
    { bench: 'fastify.typebox', metric: 'p99_ms', value: round(baseline.p99Ms, 2), unit: 'ms' },
    withBaseline({ bench: 'validate.api', metric: 'requests_per_s', value: round(ours.requestsPerS), unit: 'requests/s' }, { bench: 'fastify.typebox', value: round(baseline.requestsPerS) }),
    withBaseline({ bench: 'validate.api', metric: 'p50_ms', value: round(ours.p50Ms, 2), unit: 'ms' }, base('p50_ms', baseline.p50Ms)),
    withBaseline({ bench: 'validate.api', metric: 'p99_ms', value: round(ours.p99Ms, 2), unit: 'ms' }, base('p99_ms', baseline.p99Ms)),
    { bench: 'validate.api', metric: 'rss_mb', value: round(stats.rssMb), unit: 'MB' },
    { bench: 'validate.api', metric: 'load_s', value: round(ready.loadSeconds ?? 0, 2), unit: 's' },
  ];
}

interface Server {
  readonly ready: Ready;
  stats(): Promise<Stats>;
  /** Stops the process (SIGSTOP): it takes no CPU while the other server is measured. */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

async function startServer(task: ServeTask): Promise<Server> {
  const script = fileURLToPath(import.meta.url);
  // Server output (its warnings) goes to stderr: stdout carries only figures.
  const child = spawn(process.execPath, [...process.execArgv, script, 'serve', JSON.stringify(task)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  child.stdout?.pipe(process.stderr);
  let paused = false;
  const signal = (name: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
  };
  const close = async () => {
    if (paused) signal('SIGCONT');
    if (child.connected) child.send({ type: 'exit' });
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  };
  try {
    const ready = await nextMessage<Ready>(child, 'ready', 600_000);
    return {
      ready,
      stats: async () => (child.send({ type: 'stats' }), nextMessage<Stats>(child, 'stats', 10_000)),
      pause() {
        paused = true;
        signal('SIGSTOP');
      },
      resume() {
        paused = false;
        signal('SIGCONT');
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

function nextMessage<T extends { type: string }>(child: ChildProcess, type: T['type'], timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`the ${type} message of the bench server did not come within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (message: { type?: string }) => {
      if (message?.type === type) finish(undefined, message as T);
    };
    const onExit = (code: number | null) => finish(new Error(`the bench server ended (exit code ${code}) before its ${type} message`));
    function finish(error?: Error, value?: T) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(value as T);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

const urlOf = (server: Server) => `http://127.0.0.1:${server.ready.port}/v1/validate`;

/** The bench request must be answered 200 and valid, by both servers, before anything is measured. */
async function probe(server: Server, headers: Record<string, string>, body: string): Promise<void> {
  const response = await fetch(urlOf(server), { method: 'POST', headers, body });
  const answer = (await response.json()) as { valid?: boolean; findings?: { code: string; severity: string }[] };
  if (response.status !== 200 || answer.valid !== true) throw new Error(`the bench request is not answered 200 valid: ${response.status} ${JSON.stringify(answer).slice(0, 500)}`);
  if (answer.findings) note(`validate.api answers: valid ${answer.valid}, findings [${answer.findings.map((f) => `${f.severity} ${f.code}`).join(', ')}]`);
}

async function measure(server: Server, headers: Record<string, string>, body: string, options: ValidateApiOptions, warmupSeconds: number, seconds: number): Promise<Slice> {
  await fire(urlOf(server), headers, body, options.connections, warmupSeconds);
  const before = await server.stats();
  const startedAt = performance.now();
  const measured = await fire(urlOf(server), headers, body, options.connections, seconds);
  const elapsedMs = performance.now() - startedAt;
  const after = await server.stats();
  return { ...measured, cpuMs: after.cpuMs - before.cpuMs, elapsedMs };
}

/** The rounds of one server as one run: every answer of every round, over the measured time of all. */
function combine(slices: readonly Slice[]): LoadResult {
  const latencies = Float64Array.from(slices.flatMap((s) => s.latenciesMs)).sort();
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)];
  const sum = (pick: (s: Slice) => number) => slices.reduce((total, s) => total + pick(s), 0);
  return {
    requestsPerS: sum((s) => s.ok) / sum((s) => s.seconds),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    requests: sum((s) => s.ok),
    serverCpuPercent: (sum((s) => s.cpuMs) / sum((s) => s.elapsedMs)) * 100,
  };
}

async function fire(url: string, headers: Record<string, string>, body: string, connections: number, seconds: number): Promise<{ ok: number; seconds: number; latenciesMs: number[] }> {
  const latenciesMs: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({ url, method: 'POST', headers, body, connections, duration: seconds }, (error: unknown, done: autocannon.Result) => (error ? reject(error as Error) : resolve(done)));
    instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
      if (statusCode === 200) latenciesMs.push(responseTimeMs);
    });
  });
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(`validate.api load: ${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  return { ok: latenciesMs.length, seconds: result.duration, latenciesMs };
}

// ---------------------------------------------------------------------------------------------
// The server process

async function serve(task: ServeTask): Promise<void> {
  const server = task.kind === 'baseline' ? await serveBaseline(task) : await serveHub(task);
  process.on('message', (message: { type?: string }) => {
    if (message?.type === 'stats') {
      const cpu = process.cpuUsage();
      process.send?.({ type: 'stats', rssMb: process.memoryUsage.rss() / (1024 * 1024), cpuMs: (cpu.user + cpu.system) / 1000 } satisfies Stats);
    }
    if (message?.type === 'exit') void server.close().finally(() => process.exit(0));
  });
  process.send?.(server.ready);
}

async function serveBaseline(task: ServeTask): Promise<{ ready: Ready; close(): Promise<void> }> {
  const app = Fastify({ loggerInstance: pino({ level: task.logLevel }) as unknown as FastifyBaseLogger, bodyLimit: loadConfig({}, {}).bodyLimitBytes });
  app.post('/v1/validate', { schema: { body: ValidateBodySchema }, validatorCompiler: validateBodyCompiler }, async () => ({ valid: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('Assertion failed: the baseline listens on TCP');
  return { ready: { type: 'ready', port: address.port }, close: () => app.close() };
}

async function serveHub(task: ServeTask): Promise<{ ready: Ready; close(): Promise<void> }> {
  const file = join(tmpdir(), `finsync-bench-validate-${Date.now()}-${process.pid}.db`);
  const config = loadConfig({}, { logLevel: task.logLevel as 'warn', sqliteFile: file });
  const hub = await createHub({ config, company: SAMPLE_COMPANY, seedMasterData: true, ruleSets: sampleRuleFiles(), connectors: [] });
  const records = benchRecords(task);
  const startedAt = performance.now();
  let reported = 0;
  await hub.masterData.apply('erp', 'bench', records, (done, total) => {
    if (done < total && done - reported < 25_000) return;
    reported = done;
    note(`validate.api: master data ${done}/${total} records stored`);
  });
  const loadSeconds = (performance.now() - startedAt) / 1000;
  const { key } = await createApiKey(hub.store.db, 'bench', Date.now());
  await hub.app.listen({ port: 0, host: '127.0.0.1' });
  hub.startWorkers();
  const address = hub.app.server.address();
  if (address === null || typeof address === 'string') throw new Error('Assertion failed: the hub listens on TCP');
  return {
    ready: { type: 'ready', port: address.port, key, loadSeconds, records: hub.masterData.index.size },
    async close() {
      await hub.close();
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    },
  };
}

/** The bench's employees and cost centers, as an ERP sync would deliver them: checked by normalizeRecord. */
function benchRecords(task: ServeTask): IncomingVersion[] {
  const records: IncomingVersion[] = [];
  for (let n = 1; n <= task.employees; n++) {
    const input = { kind: 'employee', entity: ENTITY, key: benchEmployee(n), validFrom: '2020-01-01', attributes: { name: `Bench employee ${n}`, erpId: String(9_000_000 + n), costCenter: benchCostCenter((n % task.costCenters) + 1) } };
    records.push(normalizeRecord('erp', input, `employees[${n - 1}]`));
  }
  for (let n = 1; n <= task.costCenters; n++) {
    const input = { kind: 'cost_center', entity: ENTITY, key: benchCostCenter(n), validFrom: '2020-01-01', attributes: { name: `Bench cost center ${n}`, erpId: String(800_000 + n) } };
    records.push(normalizeRecord('erp', input, `costCenters[${n - 1}]`));
  }
  return records;
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === 'serve') {
  serve(JSON.parse(process.argv[3] ?? '{}') as ServeTask).catch((error: unknown) => {
    note(`validate.api server failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  });
}
