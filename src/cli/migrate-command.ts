/** `finsync migrate`: applies the numbered migrations and says what it did. */
import { openConfiguredStore } from '../compose.ts';
import { loadConfig } from '../config.ts';
import { migrate } from '../store/migrate.ts';

export async function runMigrateCommand(): Promise<number> {
  const store = await openConfiguredStore(loadConfig(process.env));
  try {
    const report = await migrate(store);
    process.stdout.write(report.applied.length ? `Migrated ${store.location} from version ${report.from} to ${report.to}: ${report.applied.join(', ')}\n` : `${store.location} is at schema version ${report.to}; nothing to do\n`);
    return 0;
  } finally {
    await store.close();
  }
}
