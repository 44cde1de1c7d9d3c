/**
 * Reconciliation: POST /v1/reconciliations runs one (entity and period) and answers its summary;
 * GET /v1/reconciliations lists recent runs, GET /v1/reconciliations/{id} shows one with its
 * balances, GET /v1/reconciliations/{id}/breaks gives the breaks it recorded as JSON or CSV;
 * POST /v1/reconciliation/breaks/{id}/resolve closes an open break. Open breaks are listed by the
 * exception queue (GET /v1/exceptions?kind=reconciliation).
 */
import type { FastifyInstance } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { breakCsvRow, BREAK_CSV_HEADER } from '../reconciliation/break-writer.ts';
import { BREAK_CLASSES } from '../reconciliation/types.ts';
import { listBreaks, resolveBreak } from '../reconcile/breaks.ts';
import { entityOf, runReconciliation, type ReconcileDeps } from '../reconcile/run.ts';
import { getRun, listRuns, requireReconcileRole, RUNS_LIST_MAX } from '../reconcile/runs.ts';
import type { Principal } from '../store/api-keys.ts';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const ErrorSchema = Type.Object({ code: Type.String(), message: Type.String(), correlationId: Type.String(), details: Type.Optional(Type.Unknown()) });
const TAGS = ['reconciliation'];
const Counts = (keys: readonly string[]) => Type.Object(Object.fromEntries(keys.map((k) => [k, Type.Integer()])));
const Sides = Type.Object({ platform: Type.Integer(), finsync: Type.Integer(), erp: Type.Integer() });

export const RunSummarySchema = Type.Object({
  id: Type.String(),
  entity: Type.String(),
  period: Type.String({ description: 'YYYY-MM' }),
  trigger: Type.String({ description: 'schedule, manual (command line) or api' }),
  actor: Type.String(),
  startedAt: Type.String({ format: 'date-time' }),
  finishedAt: Type.String({ format: 'date-time' }),
  sides: Type.Object({ platform: Type.String(), finsync: Type.String(), erp: Type.String() }, { description: 'where each side was read from' }),
  linesRead: Sides,
  keys: Type.Integer({ description: 'external keys seen on any side' }),
  completeness: Type.Object({
    matchedKeys: Type.Integer(),
    approvedKeys: Type.Integer(),
    percent: Nullable(Type.String({ description: 'matched ÷ approved in percent, two decimals, rounded half up; null when nothing was approved' })),
  }),
  breaks: Counts(BREAK_CLASSES),
  healed: Counts(['replayed', 'reingested', 'recallApplied', 'lookupRequeued']),
  exceptionsOpened: Type.Integer(),
  inFlight: Type.Integer({ description: 'breaks whose item was still on its way (the next run sees it settled)' }),
  alreadyInQueue: Type.Integer({ description: 'approved reports finsync holds quarantined or waiting: already in the exception queue under their own code' }),
  cleared: Type.Integer({ description: 'breaks of earlier runs not found again' }),
  refused: Type.Array(Type.Object({ id: Type.String(), code: Type.String(), message: Type.String() })),
  balances: Type.Array(
    Type.Object({
      entity: Type.String(),
      currency: Type.String(),
      period: Type.String(),
      account: Type.String(),
      platformMinor: Type.Integer(),
      finsyncMinor: Type.Integer(),
      erpMinor: Type.Integer(),
      finsyncMinusPlatformMinor: Type.Integer(),
      erpMinusFinsyncMinor: Type.Integer(),
    }),
  ),
  export: Type.Optional(Type.Object({ path: Type.String(), format: Type.String() })),
});

const RunRecordSchema = Type.Object({
  id: Type.String(),
  entity: Type.String(),
  period: Type.String(),
  trigger: Type.String(),
  actor: Type.String(),
  status: Type.Unsafe<'running' | 'done' | 'failed'>({ type: 'string', enum: ['running', 'done', 'failed'] }),
  startedAt: Type.String({ format: 'date-time' }),
  finishedAt: Nullable(Type.String({ format: 'date-time' })),
  error: Nullable(Type.String()),
  summary: Nullable(RunSummarySchema),
});

function actorOf(principal: Principal | undefined): Principal {
  if (!principal) throw new Error('Assertion failed: an authenticated reconciliation route has no principal');
  return principal;
}

export function registerReconciliationRoutes(app: FastifyInstance, deps: { readonly reconcile: ReconcileDeps }): void {
  const { reconcile } = deps;
  app.post<{ Body: { entity: string; period: string; heal?: boolean } }>(
    '/v1/reconciliations',
    {
      schema: {
        tags: TAGS,
        summary: 'Reconcile one entity and period now: platform, finsync and ERP read back and compared; safe breaks healed, the others opened as exceptions (operator, admin or controller of the entity)',
        body: Type.Object(
          {
            entity: Type.String({ minLength: 1, maxLength: 40 }),
            period: Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])$', description: 'YYYY-MM' }),
            heal: Type.Optional(Type.Boolean({ description: 'default true; false records the breaks without healing any' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: RunSummarySchema, '4xx': ErrorSchema, '5xx': ErrorSchema },
      },
    },
    async (request) => {
      const actor = actorOf(request.principal);
      const entity = entityOf(reconcile, request.body.entity);
      requireReconcileRole(actor, entity.code, 'run a reconciliation');
      return runReconciliation(reconcile, { entity: entity.code, period: request.body.period, trigger: 'api', actor: actor.name, ...(request.body.heal !== undefined && { heal: request.body.heal }) });
    },
  );

  app.get<{ Querystring: { entity?: string; limit?: number } }>(
    '/v1/reconciliations',
    {
      schema: {
        tags: TAGS,
        summary: 'Recent reconciliation runs, newest first, with their summaries',
        querystring: Type.Object({ entity: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: RUNS_LIST_MAX, description: 'default 20' })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ runs: Type.Array(RunRecordSchema) }), '4xx': ErrorSchema },
      },
    },
    async (request) => ({ runs: await listRuns(reconcile.store.db, { ...(request.query.entity !== undefined && { entity: request.query.entity }), limit: request.query.limit ?? 20 }) }),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/reconciliations/:id',
    {
      schema: { tags: TAGS, summary: 'One reconciliation run: status, completeness, breaks by class, what was healed, balances per entity × currency × period × account', params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) }), response: { 200: RunRecordSchema, '4xx': ErrorSchema } },
    },
    async (request) => getRun(reconcile.store.db, request.params.id),
  );

  app.get<{ Params: { id: string }; Querystring: { format?: 'json' | 'csv' } }>(
    '/v1/reconciliations/:id/breaks',
    {
      schema: {
        tags: TAGS,
        summary: 'The breaks a run recorded (healed or opened), as JSON or CSV (format=csv: the columns of docs/reconciliation.md)',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) }),
        querystring: Type.Object({ format: Type.Optional(Type.Unsafe<'json' | 'csv'>({ type: 'string', enum: ['json', 'csv'] })) }, { additionalProperties: false }),
        response: { 200: Type.Unknown(), '4xx': ErrorSchema },
      },
    },
    async (request, reply) => {
      const run = await getRun(reconcile.store.db, request.params.id);
      const rows = (await listBreaks(reconcile.store.db, { entity: run.entity, states: ['open', 'healing', 'cleared', 'resolved'], limit: 100_000 })).filter((b) => b.lastRunId === run.id || b.firstRunId === run.id);
      if (request.query.format === 'csv') {
        return reply.type('text/csv; charset=utf-8').send(`${[BREAK_CSV_HEADER, ...rows.map((b) => breakCsvRow(b.detail))].join('\n')}\n`);
      }
      return { runId: run.id, breaks: rows.map((b) => ({ id: `break:${b.id}`, code: b.code, state: b.state, action: b.action, ...b.detail })) };
    },
  );

  app.post<{ Params: { id: string }; Body: { resolution: string } }>(
    '/v1/reconciliation/breaks/:id/resolve',
    {
      schema: {
        tags: TAGS,
        summary: 'Close an open reconciliation break after fixing it where it is wrong (operator, admin or controller of the entity): who, when and why are kept',
        params: Type.Object({ id: Type.String({ pattern: '^break:\\d{1,15}$', description: 'break:<id> from the exception queue' }) }),
        body: Type.Object({ resolution: Type.String({ minLength: 1, maxLength: 500, description: 'what was done' }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ id: Type.String(), state: Type.String(), resolvedBy: Type.String(), resolution: Type.String() }), '4xx': ErrorSchema },
      },
    },
    async (request) => {
      const actor = actorOf(request.principal);
      const id = Number(request.params.id.slice('break:'.length));
      const [open] = await listBreaks(reconcile.store.db, { ids: [id], states: ['open', 'healing'], limit: 1 });
      if (open) requireReconcileRole(actor, open.entity, 'resolve a break');
      const resolved = await resolveBreak(reconcile.store.db, id, actor.name, request.body.resolution.trim(), reconcile.clock.now());
      return { id: `break:${resolved.id}`, state: resolved.state, resolvedBy: actor.name, resolution: request.body.resolution.trim() };
    },
  );
}
