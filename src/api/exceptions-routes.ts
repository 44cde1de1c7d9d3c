/**
 * The exception queue (read side): every quarantined revision and posting with its context,
 * grouped by cause by default, and one item by id. Replay is in replays-routes.ts (POST /v1/replays).
 */
import type { FastifyInstance } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { AppError } from '../errors.ts';
import { EXCEPTION_KINDS, EXCEPTIONS_MAX, getException, groupExceptions, listExceptions, type ExceptionKind } from '../exceptions/exceptions.ts';
import type { LegalEntity } from '../masterdata/company.ts';
import type { Clock } from '../pipeline/clock.ts';
import type { Store } from '../store/db.ts';

export interface ExceptionRouteDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly masterData: { readonly entities: readonly LegalEntity[] };
}

/** The longest age filter: ten years, in hours. */
export const OLDER_THAN_HOURS_MAX = 24 * 3_650;

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const OneOf = <T extends string>(values: readonly T[]) => Type.Unsafe<T>({ type: 'string', enum: [...values] });
const Iso = Type.String({ format: 'date-time' });

const RecordSchema = Type.Object(
  {
    kind: Type.String({ description: 'a master-data kind (cost_center, employee, gl_account, …), or erp:<field> when the ERP named a value finsync cannot trace to one of its records' }),
    entity: Type.String(),
    key: Type.String(),
    state: Nullable(OneOf(['missing', 'inactive'])),
    erpField: Nullable(Type.String({ description: 'for an ERP refusal: the field it named' })),
    erpValue: Nullable(Type.String({ description: 'for an ERP refusal: the value (ERP internal id) it named' })),
  },
  { description: 'the record the code names' },
);

const ErpAnswerSchema = Type.Object(
  {
    errorKind: Nullable(Type.String({ description: 'transient, rate_limited, unavailable, auth, invalid, conflict or not_found' })),
    vendorCode: Nullable(Type.String()),
    httpStatus: Nullable(Type.Integer()),
    detail: Nullable(Type.String()),
    raw: Nullable(Type.String({ description: 'the vendor’s raw answer, its first 4,096 characters' })),
    rawTruncated: Type.Boolean(),
  },
  { description: 'the last call to the ERP' },
);

const Kind = OneOf(EXCEPTION_KINDS);

const SideSchema = Nullable(
  Type.Object({
    status: Type.String({ description: 'platform: approved | recalled; finsync: posted (unconfirmed) | reversed | confirmed; ERP: empty' }),
    amounts: Type.Array(Type.Object({ account: Type.String(), amountMinor: Type.Integer({ description: 'net in minor units: debit positive, credit negative' }) })),
    documents: Type.Array(Type.String(), { description: 'ERP: every document holding the key' }),
  }),
);

const BreakContextSchema = Type.Object(
  {
    class: OneOf(['missing_in_erp', 'extra_in_erp', 'amount_mismatch', 'account_mismatch', 'status_mismatch', 'missing_in_finsync']),
    period: Type.String(),
    currency: Type.String(),
    state: Type.String({ description: 'open' }),
    action: Type.String({ description: 'what finsync did: exception (nothing safe to do), or the healing it tried before' }),
    firstRunId: Nullable(Type.String()),
    lastRunId: Nullable(Type.String()),
    platform: SideSchema,
    finsync: SideSchema,
    erp: SideSchema,
  },
  { description: 'for a reconciliation break: its class and what each side holds for the key' },
);

export const ExceptionItemSchema = Type.Object({
  id: Type.String({ description: 'revision:<reportId>:<revision>, posting:<id>, or break:<id> (a reconciliation break)' }),
  stage: OneOf(['revision', 'posting', 'reversal', 'reconciliation']),
  reportId: Nullable(Type.String({ description: 'null only for a reconciliation break on a key no report is known for' })),
  revision: Nullable(Type.Integer()),
  reconciliation: Nullable(BreakContextSchema),
  entity: Type.String(),
  target: Nullable(Type.String()),
  code: Type.String(),
  kind: Kind,
  message: Type.String(),
  record: Nullable(RecordSchema),
  blockers: Type.Array(RecordSchema, { description: 'every master-data record the revision is blocked on' }),
  erp: Nullable(ErpAnswerSchema),
  externalKey: Nullable(Type.String()),
  attempts: Type.Integer({ description: 'for a posting, calls made to the ERP; for a revision, how often processing quarantined it' }),
  firstSeen: Iso,
  lastSeen: Iso,
  correlationId: Type.String(),
});

export const ExceptionGroupSchema = Type.Object({
  cause: Type.String({ description: 'stable key of the cause: code/kind/entity/key of the record, else code/entity/target(/vendor code)' }),
  code: Type.String(),
  kind: Kind,
  record: Nullable(RecordSchema),
  vendorCode: Nullable(Type.String()),
  message: Type.String({ description: 'the message of the oldest member' }),
  count: Type.Integer(),
  entities: Type.Array(Type.String()),
  targets: Type.Array(Type.String()),
  oldestFirstSeen: Iso,
  newestFirstSeen: Iso,
  members: Type.Array(Type.String(), { description: 'item ids, oldest first' }),
});

const ErrorSchema = Type.Object({ code: Type.String(), message: Type.String(), correlationId: Type.String(), details: Type.Optional(Type.Unknown()) });

interface ListQuery {
  entity?: string;
  target?: string;
  kind?: ExceptionKind;
  code?: string;
  olderThanHours?: number;
  view?: 'groups' | 'items';
  limit?: number;
}

export function registerExceptionRoutes(app: FastifyInstance, deps: ExceptionRouteDeps): void {
  const entityTargets = () => Object.fromEntries(deps.masterData.entities.map((e) => [e.code, e.target]));

  app.get<{ Querystring: ListQuery }>(
    '/v1/exceptions',
    {
      schema: {
        tags: ['exceptions'],
        summary: 'Quarantined revisions and postings with their context (code, kind, offending record, the ERP’s raw answer, attempts, first and last seen), grouped by cause (default) or one by one, oldest first',
        querystring: Type.Object(
          {
            entity: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
            target: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
            kind: Type.Optional(Kind),
            code: Type.Optional(Type.String({ pattern: '^[A-Z][A-Z0-9_]{1,63}$' })),
            olderThanHours: Type.Optional(Type.Number({ minimum: 0, maximum: OLDER_THAN_HOURS_MAX, description: 'only items first seen at least this many hours ago' })),
            view: Type.Optional(OneOf(['groups', 'items'])),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: EXCEPTIONS_MAX, description: `items read at most (default and most ${EXCEPTIONS_MAX})` })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            view: OneOf(['groups', 'items']),
            total: Type.Integer({ description: 'items matched (at most the limit)' }),
            truncated: Type.Boolean({ description: 'more items matched than the limit: narrow the filter' }),
            groups: Type.Optional(Type.Array(ExceptionGroupSchema)),
            items: Type.Optional(Type.Array(ExceptionItemSchema)),
          }),
          '4xx': ErrorSchema,
        },
      },
    },
    async (request) => {
      const { entity, target, kind, code, olderThanHours, view = 'groups', limit } = request.query;
      const filter = { ...(entity && { entity }), ...(target && { target }), ...(kind && { kind }), ...(code && { code }), ...(olderThanHours !== undefined && { olderThanMs: Math.round(olderThanHours * 3_600_000) }) };
      const { items, truncated } = await listExceptions(deps.store.db, filter, { now: deps.clock.now(), entityTargets: entityTargets(), ...(limit !== undefined && { limit }) });
      return view === 'items' ? { view, total: items.length, truncated, items } : { view, total: items.length, truncated, groups: groupExceptions(items) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/exceptions/:id',
    {
      schema: {
        tags: ['exceptions'],
        summary: 'One quarantined item by id (revision:<reportId>:<revision> or posting:<id>), with its context',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) }),
        response: { 200: ExceptionItemSchema, '4xx': ErrorSchema },
      },
    },
    async (request) => {
      const item = await getException(deps.store.db, request.params.id, { now: deps.clock.now(), entityTargets: entityTargets() });
      if (!item) throw new AppError('EXCEPTION_NOT_FOUND', { id: request.params.id });
      return item;
    },
  );
}
