/**
 * One SOAP call of the connector: a bulk request sent to the sync or async service, and its
 * answer read into one outcome per document. Sync: the confirmation is the HTTP answer. Async:
 * HTTP 202, then the confirmations pushed to the callback route, awaited up to
 * `confirmationWaitMs`. Every way the answer can go wrong after S/4HANA may have posted
 * (timeout, cut connection, 500, gateway error, no confirmation) is an `unknown` outcome.
 */
import type { PostOutcome } from '../contract.ts';
import type { AsyncConfirmations } from './async-confirmations.ts';
import { documentIdOf, isPosted, readBulkConfirmation, type BulkConfirmation, type DocumentConfirmation } from './confirmation.ts';
import { classifyLogItems, classifyPostAnswer, describeNetworkFailure, readNetworkFailure, unclassified, type NetworkFailure } from './errors.ts';
import { buildBulkRequestContent, documentMessageId, type S4Posting } from './mapping.ts';
import { readSoapBody, soapEnvelope } from './xml.ts';

/** Where and how the connector sends its SOAP messages. */
export interface SoapChannel {
  readonly url: string;
  readonly authorization: string;
  readonly soapAction: string;
  readonly mode: 'sync' | 'async';
  readonly createdByUser: string;
  readonly requestTimeoutMs: number;
  readonly confirmationWaitMs: number;
  readonly confirmations: AsyncConfirmations;
  readonly now: () => number;
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** Sends the postings as one bulk request; one outcome per posting, in order. */
export async function sendBulk(channel: SoapChannel, postings: readonly S4Posting[]): Promise<PostOutcome[]> {
  const creationDateTime = new Date(channel.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const body = soapEnvelope('JournalEntryBulkCreateRequest', buildBulkRequestContent(postings, { createdByUser: channel.createdByUser, creationDateTime }));
  const ids = postings.map((posting) => documentMessageId(posting.request.externalKey));
  const isAsync = channel.mode === 'async';
  // Registered before sending: a confirmation can arrive before the acknowledgement does.
  if (isAsync) channel.confirmations.expect(ids);
  const headers = { Authorization: channel.authorization, 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${channel.soapAction}"`, Accept: 'text/xml' };
  const answer = await exchange(channel.url, { method: 'POST', headers, body }, channel.requestTimeoutMs);
  if ('code' in answer) {
    if (!answer.maybeSent) channel.confirmations.forget(ids);
    return ids.map(() => networkOutcome(answer));
  }
  const isAcknowledgement = answer.status === 202 || (answer.status === 200 && answer.text.trim() === '');
  if (isAcknowledgement && isAsync) return outcomesOf(await channel.confirmations.wait(ids, channel.confirmationWaitMs), ids, { waitedMs: channel.confirmationWaitMs });
  if (isAcknowledgement) {
    const message = `S/4HANA accepted the message with HTTP ${answer.status} but answered no confirmation (is the sync path an async service?): look the journal up before any resend.`;
    return ids.map(() => ({ status: 'unknown', error: { kind: 'transient', vendorCode: 'ACCEPTED_WITHOUT_CONFIRMATION', message, httpStatus: answer.status } }));
  }
  if (answer.status !== 200) {
    const failure = classifyPostAnswer(answer.status, answer.text, answer.headers, channel.now());
    if (!failure.maybeCommitted) channel.confirmations.forget(ids);
    return ids.map(() => ({ status: failure.maybeCommitted ? 'unknown' : 'failed', error: failure.error }));
  }
  const soap = readSoapBody(answer.text);
  const confirmation = typeof soap === 'string' ? soap : readBulkConfirmation(soap);
  if (typeof confirmation === 'string') {
    return ids.map(() => ({ status: 'failed', error: unclassified(200, answer.text, `S/4HANA answered HTTP 200 with ${confirmation}`) }));
  }
  return outcomesOf(matchDocuments(confirmation, ids), ids, { bulk: confirmation, rawText: answer.text });
}

/** Outcomes by message ID; a document without its confirmation is unknown, unless the whole request was refused. */
function outcomesOf(byId: ReadonlyMap<string, DocumentConfirmation>, ids: readonly string[], context: { bulk: BulkConfirmation; rawText: string } | { waitedMs: number }): PostOutcome[] {
  return ids.map((id) => {
    const document = byId.get(id);
    if (document) return outcomeOf(document);
    if ('bulk' in context && context.bulk.documents.length === 0 && context.bulk.maximumSeverityCode === '3') {
      return { status: 'failed', error: classifyLogItems(context.bulk.items, context.rawText) };
    }
    const waited = 'waitedMs' in context ? ` within ${context.waitedMs} ms` : ' for this journal';
    return { status: 'unknown', error: { kind: 'transient', vendorCode: 'NO_CONFIRMATION', message: `S/4HANA sent no confirmation${waited}; it may still post the journal: look it up before any resend.` } };
  });
}

/** One document's confirmation as our outcome. */
export function outcomeOf(document: DocumentConfirmation): PostOutcome {
  if (isPosted(document)) return { status: 'created', documentId: documentIdOf(document.companyCode, document.accountingDocument, document.fiscalYear) };
  if (document.maximumSeverityCode === '3') return { status: 'failed', error: classifyLogItems(document.items, document.raw) };
  if (/^0+$/.test(document.accountingDocument)) {
    return { status: 'failed', error: { kind: 'invalid', vendorCode: 'TEST_RUN', message: 'S/4HANA answered with document number 0000000000: the request ran as a simulation and nothing was posted. Check the message header (TestDataIndicator), then replay.', raw: document.raw } };
  }
  return { status: 'failed', error: unclassified(undefined, document.raw, 'S/4HANA confirmed the journal without a document number and without an error') };
}

/** Confirmations by request message ID; by position when S/4HANA left out every ReferenceID but answered one per document. */
function matchDocuments(confirmation: BulkConfirmation, ids: readonly string[]): Map<string, DocumentConfirmation> {
  const byId = new Map<string, DocumentConfirmation>();
  const referenced = confirmation.documents.filter((document) => document.referenceId !== undefined);
  if (referenced.length === 0 && confirmation.documents.length === ids.length) {
    confirmation.documents.forEach((document, index) => byId.set(ids[index], document));
    return byId;
  }
  for (const document of referenced) {
    const id = document.referenceId as string;
    if (ids.includes(id) && !byId.has(id)) byId.set(id, document);
  }
  return byId;
}

function networkOutcome(failure: NetworkFailure): PostOutcome {
  return { status: failure.maybeSent ? 'unknown' : 'failed', error: describeNetworkFailure(failure) };
}

/** Sends one request and reads the whole answer body, so the connection is always drained. */
async function exchange(url: string, init: RequestInit, requestTimeoutMs: number): Promise<Answer | NetworkFailure> {
  try {
    const response = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(requestTimeoutMs) });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text };
  } catch (error) {
    return readNetworkFailure(error);
  }
}
