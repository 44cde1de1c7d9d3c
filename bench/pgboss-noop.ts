/**
 * The baseline of architecture.md: a plain pg-boss 12 queue working no-op jobs on the same
 * PostgreSQL. It is what a durable job queue costs on this database with nothing else to do, so
 * the pipeline's ratio to it says how much our own durability and work add.
 */
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { note, sleep } from './output.ts';

const INSERT_CHUNK = 500;
const BATCH_SIZE = 100;
const LOCAL_CONCURRENCY = 2;

export interface NoopRun {
  readonly jobs: number;
  readonly seconds: number;
  readonly jobsPerS: number;
}

/**
 * `runs` runs of `jobs` jobs each, every run on a fresh queue after VACUUM ANALYZE, in a schema of
 * pg-boss's own that is dropped at the end. One run of a few thousand no-op jobs takes well under a
 * second, so several runs are made and the caller takes the median.
 */
export async function measurePgBossNoop(databaseUrl: string, jobs: number, runs: number): Promise<NoopRun[]> {
  const schema = `bench_pgboss_${Date.now()}_${process.pid}`;
  // useListenNotify + a notify queue: workers wake when jobs arrive instead of sleeping out the
  // polling interval (2 s by default, 0.5 s at least), which would measure the timer, not the queue.
  const boss = new PgBoss({ connectionString: databaseUrl, schema, max: 10, schedule: false, useListenNotify: true });
  boss.on('error', (error) => note(`pg-boss: ${error.message}`));
  await boss.start();
  try {
    const results: NoopRun[] = [];
    for (let run = 1; run <= runs; run++) results.push(await runOnce(boss, databaseUrl, schema, `noop_${run}`, jobs));
    return results;
  } finally {
    await boss.stop({ graceful: true, close: true });
    await dropSchema(databaseUrl, schema);
  }
}

async function runOnce(boss: PgBoss, databaseUrl: string, schema: string, queue: string, jobs: number): Promise<NoopRun> {
  await boss.createQueue(queue, { notify: true });
  await vacuumAnalyze(databaseUrl, schema);
  let worked = 0;
  let finishedAt = 0;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  // burstWhenBatchFull: keep fetching while batches come back full, as a busy worker would; the
  // hub's own workers likewise go straight back for more while there is work.
  await boss.work(queue, { batchSize: BATCH_SIZE, localConcurrency: LOCAL_CONCURRENCY, burstWhenBatchFull: true }, async (batch) => {
    worked += batch.length;
    if (worked >= jobs && finishedAt === 0) {
      // pg-boss marks the batch completed right after this handler returns (a few ms); the clock
      // stops here, which if anything flatters the baseline.
      finishedAt = Date.now();
      resolveDone();
    }
  });
  const startedAt = Date.now();
  for (let i = 0; i < jobs; i += INSERT_CHUNK) {
    await boss.insert(queue, Array.from({ length: Math.min(INSERT_CHUNK, jobs - i) }, (_, j) => ({ data: { n: i + j } })));
  }
  await done;
  const seconds = (finishedAt - startedAt) / 1000;
  await boss.offWork(queue, { wait: true });
  await expectCompleted(databaseUrl, schema, queue, jobs);
  return { jobs, seconds, jobsPerS: jobs / seconds };
}

/** The count the handler kept is checked against the table, once the clock has stopped. */
async function expectCompleted(databaseUrl: string, schema: string, queue: string, jobs: number): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const n = await query<{ n: number }>(databaseUrl, `SELECT count(*)::int AS n FROM ${schema}.job WHERE name = $1 AND state = 'completed'`, [queue]);
    if (n[0].n >= jobs) return;
    await sleep(20);
  }
  throw new Error(`pg-boss: fewer than ${jobs} jobs of ${queue} completed`);
}

async function vacuumAnalyze(databaseUrl: string, schema: string): Promise<void> {
  const tables = await query<{ tablename: string }>(databaseUrl, 'SELECT tablename FROM pg_tables WHERE schemaname = $1', [schema]);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const { tablename } of tables) await client.query(`VACUUM ANALYZE ${schema}."${tablename}"`);
  } finally {
    await client.end();
  }
}

async function dropSchema(databaseUrl: string, schema: string): Promise<void> {
  await query(databaseUrl, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
}

async function query<T>(databaseUrl: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}
