/**
 * API-key authentication for every route except health, metrics and the OpenAPI document (routes
 * marked `config: { public: true }`). Keys arrive as "Authorization: Bearer <key>" or "X-API-Key".
 * Verified keys are cached for a short time so the hot path skips the database.
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.ts';
import { findApiKey, type Principal } from '../store/api-keys.ts';
import type { AppDeps } from './app.ts';

/** How long a verified key is trusted without asking the store: a revoked key stops working within this time. */
const CACHE_TTL_MS = 30_000;

/** Verified keys held at most; beyond that the oldest verification is dropped (and done again on its next use). */
const CACHE_ENTRIES_MAX = 10_000;

declare module 'fastify' {
  interface FastifyContextConfig {
    public?: boolean;
  }
  interface FastifyRequest {
    /** The key's holder; set on every authenticated route (absent only on public ones). */
    principal?: Principal;
  }
}

/**
 * Verified keys, by the header value that presented them as it was sent (the same value of the same
 * header always means the same key, and a hit needs no parsing), with the instant their
 * verification expires.
 * Held by what the client sent rather than by the key's SHA-256 (as the store holds it): hashing
 * every request cost more than the rest of authentication. Only keys the store accepted get in, so
 * unknown keys cannot grow it; insertion order is verification order, so the first entry is the
 * oldest.
 */
export class VerifiedKeys {
  readonly #entries = new Map<string, { expiresAt: number; principal: Principal }>();

  constructor(
    readonly ttlMs = CACHE_TTL_MS,
    readonly entriesMax = CACHE_ENTRIES_MAX,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  /** The key's holder while its verification holds, else undefined. */
  get(presented: string, now: number): Principal | undefined {
    const entry = this.#entries.get(presented);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > now) return entry.principal;
    this.#entries.delete(presented);
    return undefined;
  }

  add(presented: string, principal: Principal, now: number): void {
    this.#entries.delete(presented);
    if (this.#entries.size >= this.entriesMax) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(presented, { expiresAt: now + this.ttlMs, principal });
  }
}

export function registerAuth(app: FastifyInstance, deps: Pick<AppDeps, 'store' | 'clock'>): void {
  // One cache per header, so a value can only ever mean what its own header means.
  const byAuthorization = new VerifiedKeys();
  const byApiKeyHeader = new VerifiedKeys();
  // A callback hook, not an async one: a key found in the cache answers without a promise.
  app.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions; // a getter that builds an object: read once
    if (route.config?.public || route.url === undefined) return done();
    const { authorization, 'x-api-key': header } = request.headers;
    // The key is read from Authorization when it is set, else from X-API-Key (as readKey does).
    const verified = authorization ? byAuthorization : byApiKeyHeader;
    const presented = authorization || (typeof header === 'string' ? header : '');
    const now = deps.clock.now();
    const cached = presented ? verified.get(presented, now) : undefined;
    if (cached) {
      request.principal = cached;
      return done();
    }
    const key = readKey(authorization, header);
    if (!key) return done(new AppError('AUTH_MISSING'));
    findApiKey(deps.store.db, key).then((found) => {
      if (!found) return done(new AppError('AUTH_INVALID'));
      verified.add(presented, found, now);
      request.principal = found;
      done();
    }, done);
  });
}

function readKey(authorization: string | undefined, header: string | string[] | undefined): string | undefined {
  if (authorization) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    return match ? match[1] : authorization;
  }
  return typeof header === 'string' && header.length > 0 ? header : undefined;
}
