/**
 * `reconcile.1m` and its baseline `duckdb.1m`: three-way reconciliation of about one million lines
 * per side, by the engine (src/reconciliation/) and by DuckDB doing the same full outer join and
 * comparison in SQL, on the same files in the same run.
 *
 * The data (deterministic, seed 7): 333,334 keys of three lines each (expense debit, input VAT
 * debit, payable credit; four entities with EUR, USD, GBP, JPY; twelve periods), written as CSV
 * (line-file.ts format, decimal amounts) in a different pseudo-random line order per side.
 * 0.5% of the keys carry one injected fault, spread evenly over eight kinds that make every break
 * class. Each engine reads the three files, classifies, and writes its breaks to a CSV file, in a
 * process of its own (this file, started by bench/run.ts), so its peak RSS is its own:
 *
 *   node --import tsx bench/reconcile.ts engine '{"paths":{…},"out":"…"}'
 *   node --import tsx bench/reconcile.ts duckdb '{"paths":{…},"out":"…"}'
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatAmount } from '../src/domain/money.ts';
import { openBreakWriter } from '../src/reconciliation/break-writer.ts';
import { formatPercent, reconcileFiles } from '../src/reconciliation/engine.ts';
import { BREAK_CLASSES, type BreakClass, type Side } from '../src/reconciliation/types.ts';
import { note, round, runScript, sampleRss, withBaseline, type Figure } from './output.ts';

const SEED = 7;
const KEYS = 333_334;
const LINES_PER_KEY = 3;
/** One key in 200 carries a fault. */
const FAULT_EVERY = 200;
const ENTITIES = [
  ['DE01', 'EUR'],
  ['US01', 'USD'],
  ['GB01', 'GBP'],
  ['JP01', 'JPY'],
] as const;
const EXPENSE_ACCOUNTS = ['6110', '6120', '6130', '6140', '6150', '6170', '6180'];
const HEADER = 'key,entity,currency,period,account,amount,status,document';

/** The faults injected, each making one break class (two for extra_in_erp and status_mismatch). */
const FAULTS = ['erp_missing', 'erp_duplicate', 'erp_amount', 'erp_account', 'platform_recalled', 'finsync_unconfirmed', 'finsync_missing', 'erp_only'] as const;
type Fault = (typeof FAULTS)[number] | null;

export interface ReconcileTask {
  readonly paths: Readonly<Record<Side, string>>;
  readonly out: string;
}

export interface ReconcileRun {
  readonly seconds: number;
  readonly peakRssMb: number;
  readonly breaks: Readonly<Record<BreakClass, number>>;
  readonly matchedKeys: number;
  readonly approvedKeys: number;
  readonly balanceRows: number;
}

/** A 32-bit integer hash (murmur3's finalizer) of n and the seed: the same inputs, the same data. */
function mix(n: number): number {
  let h = Math.imul(n ^ (SEED * 0x9e3779b9), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function faultOf(k: number): Fault {
  return mix(k) % FAULT_EVERY === 0 ? FAULTS[mix(k + 0x5bd1e995) % FAULTS.length] : null;
}

/** The lines of key k on one side, as CSV rows (empty when the side has none). */
function keyRows(k: number, side: Side): string[] {
  const fault = faultOf(k);
  if (fault === 'erp_only' && side !== 'erp') return [];
  if (fault === 'finsync_missing' && side !== 'platform') return [];
  if (fault === 'erp_missing' && side === 'erp') return [];
  // (k * odd) mod 2^32 is a bijection, so every key is different.
  const key = `fs_${hex8(Math.imul(k, 0x9e3779b1) >>> 0)}${hex8(mix(k))}${hex8(mix(k + 1))}_r1`;
  const [entity, currency] = ENTITIES[k % ENTITIES.length];
  const period = `2026-${String(1 + (mix(k + 2) % 12)).padStart(2, '0')}`;
  const netMinor = currency === 'JPY' ? 500 + (mix(k + 3) % 40_000) : 500 + (mix(k + 3) % 90_000);
  const vatMinor = Math.floor((netMinor * 19) / 100);
  let expenseAccount = EXPENSE_ACCOUNTS[mix(k + 4) % EXPENSE_ACCOUNTS.length];
  let expenseMinor = netMinor;
  let payableMinor = -(netMinor + vatMinor);
  if (side === 'erp' && fault === 'erp_amount') (expenseMinor += 100, (payableMinor -= 100));
  if (side === 'erp' && fault === 'erp_account') expenseAccount = '6999';
  const status = side === 'platform' ? (fault === 'platform_recalled' ? 'recalled' : 'approved') : side === 'finsync' ? (fault === 'finsync_unconfirmed' ? 'posted' : 'confirmed') : '';
  const documents = side !== 'erp' ? [''] : fault === 'erp_duplicate' ? [`JE${k}`, `JE${k}-2`] : [`JE${k}`];
  const rows: string[] = [];
  for (const document of documents) {
    const prefix = `${key},${entity},${currency},${period},`;
    rows.push(`${prefix}${expenseAccount},${formatAmount(expenseMinor, currency)},${status},${document}`);
    rows.push(`${prefix}1410,${formatAmount(vatMinor, currency)},${status},${document}`);
    rows.push(`${prefix}2000,${formatAmount(payableMinor, currency)},${status},${document}`);
  }
  return rows;
}

/**
 * Writes one side's file, its lines in the order of the affine permutation i -> (a·i + b) mod N
 * of all line slots (a prime not dividing N), a different one per side: unsorted without holding
 * the lines in memory.
 */
function writeSide(path: string, side: Side, sideIndex: number): number {
  const slots = KEYS * LINES_PER_KEY;
  const a = [1_000_003, 2_000_003, 3_000_017][sideIndex];
  const b = mix(sideIndex) % slots;
  const fd = openSync(path, 'w');
  let buffer = `${HEADER}\n`;
  let lines = 0;
  for (let i = 0; i < slots; i++) {
    const slot = (i * a + b) % slots; // below 2^53: exact
    const k = Math.floor(slot / LINES_PER_KEY);
    const rows = keyRows(k, side);
    // A duplicate document's three extra lines go out with the key's first line slot.
    const mine = slot % LINES_PER_KEY === 0 ? rows.filter((_, j) => j % LINES_PER_KEY === 0) : rows.filter((_, j) => j % LINES_PER_KEY === slot % LINES_PER_KEY);
    for (const row of mine) (buffer += `${row}\n`, lines++);
    if (buffer.length > 1 << 20) (writeSync(fd, buffer), (buffer = ''));
  }
  writeSync(fd, buffer);
  closeSync(fd);
  return lines;
}

export function generateFiles(dir: string): Record<Side, string> {
  const paths = { platform: join(dir, 'platform.csv'), finsync: join(dir, 'finsync.csv'), erp: join(dir, 'erp.csv') };
  (['platform', 'finsync', 'erp'] as const).forEach((side, i) => note(`reconcile: ${writeSide(paths[side], side, i)} ${side} lines written`));
  return paths;
}

async function runEngine(task: ReconcileTask): Promise<Omit<ReconcileRun, 'seconds' | 'peakRssMb'>> {
  const writer = openBreakWriter(task.out, 'csv');
  try {
    const result = await reconcileFiles(task.paths, { onBreak: (found) => writer.write(found) });
    note(`reconcile.1m: ${result.partitions} partitions, ${result.keys} keys, completeness ${result.completeness.percent}%`);
    return { breaks: result.breaks, matchedKeys: result.completeness.matchedKeys, approvedKeys: result.completeness.approvedKeys, balanceRows: result.balances.length };
  } finally {
    writer.close();
  }
}

const sqlString = (value: string) => `'${value.replaceAll("'", "''")}'`;

function readSide(path: string): string {
  return `SELECT key, entity, currency, period, account, amount, coalesce(status, '') AS status, coalesce(document, '') AS document FROM read_csv(${sqlString(path)}, header = true, columns = {'key': 'VARCHAR', 'entity': 'VARCHAR', 'currency': 'VARCHAR', 'period': 'VARCHAR', 'account': 'VARCHAR', 'amount': 'DECIMAL(18,4)', 'status': 'VARCHAR', 'document': 'VARCHAR'})`;
}

/** The same rules as src/reconciliation/compare-key.ts, in SQL. */
function duckdbStatements(task: ReconcileTask): string[] {
  const held = (a: string, b: string) => `(${a}.net IS NULL) <> (${b}.net IS NULL)`;
  const differs = (a: string, b: string) => `coalesce(${a}.net, 0) <> coalesce(${b}.net, 0)`;
  const pairs = [['hp', 'hf', 'pn', 'fn'], ['hf', 'he', 'fn', 'en'], ['hp', 'he', 'pn', 'en']];
  const anyPair = (test: (a: string, b: string) => string) => pairs.map(([x, y, a, b]) => `(k.${x} AND k.${y} AND ${test(a, b)})`).join(' OR ');
  return [
    `CREATE TEMP TABLE p AS ${readSide(task.paths.platform)}`,
    `CREATE TEMP TABLE f AS ${readSide(task.paths.finsync)}`,
    `CREATE TEMP TABLE e AS ${readSide(task.paths.erp)}`,
    `CREATE TEMP TABLE pk AS SELECT key, bool_or(status = 'recalled') AS flagged, min(entity) AS entity, min(currency) AS currency, min(period) AS period FROM p GROUP BY key`,
    `CREATE TEMP TABLE fk AS SELECT key, bool_or(status = 'posted') AS flagged, min(entity) AS entity, min(currency) AS currency, min(period) AS period FROM f GROUP BY key`,
    `CREATE TEMP TABLE ek AS SELECT key, count(DISTINCT document) AS documents, min(document) AS first_doc, min(entity) AS entity, min(currency) AS currency, min(period) AS period FROM e GROUP BY key`,
    `CREATE TEMP TABLE k AS SELECT key, pk.key IS NOT NULL AS hp, fk.key IS NOT NULL AS hf, ek.key IS NOT NULL AS he, coalesce(pk.flagged, false) AS recalled, coalesce(fk.flagged, false) AS unconfirmed, coalesce(ek.documents, 0) AS documents,
       coalesce(fk.entity, pk.entity, ek.entity) AS entity, coalesce(fk.currency, pk.currency, ek.currency) AS currency, coalesce(fk.period, pk.period, ek.period) AS period
     FROM pk FULL OUTER JOIN fk USING (key) FULL OUTER JOIN ek USING (key)`,
    `CREATE TEMP TABLE d AS
     WITH pn AS (SELECT key, account, sum(amount) AS net FROM p GROUP BY key, account HAVING sum(amount) <> 0),
          fn AS (SELECT key, account, sum(amount) AS net FROM f GROUP BY key, account HAVING sum(amount) <> 0),
          en AS (SELECT e.key, e.account, sum(e.amount) AS net FROM e JOIN ek ON e.key = ek.key AND e.document = ek.first_doc GROUP BY e.key, e.account HAVING sum(e.amount) <> 0)
     SELECT key, bool_or(${anyPair(held)}) AS accounts_differ, bool_or(${anyPair(differs)}) AS amounts_differ
     FROM pn FULL OUTER JOIN fn USING (key, account) FULL OUTER JOIN en USING (key, account) JOIN k USING (key)
     GROUP BY key`,
    `CREATE TEMP TABLE breaks AS
     WITH c AS (SELECT k.*, coalesce(d.accounts_differ, false) AS accounts_differ, coalesce(d.amounts_differ, false) AS amounts_differ FROM k LEFT JOIN d USING (key))
     SELECT 'missing_in_erp' AS class, * FROM c WHERE hf AND NOT he
     UNION ALL SELECT 'extra_in_erp', * FROM c WHERE he AND (NOT hf OR documents > 1)
     UNION ALL SELECT 'amount_mismatch', * FROM c WHERE amounts_differ AND NOT accounts_differ
     UNION ALL SELECT 'account_mismatch', * FROM c WHERE accounts_differ
     UNION ALL SELECT 'status_mismatch', * FROM c WHERE (hp AND recalled AND hf) OR (hf AND unconfirmed AND he)
     UNION ALL SELECT 'missing_in_finsync', * FROM c WHERE hp AND NOT recalled AND NOT hf`,
    `COPY (SELECT class, key, entity, currency, period, hp, recalled, hf, unconfirmed, he, documents FROM breaks) TO ${sqlString(task.out)} (HEADER, DELIMITER ',')`,
    `CREATE TEMP TABLE balances AS
     SELECT entity, currency, period, account, sum(amount) FILTER (WHERE side = 'p' AND status = 'approved') AS platform, sum(amount) FILTER (WHERE side = 'f') AS finsync, sum(amount) FILTER (WHERE side = 'e') AS erp
     FROM (SELECT 'p' AS side, * FROM p UNION ALL SELECT 'f', * FROM f UNION ALL SELECT 'e', * FROM e) GROUP BY ALL`,
  ];
}

async function runDuckDb(task: ReconcileTask): Promise<Omit<ReconcileRun, 'seconds' | 'peakRssMb'>> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    for (const sql of duckdbStatements(task)) await connection.run(sql);
    const counts = (await connection.runAndReadAll('SELECT class, count(*)::INTEGER FROM breaks GROUP BY class')).getRows();
    const breaks = Object.fromEntries(BREAK_CLASSES.map((c) => [c, 0])) as Record<BreakClass, number>;
    for (const [cls, count] of counts) breaks[cls as BreakClass] = Number(count);
    const [[approved, matched]] = (
      await connection.runAndReadAll(`SELECT count(*) FILTER (WHERE hp AND NOT recalled)::INTEGER, count(*) FILTER (WHERE hp AND NOT recalled AND key NOT IN (SELECT key FROM breaks))::INTEGER FROM k`)
    ).getRows();
    const [[balanceRows]] = (await connection.runAndReadAll('SELECT count(*)::INTEGER FROM balances')).getRows();
    return { breaks, matchedKeys: Number(matched), approvedKeys: Number(approved), balanceRows: Number(balanceRows) };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function measure(engine: string, task: ReconcileTask): Promise<ReconcileRun> {
  const rss = sampleRss(50);
  const startedAt = performance.now();
  const result = engine === 'duckdb' ? await runDuckDb(task) : await runEngine(task);
  const seconds = (performance.now() - startedAt) / 1000;
  return { ...result, seconds, peakRssMb: rss.stop() };
}

function sameCounts(a: ReconcileRun, b: ReconcileRun): boolean {
  return BREAK_CLASSES.every((c) => a.breaks[c] === b.breaks[c]) && a.matchedKeys === b.matchedKeys && a.approvedKeys === b.approvedKeys && a.balanceRows === b.balanceRows;
}

function failedFigures(reason: string): Figure[] {
  return ['duckdb.1m', 'reconcile.1m'].flatMap((bench) => [
    { bench, metric: 'seconds', value: null, unit: 's', skipped: reason },
    { bench, metric: 'peak_rss_mb', value: null, unit: 'MB', skipped: reason },
  ]);
}

/** Generates the files, runs DuckDB then the engine (each in a child process), compares them, removes the files. */
export async function benchReconcile(timeoutMs = 15 * 60_000): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'finsync-bench-reconcile-'));
  try {
    const paths = generateFiles(dir);
    const script = fileURLToPath(import.meta.url);
    const duckdb = await runScript<ReconcileRun>(script, ['duckdb', JSON.stringify({ paths, out: join(dir, 'breaks-duckdb.csv') })], timeoutMs);
    const engine = await runScript<ReconcileRun>(script, ['engine', JSON.stringify({ paths, out: join(dir, 'breaks-engine.csv') })], timeoutMs);
    for (const [name, run] of [['duckdb.1m', duckdb], ['reconcile.1m', engine]] as const) {
      note(`${name}: ${run.seconds.toFixed(2)} s, peak RSS ${run.peakRssMb.toFixed(0)} MB, breaks ${JSON.stringify(run.breaks)}, completeness ${formatPercent(run.matchedKeys, run.approvedKeys)}% (${run.matchedKeys}/${run.approvedKeys}), ${run.balanceRows} balance rows`);
    }
    if (!sameCounts(duckdb, engine)) {
      note('WARNING: reconcile.1m and duckdb.1m disagree on the break counts, completeness or balance rows (see above)');
      process.exitCode = 1;
    }
    const baseline = { bench: 'duckdb.1m', value: round(duckdb.seconds, 2) };
    return [
      { bench: 'duckdb.1m', metric: 'seconds', value: baseline.value, unit: 's' },
      { bench: 'duckdb.1m', metric: 'peak_rss_mb', value: round(duckdb.peakRssMb), unit: 'MB' },
      withBaseline({ bench: 'reconcile.1m', metric: 'seconds', value: round(engine.seconds, 2), unit: 's' }, baseline),
      withBaseline({ bench: 'reconcile.1m', metric: 'peak_rss_mb', value: round(engine.peakRssMb), unit: 'MB' }, { bench: 'duckdb.1m', value: round(duckdb.peakRssMb) }),
    ];
  } catch (error) {
    process.exitCode = 1;
    note(`reconcile failed: ${error instanceof Error ? error.message : String(error)}`);
    return failedFigures(`failed: ${(error as Error).message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const [engine, json] = process.argv.slice(2);
  if (engine !== 'engine' && engine !== 'duckdb') throw new Error(`usage: reconcile.ts engine|duckdb '{"paths":…,"out":…}', got ${engine}`);
  const result = await measure(engine, JSON.parse(json ?? '{}') as ReconcileTask);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    note(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  });
}
