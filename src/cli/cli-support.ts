/** What the commands share: refusing an argument, and knowing who acts. */
import { AppError } from '../errors.ts';
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
