/**
 * Replay from the event log: GET /v1/reports/{id}/rebuild folds a report's log into its state and
 * lists every difference from the tables; POST /v1/redrives drives the report revisions received in
 * a time window through the pipeline again (or, with dryRun, says what it would do), acting as the
 * API key's holder.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { rebuildReport } from '../eventlog/rebuild.ts';
import { redrive, REDRIVE_ITEMS_MAX, REDRIVE_WINDOW_DAYS_MAX } from '../eventlog/redrive.ts';
import { REPLAY_REASON_CHARS_MAX, type ReplayDeps } from '../exceptions/replay.ts';
import type { Principal } from '../store/api-keys.ts';
import type { Store } from '../store/db.ts';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const OneOf = <T extends string>(values: readonly T[]) => Type.Unsafe<T>({ type: 'string', enum: [...values] });
const Iso = Type.String({ format: 'date-time' });
const ErrorSchema = Type.Object({ code: Type.String(), message: Type.String(), correlationId: Type.String(), details: Type.Optional(Type.Unknown()) });
const TAGS = ['event log'];

const FieldValue = Type.Union([Type.String(), Type.Number(), Type.Null()]);

const RevisionSchema = Type.Object({
  revision: Type.Integer(),
  state: Type.String({ description: 'received, validated, mapped, queued, waiting, quarantined, posted, superseded, reversed or recalled' }),
  reasonCode: Nullable(Type.String()),
  mappingVersion: Nullable(Type.String()),
  target: Nullable(Type.String()),
  journalHash: Nullable(Type.String({ description: 'SHA-256 of the journal built (keys sorted)' })),
  receivedAt: Nullable(Iso),
  approvedAt: Nullable(Iso),
  postedAt: Nullable(Iso),
  externalKeys: Type.Array(Type.String()),
  documentIds: Type.Array(Type.String()),
});

const PostingSchema = Type.Object({
  externalKey: Type.String(),
  kind: OneOf(['journal', 'reversal']),
  revision: Type.Integer(),
  target: Nullable(Type.String()),
  state: Type.String({ description: 'queued (in flight counts as queued), posted, quarantined, superseded or skipped' }),
  reasonCode: Nullable(Type.String()),
  documentId: Nullable(Type.String()),
  postedAt: Nullable(Iso),
});

const RebuildSchema = Type.Object({
  reportId: Type.String(),
  entries: Type.Integer({ description: 'event-log entries read' }),
  lastSeq: Nullable(Type.Integer()),
  consistent: Type.Boolean({ description: 'true when the tables hold exactly what the log says' }),
  differences: Type.Array(
    Type.Object({
      field: Type.String({ description: 'report.<field>, revision:<n>.<field> or posting:<externalKey>.<field>; revision:<n> or posting:<key> when one side lacks it (the value is then its state)' }),
      fromLog: FieldValue,
      stored: FieldValue,
    }),
  ),
  state: Type.Object(
    {
      entity: Nullable(Type.String()),
      latestRevision: Nullable(Type.Integer()),
      recalledAt: Nullable(Iso),
      revisions: Type.Array(RevisionSchema),
      postings: Type.Array(PostingSchema),
    },
    { description: 'the state rebuilt from the log' },
  ),
  ignored: Type.Array(Type.Object({ seq: Type.Integer(), kind: Type.String(), reason: Type.String() }), { description: 'entries the rebuild could not apply' }),
});

const RedriveSchema = Type.Object({
  redriveId: Nullable(Type.String({ description: 'the replay recording it (GET /v1/replays/{id}); null for a dry run or when nothing needed re-driving' })),
  dryRun: Type.Boolean(),
  window: Type.Object({ from: Iso, to: Iso }),
  entity: Nullable(Type.String()),
  counts: Type.Object({ revisions: Type.Integer(), requeued: Type.Integer(), rerun: Type.Integer(), unchanged: Type.Integer() }),
  items: Type.Array(
    Type.Object({
      id: Type.String({ description: 'revision:<reportId>:<revision> or posting:<id>' }),
      stage: OneOf(['revision', 'posting', 'reversal']),
      reportId: Type.String(),
      revision: Type.Integer(),
      entity: Type.String(),
      receivedAt: Iso,
      state: Type.String({ description: 'the state before the re-drive' }),
      action: OneOf(['requeued', 'rerun', 'unchanged']),
      previousCode: Nullable(Type.String()),
      externalKey: Nullable(Type.String()),
    }),
  ),
});

function actorOf(principal: Principal | undefined): Principal {
  // Every route here is authenticated: the auth hook sets the principal or refuses the request.
  if (!principal) throw new Error('Assertion failed: an authenticated event-log route has no principal');
  return principal;
}

export function registerEventLogRoutes(app: FastifyInstance, deps: { readonly store: Store; readonly replay: ReplayDeps }): void {
  app.get<{ Params: { id: string } }>(
    '/v1/reports/:id/rebuild',
    {
      schema: {
        tags: TAGS,
        summary: 'Rebuild one report from the event log, and every difference from the state the tables hold',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 200: RebuildSchema, '4xx': ErrorSchema },
      },
    },
    async (request) => rebuildReport(deps.store.db, request.params.id),
  );

  app.post<{ Body: { from: string; to: string; reason: string; entity?: string; dryRun?: boolean } }>(
    '/v1/redrives',
    {
      schema: {
        tags: TAGS,
        summary: `Drive the report revisions received in [from, to) through the pipeline again (operator, admin, or controller of every entity in the window): quarantined items are re-queued under their unchanged external keys, anything already through is left alone; at most ${REDRIVE_WINDOW_DAYS_MAX} days and ${REDRIVE_ITEMS_MAX} revisions. 202 when something was sent back, 200 for a dry run or when nothing needed it`,
        body: Type.Object(
          {
            from: Type.String({ minLength: 1, maxLength: 40, description: 'ISO 8601 date or instant with offset, e.g. 2026-05-04T00:00:00Z (inclusive)' }),
            to: Type.String({ minLength: 1, maxLength: 40, description: 'ISO 8601 date or instant with offset (exclusive)' }),
            reason: Type.String({ minLength: 1, maxLength: REPLAY_REASON_CHARS_MAX, description: 'why: the fix made' }),
            entity: Type.Optional(Type.String({ minLength: 1, maxLength: 40, description: 'only reports of this entity' })),
            dryRun: Type.Optional(Type.Boolean({ description: 'list what would happen and change nothing' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: RedriveSchema, 202: RedriveSchema, '4xx': ErrorSchema },
      },
    },
    async (request, reply) => {
      const { from, to, reason, entity, dryRun } = request.body;
      const result = await redrive(deps.replay, { from, to, reason, actor: actorOf(request.principal), ...(entity !== undefined && { entity }), ...(dryRun !== undefined && { dryRun }) });
      return reply.status(result.redriveId === null ? 200 : 202).send(result);
    },
  );
}
