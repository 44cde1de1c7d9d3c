/**
 * POST /v1/validate: master-data and policy findings for a draft report, or for one line, answered
 * synchronously from the in-memory reference data (no database round trip after authentication,
 * whose verified keys are cached). Nothing is stored.
 */
import type { FastifyInstance, FastifySchemaCompiler } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../errors.ts';
import { KINDS } from '../masterdata/records.ts';
import { checkValidateBody, ValidateBodySchema, type ValidateBody } from '../validation/validator.ts';
import type { AppDeps } from './app.ts';

/**
 * A string out of a fixed list. Written as `enum` rather than a union of literals: the answer's
 * serializer (fast-json-stringify) would otherwise run a schema check on every finding.
 */
const OneOf = <T extends string>(values: readonly T[], description?: string) => Type.Unsafe<T>({ type: 'string', enum: [...values], ...(description && { description }) });

const FindingSchema = Type.Object({
  code: Type.String({ description: 'a code from the error registry (docs/errors.md)' }),
  severity: OneOf(['error', 'warning', 'info'], 'error: would quarantine the report; warning and info: would not'),
  message: Type.String(),
  path: Type.String({ description: 'the field of the request the finding is about, e.g. report.lines[2].allocations[0].costCenter' }),
  record: Type.Optional(
    Type.Object({
      kind: OneOf(KINDS),
      entity: Type.String(),
      key: Type.String(),
      state: OneOf(['missing', 'inactive']),
      validFrom: Type.Optional(Type.String()),
      validTo: Type.Optional(Type.String()),
    }),
  ),
});

export const ValidateResponseSchema = Type.Object({
  valid: Type.Boolean({ description: 'true when no finding has severity error' }),
  findings: Type.Array(FindingSchema),
  checkedAt: Type.String({ format: 'date-time' }),
  masterDataSeq: Type.Integer({ description: 'the master-data change-feed position the answer was computed at' }),
});

const ErrorSchema = Type.Object({ code: Type.String(), message: Type.String(), correlationId: Type.String(), details: Type.Optional(Type.Unknown()) });

/**
 * Checks the body with the TypeBox schema compiled once, strictly: unknown fields are refused and
 * nothing is coerced (Fastify's default Ajv settings would drop unknown fields and turn numbers
 * into strings, so a misspelt field would pass here and be refused by POST /v1/events). The
 * refusal names the field. The benchmark's baseline route uses this same compiler.
 */
export const validateBodyCompiler: FastifySchemaCompiler<unknown> = () => (data: unknown) => {
  const problems = checkValidateBody(data);
  if (!problems) return true;
  const [first] = problems;
  return { error: new AppError('REQUEST_INVALID', { detail: `${first.path} ${first.message}` }, problems) };
};

export function registerValidateRoutes(app: FastifyInstance, deps: Pick<AppDeps, 'validator' | 'mapping'>): void {
  app.post<{ Body: ValidateBody }>(
    '/v1/validate',
    {
      schema: {
        summary: 'Check a draft report, or one line, against master data and the expense policy, without submitting it',
        description:
          'Body: `{ report }` (a report as in POST /v1/events, where reportId, revision and approvedAt may be left out; approvedAt defaults to now) or `{ entity, employeeId, currency, line }`. Answers 200 with every finding (errors would quarantine the report; warnings and info would not). A body that is not a report is refused with 400 and the path of the field. Nothing is stored.',
        body: ValidateBodySchema,
        response: { 200: ValidateResponseSchema, '4xx': ErrorSchema },
      },
      validatorCompiler: validateBodyCompiler,
    },
    // Not async: the answer is computed synchronously, and Fastify sends a returned value (or a
    // thrown error) at once, without a promise and a microtask per request.
    (request) => deps.validator.validateDraft(request.body, deps.mapping),
  );
}
