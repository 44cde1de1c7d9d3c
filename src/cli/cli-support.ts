/** What the commands share: refusing an argument, knowing who acts, and opening the configured store. */
import { openConfiguredStore } from '../compose.ts';
import { loadConfig, type Config } from '../config.ts';
import { AppError } from '../errors.ts';
import type { Store } from '../store/db.ts';
import { migrate } from '../store/migrate.ts';
import { configuredEntities } from './masterdata-command.ts';
import type { Db } from '../store/db.ts';
import { findApiKey, type Principal } from '../store/api-keys.ts';

export function argumentInvalid(detail: string): AppError {
  return new AppError('CLI_ARGUMENT_INVALID', { detail });
}

/**
 * The holder of the API key a command acts with (--api-key or FINSYNC_API_KEY), as the HTTP API
 * would see it: AUTH_MISSING without a key, AUTH_INVALID for an unknown or revoked one.
 */
export async function actingPrincipal(db: Db, apiKey: string | undefined): Promise<Principal> {
  if (!apiKey) throw new AppError('AUTH_MISSING');
  const principal = await findApiKey(db, apiKey);
  if (!principal) throw new AppError('AUTH_INVALID');
  return principal;
}

/** Runs `fn` on the configured store, migrated, with each configured entity's target and the configuration. */
export async function withConfiguredStore<T>(fn: (store: Store, entityTargets: Record<string, string>, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env);
  const entityTargets = Object.fromEntries(configuredEntities(config).map((e) => [e.code, e.target]));
  const store = await openConfiguredStore(config);
  try {
    await migrate(store);
    return await fn(store, entityTargets, config);
  } finally {
    await store.close();
  }
}
