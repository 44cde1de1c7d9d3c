/**
 * Replays of the exception queue: POST /v1/replays sends items (by id, or a whole cause group) back
 * into the pipeline, acting as the API key's holder; GET /v1/replays/{id} shows who, when, why and
 * each item's outcome now; GET /v1/replays lists the recent ones.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { getReplay, recentReplays, replayExceptions, REPLAY_IDS_MAX, REPLAY_REASON_CHARS_MAX, REPLAYS_LIST_MAX, type ReplayDeps } from '../exceptions/replay.ts';
import type { Principal } from '../store/api-keys.ts';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const OneOf = <T extends string>(values: readonly T[]) => Type.Unsafe<T>({ type: 'string', enum: [...values] });
const Iso = Type.String({ format: 'date-time' });
const Stage = OneOf(['revision', 'posting', 'reversal']);
const ErrorSchema = Type.Object({ code: Type.String(), message: Type.String(), correlationId: Type.String(), details: Type.Optional(Type.Unknown()) });
const TAGS = ['exceptions'];

const ReplaySummarySchema = Type.Object({
  id: Type.String(),
  actor: Type.String({ description: 'the name of the API key holder who replayed' }),
  reason: Type.String(),
  createdAt: Iso,
  selection: Type.Object(
    {
      ids: Type.Optional(Type.Array(Type.String())),
      group: Type.Optional(Type.String()),
      window: Type.Optional(Type.Object({ from: Iso, to: Iso }, { description: 'a re-drive of the event log (POST /v1/redrives): the time window' })),
      entity: Type.Optional(Type.String({ description: 'a re-drive limited to one entity' })),
      mapping: Type.Optional(Type.Object({ entity: Type.String(), codes: Type.Array(Type.String()) }, { description: 'a mapping replay (finsync mapping replay): the entity and the quarantine codes' })),
    },
    { description: 'what was asked: item ids, a cause group, a re-drive window, or a mapping replay' },
  ),
  itemCount: Type.Integer(),
});

const ItemOutcomeSchema = Type.Object({
  id: Type.String({ description: 'the exception item id: revision:<reportId>:<revision> or posting:<id>' }),
  stage: Stage,
  reportId: Type.String(),
  revision: Type.Integer(),
  postingId: Nullable(Type.Integer()),
  entity: Type.String(),
  previousCode: Type.String({ description: 'the quarantine code it had when replayed' }),
  quarantinedAt: Iso,
  outcome: OneOf(['pending', 'posted', 'quarantined', 'superseded']),
  state: Type.String({ description: 'the state of the revision (revision items) or posting (posting items) now' }),
  code: Nullable(Type.String({ description: 'for quarantined: the code it has now' })),
  postedAt: Nullable(Iso),
  recoverySeconds: Nullable(Type.Number({ description: 'for posted: seconds from the first quarantine to the posting' })),
});

function actorOf(principal: Principal | undefined): Principal {
  // Every route here is authenticated: the auth hook sets the principal or refuses the request.
  if (!principal) throw new Error('Assertion failed: an authenticated replay route has no principal');
  return principal;
}

export function registerReplayRoutes(app: FastifyInstance, deps: { readonly replay: ReplayDeps }): void {
  app.post<{ Body: { ids?: string[]; group?: string; reason: string } }>(
    '/v1/replays',
    {
      schema: {
        tags: TAGS,
        summary: 'Replay quarantined items after a fix: the ids given, or every current member of a cause group (operator, admin, or controller of every entity involved). All or nothing; the external key is reused, so no second ERP document can result',
        body: Type.Object(
          {
            ids: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: REPLAY_IDS_MAX, description: 'exception item ids (GET /v1/exceptions?view=items)' })),
            group: Type.Optional(Type.String({ minLength: 1, maxLength: 1_000, description: 'a cause key (GET /v1/exceptions, groups[].cause)' })),
            reason: Type.String({ minLength: 1, maxLength: REPLAY_REASON_CHARS_MAX, description: 'why: the fix made' }),
          },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object({
            replayId: Type.String(),
            items: Type.Array(
              Type.Object({
                id: Type.String(),
                stage: Stage,
                reportId: Type.String(),
                revision: Type.Integer(),
                postingId: Nullable(Type.Integer()),
                entity: Type.String(),
                target: Nullable(Type.String()),
                previousCode: Type.String(),
              }),
            ),
          }),
          '4xx': ErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const { ids, group, reason } = request.body;
      const started = await replayExceptions(deps.replay, { ...(ids !== undefined && { ids }), ...(group !== undefined && { group }), reason }, actorOf(request.principal));
      return reply.status(202).send(started);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/replays/:id',
    {
      schema: {
        tags: TAGS,
        summary: 'One replay: who, when, why, and each item’s outcome now (pending, posted with its recovery time, quarantined again with its code, or superseded)',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }),
        response: {
          200: Type.Object({
            ...ReplaySummarySchema.properties,
            outcomes: Type.Object({ pending: Type.Integer(), posted: Type.Integer(), quarantined: Type.Integer(), superseded: Type.Integer() }),
            items: Type.Array(ItemOutcomeSchema),
          }),
          '4xx': ErrorSchema,
        },
      },
    },
    async (request) => getReplay(deps.replay.store, request.params.id),
  );

  app.get<{ Querystring: { limit?: number } }>(
    '/v1/replays',
    {
      schema: {
        tags: TAGS,
        summary: 'The most recent replays, newest first',
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: REPLAYS_LIST_MAX, description: 'default 50' })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ replays: Type.Array(ReplaySummarySchema) }), '4xx': ErrorSchema },
      },
    },
    async (request) => ({ replays: await recentReplays(deps.replay.store, request.query.limit ?? 50) }),
  );
}
