/**
 * Our journals -> the records of a batch file (layout.ts). Pure. Amounts stay integer minor units
 * until layout.ts writes them as decimals with money.ts; control totals are summed exactly.
 *
 * What GL_INTERFACE has no column for is not sent: employee, tax code and project of a line (the
 * regulated unit's ledger keeps them in its subledgers, not in GL journals).
 */
import { createHash } from 'node:crypto';
import type { PostingRequest } from '../contract.ts';
import { controlTotalsOf, trailerOf, type BatchFile, type InterfaceLine } from './layout.ts';

/** GL_INTERFACE's REFERENCE columns hold at most 240 characters [M]; longer texts are cut. */
export const TEXT_CHARS_MAX = 240;
/** Our external keys as REFERENCE4 (at most 100 characters [M]); src/domain/keys.ts makes them. */
export const EXTERNAL_KEY_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;

/** The texts every line of a batch carries, from the connector's options. */
export interface BatchTexts {
  /** USER_JE_CATEGORY_NAME. */
  readonly category: string;
  /** USER_JE_SOURCE_NAME. */
  readonly source: string;
  /** CREATED_BY in the header. */
  readonly createdBy: string;
}

/**
 * The batch id of a set of journals: 20 hex digits of SHA-256 over the sorted external keys. A
 * resend of the same set has the same id, so the ERP can refuse the repeat; a journal retried alone
 * or with others is a different set and a different batch.
 */
export function batchIdOf(externalKeys: readonly string[]): string {
  const sorted = [...externalKeys].sort();
  return createHash('sha256').update(sorted.join('\n')).digest('hex').slice(0, 20);
}

/** GROUP_ID is a number in GL_INTERFACE: the batch id's first 12 hex digits in decimal (below 2^48, exact). */
export function groupIdOf(batchId: string): string {
  if (!/^[0-9a-f]{12}/.test(batchId)) throw new Error(`Assertion failed: batch id ${batchId} does not start with 12 hex digits`);
  return String(Number.parseInt(batchId.slice(0, 12), 16));
}

/** A text as one CSV field the ERP stores: control characters (line breaks too) become spaces, cut at TEXT_CHARS_MAX characters. */
export function fieldText(text: string): string {
  const flat = text.replace(/[\x00-\x1f\x7f]/g, ' ');
  const characters = Array.from(flat);
  return characters.length <= TEXT_CHARS_MAX ? flat : characters.slice(0, TEXT_CHARS_MAX).join('');
}

/** The detail records of one journal. A reference missing from `request.references` is a programmer error. */
export function toInterfaceLines(request: PostingRequest, batchId: string, texts: BatchTexts): InterfaceLine[] {
  const { journal, references, externalKey } = request;
  if (!EXTERNAL_KEY_PATTERN.test(externalKey)) {
    throw new Error(`Assertion failed: external key "${externalKey}" does not fit REFERENCE4 (letters, digits, _ and -, at most 100)`);
  }
  const groupId = groupIdOf(batchId);
  return journal.lines.map((line, index) => {
    if (!Number.isSafeInteger(line.debitMinor) || !Number.isSafeInteger(line.creditMinor) || line.debitMinor < 0 || line.creditMinor < 0 || (line.debitMinor > 0) === (line.creditMinor > 0)) {
      throw new Error(`Assertion failed: journal line ${index} of ${externalKey} must have exactly one positive side in integer minor units`);
    }
    return {
      status: 'NEW',
      ledgerId: references.subsidiaryId,
      accountingDate: journal.postingDate,
      currency: journal.currency,
      actualFlag: 'A',
      category: texts.category,
      source: texts.source,
      company: journal.entity,
      account: resolveReference(references.accounts, line.account, 'account', index),
      costCenter: line.costCenter === undefined ? '' : resolveReference(references.costCenters, line.costCenter, 'cost center', index),
      debitMinor: line.debitMinor,
      creditMinor: line.creditMinor,
      batchName: batchId,
      journalName: externalKey,
      journalDescription: fieldText(journal.memo),
      lineDescription: fieldText(line.memo),
      groupId,
    };
  });
}

function resolveReference(table: Readonly<Record<string, string>>, key: string, what: string, index: number): string {
  const id = Object.hasOwn(table, key) ? table[key] : undefined;
  if (id === undefined) {
    throw new Error(`Assertion failed: no ERP segment value for ${what} ${key} (line ${index}); the pipeline resolves references before posting`);
  }
  return id;
}

/** The whole batch file for a set of journals, with its control totals and trailer. */
export function buildBatchFile(requests: readonly PostingRequest[], file: { readonly fileId: string; readonly dateCreated: string }, texts: BatchTexts): BatchFile {
  const batchId = batchIdOf(requests.map((request) => request.externalKey));
  const lines = requests.flatMap((request) => toInterfaceLines(request, batchId, texts));
  const controls = controlTotalsOf(lines);
  return {
    header: { batchId, fileId: file.fileId, groupId: groupIdOf(batchId), dateCreated: file.dateCreated, createdBy: texts.createdBy },
    lines,
    controls,
    trailer: trailerOf(lines, controls),
  };
}
