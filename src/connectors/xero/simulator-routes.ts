/**
 * What the simulator answers on `/api.xro/2.0/ManualJournals`, once a request is admitted:
 * PUT (create), POST (create, or void/delete/replace by ManualJournalID), GET (list with `where`,
 * `order`, `page`, `pageSize`, If-Modified-Since) and GET by id. Each handler returns the answer as
 * a value; simulator.ts sends it, stores it under the Idempotency-Key and applies faults.
 */
import { JsonDecimal, JsonSyntaxError, parseJsonExact } from './exact-json.ts';
import { formatMsDate, PAGE_SIZE_DEFAULT, parseXeroDate } from './mapping.ts';
import { randomUuid, type Draft, type SimJournal, type SimulatorLedger } from './simulator-ledger.ts';
import { parseOrder, parseWhere, QueryParseError } from './simulator-where.ts';

export interface SimAnswer {
  readonly status: number;
  /** A JSON value (numbers as JsonDecimal or safe integers), or undefined for no body. */
  readonly body?: unknown;
  /** True when the request changed the ledger (a timeout-after-commit fault applies only then). */
  readonly committed?: boolean;
}

export interface RouteContext {
  readonly ledger: SimulatorLedger;
  readonly random: () => number;
  readonly now: () => number;
  readonly providerName: string;
  readonly summarizeErrorsDefault: boolean;
}

/**
 * Xero's error numbers and types: 10 ValidationException [M] (api-contracts.md), the others as
 * remembered from Xero's response-codes page [M]; the 5xx bodies are our choice [U].
 */
export const XERO_ERRORS = {
  validation: { ErrorNumber: 10, Type: 'ValidationException', Message: 'A validation exception occurred' },
  postDataInvalid: { ErrorNumber: 14, Type: 'PostDataInvalidException' },
  queryParse: { ErrorNumber: 16, Type: 'QueryParseException' },
  notFound: { ErrorNumber: 17, Type: 'ObjectNotFoundException', Message: "The resource you're looking for cannot be found" },
  internal: { Type: 'InternalError', Message: 'An unhandled error with the Xero API. Contact the Xero API team if problems persist.' },
  unavailable: { Type: 'ServiceUnavailable', Message: 'The Xero API is currently unavailable, typically due to a scheduled outage. Try again soon.' },
  notImplemented: { Type: 'NotImplemented', Message: 'The method you have called has not been implemented.' },
} as const;

export const MANUAL_JOURNAL_ROUTE = /^\/api\.xro\/2\.0\/ManualJournals(?:\/([^/]+))?\/?$/;

export function errorAnswer(status: number, body: Record<string, unknown>): SimAnswer {
  return { status, body };
}

export function validationAnswer(messages: readonly string[], element?: Record<string, unknown>): SimAnswer {
  const elements = element === undefined ? [] : [{ ...element, ValidationErrors: messages.map((Message) => ({ Message })) }];
  return { status: 400, body: { ...XERO_ERRORS.validation, ...(element === undefined ? { Message: messages.join(' ') } : { Elements: elements }) } };
}

function envelope(context: RouteContext, journals: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { Id: randomUuid(context.random), Status: 'OK', ProviderName: context.providerName, DateTimeUTC: formatMsDate(context.now(), false), ...extra, ManualJournals: journals };
}

type Plan = { readonly kind: 'create'; readonly draft: Draft } | { readonly kind: 'update'; readonly id: string } | { readonly kind: 'error'; readonly errors: readonly string[] };

/** PUT or POST of a ManualJournals collection. */
export function writeJournals(context: RouteContext, method: 'PUT' | 'POST', query: URLSearchParams, body: string, idempotencyKey: string | undefined): SimAnswer {
  let parsed: unknown;
  try {
    parsed = parseJsonExact(body);
  } catch (error) {
    const where = error instanceof JsonSyntaxError ? ` (${error.message})` : '';
    return errorAnswer(400, { ...XERO_ERRORS.postDataInvalid, Message: `JSON for post data was invalid${where}.` });
  }
  const items = (parsed as { ManualJournals?: unknown } | null)?.ManualJournals;
  if (!Array.isArray(items) || items.length === 0) {
    return errorAnswer(400, { ...XERO_ERRORS.postDataInvalid, Message: 'The request must hold a non-empty ManualJournals collection.' });
  }
  const summarize = readBoolean(query.get('summarizeErrors')) ?? context.summarizeErrorsDefault;
  const originals = items.map((item) => (isRecord(item) ? item : {}));
  const raws = items.map((item) => echoOf(item));
  const plans: Plan[] = items.map((item, index) => planOf(context, method, item, originals[index]));
  const failed = plans.flatMap((plan, index) => (plan.kind === 'error' ? [{ index, errors: plan.errors }] : []));
  if (summarize && failed.length > 0) {
    return { status: 400, body: { ...XERO_ERRORS.validation, Elements: failed.map(({ index, errors }) => ({ ...raws[index], ValidationErrors: errors.map((Message) => ({ Message })) })) } };
  }
  let committed = false;
  const rendered = plans.map((plan, index) => {
    const done = apply(context, plan, originals[index], idempotencyKey);
    if ('errors' in done) {
      if (summarize) return { ...raws[index], ValidationErrors: done.errors.map((Message) => ({ Message })) };
      return { ...raws[index], StatusAttributeString: 'ERROR', ValidationErrors: done.errors.map((Message) => ({ Message })) };
    }
    committed = true;
    return { ...context.ledger.render(done, true), ...(!summarize && { StatusAttributeString: 'OK' }) };
  });
  const refused = rendered.filter((item) => 'ValidationErrors' in item);
  if (summarize && refused.length > 0) return { status: 400, body: { ...XERO_ERRORS.validation, Elements: refused }, committed };
  return { status: 200, body: envelope(context, rendered), committed };
}

function planOf(context: RouteContext, method: 'PUT' | 'POST', item: unknown, raw: Record<string, unknown>): Plan {
  if (!isRecord(item)) return { kind: 'error', errors: ['Each manual journal must be an object.'] };
  const id = typeof raw.ManualJournalID === 'string' ? raw.ManualJournalID : undefined;
  if (id !== undefined && method === 'PUT') return { kind: 'error', errors: ['A ManualJournalID cannot be given when creating with PUT; use POST to update a manual journal.'] };
  if (id !== undefined) return { kind: 'update', id };
  const checked = context.ledger.check(raw);
  return checked.ok ? { kind: 'create', draft: checked.draft } : { kind: 'error', errors: checked.errors };
}

function apply(context: RouteContext, plan: Plan, raw: Record<string, unknown>, idempotencyKey: string | undefined): SimJournal | { errors: readonly string[] } {
  if (plan.kind === 'error') return { errors: plan.errors };
  if (plan.kind === 'create') return context.ledger.create(plan.draft, idempotencyKey);
  const result = context.ledger.update(plan.id, raw);
  return Array.isArray(result) ? { errors: result } : result;
}

/** GET /ManualJournals and GET /ManualJournals/{id}. */
export function readJournals(context: RouteContext, id: string | undefined, query: URLSearchParams, ifModifiedSince: string | undefined): SimAnswer {
  const { ledger } = context;
  if (id !== undefined) {
    const journal = ledger.find(id);
    if (journal === undefined) return errorAnswer(404, { ...XERO_ERRORS.notFound });
    return { status: 200, body: envelope(context, [ledger.render(journal, true)]) };
  }
  let journals = ledger.list();
  try {
    const where = query.get('where');
    if (where !== null && where.trim() !== '') {
      const predicate = parseWhere(where);
      journals = journals.filter((journal) => predicate(ledger.row(journal)));
    }
    const order = query.get('order');
    if (order !== null && order.trim() !== '') {
      const compare = parseOrder(order);
      journals = journals.map((journal, index) => ({ journal, index })).sort((a, b) => compare(ledger.row(a.journal), ledger.row(b.journal)) || a.index - b.index).map(({ journal }) => journal);
    }
  } catch (error) {
    if (!(error instanceof QueryParseError)) throw error;
    return errorAnswer(400, { ...XERO_ERRORS.queryParse, Message: error.message });
  }
  if (ifModifiedSince !== undefined) {
    const sinceMs = Date.parse(ifModifiedSince);
    if (!Number.isNaN(sinceMs)) journals = journals.filter((journal) => journal.updatedAtMs >= sinceMs);
  }
  const page = readPositiveInteger(query.get('page'));
  const pageSize = readPositiveInteger(query.get('pageSize'));
  if (page === null || pageSize === null || (pageSize !== undefined && pageSize > 1000)) {
    return errorAnswer(400, { ...XERO_ERRORS.queryParse, Message: 'page must be a whole number from 1, and pageSize one from 1 to 1000.' });
  }
  if (page === undefined) return { status: 200, body: envelope(context, journals.map((journal) => ledger.render(journal, false))) };
  const size = pageSize ?? PAGE_SIZE_DEFAULT;
  const slice = journals.slice((page - 1) * size, page * size);
  const pagination = { page, pageSize: size, pageCount: Math.ceil(journals.length / size), itemCount: journals.length };
  return { status: 200, body: envelope(context, slice.map((journal) => ledger.render(journal, true)), { pagination }) };
}

/** undefined when absent, null when not a positive whole number. */
function readPositiveInteger(text: string | null): number | undefined | null {
  if (text === null) return undefined;
  return /^[1-9]\d{0,8}$/.test(text) ? Number(text) : null;
}

function readBoolean(text: string | null): boolean | undefined {
  if (text === null) return undefined;
  if (/^true$/i.test(text)) return true;
  if (/^false$/i.test(text)) return false;
  return undefined;
}

/** The submitted journal as Xero echoes it in an answer: its own members, the Date in Xero's JSON date form [M]. */
function echoOf(item: unknown): Record<string, unknown> {
  if (!isRecord(item)) return {};
  const date = typeof item.Date === 'string' ? parseXeroDate(item.Date) : undefined;
  return date === undefined ? { ...item } : { ...item, Date: formatMsDate(Date.parse(`${date}T00:00:00Z`)) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof JsonDecimal);
}
