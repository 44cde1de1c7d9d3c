/** `finsync status`: schema version, reports by state, open postings per target, pending messages. */
import { openConfiguredStore } from '../compose.ts';
import { loadConfig } from '../config.ts';
import { currentSchemaVersion, KNOWN_SCHEMA_VERSION } from '../store/migrate.ts';
import { countPendingMessages } from '../store/outbox.ts';
import { countReportStates } from '../store/reports.ts';

export async function runStatusCommand(opts: { json: boolean }): Promise<number> {
  const store = await openConfiguredStore(loadConfig(process.env));
  try {
    const schemaVersion = await currentSchemaVersion(store);
    const ready = schemaVersion === KNOWN_SCHEMA_VERSION;
    const states = ready ? await countReportStates(store.db) : { reports: 0, byState: {}, quarantineReasons: {}, waitingReasons: {} };
    const postings = ready
      ? await store.db.selectFrom('postings').select(['target', 'state', (eb) => eb.fn.countAll<number>().as('n')]).groupBy(['target', 'state']).execute()
      : [];
    const status = {
      store: store.location,
      schemaVersion,
      knownSchemaVersion: KNOWN_SCHEMA_VERSION,
      reports: states,
      postings: postings.map((p) => ({ target: p.target, state: p.state, count: Number(p.n) })),
      pendingMessages: ready ? await countPendingMessages(store.db) : 0,
    };
    if (opts.json) process.stdout.write(`${JSON.stringify(status)}\n`);
    else {
      process.stdout.write(`store: ${status.store}\nschema: version ${schemaVersion} (this finsync knows ${KNOWN_SCHEMA_VERSION})${ready ? '' : schemaVersion > KNOWN_SCHEMA_VERSION ? ' - upgrade finsync before running it against this database' : ' - run `finsync migrate`'}\n`);
      process.stdout.write(`reports: ${states.reports} ${JSON.stringify(states.byState)}\n`);
      for (const p of status.postings) process.stdout.write(`postings ${p.target} ${p.state}: ${p.count}\n`);
      process.stdout.write(`messages pending: ${status.pendingMessages}\n`);
    }
    return 0;
  } finally {
    await store.close();
  }
}
