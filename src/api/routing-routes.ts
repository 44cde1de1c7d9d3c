/**
 * Routing and maintenance calendars: GET/PUT /v1/routing (the versioned routing table: entity →
 * target with cutover dates and shadow targets), GET /v1/routing/versions, GET /v1/routing/resolve
 * (where a report of an entity on a date goes), GET /v1/routing/shadow (primary and shadow outcomes
 * side by side); POST/GET /v1/maintenance and DELETE /v1/maintenance/{id} (a target's windows: its
 * lane holds its postings inside one). Changes need the operator or admin role.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { AppError } from '../errors.ts';
import type { LegalEntity } from '../masterdata/company.ts';
import type { Clock } from '../pipeline/clock.ts';
import { addMaintenanceWindow, cancelMaintenanceWindow, listMaintenanceWindows, type MaintenanceCalendar } from '../routing/maintenance.ts';
import { listRoutingVersions, readLatestRouting, RoutingRuleSchema, setRouting, type RoutingService } from '../routing/routing.ts';
import { shadowReport } from '../routing/shadow.ts';
import type { Principal } from '../store/api-keys.ts';
import type { Store } from '../store/db.ts';

export interface RoutingRouteDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly routing: RoutingService;
  readonly maintenance: MaintenanceCalendar;
  readonly entities: () => readonly LegalEntity[];
  readonly targets: () => readonly string[];
  /** A lane whose calendar changed: look again now. */
  readonly notifyLane: (target: string) => void;
}

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const ErrorSchema = Type.Object({ code: Type.String(), message: Type.String(), correlationId: Type.String(), details: Type.Optional(Type.Unknown()) });
const Iso = Type.String({ format: 'date-time' });
const VersionSchema = Type.Object({ version: Type.Integer(), rules: Type.Array(RoutingRuleSchema), author: Type.String(), reason: Type.String(), createdAt: Iso });
const WindowSchema = Type.Object({ id: Type.Integer(), target: Type.String(), from: Iso, to: Iso, reason: Type.String(), createdBy: Type.String(), createdAt: Iso, cancelledAt: Nullable(Iso) });
const SideSchema = Type.Object({ target: Type.String(), externalKey: Type.String(), state: Type.String(), documentId: Nullable(Type.String()), reasonCode: Nullable(Type.String()) });

function operator(principal: Principal | undefined, action: string): Principal {
  if (!principal) throw new Error('Assertion failed: an authenticated route has no principal');
  if (principal.roles.includes('operator') || principal.roles.includes('admin')) return principal;
  throw new AppError('OPERATOR_ROLE_REQUIRED', { actor: principal.name, action });
}

export function registerRoutingRoutes(app: FastifyInstance, deps: { readonly routingApi: RoutingRouteDeps }): void {
  const d = deps.routingApi;

  app.get('/v1/routing', { schema: { tags: ['routing'], summary: 'The routing table in force (version 0: none; every entity posts to its own target)', response: { 200: VersionSchema, '4xx': ErrorSchema } } }, async () => {
    const latest = await readLatestRouting(d.store.db);
    return latest ?? { version: 0, rules: [], author: 'finsync', reason: 'no routing table: each entity posts to its own target', createdAt: new Date(0).toISOString() };
  });

  app.get('/v1/routing/versions', { schema: { tags: ['routing'], summary: 'Every routing version, newest first', response: { 200: Type.Object({ versions: Type.Array(VersionSchema) }), '4xx': ErrorSchema } } }, async () => ({
    versions: await listRoutingVersions(d.store.db),
  }));

  app.put<{ Body: { rules: unknown[]; reason: string } }>(
    '/v1/routing',
    {
      schema: {
        tags: ['routing'],
        summary: 'Store a new version of the whole routing table (operator or admin): checked for unknown entities and targets, bad dates and overlapping rules; in force for every report processed from now on',
        body: Type.Object({ rules: Type.Array(Type.Unknown(), { maxItems: 10_000 }), reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
        response: { 200: VersionSchema, '4xx': ErrorSchema },
      },
    },
    async (request) => {
      const actor = operator(request.principal, 'change the routing');
      const version = await setRouting(d.store.db, { rules: request.body.rules, author: actor.name, reason: request.body.reason }, { entities: d.entities().map((e) => e.code), targets: d.targets() }, d.clock.now());
      await d.routing.refresh(d.store.db);
      return version;
    },
  );

  app.get<{ Querystring: { entity: string; date: string; ledger?: string } }>(
    '/v1/routing/resolve',
    {
      schema: {
        tags: ['routing'],
        summary: 'Where a report of an entity with a posting date goes: target, the entity’s id there, the shadow target if any, and the routing version that decided',
        querystring: Type.Object({ entity: Type.String({ minLength: 1, maxLength: 40 }), date: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }), ledger: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ target: Type.String(), companyId: Type.String(), shadow: Type.Optional(Type.Object({ target: Type.String(), companyId: Type.String() })), version: Type.Integer() }), '4xx': ErrorSchema },
      },
    },
    async (request) => {
      const entity = d.entities().find((e) => e.code === request.query.entity);
      if (!entity) throw new AppError('RECON_ENTITY_UNKNOWN', { entity: request.query.entity, configured: d.entities().map((e) => e.code).join(', ') });
      await d.routing.refresh(d.store.db);
      return d.routing.route(entity, { entity: entity.code, date: request.query.date, processType: 'expense', ...(request.query.ledger && { ledger: request.query.ledger }) });
    },
  );

  app.get<{ Querystring: { entity?: string; from: string; to: string; limit?: number } }>(
    '/v1/routing/shadow',
    {
      schema: {
        tags: ['routing'],
        summary: 'Shadow mode: each journal sent to its target and to the shadow target, side by side, with where the outcomes differ',
        querystring: Type.Object(
          { entity: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })), from: Iso, to: Iso, limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            counts: Type.Object({ none: Type.Integer(), outcome: Type.Integer(), pending: Type.Integer() }),
            truncated: Type.Boolean(),
            rows: Type.Array(Type.Object({ reportId: Type.String(), revision: Type.Integer(), entity: Type.String(), primary: Nullable(SideSchema), shadow: SideSchema, difference: Type.String() })),
          }),
          '4xx': ErrorSchema,
        },
      },
    },
    async (request) => {
      const fromMs = Date.parse(request.query.from);
      const toMs = Date.parse(request.query.to);
      if (!(toMs > fromMs)) throw new AppError('REQUEST_INVALID', { detail: 'to must be after from' });
      return shadowReport(d.store.db, { ...(request.query.entity && { entity: request.query.entity }), fromMs, toMs, limit: request.query.limit ?? 1_000 });
    },
  );

  app.post<{ Body: { target: string; from: string; to: string; reason: string } }>(
    '/v1/maintenance',
    {
      schema: {
        tags: ['routing'],
        summary: 'Add a maintenance window to a target’s calendar (operator or admin): its lane claims nothing inside it; the postings wait in order and drain when it ends',
        body: Type.Object({ target: Type.String({ minLength: 1, maxLength: 40 }), from: Type.String({ minLength: 10, maxLength: 40 }), to: Type.String({ minLength: 10, maxLength: 40 }), reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
        response: { 201: WindowSchema, '4xx': ErrorSchema },
      },
    },
    async (request, reply) => {
      const actor = operator(request.principal, 'change a maintenance calendar');
      const window = await addMaintenanceWindow(d.store.db, request.body, actor.name, d.targets(), d.clock.now());
      await d.maintenance.refresh(d.clock.now());
      return reply.status(201).send(window);
    },
  );

  app.get<{ Querystring: { target?: string; all?: boolean } }>(
    '/v1/maintenance',
    {
      schema: {
        tags: ['routing'],
        summary: 'Maintenance windows not yet over (all=true: every window, cancelled ones too)',
        querystring: Type.Object({ target: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })), all: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        response: { 200: Type.Object({ windows: Type.Array(WindowSchema) }), '4xx': ErrorSchema },
      },
    },
    async (request) => ({ windows: await listMaintenanceWindows(d.store.db, { ...(request.query.target && { target: request.query.target }), all: request.query.all ?? false, now: d.clock.now() }) }),
  );

  app.delete<{ Params: { id: number } }>(
    '/v1/maintenance/:id',
    {
      schema: { tags: ['routing'], summary: 'Cancel a maintenance window (operator or admin); the lane resumes at its next poll', params: Type.Object({ id: Type.Integer({ minimum: 1 }) }), response: { 200: WindowSchema, '4xx': ErrorSchema } },
    },
    async (request) => {
      const actor = operator(request.principal, 'change a maintenance calendar');
      const window = await cancelMaintenanceWindow(d.store.db, request.params.id, actor.name, d.clock.now());
      await d.maintenance.refresh(d.clock.now());
      d.notifyLane(window.target);
      return window;
    },
  );
}
