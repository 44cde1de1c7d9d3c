/**
 * The canonical model v1 as JSON Schemas (TypeBox), published in docs/schemas/ and kept in step by
 * a test. The inbound contract (events, report input) lives in events.ts and report.ts; this file
 * adds the shapes finsync produces: normalized money, the expense report, the journal and the posting.
 */
import { Type } from 'typebox';
import { CloudEventSchema, RecallDataSchema } from './events.ts';
import { ReportInputSchema } from './report.ts';

const MinorUnits = Type.Integer({ minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER, description: 'integer count of minor units' });
const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 alphabetic code' });
const IsoDate = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });

export const MoneySchema = Type.Object({ amountMinor: MinorUnits, currency: Currency }, { additionalProperties: false, $id: 'Money' });

export const JournalLineSchema = Type.Object(
  {
    account: Type.String({ minLength: 1 }),
    debitMinor: Type.Integer({ minimum: 0 }),
    creditMinor: Type.Integer({ minimum: 0 }),
    costCenter: Type.Optional(Type.String()),
    project: Type.Optional(Type.String()),
    employeeId: Type.Optional(Type.String()),
    taxCode: Type.Optional(Type.String()),
    memo: Type.String(),
    rule: Type.Optional(Type.String({ description: 'the mapping rule that coded the line: <scope>@<version>#<row id>, or #settings.<name> for credit and rounding lines' })),
  },
  { additionalProperties: false, description: 'Exactly one of debitMinor and creditMinor is above zero.' },
);

export const JournalEntrySchema = Type.Object(
  {
    kind: Type.Union([Type.Literal('journal'), Type.Literal('reversal')]),
    reportId: Type.String(),
    revision: Type.Integer({ minimum: 1 }),
    entity: Type.String(),
    currency: Currency,
    postingDate: IsoDate,
    memo: Type.String(),
    lines: Type.Array(JournalLineSchema, { minItems: 1 }),
    conversions: Type.Array(
      Type.Object({ lineId: Type.String(), from: Currency, to: Currency, rate: Type.String(), source: Type.String(), date: IsoDate }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false, $id: 'JournalEntry', description: 'Debits equal credits, in minor units of the journal currency.' },
);

export const PostingSchema = Type.Object(
  {
    externalKey: Type.String({ pattern: '^[A-Za-z0-9_-]+$', description: 'deterministic from (report, revision, target, kind)' }),
    kind: Type.Union([Type.Literal('journal'), Type.Literal('reversal')]),
    revision: Type.Integer({ minimum: 1 }),
    target: Type.String(),
    state: Type.Union(['queued', 'posting', 'posted', 'quarantined', 'superseded', 'skipped'].map((s) => Type.Literal(s))),
    documentId: Type.Union([Type.String(), Type.Null()]),
    reasonCode: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: true, $id: 'Posting' },
);

/** Every published schema, by file name under docs/schemas/. */
export const PUBLISHED_SCHEMAS = {
  'cloud-event.schema.json': CloudEventSchema,
  'report-input.schema.json': ReportInputSchema,
  'recall-data.schema.json': RecallDataSchema,
  'money.schema.json': MoneySchema,
  'journal-entry.schema.json': JournalEntrySchema,
  'posting.schema.json': PostingSchema,
} as const;

export function renderSchema(schema: object): string {
  return `${JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', ...schema }, null, 2)}\n`;
}
