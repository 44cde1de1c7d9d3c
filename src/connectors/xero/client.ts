/**
 * The Xero target connector: posts balanced journals as manual journals
 * (`PUT /api.xro/2.0/ManualJournals`, `Idempotency-Key` = our external key), finds them again by
 * the key at the start of their Narration, and reads a period back for reconciliation. HTTP only;
 * bodies come from mapping.ts, errors are classified by errors.ts, the read-back is readback.ts.
 * A thin client rather than the `xero-node` SDK: README.md says why.
 */
import type { ConnectorError, LookupOutcome, PostOutcome, PostingRequest, ReadBackScope, TargetConnector } from '../contract.ts';
import { classifyXeroError, RAW_ANSWER_MAX_BYTES, truncateUtf8, type ClassifyOptions } from './errors.ts';
import { JsonDecimal, parseJsonExact, stringifyJson } from './exact-json.ts';
import { createXeroExchange, describeNetworkFailure, isNetworkFailure, type Answer, type XeroHttpOptions } from './http.ts';
import { assertExternalKey, keyFromNarration, lookupWhere, toXeroManualJournals, type XeroMappingOptions } from './mapping.ts';
import { xeroJournalLines, type XeroReadbackSettings } from './readback.ts';

/** Xero's limits per connected organisation (developer.xero.com FAQ, limits) [C]. */
export const XERO_LIMITS = { concurrent: 5, perMinute: 60, perDay: 5000 } as const;

export interface XeroConnectorOptions extends XeroHttpOptions {
  /** The connection name, e.g. "xero-uk". */
  readonly target: string;
  /** The organisation's base currency: Xero keeps manual journals in it only (they carry no currency). */
  readonly baseCurrency: string;
  /** Tracking category holding our cost centers as options; default "Cost Center". */
  readonly costCenterCategory?: string;
  /** Tracking category holding projects as options; without it projects are not sent. */
  readonly projectCategory?: string;
  /** Lower than Xero's limits when other integrations share the organisation; never higher. */
  readonly maxConcurrency?: number;
  readonly rateLimit?: { readonly perMinute?: number; readonly perDay?: number };
  /** Paging and retries of the reconciliation read-back. */
  readonly readBack?: XeroReadbackSettings;
  /** The clock for Retry-After dates; default Date.now. */
  readonly now?: () => number;
}

const MANUAL_JOURNALS = '/ManualJournals';

export function createXeroConnector(options: XeroConnectorOptions): TargetConnector {
  const exchange = createXeroExchange(options);
  const mapping: XeroMappingOptions = { costCenterCategory: options.costCenterCategory ?? 'Cost Center', ...(options.projectCategory !== undefined && { projectCategory: options.projectCategory }) };
  const trackingFields = { [mapping.costCenterCategory]: 'costCenter', ...(mapping.projectCategory !== undefined && { [mapping.projectCategory]: 'project' }) };
  const classify = (answer: Answer): ConnectorError => classifyXeroError(answer.status, answer.text, answer.headers, { nowMs: (options.now ?? Date.now)(), trackingFields } satisfies ClassifyOptions);
  const maxConcurrency = Math.min(options.maxConcurrency ?? XERO_LIMITS.concurrent, XERO_LIMITS.concurrent);

  async function post(request: PostingRequest): Promise<PostOutcome> {
    assertExternalKey(request.externalKey);
    if (request.journal.currency !== options.baseCurrency) {
      return {
        status: 'failed',
        error: {
          kind: 'invalid',
          vendorCode: 'CURRENCY_NOT_BASE',
          field: 'currency',
          value: request.journal.currency,
          message: `Xero keeps manual journals in the organisation's base currency ${options.baseCurrency}; this journal is in ${request.journal.currency}: convert it in the mapping or post it to another target, then replay.`,
        },
      };
    }
    const body = stringifyJson(toXeroManualJournals(request, mapping));
    // summarizeErrors=true, said explicitly: the official description declares false as its default while Xero
    // documents the summarised 400 as the default [M]; one journal per call gains nothing from per-item answers.
    const result = await exchange({ method: 'PUT', path: MANUAL_JOURNALS, query: { summarizeErrors: 'true' }, body, idempotencyKey: request.externalKey });
    if (isNetworkFailure(result)) return { status: result.maybeSent ? 'unknown' : 'failed', error: describeNetworkFailure(result) };
    if (result.status >= 200 && result.status < 300) return readCreated(result, trackingFields);
    const error = classify(result);
    // A 500 or a gateway's 502/504 may come after Xero committed the journal: settle it by lookup first.
    // 503 (maintenance, organisation offline) and 429 are refusals at the door.
    const mayHaveCommitted = result.status === 500 || result.status === 502 || result.status === 504;
    return { status: mayHaveCommitted ? 'unknown' : 'failed', error };
  }

  async function lookup(externalKey: string): Promise<LookupOutcome> {
    const result = await exchange({ method: 'GET', path: MANUAL_JOURNALS, query: { where: lookupWhere(externalKey) } });
    if (isNetworkFailure(result)) return { status: 'failed', error: describeNetworkFailure(result) };
    if (result.status !== 200) return { status: 'failed', error: classify(result) };
    const journals = readJournalList(result.text);
    if (journals === undefined) return { status: 'failed', error: malformed(result, 'a lookup answer without a ManualJournals list; the lane retries') };
    // Xero's StartsWith is taken on trust only as far as the key itself: the Narration must begin with exactly our key.
    const mine = journals.find((journal) => keyFromNarration(journal.narration) === externalKey && journal.status !== 'DELETED');
    return mine === undefined ? { status: 'absent' } : { status: 'found', documentId: mine.id };
  }

  const readBack = (scope: ReadBackScope) =>
    xeroJournalLines(exchange, { entity: scope.entity, period: scope.period, currency: options.baseCurrency, accountCodeOf: scope.accountCodeOf, classify, ...options.readBack });

  return {
    target: options.target,
    maxConcurrency,
    rateLimit: { perMinute: options.rateLimit?.perMinute ?? XERO_LIMITS.perMinute, perDay: options.rateLimit?.perDay ?? XERO_LIMITS.perDay },
    post,
    lookup,
    readBack,
  };
}

/**
 * A 2xx answer to the PUT: the created journal's ManualJournalID. A replay of the same
 * Idempotency-Key answers the stored response, so a repeat reads as `created` with the same id.
 */
function readCreated(answer: Answer, trackingFields: Readonly<Record<string, string>>): PostOutcome {
  const journals = readJournalList(answer.text);
  const first = journals?.[0];
  if (first === undefined || (first.id === '' && first.validation.length === 0)) {
    return { status: 'unknown', error: malformed(answer, 'a success answer without a ManualJournalID: look the journal up before any resend') };
  }
  if (first.validation.length > 0 || first.statusAttribute === 'ERROR') {
    // summarizeErrors=false answers 200 with the refusal inside the journal; classify it as the 400 it stands for.
    const refusal = classifyXeroError(400, answer.text, answer.headers, { trackingFields });
    return { status: 'failed', error: { ...refusal, vendorCode: refusal.kind === 'conflict' ? refusal.vendorCode : 'ValidationException', httpStatus: answer.status } };
  }
  return { status: 'created', documentId: first.id };
}

interface ListedJournal {
  readonly id: string;
  readonly narration: string;
  readonly status: string;
  readonly statusAttribute: string;
  readonly validation: readonly string[];
}

/** The journals of a ManualJournals answer, or undefined when the body is not that shape. */
function readJournalList(text: string): ListedJournal[] | undefined {
  let parsed: unknown;
  try {
    parsed = parseJsonExact(text);
  } catch {
    return undefined;
  }
  const list = (parsed as { ManualJournals?: unknown } | null)?.ManualJournals;
  if (!Array.isArray(list)) return undefined;
  const journals: ListedJournal[] = [];
  for (const item of list) {
    if (typeof item !== 'object' || item === null || item instanceof JsonDecimal) return undefined;
    const record = item as Record<string, unknown>;
    const text = (value: unknown) => (typeof value === 'string' ? value : '');
    const errors = Array.isArray(record.ValidationErrors) ? record.ValidationErrors.map((error) => text((error as { Message?: unknown } | null)?.Message)) : [];
    journals.push({ id: text(record.ManualJournalID), narration: text(record.Narration), status: text(record.Status), statusAttribute: text(record.StatusAttributeString), validation: errors });
  }
  return journals;
}

function malformed(answer: Answer, what: string): ConnectorError {
  return {
    kind: 'transient',
    vendorCode: 'MALFORMED_ANSWER',
    message: `Xero answered HTTP ${answer.status} with ${what}.`,
    httpStatus: answer.status,
    raw: truncateUtf8(answer.text, RAW_ANSWER_MAX_BYTES),
  };
}
