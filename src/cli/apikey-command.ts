/** `finsync apikey create --name NAME [--role ROLE …]`: prints a new key once; only its hash is stored. */
import { openConfiguredStore } from '../compose.ts';
import { loadConfig } from '../config.ts';
import { AppError } from '../errors.ts';
import { createApiKey, ROLE_PATTERN } from '../store/api-keys.ts';
import { migrate } from '../store/migrate.ts';

export async function runApiKeyCreateCommand(opts: { name: string; role?: readonly string[] }): Promise<number> {
  if (!/^[\w .@-]{1,100}$/.test(opts.name)) throw new AppError('CLI_ARGUMENT_INVALID', { detail: '--name must be 1 to 100 letters, digits, spaces, or . _ @ -' });
  const roles = opts.role ?? [];
  const bad = roles.find((role) => !ROLE_PATTERN.test(role));
  if (bad !== undefined) throw new AppError('CLI_ARGUMENT_INVALID', { detail: `--role "${bad}" is not a role: use admin, operator, auditor, controller:<entity>, controller:GROUP or controller:*` });
  const store = await openConfiguredStore(loadConfig(process.env));
  try {
    await migrate(store);
    const { id, key } = await createApiKey(store.db, opts.name, Date.now(), roles);
    process.stdout.write(`${key}\n`);
    process.stderr.write(`API key ${id} for "${opts.name}"${roles.length > 0 ? ` with role(s) ${[...new Set(roles)].join(', ')}` : ''} created. It is shown only now: store it safely.\n`);
    return 0;
  } finally {
    await store.close();
  }
}
