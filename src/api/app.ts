/**
 * buildApp(deps) returns the Fastify instance; it never listens itself (the CLI and the tests do).
 * One plugin per resource; one error handler maps every error to a stable code and HTTP status.
 */
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from 'pino';
import { AppError, ERRORS } from '../errors.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Store } from '../store/db.ts';
import type { Clock } from '../pipeline/clock.ts';
import type { Broker } from '../pipeline/broker.ts';
import { registerAuth } from './auth.ts';
import { registerEventRoutes } from './events-routes.ts';
import { registerReportRoutes } from './reports-routes.ts';
import { registerHealthRoutes } from './health-routes.ts';
import { registerValidateRoutes } from './validate-routes.ts';
import type { Validator } from '../validation/validator.ts';
import type { Governance } from '../mapping/governance.ts';
import type { MappingService } from '../mapping/mapping-service.ts';
import { registerMappingRoutes } from './mapping-routes.ts';
import { registerMasterDataRoutes } from './master-data-routes.ts';
import { registerExceptionRoutes } from './exceptions-routes.ts';
import { registerReplayRoutes } from './replays-routes.ts';
import { registerReconciliationRoutes } from './reconciliation-routes.ts';
import { registerReimbursementRoutes } from './reimbursements-routes.ts';
import { registerRoutingRoutes, type RoutingRouteDeps } from './routing-routes.ts';
import type { ReconcileDeps } from '../reconcile/run.ts';
import { registerEventLogRoutes } from './eventlog-routes.ts';
import type { ReplayDeps } from '../exceptions/replay.ts';
import type { MasterDataHub } from '../masterdata/hub.ts';
import type { SyncContext } from '../masterdata/sources.ts';

export interface AppDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly broker: Broker;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly bodyLimitBytes: number;
  /** Master-data and policy checks for POST /v1/validate. */
  readonly validator: Validator;
  /** The rule sets in force: the GL accounts a draft would post to are checked too. */
  readonly mapping: MappingService;
  /** The four-eyes workflow of rule sets (routes under /v1/mapping). */
  readonly governance: Governance;
  readonly masterData: MasterDataHub;
  readonly sync: SyncContext;
  /** Replays of the exception queue (routes under /v1/replays). */
  readonly replay: ReplayDeps;
  /** Reconciliation runs and breaks (routes under /v1/reconciliations). */
  readonly reconcile: ReconcileDeps;
  /** The routing table and the targets' maintenance calendars (/v1/routing, /v1/maintenance). */
  readonly routingApi: RoutingRouteDeps;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    bodyLimit: deps.bodyLimitBytes,
    genReqId: (req) => {
      const given = req.headers['x-correlation-id'];
      return typeof given === 'string' && /^[A-Za-z0-9_.:-]{1,100}$/.test(given) ? given : crypto.randomUUID();
    },
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'finsync API', version: '1' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
  });
  registerErrorHandling(app, deps.bodyLimitBytes);
  // Fastify parses text/plain by default; the API accepts only the JSON media types below.
  app.removeContentTypeParser('text/plain');
  // CloudEvents batches have their own media type; parse them as JSON like application/json.
  app.addContentTypeParser(['application/cloudevents+json', 'application/cloudevents-batch+json'], { parseAs: 'string' }, (req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (error) {
      const err = error as FastifyError;
      err.statusCode = 400;
      err.code = 'FST_ERR_CTP_INVALID_JSON_BODY';
      done(err, undefined);
    }
  });
  registerAuth(app, deps);
  registerHealthRoutes(app, deps);
  registerEventRoutes(app, deps);
  registerReportRoutes(app, deps);
  registerValidateRoutes(app, deps);
  registerMasterDataRoutes(app, deps);
  registerMappingRoutes(app, deps);
  registerExceptionRoutes(app, deps);
  registerReplayRoutes(app, deps);
  registerReconciliationRoutes(app, deps);
  registerReimbursementRoutes(app, deps);
  registerRoutingRoutes(app, deps);
  registerEventLogRoutes(app, deps);
  app.get('/openapi.json', { schema: { hide: true }, config: { public: true } }, async () => app.swagger());
  return app;
}

function registerErrorHandling(app: FastifyInstance, bodyLimitBytes: number): void {
  app.setNotFoundHandler((request, reply) => {
    const error = new AppError('ROUTE_NOT_FOUND', { method: request.method, url: request.url.split('?')[0] });
    void reply.status(error.status).send({ code: error.code, message: error.message, correlationId: request.id });
  });
  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    const appError = toAppError(error, request.id, bodyLimitBytes, String(request.headers['content-type'] ?? 'none'));
    if (appError.code === 'INTERNAL') request.log.error({ err: error, correlationId: request.id }, 'unhandled error');
    else request.log.info({ code: appError.code, correlationId: request.id }, 'request refused');
    void reply.status(appError.status).send({
      code: appError.code,
      message: appError.message,
      correlationId: request.id,
      ...(appError.details !== undefined && { details: appError.details }),
    });
  });
}

function toAppError(error: FastifyError | AppError, correlationId: string, bodyLimitBytes: number, contentType: string): AppError {
  if (error instanceof AppError) return error;
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('BODY_TOO_LARGE', { limitBytes: bodyLimitBytes });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('BODY_INVALID_JSON', { detail: error.message });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('BODY_UNSUPPORTED_MEDIA_TYPE', { contentType });
    case 'FST_ERR_VALIDATION':
      return new AppError('REQUEST_INVALID', { detail: error.message });
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return new AppError('REQUEST_INVALID', { detail: error.message });
  }
  return new AppError('INTERNAL', { correlationId });
}

export { ERRORS };
