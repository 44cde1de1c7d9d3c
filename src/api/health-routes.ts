/** Health and Prometheus metrics: the only routes that need no API key. */
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { AppDeps } from './app.ts';

export function registerHealthRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get('/healthz', { config: { public: true }, schema: { summary: 'Liveness and store reachability', security: [] } }, async (_request, reply) => {
    try {
      await sql`SELECT 1`.execute(deps.store.db);
      return { status: 'ok', store: deps.store.caps.kind };
    } catch {
      return reply.status(503).send({ status: 'unavailable', store: deps.store.caps.kind });
    }
  });
  app.get('/metrics', { config: { public: true }, schema: { summary: 'Prometheus metrics', security: [] } }, async (_request, reply) => {
    return reply.header('content-type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
}
