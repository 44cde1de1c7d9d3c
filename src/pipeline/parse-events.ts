/**
 * Turns a request body into checked events: envelope, type, data schema, then the domain rules
 * (currency exponents, allocations). The first problem rejects the whole request, naming the event
 * and the field; nothing is stored for a request that fails here.
 */
import { Compile } from 'typebox/compile';
import { DomainError } from '../domain/domain-error.ts';
import { ACCEPTED_EVENT_TYPES, CloudEventSchema, EVENT_TYPES, MAX_EVENTS_PER_BATCH, RecallDataSchema, type RecallData } from '../domain/events.ts';
import { hashJson } from '../domain/keys.ts';
import { normalizeReport, ReportInputSchema, type ExpenseReport } from '../domain/report.ts';
import { AppError } from '../errors.ts';

const checkEnvelope = Compile(CloudEventSchema);
const checkReport = Compile(ReportInputSchema);
const checkRecall = Compile(RecallDataSchema);

interface ParsedBase {
  readonly source: string;
  readonly id: string;
  readonly type: string;
  readonly bodyHash: string;
  readonly body: unknown;
  readonly time?: string;
  readonly correlationId?: string;
}

export type ParsedEvent =
  | (ParsedBase & { readonly kind: 'report'; readonly report: ExpenseReport })
  | (ParsedBase & { readonly kind: 'recall'; readonly recall: RecallData });

export function parseEventBody(body: unknown): ParsedEvent[] {
  const events = Array.isArray(body) ? body : [body];
  if (events.length === 0) throw new AppError('BATCH_EMPTY');
  if (events.length > MAX_EVENTS_PER_BATCH) throw new AppError('BATCH_TOO_LARGE', { count: events.length, max: MAX_EVENTS_PER_BATCH });
  const parsed = events.map((event, index) => parseEvent(event, Array.isArray(body) ? `[${index}]` : ''));
  const seen = new Set<string>();
  for (const event of parsed) {
    const key = `${event.source}\u0000${event.id}`;
    if (seen.has(key)) throw new AppError('BATCH_DUPLICATE_ID', { eventId: event.id, source: event.source });
    seen.add(key);
  }
  return parsed;
}

function parseEvent(event: unknown, prefix: string): ParsedEvent {
  const eventId = typeof event === 'object' && event !== null && typeof (event as { id?: unknown }).id === 'string' ? (event as { id: string }).id : prefix || '(no id)';
  if (!checkEnvelope.Check(event)) throw schemaError(eventId, prefix, checkEnvelope.Errors(event));
  // id and source form the inbox primary key: PostgreSQL text cannot hold NUL, and a btree entry
  // cannot exceed about 2.7 kB (500 + 200 four-byte characters would; capping source at 1500 bytes
  // keeps it under, as id holds at most 800). The raw event is hashed and stored by recursive code,
  // so an absurdly nested extension attribute would overflow the stack. All are refused here as
  // invalid events instead of failing with a 500.
  for (const field of ['id', 'source'] as const) {
    const detail = UNSTORABLE_TEXT.test(event[field])
      ? 'must not contain NUL characters or unpaired surrogates'
      : field === 'source' && Buffer.byteLength(event.source) > MAX_SOURCE_BYTES
        ? `must not be longer than ${MAX_SOURCE_BYTES} bytes in UTF-8`
        : undefined;
    if (detail) throw new AppError('EVENT_INVALID', { eventId: field === 'id' ? prefix || '(no id)' : eventId, detail: `${prefix ? `${prefix}.` : ''}${field} ${detail}` });
  }
  if (nestingDepth(event) > MAX_EVENT_DEPTH) {
    throw new AppError('EVENT_INVALID', { eventId, detail: `${prefix || '(root)'} is nested more than ${MAX_EVENT_DEPTH} levels deep` });
  }
  if (!ACCEPTED_EVENT_TYPES.includes(event.type)) {
    throw new AppError('EVENT_TYPE_UNKNOWN', { eventId, type: event.type, accepted: ACCEPTED_EVENT_TYPES.join(', ') });
  }
  const correlation = (event as Record<string, unknown>).correlationid;
  const base: ParsedBase = {
    source: event.source,
    id: event.id,
    type: event.type,
    bodyHash: hashJson(event),
    body: event,
    ...(event.time !== undefined && { time: event.time }),
    ...(typeof correlation === 'string' && /^[A-Za-z0-9_.:-]{1,100}$/.test(correlation) && { correlationId: correlation }),
  };
  if (event.type === EVENT_TYPES.recalled) {
    if (!checkRecall.Check(event.data)) throw schemaError(eventId, `${prefix}.data`, checkRecall.Errors(event.data));
    return { ...base, kind: 'recall', recall: event.data };
  }
  if (!checkReport.Check(event.data)) throw schemaError(eventId, `${prefix}.data`, checkReport.Errors(event.data));
  try {
    return { ...base, kind: 'report', report: normalizeReport(event.data, `${prefix}.data`.replace(/^\./, '')) };
  } catch (error) {
    if (error instanceof DomainError) throw new AppError(error.code, { eventId, ...error.params });
    throw error;
  }
}

const MAX_EVENT_DEPTH = 32;
const MAX_SOURCE_BYTES = 1500;

/** NUL, or half of a surrogate pair: text PostgreSQL cannot store (or would store altered). */
const UNSTORABLE_TEXT = /\u0000|\p{Cs}/u;

/** Depth of arrays and objects in a JSON value, measured without recursion (1 for a flat object). */
function nestingDepth(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (current === null || typeof current !== 'object') continue;
    if (depth > max) max = depth;
    if (max > MAX_EVENT_DEPTH) return max;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return max;
}

function schemaError(eventId: string, prefix: string, errors: Iterable<{ instancePath: string; message: string }>): AppError {
  const all = [...errors].slice(0, 10).map((e) => ({ path: `${prefix}${e.instancePath.replace(/\//g, '.')}`.replace(/^\./, '') || '(root)', message: e.message }));
  const first = all[0] ?? { path: prefix || '(root)', message: 'is invalid' };
  return new AppError('EVENT_INVALID', { eventId, detail: `${first.path} ${first.message}` }, all);
}
