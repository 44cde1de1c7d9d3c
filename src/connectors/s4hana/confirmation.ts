/**
 * `JournalEntryBulkCreateConfirmation`: what S/4HANA answers to a sync request, and what it
 * pushes to our callback URL for an async one (our choice for the async message, see README).
 * One `JournalEntryCreateConfirmation` per document: its MessageHeader's `ReferenceID` names the
 * request document's MessageHeader ID, an inner `JournalEntryCreateConfirmation` holds
 * `AccountingDocument`, `CompanyCode` and `FiscalYear`, and a `Log` holds
 * `MaximumLogItemSeverityCode` and items (`TypeID`, `SeverityCode` 1 information / 2 warning /
 * 3 error, `Note`, `WebURI`). A failed document has a blank `AccountingDocument`, `FiscalYear`
 * `0000` and severity 3 [S]. Built here for the simulator and read here for the client.
 */
import { element, elements, renderFragment, soapEnvelope, text, type SoapBody, type XmlNode } from './xml.ts';

export interface LogItem {
  readonly typeId: string;
  /** '1' information, '2' warning, '3' error. */
  readonly severityCode: string;
  readonly note: string;
  readonly webUri?: string;
}

export interface DocumentConfirmation {
  /** The request document's MessageHeader ID; undefined when S/4HANA left it out. */
  readonly referenceId: string | undefined;
  /** Blank when the document was not posted. */
  readonly accountingDocument: string;
  readonly companyCode: string;
  /** `0000` when the document was not posted. */
  readonly fiscalYear: string;
  readonly maximumSeverityCode: string;
  readonly items: readonly LogItem[];
  /** This document's part of the answer as XML, kept on an error for the exception queue. */
  readonly raw: string;
}

export interface BulkConfirmation {
  /** The request's bulk MessageHeader ID. */
  readonly referenceId: string | undefined;
  readonly documents: readonly DocumentConfirmation[];
  /** The bulk message's own log (request-wide messages). */
  readonly maximumSeverityCode: string;
  readonly items: readonly LogItem[];
}

/** What the simulator confirms for one document. */
export interface ConfirmationInput {
  readonly referenceId: string;
  readonly accountingDocument: string;
  readonly companyCode: string;
  readonly fiscalYear: string;
  readonly items: readonly LogItem[];
}

export const CONFIRMATION_ELEMENT = 'JournalEntryBulkCreateConfirmation';

/** The whole SOAP envelope of a bulk confirmation; message UUIDs come from `uuidOf`. */
export function buildBulkConfirmation(input: { readonly referenceId: string; readonly creationDateTime: string; readonly documents: readonly ConfirmationInput[]; readonly uuidOf: (seed: string) => string }): string {
  const severityOf = (items: readonly LogItem[]) => String(Math.max(1, ...items.map((item) => Number(item.severityCode))));
  // The bulk message's own log only states the highest severity of its documents.
  const bulkSeverity = String(Math.max(1, ...input.documents.map((document) => Number(severityOf(document.items)))));
  return soapEnvelope(
    CONFIRMATION_ELEMENT,
    {
      MessageHeader: { UUID: input.uuidOf(`bulk:${input.referenceId}`), ReferenceID: input.referenceId, CreationDateTime: input.creationDateTime },
      JournalEntryCreateConfirmation: input.documents.map((document) => ({
        MessageHeader: { UUID: input.uuidOf(`document:${document.referenceId}`), ReferenceID: document.referenceId, CreationDateTime: input.creationDateTime },
        JournalEntryCreateConfirmation: { AccountingDocument: document.accountingDocument, CompanyCode: document.companyCode, FiscalYear: document.fiscalYear },
        Log: renderLog(document.items, severityOf(document.items)),
      })),
      Log: renderLog([], bulkSeverity),
    },
    { soap: 'soap-env', sfin: 'n0' },
  );
}

function renderLog(items: readonly LogItem[], maximum: string): XmlNode {
  return {
    MaximumLogItemSeverityCode: maximum,
    Item: items.map((item) => ({ TypeID: item.typeId, SeverityCode: item.severityCode, Note: item.note, ...(item.webUri !== undefined && { WebURI: item.webUri }) })),
  };
}

/** Reads a SOAP body holding a bulk confirmation; a string says why it is not one. Never throws. */
export function readBulkConfirmation(body: SoapBody): BulkConfirmation | string {
  if (body.name !== CONFIRMATION_ELEMENT) return `the SOAP body holds ${body.name}, not ${CONFIRMATION_ELEMENT}`;
  const log = element(body.element, 'Log');
  const documents = elements(body.element, 'JournalEntryCreateConfirmation').map(readDocument);
  return {
    referenceId: nonEmpty(text(element(body.element, 'MessageHeader'), 'ReferenceID')),
    documents,
    maximumSeverityCode: text(log, 'MaximumLogItemSeverityCode') ?? '',
    items: elements(log, 'Item').map(readLogItem),
  };
}

function readDocument(node: XmlNode): DocumentConfirmation {
  const document = element(node, 'JournalEntryCreateConfirmation');
  const log = element(node, 'Log');
  const items = elements(log, 'Item').map(readLogItem);
  const stated = text(log, 'MaximumLogItemSeverityCode');
  return {
    referenceId: nonEmpty(text(element(node, 'MessageHeader'), 'ReferenceID')),
    accountingDocument: text(document, 'AccountingDocument') ?? '',
    companyCode: text(document, 'CompanyCode') ?? '',
    fiscalYear: text(document, 'FiscalYear') ?? '',
    // A log without the maximum states it through its items.
    maximumSeverityCode: stated !== undefined && stated !== '' ? stated : String(Math.max(0, ...items.map((item) => Number(item.severityCode) || 0))),
    items,
    raw: renderFragment('JournalEntryCreateConfirmation', node),
  };
}

function readLogItem(node: XmlNode): LogItem {
  const webUri = nonEmpty(text(node, 'WebURI'));
  return { typeId: text(node, 'TypeID') ?? '', severityCode: text(node, 'SeverityCode') ?? '', note: text(node, 'Note') ?? '', ...(webUri !== undefined && { webUri }) };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Our document id for a posted document: `<CompanyCode>/<AccountingDocument>/<FiscalYear>`. */
export function documentIdOf(companyCode: string, accountingDocument: string, fiscalYear: string): string {
  return `${companyCode}/${accountingDocument}/${fiscalYear}`;
}

/** True when the confirmation says the document was posted: a number that is not blank or all zeros, a real year, no error. */
export function isPosted(document: DocumentConfirmation): boolean {
  return /^\d{1,10}$/.test(document.accountingDocument) && !/^0+$/.test(document.accountingDocument) && /^\d{4}$/.test(document.fiscalYear) && document.fiscalYear !== '0000' && document.maximumSeverityCode !== '3' && document.companyCode !== '';
}
