/**
 * One HTTP exchange with the Xero Accounting API, as client.ts and readback.ts need it: the
 * bearer token and `xero-tenant-id` on every call, the whole answer read (so the connection is
 * always drained), and a network failure returned as a value that says whether the request may
 * have reached Xero. HTTP only; nothing here knows journals.
 */
import type { ConnectorError } from '../contract.ts';
import { API_PREFIX } from './mapping.ts';

export interface XeroHttpOptions {
  /** e.g. https://api.xero.com (the API lives under /api.xro/2.0), without a trailing slash. */
  readonly baseUrl: string;
  /**
   * The OAuth 2.0 access token, or a function that returns a current one: Xero's access tokens
   * last 30 minutes, so a long-running hub passes a function backed by its token refresher.
   */
  readonly accessToken: string | (() => string | Promise<string>);
  /** The organisation (tenant) id sent as `xero-tenant-id` on every call. */
  readonly tenantId: string;
  readonly requestTimeoutMs: number;
}

export interface XeroRequest {
  readonly method: 'GET' | 'PUT' | 'POST';
  /** Below /api.xro/2.0, e.g. `/ManualJournals`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  /** JSON text, written by stringifyJson. */
  readonly body?: string;
  readonly idempotencyKey?: string;
}

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** A network failure, and whether the request may have reached Xero before it happened. */
export interface NetworkFailure {
  readonly code: string;
  readonly maybeSent: boolean;
  readonly message: string;
}

export type Exchange = (request: XeroRequest) => Promise<Answer | NetworkFailure>;

/** Codes meaning no connection was made, so Xero cannot have seen the request. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

export function createXeroExchange(options: XeroHttpOptions): Exchange {
  const root = `${options.baseUrl.replace(/\/+$/, '')}${API_PREFIX}`;
  return async (request) => {
    let token: string;
    try {
      token = typeof options.accessToken === 'string' ? options.accessToken : await options.accessToken();
    } catch (error) {
      return { code: 'TOKEN_UNAVAILABLE', maybeSent: false, message: `No Xero access token could be had (${error instanceof Error ? error.message : String(error)})` };
    }
    const query = request.query === undefined ? '' : `?${new URLSearchParams(request.query).toString()}`;
    const headers: Record<string, string> = {
      Authorization: `Bearer ${token}`,
      'xero-tenant-id': options.tenantId,
      Accept: 'application/json',
      ...(request.body !== undefined && { 'Content-Type': 'application/json' }),
      ...(request.idempotencyKey !== undefined && { 'Idempotency-Key': request.idempotencyKey }),
    };
    try {
      const response = await fetch(`${root}${request.path}${query}`, {
        method: request.method,
        headers,
        ...(request.body !== undefined && { body: request.body }),
        redirect: 'manual',
        signal: AbortSignal.timeout(options.requestTimeoutMs),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, text };
    } catch (error) {
      return readNetworkFailure(error);
    }
  };
}

export function isNetworkFailure(result: Answer | NetworkFailure): result is NetworkFailure {
  return 'code' in result;
}

function readNetworkFailure(error: unknown): NetworkFailure {
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return { code: 'TIMEOUT', maybeSent: true, message: 'Xero did not answer in time' };
  }
  const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const rawCode = typeof cause?.code === 'string' ? cause.code : 'NETWORK_ERROR';
  const detail = typeof cause?.message === 'string' ? cause.message : String(error);
  if (NOT_SENT_CODES.has(rawCode)) return { code: rawCode, maybeSent: false, message: `Xero could not be reached (${detail})` };
  // A cut connection may come after Xero committed the request, so it counts as sent.
  const code = RESET_CODES.has(rawCode) ? 'ECONNRESET' : rawCode;
  return { code, maybeSent: true, message: `The connection to Xero broke (${detail})` };
}

/** The error for a network failure: `unavailable` when nothing left, `transient` when Xero may have it. */
export function describeNetworkFailure(failure: NetworkFailure): ConnectorError {
  const next = failure.maybeSent ? 'look the journal up before any resend (the Idempotency-Key also guards a resend within 24 h)' : 'the lane retries when Xero is reachable';
  return { kind: failure.maybeSent ? 'transient' : 'unavailable', vendorCode: failure.code, message: `${failure.message}: ${next}.` };
}
