/**
 * API-key authentication for every route except health, metrics and the OpenAPI document (routes
 * marked `config: { public: true }`). Keys arrive as "Authorization: Bearer <key>" or "X-API-Key".
 * Verified keys are cached for a short time so the hot path skips the database.
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.ts';
import { findApiKey, hashApiKey } from '../store/api-keys.ts';
import type { AppDeps } from './app.ts';

const CACHE_TTL_MS = 30_000;

declare module 'fastify' {
  interface FastifyContextConfig {
    public?: boolean;
  }
}

export function registerAuth(app: FastifyInstance, deps: Pick<AppDeps, 'store' | 'clock'>): void {
  const cache = new Map<string, number>();
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config?.public || request.routeOptions.url === undefined) return;
    const key = readKey(request.headers.authorization, request.headers['x-api-key']);
    if (!key) throw new AppError('AUTH_MISSING');
    const hash = hashApiKey(key);
    const now = deps.clock.now();
    const cachedUntil = cache.get(hash);
    if (cachedUntil !== undefined && cachedUntil > now) return;
    if (!(await findApiKey(deps.store.db, key))) throw new AppError('AUTH_INVALID');
    cache.set(hash, now + CACHE_TTL_MS);
  });
}

function readKey(authorization: string | undefined, header: string | string[] | undefined): string | undefined {
  if (authorization) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    return match ? match[1] : authorization;
  }
  return typeof header === 'string' && header.length > 0 ? header : undefined;
}
