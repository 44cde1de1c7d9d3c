/**
 * The mapping API (docs/mapping.md): list and read rule-set versions, propose one, dry-run and
 * review it, approve or reject it, put an approved version in force again (rollback), diff two
 * versions, and replay the revisions a mapping defect quarantined. Every step acts as the holder of
 * the request's API key; the roles it needs are checked by the governance workflow, not here.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { AppError } from '../errors.ts';
import { DRY_RUN_REPORTS_MAX, type Governance } from '../mapping/governance.ts';
import { RULE_FILE_LIMITS, ruleFileFormat } from '../mapping/rule-file.ts';
import { parseVersionRef, RULE_PROBLEM_CODES, SCOPE_PATTERN, VERSION_REF_PATTERN } from '../mapping/rule-set.ts';
import type { Principal } from '../store/api-keys.ts';

export interface MappingRouteDeps {
  readonly governance: Governance;
  /** The instance's body limit: a proposal may be larger (PROPOSAL_BODY_BYTES_MAX), never smaller. */
  readonly bodyLimitBytes: number;
}

/** The largest rule file a proposal may carry, in bytes of UTF-8 (2 MB; the parser's limit is as many characters). */
export const RULE_FILE_BYTES_MAX = RULE_FILE_LIMITS.textChars;
/**
 * The body limit of a proposal: the file's 2 MB can double when JSON escapes it (newlines, quotes),
 * and the instance's limit (FINSYNC_BODY_LIMIT_BYTES, 1 MiB by default) is meant for events.
 */
const PROPOSAL_BODY_BYTES_MAX = 2 * RULE_FILE_BYTES_MAX + 64 * 1024;

const Scope = Type.String({ pattern: SCOPE_PATTERN, description: 'an entity code or GROUP' });
const Version = Type.Integer({ minimum: 1, maximum: 999_999_999 });
const Ref = Type.String({ pattern: VERSION_REF_PATTERN, description: 'a version reference, SCOPE@N (e.g. DE01@3)' });
const IsoDate = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD' });
const Reason = Type.String({ minLength: 1, maxLength: 500 });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
/** A string out of a fixed list, as `enum` (cheaper for the answer's serializer than a union of literals). */
const OneOf = <T extends string>(values: readonly T[]) => Type.Unsafe<T>({ type: 'string', enum: [...values] });

const VersionParams = Type.Object({ scope: Scope, version: Version });

/** For routes whose body has only optional fields: a request without a body means `{}`. */
function emptyBodyIsEmptyObject(request: { body: unknown }, _reply: unknown, done: () => void): void {
  request.body ??= {};
  done();
}
const ReportsBody = Type.Object(
  { reports: Type.Optional(Type.Integer({ minimum: 1, maximum: DRY_RUN_REPORTS_MAX, description: 'posted reports per entity to code again (default 50)' })) },
  { additionalProperties: false },
);

const VersionSummarySchema = Type.Object({
  scope: Type.String(),
  version: Type.Integer(),
  ref: Type.String(),
  state: OneOf(['proposed', 'reviewed', 'approved', 'rejected']),
  effectiveFrom: Type.String(),
  author: Type.String(),
  reason: Type.String(),
  proposedAt: Type.String({ format: 'date-time' }),
  reviewedBy: Nullable(Type.String()),
  decidedBy: Nullable(Type.String()),
  decisionReason: Nullable(Type.String()),
  activeToday: Type.Boolean({ description: 'in force today for its scope' }),
  defects: Type.Integer({ description: 'revisions quarantined for a mapping reason while this version was in force' }),
});

const PositionChangeSchema = Type.Object({
  account: Type.String(),
  costCenter: Type.Optional(Type.String()),
  project: Type.Optional(Type.String()),
  employeeId: Type.Optional(Type.String()),
  taxCode: Type.Optional(Type.String()),
  beforeMinor: Type.Integer({ description: 'net debit (positive) or credit (negative) in minor units' }),
  afterMinor: Type.Integer(),
});

const DryRunResultSchema = Type.Object({
  scope: Type.String(),
  version: Type.Integer(),
  entities: Type.Array(Type.String()),
  reports: Type.Integer({ description: 'reports coded again' }),
  unchanged: Type.Integer(),
  changed: Type.Array(Type.Object({ reportId: Type.String(), revision: Type.Integer(), currency: Type.String(), lines: Type.Array(PositionChangeSchema) })),
  failed: Type.Array(Type.Object({ reportId: Type.String(), revision: Type.Integer(), code: Type.String(), message: Type.String() })),
  totalsByAccount: Type.Array(Type.Object({ account: Type.String(), currency: Type.String(), beforeMinor: Type.Integer(), afterMinor: Type.Integer(), deltaMinor: Type.Integer() })),
});

const StringMap = Type.Record(Type.String(), Type.String());
const RuleSetDocumentSchema = Type.Object({
  scope: Type.String(),
  description: Type.Optional(Type.String()),
  settings: Type.Object({ credit: StringMap, roundingAccount: Type.Optional(Type.String()) }),
  rules: Type.Array(Type.Object({ id: Type.String(), when: StringMap, then: StringMap })),
});

const VersionDetailSchema = Type.Intersect([
  VersionSummarySchema,
  Type.Object({
    fileName: Type.String(),
    format: OneOf(['yaml', 'csv']),
    source: Type.String({ description: 'the file as proposed, byte for byte' }),
    document: RuleSetDocumentSchema,
    dryRun: Nullable(DryRunResultSchema),
  }),
]);

const RuleProblemSchema = Type.Object({ file: Type.String(), line: Type.Integer(), column: Type.Integer(), code: OneOf(RULE_PROBLEM_CODES), message: Type.String() });
const ErrorSchema = Type.Object({ code: Type.String(), message: Type.String(), correlationId: Type.String(), details: Type.Optional(Type.Unknown()) });
const RulesInvalidSchema = Type.Object(
  { code: Type.Literal('MAPPING_RULES_INVALID'), message: Type.String(), correlationId: Type.String(), details: Type.Object({ problems: Type.Array(RuleProblemSchema) }) },
  { description: 'the file is refused: every problem with its file, line and column; nothing was stored' },
);

/** Answers of a route: the success, and the error shape (with the rule problems when a check can refuse). */
function answers(status: number, schema: TSchema, refusesRules = false) {
  return { [status]: schema, ...(refusesRules && { 422: RulesInvalidSchema }), '4xx': ErrorSchema };
}

const TAGS = ['mapping'];

function actorOf(principal: Principal | undefined): Principal {
  // Every route here is authenticated: the auth hook sets the principal or refuses the request.
  if (!principal) throw new Error('Assertion failed: an authenticated mapping route has no principal');
  return principal;
}

export function registerMappingRoutes(app: FastifyInstance, deps: MappingRouteDeps): void {
  const { governance, bodyLimitBytes } = deps;

  app.get<{ Querystring: { scope?: string } }>(
    '/v1/mapping/rule-sets',
    {
      schema: {
        tags: TAGS,
        summary: 'Rule-set versions, of one scope or all, with their state, who proposed, reviewed and decided, whether each is in force today and its defects',
        querystring: Type.Object({ scope: Type.Optional(Scope) }, { additionalProperties: false }),
        response: answers(200, Type.Object({ versions: Type.Array(VersionSummarySchema) })),
      },
    },
    async (request) => ({ versions: await governance.list(request.query.scope) }),
  );

  app.get<{ Params: { scope: string; version: number } }>(
    '/v1/mapping/rule-sets/:scope/versions/:version',
    {
      schema: {
        tags: TAGS,
        summary: 'One version: its summary, the file as proposed, the rule set as data and the dry run its review recorded',
        params: VersionParams,
        response: answers(200, VersionDetailSchema),
      },
    },
    async (request) => governance.get(request.params.scope, request.params.version),
  );

  app.post<{ Params: { scope: string }; Body: { fileName: string; format?: 'yaml' | 'csv'; content: string; effectiveFrom: string; reason: string } }>(
    '/v1/mapping/rule-sets/:scope/versions',
    {
      bodyLimit: Math.max(bodyLimitBytes, PROPOSAL_BODY_BYTES_MAX),
      schema: {
        tags: TAGS,
        summary: 'Propose a new version of a scope’s rule set (controller of the scope); refused whole, with every problem’s line and column, unless it parses, names only postable accounts and existing dimensions, and has no overlaps and no gaps',
        params: Type.Object({ scope: Scope }),
        body: Type.Object(
          {
            fileName: Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000-\\u001f/\\\\]+$', description: 'the file name problems are reported against; its extension gives the format' }),
            format: Type.Optional(OneOf(['yaml', 'csv'])),
            content: Type.String({ maxLength: RULE_FILE_BYTES_MAX, description: 'the rule file, at most 2 MB' }),
            effectiveFrom: IsoDate,
            reason: Reason,
          },
          { additionalProperties: false },
        ),
        response: answers(201, VersionSummarySchema, true),
      },
    },
    async (request, reply) => {
      const { fileName, content, effectiveFrom, reason } = request.body;
      const format = request.body.format ?? ruleFileFormat(fileName);
      if (format === undefined) throw new AppError('REQUEST_INVALID', { detail: `format is not given and the file name ${fileName} does not end in .yaml, .yml or .csv` });
      if (Buffer.byteLength(content, 'utf8') > RULE_FILE_BYTES_MAX) throw new AppError('REQUEST_INVALID', { detail: `content is larger than ${RULE_FILE_BYTES_MAX} bytes` });
      const summary = await governance.propose({ scope: request.params.scope, fileName, format, text: content, effectiveFrom, reason }, actorOf(request.principal));
      return reply.status(201).send(summary);
    },
  );

  app.post<{ Params: { scope: string; version: number }; Body: { reports?: number } }>(
    '/v1/mapping/rule-sets/:scope/versions/:version/dry-run',
    {
      preValidation: emptyBodyIsEmptyObject,
      schema: {
        tags: TAGS,
        summary: 'Code the last posted reports again with this version and compare with what was posted; records nothing',
        params: VersionParams,
        body: ReportsBody,
        response: answers(200, DryRunResultSchema),
      },
    },
    async (request) => governance.dryRun(request.params.scope, request.params.version, { ...(request.body.reports !== undefined && { reports: request.body.reports }) }, actorOf(request.principal)),
  );

  app.post<{ Params: { scope: string; version: number }; Body: { reports?: number } }>(
    '/v1/mapping/rule-sets/:scope/versions/:version/review',
    {
      preValidation: emptyBodyIsEmptyObject,
      schema: {
        tags: TAGS,
        summary: 'Review a proposed version: a dry run, recorded with the version and the reviewer (controller of the scope); approval needs it',
        params: VersionParams,
        body: ReportsBody,
        response: answers(200, DryRunResultSchema),
      },
    },
    async (request) => governance.review(request.params.scope, request.params.version, { ...(request.body.reports !== undefined && { reports: request.body.reports }) }, actorOf(request.principal)),
  );

  app.post<{ Params: { scope: string; version: number }; Body: { reason?: string } }>(
    '/v1/mapping/rule-sets/:scope/versions/:version/approve',
    {
      preValidation: emptyBodyIsEmptyObject,
      schema: {
        tags: TAGS,
        summary: 'Approve a reviewed version (a controller of the scope other than its author); it is in force from its effective date',
        params: VersionParams,
        body: Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false }),
        response: answers(200, VersionSummarySchema, true),
      },
    },
    async (request) => governance.approve(request.params.scope, request.params.version, request.body.reason ?? '', actorOf(request.principal)),
  );

  app.post<{ Params: { scope: string; version: number }; Body: { reason: string } }>(
    '/v1/mapping/rule-sets/:scope/versions/:version/reject',
    {
      schema: {
        tags: TAGS,
        summary: 'Reject a proposed or reviewed version, with a reason',
        params: VersionParams,
        body: Type.Object({ reason: Reason }, { additionalProperties: false }),
        response: answers(200, VersionSummarySchema),
      },
    },
    async (request) => governance.reject(request.params.scope, request.params.version, request.body.reason, actorOf(request.principal)),
  );

  app.post<{ Params: { scope: string; version: number }; Body: { effectiveFrom: string; reason: string } }>(
    '/v1/mapping/rule-sets/:scope/versions/:version/activate',
    {
      schema: {
        tags: TAGS,
        summary: 'Put an approved version in force again from a date (rollback, or forward again), checked against the master data of that date',
        params: VersionParams,
        body: Type.Object({ effectiveFrom: IsoDate, reason: Reason }, { additionalProperties: false }),
        response: answers(200, VersionSummarySchema, true),
      },
    },
    async (request) => governance.activate(request.params.scope, request.params.version, request.body.effectiveFrom, request.body.reason, actorOf(request.principal)),
  );

  app.get<{ Querystring: { from: string; to: string } }>(
    '/v1/mapping/diff',
    {
      schema: {
        tags: TAGS,
        summary: 'What changes between two versions: settings, and rules added, removed and changed, as data and as text',
        querystring: Type.Object({ from: Ref, to: Ref }, { additionalProperties: false }),
        response: answers(200, Type.Object({ diff: Type.Unknown({ description: 'the structured difference (RuleSetDiff)' }), text: Type.String() })),
      },
    },
    async (request) => {
      const [from, to] = [parseVersionRef(request.query.from), parseVersionRef(request.query.to)];
      // The schema's pattern already holds; the parse only splits the reference.
      if (!from || !to) throw new AppError('REQUEST_INVALID', { detail: 'from and to must be version references SCOPE@N' });
      return governance.diff(from, to);
    },
  );

  app.post<{ Body: { entity: string; reason: string; codes?: string[] } }>(
    '/v1/mapping/replay',
    {
      schema: {
        tags: TAGS,
        summary: 'Run again, with the rules now in force, every revision of an entity quarantined for a mapping reason (controller of the entity, operator or admin)',
        body: Type.Object(
          {
            entity: Scope,
            reason: Reason,
            codes: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Z][A-Z0-9_]{1,63}$' }), { minItems: 1, maxItems: 50, description: 'only revisions quarantined with these codes (default: every mapping defect code)' })),
          },
          { additionalProperties: false },
        ),
        response: answers(
          200,
          Type.Object({
            entity: Type.String(),
            replayed: Type.Array(Type.Object({ reportId: Type.String(), revision: Type.Integer(), previousCode: Type.String(), previousVersion: Nullable(Type.String()) })),
          }),
        ),
      },
    },
    async (request) => governance.replay(request.body.entity, request.body.reason, actorOf(request.principal), request.body.codes),
  );
}
