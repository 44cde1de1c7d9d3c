/**
 * Inbound events: CloudEvents 1.0 in structured JSON mode. These schemas are the public inbound
 * contract, documented in docs/events.md.
 */
import { Type, type Static } from 'typebox';

export const EVENT_TYPES = {
  approved: 'com.finsync.expense.report.approved.v1',
  updated: 'com.finsync.expense.report.updated.v1',
  recalled: 'com.finsync.expense.report.recalled.v1',
} as const;

export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

export const ACCEPTED_EVENT_TYPES: readonly string[] = Object.values(EVENT_TYPES);

/** The envelope. Extension attributes (lower-case, alphanumeric) are allowed and kept. */
export const CloudEventSchema = Type.Object(
  {
    specversion: Type.Literal('1.0'),
    id: Type.String({ minLength: 1, maxLength: 200 }),
    source: Type.String({ minLength: 1, maxLength: 500, description: 'URI-reference of the producer' }),
    type: Type.String({ minLength: 1, maxLength: 200 }),
    subject: Type.Optional(Type.String({ maxLength: 200 })),
    time: Type.Optional(Type.String({ format: 'date-time' })),
    datacontenttype: Type.Optional(Type.Literal('application/json')),
    dataschema: Type.Optional(Type.String({ maxLength: 500 })),
    data: Type.Object({}, { additionalProperties: true }),
  },
  { additionalProperties: true },
);

export type CloudEventInput = Static<typeof CloudEventSchema>;

export const RecallDataSchema = Type.Object(
  {
    reportId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$' }),
    revision: Type.Optional(Type.Integer({ minimum: 1 })),
    reason: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);

export type RecallData = Static<typeof RecallDataSchema>;

export const MAX_EVENTS_PER_BATCH = 500;
