/**
 * Our journals <-> the S/4HANA `JournalEntryBulkCreateRequest` (SOAP, namespace SFIN). Pure.
 *
 * Money: S/4HANA takes signed decimal amounts (debit positive with `S`, credit negative with `H`);
 * every amount goes through `formatAmount`/`parseAmount` as a decimal string, never a float.
 *
 * Where our external key goes: S/4HANA has no field long enough for it. The public WSDL of the
 * sync service [S] limits `DocumentReferenceID` to 16 characters, `DocumentHeaderText` to 25,
 * `AssignmentReference` to 18, `DocumentItemText` to 50 and a MessageHeader `ID` to 35, while our
 * keys (`fs_<24 hex digits>_r<revision>[_rev]`, domain/keys.ts) have 30 or more. The key is
 * therefore written, upper-cased and without its underscores, across two standard fields:
 *
 *   fs_3c46a60978f9185b49872df5_r1      DocumentReferenceID  FS3C46A60978F918   (FS + 14 hex digits)
 *                                       AssignmentReference  5B49872DF5R1       (10 hex digits, R, revision)
 *   fs_3c46a60978f9185b49872df5_r12_rev AssignmentReference  5B49872DF5R12REV   (a reversal ends in REV)
 *
 * `DocumentReferenceID` (header, filterable) is a deterministic short reference, unique in
 * practice on its own (56 bits of the hash); `AssignmentReference` on every item completes it.
 * Read back, the two give the key exactly, in either case. Revisions up to 9999 fit; a key of
 * another shape does not, and `keyProblem` says so (the connector refuses it as invalid).
 *
 * The message IDs are deterministic too, so a resend carries the same ones: a document's
 * `MessageHeader/ID` is the two references joined (at most 34 characters), its `UUID` a
 * name-based UUID of the key, and the bulk message's ID `FSB` + 32 hex digits of a hash of its
 * documents' keys.
 */
import { createHash } from 'node:crypto';
import type { PostingRequest } from '../contract.ts';
import type { JournalLine } from '../../domain/journal.ts';
import { DomainError } from '../../domain/domain-error.ts';
import { formatAmount, isKnownCurrency, parseAmount } from '../../domain/money.ts';
import { attribute, element, elements, text, type XmlNode } from './xml.ts';

/** Paths of the two inbound SOAP services: sync [S] (the service address of a public WSDL), async [M]. */
export const SYNC_PATH = '/sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi';
export const ASYNC_PATH = '/sap/bc/srt/scs_ext/sap/journalentrybulkcreationrequest';
/** The SOAPAction public clients send (api-contracts.md [S]); a public WSDL of the sync service names another (README). */
export const SOAP_ACTION = 'http://sap.com/xi/SAPSCORE/SFIN/JournalEntryBulkCreateRequest';

export const HEADER_TEXT_LENGTH = 25;
export const ITEM_TEXT_LENGTH = 50;
/** `CreatedByUser` is at most 12 characters. */
export const CREATED_BY_LENGTH = 12;
/** The prefix every DocumentReferenceID of ours starts with: the read-back filters on it. */
export const REFERENCE_PREFIX = 'FS';
const KEY_SHAPE = /^fs_([0-9a-f]{24})_r(\d{1,4})(_rev)?$/;
const HEADER_REFERENCE = /^FS([0-9A-F]{14})$/i;
const ITEM_REFERENCE = /^([0-9A-F]{10})R(\d{1,4})(REV)?$/i;

/** Why a key cannot be carried by the reference fields, or undefined when it can. */
export function keyProblem(externalKey: string): string | undefined {
  if (KEY_SHAPE.test(externalKey)) return undefined;
  return `the key "${externalKey}" is not a finsync posting key S/4HANA can carry (fs_, 24 hex digits, _r, a revision up to 9999, optionally _rev)`;
}

export interface KeyReference {
  readonly documentReferenceId: string;
  readonly assignmentReference: string;
}

/** The two reference fields carrying a key. A key with a keyProblem is a programmer error here. */
export function referenceOfKey(externalKey: string): KeyReference {
  const match = KEY_SHAPE.exec(externalKey);
  if (!match) throw new Error(`Assertion failed: ${keyProblem(externalKey)}`);
  const [, hash, revision, reversal] = match;
  const hex = hash.toUpperCase();
  return { documentReferenceId: `${REFERENCE_PREFIX}${hex.slice(0, 14)}`, assignmentReference: `${hex.slice(14)}R${revision}${reversal ? 'REV' : ''}` };
}

/** Our key from the two reference fields as read back (any case); undefined when they do not hold one of ours. */
export function keyOfReference(documentReferenceId: string, assignmentReference: string): string | undefined {
  const header = HEADER_REFERENCE.exec(documentReferenceId);
  const item = ITEM_REFERENCE.exec(assignmentReference);
  if (!header || !item) return undefined;
  return `fs_${`${header[1]}${item[1]}`.toLowerCase()}_r${item[2]}${item[3] ? '_rev' : ''}`;
}

/** The document's MessageHeader ID: the two references joined (BusinessDocumentMessageID holds 35 characters). */
export function documentMessageId(externalKey: string): string {
  const reference = referenceOfKey(externalKey);
  return `${reference.documentReferenceId}${reference.assignmentReference}`;
}

/** A name-based UUID of the key (SHA-256, version and variant bits set), the same on every resend. */
export function documentMessageUuid(externalKey: string): string {
  const hex = createHash('sha256').update(`finsync-s4hana-message\u0000${externalKey}`).digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The bulk message's ID: the same documents in the same order give the same ID. */
export function bulkMessageId(externalKeys: readonly string[]): string {
  return `FSB${createHash('sha256').update(externalKeys.join('\n')).digest('hex').slice(0, 32).toUpperCase()}`;
}

/** One posting request bound for a company code. */
export interface S4Posting {
  readonly request: PostingRequest;
  readonly companyCode: string;
}

export interface BulkRequestOptions {
  /** The communication user's name, cut to 12 characters (CreatedByUser). */
  readonly createdByUser: string;
  /** ISO 8601 UTC with a Z, e.g. 2026-04-30T10:15:00Z. */
  readonly creationDateTime: string;
}

/** The SOAP body content of a JournalEntryBulkCreateRequest (children unqualified, in the schema's order). */
export function buildBulkRequestContent(postings: readonly S4Posting[], options: BulkRequestOptions): XmlNode {
  if (postings.length === 0) throw new Error('Assertion failed: a bulk request needs at least one journal');
  return {
    MessageHeader: { ID: bulkMessageId(postings.map((p) => p.request.externalKey)), CreationDateTime: options.creationDateTime },
    JournalEntryCreateRequest: postings.map((posting) => ({
      MessageHeader: { ID: documentMessageId(posting.request.externalKey), UUID: documentMessageUuid(posting.request.externalKey), CreationDateTime: options.creationDateTime },
      JournalEntry: buildJournalEntry(posting, options),
    })),
  };
}

function buildJournalEntry({ request, companyCode }: S4Posting, options: BulkRequestOptions): XmlNode {
  const { journal } = request;
  const reference = referenceOfKey(request.externalKey);
  return {
    OriginalReferenceDocumentType: 'BKPFF',
    BusinessTransactionType: 'RFBU',
    AccountingDocumentType: 'SA',
    DocumentReferenceID: reference.documentReferenceId,
    ...(journal.memo !== '' && { DocumentHeaderText: xmlText(journal.memo, HEADER_TEXT_LENGTH) }),
    CreatedByUser: options.createdByUser.slice(0, CREATED_BY_LENGTH),
    CompanyCode: companyCode,
    DocumentDate: journal.postingDate,
    PostingDate: journal.postingDate,
    Item: journal.lines.map((line, index) => buildItem(request, line, index, companyCode, reference.assignmentReference)),
  };
}

function buildItem(request: PostingRequest, line: JournalLine, index: number, companyCode: string, assignmentReference: string): XmlNode {
  const { references, journal } = request;
  if ((line.debitMinor > 0) === (line.creditMinor > 0) || line.debitMinor < 0 || line.creditMinor < 0) {
    throw new Error(`Assertion failed: journal line ${index} must have exactly one positive side`);
  }
  const debit = line.debitMinor > 0;
  const amount = formatAmount(debit ? line.debitMinor : -line.creditMinor, journal.currency);
  return {
    ReferenceDocumentItem: String(index + 1),
    CompanyCode: companyCode,
    GLAccount: resolve(references.accounts, line.account, 'account', index),
    AmountInTransactionCurrency: { '#text': amount, '@_currencyCode': journal.currency },
    DebitCreditCode: debit ? 'S' : 'H',
    ...(line.memo !== '' && { DocumentItemText: xmlText(line.memo, ITEM_TEXT_LENGTH) }),
    ...(assignmentReference !== '' && { AssignmentReference: assignmentReference }),
    ...(line.taxCode !== undefined && { Tax: { TaxCode: resolve(references.taxCodes, line.taxCode, 'tax code', index) } }),
    ...(line.costCenter !== undefined && { AccountAssignment: { CostCenter: resolve(references.costCenters, line.costCenter, 'cost center', index) } }),
  };
}

/** Characters XML 1.0 cannot carry (control characters, lone surrogates, U+FFFE/FFFF). */
const NOT_XML = /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu;

/**
 * A free text as S/4HANA can take it: on one line (the texts are single-line fields, and XML
 * would turn a carriage return into a line feed), characters XML cannot carry dropped (one of
 * them would make S/4HANA refuse the whole bulk request), cut to `max` UTF-16 units without
 * splitting a pair.
 */
export function xmlText(value: string, max: number): string {
  const clean = value.replace(/\r\n|[\r\n\t]/g, ' ').replace(NOT_XML, '');
  if (clean.length <= max) return clean;
  const cut = clean.slice(0, max);
  return /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut;
}

function resolve(table: Readonly<Record<string, string>>, key: string, what: string, index: number): string {
  const id = Object.hasOwn(table, key) ? table[key] : undefined;
  if (id === undefined) throw new Error(`Assertion failed: no S/4HANA code for ${what} ${key} (line ${index}); the pipeline resolves references before posting`);
  return id;
}

/** An item read from a request: its signed amount in minor units of the journal's currency. */
export interface S4RequestItem {
  readonly glAccount: string;
  /** Debit positive, credit negative. */
  readonly amountMinor: number;
  readonly debitCreditCode: string;
  readonly itemText: string;
  readonly assignmentReference: string;
  readonly costCenter?: string;
  readonly taxCode?: string;
}

export interface S4RequestJournal {
  readonly companyCode: string;
  readonly documentReferenceId: string;
  readonly headerText: string;
  readonly documentType: string;
  readonly documentDate: string;
  readonly postingDate: string;
  readonly currency: string;
  readonly items: readonly S4RequestItem[];
}

/** One document of a request: its message IDs, and the journal or the reason it cannot be read. */
export interface S4RequestEntry {
  readonly messageId: string;
  readonly messageUuid: string;
  readonly journal: S4RequestJournal | { readonly problem: string; readonly path: string };
}

export interface S4BulkRequest {
  readonly messageId: string;
  readonly entries: readonly S4RequestEntry[];
}

/** A document that cannot be read; `path` names the element, as S/4HANA's messages do. */
class ShapeProblem extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

/**
 * Reads the content of a JournalEntryBulkCreateRequest (as `readSoapBody` returns it) into minor
 * units. A request without documents is a string; a document that cannot be read carries its
 * problem, so the others are still processed (S/4HANA answers per document).
 */
export function parseBulkRequestContent(content: XmlNode): S4BulkRequest | string {
  const documents = elements(content, 'JournalEntryCreateRequest');
  if (documents.length === 0) return 'the request holds no JournalEntryCreateRequest';
  return {
    messageId: text(element(content, 'MessageHeader'), 'ID') ?? '',
    entries: documents.map((document, index) => {
      const header = element(document, 'MessageHeader');
      let journal: S4RequestEntry['journal'];
      try {
        journal = readJournal(element(document, 'JournalEntry'), `JournalEntryCreateRequest[${index}].JournalEntry`);
      } catch (error) {
        if (!(error instanceof ShapeProblem)) throw error;
        journal = { problem: error.problem, path: error.path };
      }
      return { messageId: text(header, 'ID') ?? '', messageUuid: text(header, 'UUID') ?? '', journal };
    }),
  };
}

function readJournal(node: XmlNode | undefined, path: string): S4RequestJournal {
  if (!node) throw new ShapeProblem(path, 'the element is missing');
  const items = elements(node, 'Item');
  if (items.length === 0) throw new ShapeProblem(`${path}.Item`, 'a journal entry needs at least one item');
  const currencies = new Set(items.map((item) => attribute(element(item, 'AmountInTransactionCurrency'), 'currencyCode') ?? ''));
  if (currencies.size !== 1) throw new ShapeProblem(`${path}.Item`, `the items use ${currencies.size} transaction currencies; one document has one`);
  const [currency] = currencies;
  if (!isKnownCurrency(currency)) throw new ShapeProblem(`${path}.Item[0].AmountInTransactionCurrency`, `"${currency}" is not a currency code`);
  return {
    companyCode: required(node, 'CompanyCode', path),
    documentReferenceId: text(node, 'DocumentReferenceID') ?? '',
    headerText: text(node, 'DocumentHeaderText') ?? '',
    documentType: required(node, 'AccountingDocumentType', path),
    documentDate: date(node, 'DocumentDate', path),
    postingDate: date(node, 'PostingDate', path),
    currency,
    items: items.map((item, index) => readItem(item, currency, `${path}.Item[${index}]`)),
  };
}

function readItem(node: XmlNode, currency: string, path: string): S4RequestItem {
  const raw = text(node, 'AmountInTransactionCurrency') ?? '';
  let amountMinor: number;
  try {
    amountMinor = parseAmount(raw, currency, `${path}.AmountInTransactionCurrency`).amountMinor;
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    throw new ShapeProblem(`${path}.AmountInTransactionCurrency`, `"${raw}" is not an amount in ${currency} (at most its minor-unit decimals)`);
  }
  const costCenter = text(element(node, 'AccountAssignment'), 'CostCenter');
  const taxCode = text(element(node, 'Tax'), 'TaxCode');
  return {
    glAccount: required(node, 'GLAccount', path),
    amountMinor,
    debitCreditCode: text(node, 'DebitCreditCode') ?? '',
    itemText: text(node, 'DocumentItemText') ?? '',
    assignmentReference: text(node, 'AssignmentReference') ?? '',
    ...(costCenter !== undefined && costCenter !== '' && { costCenter }),
    ...(taxCode !== undefined && taxCode !== '' && { taxCode }),
  };
}

function required(node: XmlNode, name: string, path: string): string {
  const value = text(node, name);
  if (value === undefined || value === '') throw new ShapeProblem(`${path}.${name}`, 'the element is missing or empty');
  return value;
}

function date(node: XmlNode, name: string, path: string): string {
  const value = required(node, name, path);
  const ms = Date.parse(`${value}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value) {
    throw new ShapeProblem(`${path}.${name}`, `"${value}" is not a date (YYYY-MM-DD)`);
  }
  return value;
}
