// Proves that the installed `finsync` bin works as a user runs it: migrate, apikey create (only the key's hash is stored; --role is checked and stored), status --json and demo (on SQLite, and on PostgreSQL with faults, leaving no schema behind) succeed with consistent output; mapping propose refuses a broken rule file with one file:line:column line per problem and stores nothing, and a good file goes propose → review → approve as mapping list shows; and bad arguments or a database newer than this finsync fail with a non-zero exit and a message naming the problem.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import SQLiteDatabase from 'better-sqlite3';
import pg from 'pg';
import pino from 'pino';
import { createHub } from '../../src/compose.ts';
import { loadConfig } from '../../src/config.ts';
import { SAMPLE_COMPANY } from '../../src/demo/sample-company.ts';
import { sampleRuleFiles } from '../../src/demo/sample-rules.ts';
import { KNOWN_SCHEMA_VERSION, MIGRATIONS } from '../../src/store/migrate.ts';
import { POSTGRES_URL, storeKinds } from '../support/stores.ts';

const BIN = fileURLToPath(new URL('../../bin/finsync.js', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface RunOptions {
  readonly cwd?: string;
  readonly env?: Record<string, string>;
  readonly timeoutMs?: number;
  /** Called with the child's pid once it is started (the pid is the demo's process id). */
  readonly onStart?: (pid: number) => void;
}

/** The environment of a user's shell, without any finsync setting, plus `extra`. */
function userEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name === 'DATABASE_URL' || name.startsWith('FINSYNC_') || name.startsWith('NODE_TEST')) continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

/** Runs `node bin/finsync.js ...args` as a user would and collects its output. */
function runFinsync(args: readonly string[], options: RunOptions & { env: Record<string, string> }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? REPO_ROOT, env: userEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    if (child.pid !== undefined) options.onStart?.(child.pid);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`finsync ${args.join(' ')} did not finish within ${options.timeoutMs ?? 30_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function explain(r: RunResult): string {
  return `exit ${r.code} (signal ${r.signal})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

const SUMMARY_KEYS = ['reports', 'posted', 'quarantined', 'quarantineReasons', 'waiting', 'waitingReasons', 'resumedAfterMasterData', 'masterDataRecords', 'ruleSets', 'mappingDefects', 'duplicatesPrevented', 'erpDocuments', 'erpDuplicates', 'reversals', 'unbalanced', 'lagMsP50', 'lagMsP99', 'elapsedMs'];

/** Checks the demo's --json output: its last line is the summary, and the figures are consistent. */
function checkDemoSummary(r: RunResult, reports: number): Record<string, unknown> {
  assert.equal(r.code, 0, explain(r));
  const lines = r.stdout.split('\n').filter((line) => line.trim() !== '');
  assert.ok(lines.length > 0, `no output: ${explain(r)}`);
  const summary = JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
  assert.ok(summary !== null && typeof summary === 'object' && !Array.isArray(summary), 'the last line is one JSON object');
  assert.deepEqual(Object.keys(summary).sort(), [...SUMMARY_KEYS, 'concur', 'reconciliation'].sort());
  assert.deepEqual(summary.ruleSets, ['DE01@1', 'GB01@1', 'GROUP@1', 'JP01@1', 'US01@1'], 'the sample rule sets, installed as version 1 of each scope');
  for (const key of SUMMARY_KEYS.filter((k) => k !== 'quarantineReasons' && k !== 'waitingReasons' && k !== 'ruleSets')) {
    assert.equal(typeof summary[key], 'number', `${key} is a number`);
    assert.ok(Number.isInteger(summary[key]) && (summary[key] as number) >= 0, `${key} is a whole number >= 0, got ${String(summary[key])}`);
  }
  const reasons = summary.quarantineReasons as Record<string, unknown>;
  assert.ok(reasons !== null && typeof reasons === 'object' && !Array.isArray(reasons), 'quarantineReasons is an object');
  for (const [code, n] of Object.entries(reasons)) {
    assert.match(code, /^[A-Z][A-Z0-9_]+$/, 'reasons are error codes');
    assert.equal(typeof n, 'number');
  }
  const s = summary as Record<string, number>;
  assert.equal(s.reports, reports);
  assert.equal(s.posted + s.quarantined + s.waiting, s.reports, 'every report ends posted, quarantined or waiting for master data');
  assert.equal(Object.values(reasons as Record<string, number>).reduce((a, b) => a + b, 0), s.quarantined, 'every quarantined report has a reason');
  assert.equal(Object.values(summary.waitingReasons as Record<string, number>).reduce((a, b) => a + b, 0), s.waiting, 'every waiting report has a reason');
  assert.ok(s.masterDataRecords > 0, 'master data was synced from the ERP');
  assert.equal(s.erpDuplicates, 0, 'no external id was posted twice');
  assert.equal(s.unbalanced, 0, 'every journal balances');
  assert.ok(s.erpDocuments >= s.posted, 'each posted report has an ERP document');
  assert.ok(s.lagMsP50 <= s.lagMsP99);
  // DE01 came through SAP Concur FIS: every document acknowledged once, and every one of DE01's
  // posted reports confirmed back; the end-of-run reconciliation of DE01 finds only the reports
  // that are already in the exception queue (quarantined or waiting).
  const concur = summary.concur as { documents: number; acknowledgedOnce: number; acknowledgedMoreThanOnce: number; confirmedSuccess: number; payments: Record<string, number> };
  assert.ok(concur.documents > 0 && concur.acknowledgedOnce === concur.documents && concur.acknowledgedMoreThanOnce === 0, JSON.stringify(concur));
  assert.equal(concur.payments.CP, concur.confirmedSuccess, 'every report confirmed posted was paid and confirmed paid');
  const reconciliation = summary.reconciliation as { entity: string; breaks: Record<string, number>; alreadyInQueue: number; exceptionsOpened: number };
  assert.equal(reconciliation.entity, 'DE01');
  assert.equal(reconciliation.exceptionsOpened, 0, JSON.stringify(reconciliation));
  assert.equal(reconciliation.breaks.missing_in_finsync, reconciliation.alreadyInQueue, 'a break only for reports already in the queue');
  assert.equal(Object.values(reconciliation.breaks).reduce((a, b) => a + b, 0), reconciliation.breaks.missing_in_finsync, JSON.stringify(reconciliation));
  return summary;
}

/** Files the demo left in its working directory's .finsync folder (its log, and no database unless --keep). */
function demoLeftovers(cwd: string): string[] {
  const dir = join(cwd, '.finsync');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

const tempDirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

const pgKind = (await storeKinds()).find((k) => k.kind === 'postgres');

describe('the finsync command line', { concurrency: true }, () => {
  after(() => {
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });

  describe('on one SQLite file, in order: migrate, migrate again, apikey create, status', { concurrency: false }, () => {
    let dir: string;
    let env: Record<string, string>;
    before(() => {
      dir = tempDir('finsync-cli-');
      env = { FINSYNC_SQLITE_FILE: join(dir, 'cli.db'), FINSYNC_LOG_LEVEL: 'silent' };
    });

    test('migrate creates the schema and says which version it reached', async () => {
      const r = await runFinsync(['migrate'], { env });
      assert.equal(r.code, 0, explain(r));
      assert.match(r.stdout, new RegExp(`from version 0 to ${KNOWN_SCHEMA_VERSION}\\b`));
      for (const m of MIGRATIONS) assert.ok(r.stdout.includes(`${String(m.version).padStart(3, '0')}-${m.name}`), `names migration ${m.name}: ${r.stdout}`);
      assert.ok(existsSync(join(dir, 'cli.db')), 'the SQLite file is where FINSYNC_SQLITE_FILE says');
    });

    test('a second migrate says there is nothing to do', async () => {
      const r = await runFinsync(['migrate'], { env });
      assert.equal(r.code, 0, explain(r));
      assert.match(r.stdout, new RegExp(`schema version ${KNOWN_SCHEMA_VERSION}; nothing to do`));
    });

    test('apikey create prints one key on stdout and stores only its SHA-256 hash', async () => {
      const r = await runFinsync(['apikey', 'create', '--name', 'ci-test'], { env });
      assert.equal(r.code, 0, explain(r));
      assert.match(r.stdout, /^fsk_[A-Za-z0-9_-]{20,}\n$/, 'stdout is exactly one line holding the key');
      const key = r.stdout.trim();
      assert.ok(!r.stderr.includes(key), 'the key is printed once, on stdout only');

      const file = join(dir, 'cli.db');
      const db = new SQLiteDatabase(file, { readonly: true });
      try {
        const rows = db.prepare('SELECT name, key_hash, revoked_at FROM api_keys').all() as { name: string; key_hash: string; revoked_at: number | null }[];
        assert.deepEqual(rows, [{ name: 'ci-test', key_hash: createHash('sha256').update(key).digest('hex'), revoked_at: null }]);
        // The key itself is in no column of any table.
        const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
        for (const { name } of tables) {
          const dump = JSON.stringify(db.prepare(`SELECT * FROM "${name}"`).all());
          assert.ok(!dump.includes(key), `table ${name} does not hold the key`);
        }
      } finally {
        db.close();
      }
      // Nor anywhere in the database files on disk.
      for (const suffix of ['', '-wal']) {
        if (existsSync(file + suffix)) assert.ok(!readFileSync(file + suffix).includes(key), `${file}${suffix} does not hold the key`);
      }
    });

    test('status --json reports the schema version and the state of the store', async () => {
      const r = await runFinsync(['status', '--json'], { env });
      assert.equal(r.code, 0, explain(r));
      const status = JSON.parse(r.stdout) as { schemaVersion: number; knownSchemaVersion: number; store: string; reports: { reports: number }; postings: unknown[]; pendingMessages: number };
      assert.equal(status.schemaVersion, KNOWN_SCHEMA_VERSION);
      assert.equal(status.knownSchemaVersion, KNOWN_SCHEMA_VERSION);
      assert.equal(status.store, join(dir, 'cli.db'));
      assert.equal(status.reports.reports, 0);
      assert.deepEqual(status.postings, []);
      assert.equal(status.pendingMessages, 0);
    });
  });

  test('apikey create without --name fails, naming --name', async () => {
    const dir = tempDir('finsync-cli-');
    const r = await runFinsync(['apikey', 'create'], { env: { FINSYNC_SQLITE_FILE: join(dir, 'cli.db'), FINSYNC_LOG_LEVEL: 'silent' } });
    assert.notEqual(r.code, 0, explain(r));
    assert.match(r.stderr, /--name\b/);
    assert.equal(r.stdout, '', 'no key is printed');
    assert.ok(!existsSync(join(dir, 'cli.db')), 'nothing was written');
  });

  test('migrate against a database newer than this finsync fails with SCHEMA_TOO_NEW and changes nothing', async () => {
    const dir = tempDir('finsync-cli-');
    const file = join(dir, 'future.db');
    const db = new SQLiteDatabase(file);
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
    db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(KNOWN_SCHEMA_VERSION + 1, 'from-the-future', 1);
    db.close();
    const r = await runFinsync(['migrate'], { env: { FINSYNC_SQLITE_FILE: file, FINSYNC_LOG_LEVEL: 'silent' } });
    assert.equal(r.code, 2, explain(r));
    assert.match(r.stderr, /SCHEMA_TOO_NEW/);
    assert.match(r.stderr, new RegExp(`version ${KNOWN_SCHEMA_VERSION + 1}\\b`));
    const check = new SQLiteDatabase(file, { readonly: true });
    try {
      const tables = (check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
      assert.deepEqual(tables, ['schema_migrations'], 'no migration ran');
    } finally {
      check.close();
    }
    // status shows the mismatch and points at the fix: upgrading finsync, not migrating.
    const status = await runFinsync(['status'], { env: { FINSYNC_SQLITE_FILE: file, FINSYNC_LOG_LEVEL: 'silent' } });
    assert.equal(status.code, 0, explain(status));
    assert.match(status.stdout, new RegExp(`schema: version ${KNOWN_SCHEMA_VERSION + 1} \\(this finsync knows ${KNOWN_SCHEMA_VERSION}\\)`));
    assert.match(status.stdout, /upgrade finsync/);
    assert.doesNotMatch(status.stdout, /finsync migrate/);
  });

  for (const value of ['0', 'abc']) {
    test(`demo --reports ${value} fails with exit code 1 or 2, naming --reports`, async () => {
      const cwd = tempDir('finsync-cli-demo-');
      const r = await runFinsync(['demo', '--reports', value], { cwd, env: { FINSYNC_LOG_LEVEL: 'silent' } });
      assert.ok(r.code === 1 || r.code === 2, explain(r));
      assert.match(r.stderr, /--reports\b/);
      assert.deepEqual(demoLeftovers(cwd), [], 'the demo did not start');
    });
  }

  test('--help prints the commands and succeeds; no command at all prints them and fails', async () => {
    const [help, none] = await Promise.all([runFinsync(['--help'], { env: { FINSYNC_LOG_LEVEL: 'silent' } }), runFinsync([], { env: { FINSYNC_LOG_LEVEL: 'silent' } })]);
    assert.equal(help.code, 0, explain(help));
    for (const command of ['demo', 'serve', 'migrate', 'status', 'apikey']) assert.match(help.stdout, new RegExp(`^\\s+${command}\\b`, 'm'));
    assert.notEqual(none.code, 0, `a script running \`finsync $EMPTY\` must see a failure: ${explain(none)}`);
    assert.match(none.stderr, /Usage: finsync/);
  });

  test('an unknown command fails', async () => {
    const r = await runFinsync(['nosuchcommand'], { env: { FINSYNC_LOG_LEVEL: 'silent' } });
    assert.notEqual(r.code, 0, explain(r));
    assert.match(r.stderr, /nosuchcommand/);
  });

  test('demo on SQLite from another working directory prints consistent figures and removes its database', { timeout: 90_000 }, async () => {
    // The bin is invoked by absolute path from a directory outside the repository: tsx must still load the sources.
    const cwd = tempDir('finsync-cli-demo-');
    const sqliteFile = join(cwd, 'configured.db');
    const r = await runFinsync(['demo', '--reports', '40', '--seed', '3', '--json'], { cwd, env: { FINSYNC_SQLITE_FILE: sqliteFile, FINSYNC_LOG_LEVEL: 'silent' }, timeoutMs: 80_000 });
    checkDemoSummary(r, 40);
    assert.deepEqual(demoLeftovers(cwd), ['demo.log'], 'the demo database was removed; only the log is left');
    assert.ok(!existsSync(sqliteFile), 'the demo does not touch FINSYNC_SQLITE_FILE');
  });

  test('demo --faults on PostgreSQL prints consistent figures and drops its schema', { skip: pgKind?.skip ?? 'no PostgreSQL store kind', timeout: 90_000 }, async () => {
    const cwd = tempDir('finsync-cli-demo-');
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      const demoSchemas = async (pid: number) =>
        (await client.query<{ schema_name: string }>('SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE $1', [`finsync\\_demo\\_%\\_${pid}`])).rows.map((row) => row.schema_name);
      let pid = 0;
      let seenDuringRun: string[] = [];
      let running = true;
      // Watch for the demo's schema while it runs, so the check afterwards is known to look for the right name.
      const watcher = (async () => {
        while (running) {
          if (pid !== 0 && seenDuringRun.length === 0) seenDuringRun = await demoSchemas(pid);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      const r = await runFinsync(['demo', '--reports', '20', '--faults', '--json'], {
        cwd,
        env: { DATABASE_URL: POSTGRES_URL, FINSYNC_LOG_LEVEL: 'silent' },
        timeoutMs: 80_000,
        onStart: (childPid) => (pid = childPid),
      }).finally(() => (running = false));
      await watcher;
      checkDemoSummary(r, 20);
      assert.equal(seenDuringRun.length, 1, `the demo ran in its own schema finsync_demo_<time>_${pid}`);
      assert.deepEqual(await demoSchemas(pid), [], 'the demo schema is dropped afterwards');
      assert.deepEqual(demoLeftovers(cwd), ['demo.log']);
    } finally {
      await client.end();
    }
  });

  describe('reconcile on one SQLite file, from line files, in order: refusals, a run with an export, list, show', { concurrency: false }, () => {
    let dir: string;
    let env: Record<string, string>;
    const period = new Date().toISOString().slice(0, 7);
    before(() => {
      dir = tempDir('finsync-reconcile-');
      env = { FINSYNC_SQLITE_FILE: join(dir, 'cli.db'), FINSYNC_LOG_LEVEL: 'silent' };
      writeFileSync(join(dir, 'platform.csv'), `key,entity,currency,period,account,amount,status\nfs_a_r1,DE01,EUR,${period},6110,10.00,approved\nfs_a_r1,DE01,EUR,${period},2100,-10.00,approved\nfs_b_r1,DE01,EUR,${period},6120,5.50,approved\nfs_b_r1,DE01,EUR,${period},2100,-5.50,approved\n`);
      writeFileSync(join(dir, 'erp.csv'), `key,entity,currency,period,account,amount_minor,document\nfs_x_r1,DE01,EUR,${period},6110,700,77\nfs_x_r1,DE01,EUR,${period},2100,-700,77\n`);
      writeFileSync(join(dir, 'bad.csv'), `key,entity,currency,period,account,amount,status\nfs_a_r1,DE01,EUR,${period},6110,10.001,approved\n`);
    });

    test('bad arguments are refused with their codes', async () => {
      const noEntity = await runFinsync(['reconcile', '--period', period], { env });
      assert.equal(noEntity.code, 2, explain(noEntity));
      assert.match(noEntity.stderr, /CLI_ARGUMENT_INVALID: .*--entity/);
      const unknown = await runFinsync(['reconcile', '--entity', 'XX99', '--period', period, '--no-progress'], { env });
      assert.match(unknown.stderr, /RECON_ENTITY_UNKNOWN: Entity XX99 is not configured/);
      const month = await runFinsync(['reconcile', '--entity', 'DE01', '--period', '2026-13', '--no-progress'], { env });
      assert.match(month.stderr, /RECON_PERIOD_INVALID/);
      const noSide = await runFinsync(['reconcile', '--entity', 'DE01', '--period', period, '--no-progress'], { env });
      assert.equal(noSide.code, 2, explain(noSide));
      assert.match(noSide.stderr, /RECON_SIDE_UNAVAILABLE: Cannot read the platform side of DE01/);
      const bad = await runFinsync(['reconcile', '--entity', 'DE01', '--period', period, '--platform-file', join(dir, 'bad.csv'), '--erp-file', join(dir, 'erp.csv'), '--no-progress'], { env });
      assert.match(bad.stderr, /RECON_INPUT_INVALID: .*bad\.csv, line 2, column amount/);
    });

    test('a run from files finds the breaks, exports them as CSV and prints the summary as JSON', async () => {
      const r = await runFinsync(['reconcile', '--entity', 'DE01', '--period', period, '--platform-file', join(dir, 'platform.csv'), '--erp-file', join(dir, 'erp.csv'), '--export', join(dir, 'breaks.csv'), '--json', '--no-progress'], { env });
      assert.equal(r.code, 0, explain(r));
      const summary = JSON.parse(r.stdout) as { id: string; breaks: Record<string, number>; completeness: { percent: string | null }; exceptionsOpened: number; actor: string };
      assert.deepEqual(summary.breaks, { missing_in_erp: 0, extra_in_erp: 1, amount_mismatch: 0, account_mismatch: 0, status_mismatch: 0, missing_in_finsync: 2 });
      assert.equal(summary.completeness.percent, '0.00');
      assert.equal(summary.exceptionsOpened, 3, 'nothing can be healed from a file');
      assert.match(summary.actor, /^cli:/);
      const csv = readFileSync(join(dir, 'breaks.csv'), 'utf8').trim().split('\n');
      assert.equal(csv.length, 4);
      assert.ok(csv.some((line) => line.startsWith('extra_in_erp,fs_x_r1,DE01,EUR,')));
      const list = await runFinsync(['reconcile', 'list', '--json'], { env });
      const runs = (JSON.parse(list.stdout) as { runs: { id: string; status: string }[] }).runs;
      assert.deepEqual(runs.map((run) => run.status).sort(), ['done', 'failed'], 'the refused bad file left a failed run, the good one a done run');
      const show = await runFinsync(['reconcile', 'show', summary.id], { env });
      assert.equal(show.code, 0, explain(show));
      assert.match(show.stdout, /completeness: 0\.00% \(0 of 2 approved keys without a break\)/);
      assert.match(show.stdout, /breaks: 1 extra_in_erp, 2 missing_in_finsync/);
    });
  });

  describe('master data on one SQLite file, in order: import (refused, then accepted), show, sources, sync, drift', { concurrency: false }, () => {
    let dir: string;
    let env: Record<string, string>;
    before(() => {
      dir = tempDir('finsync-cli-md-');
      writeFileSync(join(dir, 'erp.csv'), 'kind,entity,key,valid_from,valid_to,active,name,erpId,postable\ncost_center,DE01,DE4110,2020-01-01,,,Sales,2001,\nemployee,DE01,DE01-E0001,2020-01-01,,,Ada,200001,\n');
      writeFileSync(join(dir, 'hr.csv'), 'entity,key,valid_from,valid_to,active,name\nDE01,DE01-E0001,2020-01-01,2026-01-31,,Ada\nDE01,DE01-E0950,2026-01-01,,,Only In HR\n');
      writeFileSync(join(dir, 'bad.csv'), 'entity,key,valid_from,valid_to,active,name\nDE01,DE01-E0951,2026-01-01,,,Fine\nFR01,FR01-E0001,2026-01-01,,,Unknown Entity\nDE01,DE01-E0952,2026-05-01,2026-04-01,,Backwards\n');
      writeFileSync(join(dir, 'sources.json'), JSON.stringify({ sources: [{ name: 'hr', type: 'file', system: 'hr', kind: 'employee', path: join(dir, 'hr.csv') }] }));
      env = { FINSYNC_SQLITE_FILE: join(dir, 'md.db'), FINSYNC_LOG_LEVEL: 'silent', FINSYNC_MASTER_DATA_SOURCES: join(dir, 'sources.json') };
    });

    test('a file with bad rows is refused whole, naming every line and field, and nothing is stored', async () => {
      const r = await runFinsync(['masterdata', 'import', '--system', 'hr', '--kind', 'employee', '--file', join(dir, 'bad.csv')], { env });
      assert.equal(r.code, 2, explain(r));
      assert.match(r.stderr, /MD_IMPORT_INVALID/);
      assert.match(r.stderr, /line 3.*MD_ENTITY_NOT_CONFIGURED/);
      assert.match(r.stderr, /line 4.*valid_to/);
      const show = await runFinsync(['masterdata', 'show', '--kind', 'employee', '--entity', 'DE01', '--key', 'DE01-E0951'], { env });
      assert.equal(show.code, 2, explain(show));
      assert.match(show.stderr, /MD_RECORD_NOT_FOUND/);
    });

    test('a good file is imported, and show lists the versions with their source', async () => {
      const r = await runFinsync(['masterdata', 'import', '--system', 'erp', '--file', join(dir, 'erp.csv'), '--json'], { env });
      assert.equal(r.code, 0, explain(r));
      assert.deepEqual(JSON.parse(r.stdout).changed, 2);
      const show = await runFinsync(['masterdata', 'show', '--kind', 'employee', '--entity', 'DE01', '--key', 'DE01-E0001'], { env });
      assert.equal(show.code, 0, explain(show));
      assert.match(show.stdout, /erp +2020-01-01\.\.9999-12-31 active +current +from import:/);
    });

    test('sources lists the configured source, and sync runs it', async () => {
      const list = await runFinsync(['masterdata', 'sources'], { env });
      assert.equal(list.code, 0, explain(list));
      assert.match(list.stdout, /^hr \(file, hr\) schedule on demand; last run never/m);
      const sync = await runFinsync(['masterdata', 'sync', '--source', 'hr'], { env });
      assert.equal(sync.code, 0, explain(sync));
      assert.match(sync.stdout, /hr: 2 records read, 2 changed/);
      const unknown = await runFinsync(['masterdata', 'sync', '--source', 'payroll'], { env });
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /MD_SOURCE_UNKNOWN/);
    });

    test('drift shows HR and the ERP disagreeing, per entity', async () => {
      const r = await runFinsync(['drift', '--entity', 'DE01', '--as-of', '2026-11-26', '--json'], { env });
      assert.equal(r.code, 0, explain(r));
      const drift = JSON.parse(r.stdout);
      const classes = Object.fromEntries(drift.items.map((i: { key: string; class: string }) => [i.key, i.class]));
      assert.deepEqual(classes, { 'DE01-E0001': 'inactive_in_source', 'DE01-E0950': 'missing_in_erp' });
      const text = await runFinsync(['drift', '--as-of', '2026-11-26'], { env });
      assert.match(text.stdout, /DE01: missing_in_erp 1, inactive_in_source 1; 0 report\(s\) blocked/);
      const bad = await runFinsync(['drift', '--as-of', '26.11.2026'], { env });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /CLI_ARGUMENT_INVALID: --as-of/);
    });
  });

  describe('mapping on one SQLite file with the sample master data and rule sets, in order: apikey create --role, propose (refused, then accepted), list, review, approve', { concurrency: false }, () => {
    let dir: string;
    let env: Record<string, string>;
    const keys: Record<string, string> = {};
    before(async () => {
      dir = tempDir('finsync-cli-mapping-');
      env = { FINSYNC_SQLITE_FILE: join(dir, 'mapping.db'), FINSYNC_LOG_LEVEL: 'silent' };
      // The store a running hub leaves: sample master data, and the sample rule sets as version 1.
      const hub = await createHub({ config: loadConfig({}, { sqliteFile: env.FINSYNC_SQLITE_FILE, logLevel: 'silent' }), company: SAMPLE_COMPANY, seedMasterData: true, ruleSets: sampleRuleFiles(), connectors: [], logger: pino({ level: 'silent' }) });
      await hub.close();
      writeFileSync(join(dir, 'broken.yaml'), 'rules:\n  - id: PERDIEM\n    when: { category: PERDIEM, personal: false\n    then: [\n');
      const de01 = sampleRuleFiles().find((f) => f.scope === 'DE01')!.text;
      writeFileSync(join(dir, 'unknown-account.csv'), de01.replace('ENTERTAINMENT-ENT,ENTERTAINMENT,DE19-ENT,false,6180,', 'ENTERTAINMENT-ENT,ENTERTAINMENT,DE19-ENT,false,9999,'));
      writeFileSync(join(dir, 'DE01.csv'), de01.replace('ENTERTAINMENT-ENT,ENTERTAINMENT,DE19-ENT,false,6180,', 'ENTERTAINMENT-ENT,ENTERTAINMENT,DE19-ENT,false,6130,'));
    });

    test('apikey create --role stores the roles; a role that is not one is refused with CLI_ARGUMENT_INVALID', async () => {
      for (const name of ['alice', 'bob']) {
        const r = await runFinsync(['apikey', 'create', '--name', name, '--role', 'controller:DE01', '--role', 'auditor'], { env });
        assert.equal(r.code, 0, explain(r));
        keys[name] = r.stdout.trim();
        assert.match(r.stderr, /controller:DE01, auditor/);
      }
      const bad = await runFinsync(['apikey', 'create', '--name', 'mallory', '--role', 'controller:DE01', '--role', 'boss'], { env });
      assert.equal(bad.code, 2, explain(bad));
      assert.match(bad.stderr, /CLI_ARGUMENT_INVALID: --role "boss"/);
      assert.equal(bad.stdout, '', 'no key is printed');
      const db = new SQLiteDatabase(env.FINSYNC_SQLITE_FILE, { readonly: true });
      try {
        const rows = db.prepare('SELECT name, roles FROM api_keys ORDER BY name').all() as { name: string; roles: string }[];
        assert.deepEqual(rows.map((row) => [row.name, JSON.parse(row.roles)]), [['alice', ['controller:DE01', 'auditor']], ['bob', ['controller:DE01', 'auditor']]]);
      } finally {
        db.close();
      }
    });

    test('propose refuses a broken file with one file:line:column line per problem, exit 1, and stores nothing', async () => {
      for (const [file, code, line] of [['broken.yaml', 'syntax', undefined], ['unknown-account.csv', 'account', 10]] as const) {
        const path = join(dir, file);
        const r = await runFinsync(['mapping', 'propose', '--scope', 'DE01', '--file', path, '--effective', '2026-12-01', '--reason', 'try', '--api-key', keys.alice], { env });
        assert.equal(r.code, 1, explain(r));
        assert.equal(r.stdout, '', 'no ref is printed');
        assert.match(r.stderr, /MAPPING_RULES_INVALID/);
        const problems = r.stderr.split('\n').filter((l) => l.startsWith(`${path}:`));
        assert.ok(problems.length > 0, explain(r));
        for (const p of problems) assert.match(p, new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+  [a-z_]+  \\S`));
        assert.ok(problems.some((p) => p.includes(`  ${code}  `) && (line === undefined || p.startsWith(`${path}:${line}:`))), `a ${code} problem${line ? ` on line ${line}` : ''}: ${explain(r)}`);
      }
      const list = await runFinsync(['mapping', 'list', '--scope', 'DE01', '--json'], { env });
      assert.equal(list.code, 0, explain(list));
      assert.deepEqual(JSON.parse(list.stdout).versions.map((v: { ref: string }) => v.ref), ['DE01@1'], 'nothing was stored');
    });

    test('propose needs a known API key, and checks its arguments before opening anything', async () => {
      const args = ['mapping', 'propose', '--scope', 'DE01', '--file', join(dir, 'DE01.csv'), '--effective', '2026-12-01', '--reason', 'entertainment on meals'];
      const none = await runFinsync(args, { env });
      assert.equal(none.code, 2, explain(none));
      assert.match(none.stderr, /AUTH_MISSING/);
      const unknown = await runFinsync(args, { env: { ...env, FINSYNC_API_KEY: 'fsk_not-a-key' } });
      assert.equal(unknown.code, 2, explain(unknown));
      assert.match(unknown.stderr, /AUTH_INVALID/);
      const badDate = await runFinsync([...args.slice(0, -4), '--effective', '2026-02-30', '--reason', 'x', '--api-key', keys.alice], { env });
      assert.equal(badDate.code, 2, explain(badDate));
      assert.match(badDate.stderr, /CLI_ARGUMENT_INVALID: --effective/);
    });

    test('a good file is proposed (the ref on stdout), reviewed and approved by another controller, as list shows', async () => {
      const proposed = await runFinsync(['mapping', 'propose', '--scope', 'DE01', '--file', join(dir, 'DE01.csv'), '--effective', '2026-12-01', '--reason', 'entertainment on meals'], { env: { ...env, FINSYNC_API_KEY: keys.alice } });
      assert.equal(proposed.code, 0, explain(proposed));
      assert.equal(proposed.stdout, 'DE01@2\n');
      const table = await runFinsync(['mapping', 'list'], { env });
      assert.equal(table.code, 0, explain(table));
      assert.match(table.stdout, /^REF\s+STATE\s+EFFECTIVE FROM\s+AUTHOR\s+REVIEWER\s+DECIDER\s+ACTIVE TODAY\s+DEFECTS$/m);
      assert.match(table.stdout, /^DE01@1\s+approved\s+0001-01-01\s+finsync-bootstrap\s+-\s+finsync-bootstrap\s+yes\s+0$/m);
      assert.match(table.stdout, /^DE01@2\s+proposed\s+2026-12-01\s+alice\s+-\s+-\s+no\s+0$/m);
      for (const ref of ['GROUP@1', 'JP01@1', 'US01@1']) assert.match(table.stdout, new RegExp(`^${ref}\\s+approved\\b`, 'm'));
      const own = await runFinsync(['mapping', 'review', 'DE01@2', '--api-key', keys.bob], { env });
      assert.equal(own.code, 0, explain(own));
      assert.match(own.stdout, /^review of DE01@2 by bob \(recorded\) over DE01$/m);
      assert.match(own.stdout, /reports re-coded: \d+; unchanged: \d+; changed: \d+; failed: \d+/);
      const selfApproval = await runFinsync(['mapping', 'approve', 'DE01@2', '--api-key', keys.alice], { env });
      assert.equal(selfApproval.code, 2, explain(selfApproval));
      assert.match(selfApproval.stderr, /MAPPING_FOUR_EYES/);
      const approved = await runFinsync(['mapping', 'approve', 'DE01@2', '--reason', 'dry run checked', '--api-key', keys.bob], { env });
      assert.equal(approved.code, 0, explain(approved));
      assert.match(approved.stdout, /^DE01@2 approved by bob; now approved$/m);
      const after = JSON.parse((await runFinsync(['mapping', 'list', '--scope', 'DE01', '--json'], { env })).stdout);
      assert.deepEqual(after.versions.map((v: { ref: string; state: string; reviewedBy: string | null; decidedBy: string | null }) => [v.ref, v.state, v.reviewedBy, v.decidedBy]), [['DE01@1', 'approved', null, 'finsync-bootstrap'], ['DE01@2', 'approved', 'bob', 'bob']]);
      const source = await runFinsync(['mapping', 'export', 'DE01@2'], { env });
      assert.equal(source.code, 0, explain(source));
      assert.equal(source.stdout, readFileSync(join(dir, 'DE01.csv'), 'utf8'), 'export prints the file as proposed');
    });
  });

  test('a dry run is summarised in major units of each currency, never floats: counts, position changes, totals with delta, failures', async () => {
    const { formatDryRun } = await import('../../src/cli/mapping-command.ts');
    const text = formatDryRun(
      {
        scope: 'GROUP',
        version: 2,
        entities: ['DE01', 'JP01'],
        reports: 4,
        unchanged: 1,
        changed: [
          { reportId: 'R-1', revision: 1, currency: 'EUR', lines: [{ account: '6130', costCenter: 'DE4110', beforeMinor: 0, afterMinor: 1005 }, { account: '6180', costCenter: 'DE4110', beforeMinor: 1005, afterMinor: 0 }] },
          { reportId: 'R-2', revision: 3, currency: 'JPY', lines: [{ account: '6150', beforeMinor: 5000, afterMinor: 4999 }] },
        ],
        failed: [{ reportId: 'R-3', revision: 1, code: 'MAP_NO_RULE', message: 'No rule matches.' }],
        totalsByAccount: [
          { account: '2110', currency: 'EUR', beforeMinor: -1005, afterMinor: -1005, deltaMinor: 0 },
          { account: '6130', currency: 'EUR', beforeMinor: 0, afterMinor: 1005, deltaMinor: 1005 },
          { account: '6150', currency: 'JPY', beforeMinor: 5000, afterMinor: 4999, deltaMinor: -1 },
        ],
      },
      'dry run of GROUP@2 (nothing recorded)',
    );
    assert.equal(
      text,
      [
        'dry run of GROUP@2 (nothing recorded) over DE01, JP01',
        '  reports re-coded: 4; unchanged: 1; changed: 2; failed: 1',
        'changed (net debit, credit negative; before → after):',
        '  R-1 r1 (EUR)',
        '    6130 (cost center DE4110): 0.00 → 10.05',
        '    6180 (cost center DE4110): 10.05 → 0.00',
        '  R-2 r3 (JPY)',
        '    6150: 5000 → 4999',
        'totals by account (before → after, delta):',
        '  2110 EUR: -10.05 → -10.05 (no change)',
        '  6130 EUR: 0.00 → 10.05 (+10.05)',
        '  6150 JPY: 5000 → 4999 (-1)',
        'failed:',
        '  R-3 r1: MAP_NO_RULE: No rule matches.',
        '',
      ].join('\n'),
    );
  });
});
