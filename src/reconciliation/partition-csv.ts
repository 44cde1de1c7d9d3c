/**
 * Phase 1 for a byte range of a side's CSV file (the format of line-file.ts), without making a
 * string or an object per line: the bench's profile had phase 1 spend most of its time splitting
 * text, building the ReconLine objects, concatenating partition rows and collecting the garbage.
 *
 * A line of printable ASCII whose fields are all in their plain form (a known currency, a period,
 * an amount of at most 15 digits) is checked and encoded into its partition record straight from
 * the bytes. Any other line (a non-ASCII code, a quote or control character, a long amount, a bad
 * field, an empty line) is decoded and handed to parseRow, which refuses it with the error
 * readLineFile gives, or reads it into a ReconLine that appendLine encodes. So the fast path
 * decides nothing on its own: it only takes the lines parseRow would read, and reads them alike.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { currencyExponent, isKnownCurrency } from '../domain/money.ts';
import type { BalanceTotals } from './balance-totals.ts';
import { parseRow, type Header, type LineRange } from './line-file.ts';
import { appendLine, type PartitionFiles } from './partition-files.ts';
import { copyBytes, fnvBytes, RECORD_HEADER_BYTES, STATUS_CODES, viewOf, writeHeader } from './partition-record.ts';
import { SIDES, STATUSES_BY_SIDE, type Side } from './types.ts';

/** Bytes read at a time. Nothing per line outlives a chunk, so larger reads cost no garbage collection. */
const CHUNK_BYTES = 256 * 1024;
const NEWLINE = 10;
const RECALLED = STATUS_CODES.indexOf('recalled');

/** ISO 4217 exponent by a three-letter code's index (26³ codes): -2 not looked up yet, -1 not a currency we read. */
const EXPONENTS = new Int8Array(26 * 26 * 26).fill(-2);

function exponentOf(line: Buffer, start: number): number {
  const a = line[start] - 65;
  const b = line[start + 1] - 65;
  const c = line[start + 2] - 65;
  if (a < 0 || a > 25 || b < 0 || b > 25 || c < 0 || c > 25) return -1;
  const index = a * 676 + b * 26 + c;
  if (EXPONENTS[index] === -2) {
    const code = line.toString('latin1', start, start + 3);
    EXPONENTS[index] = isKnownCurrency(code) ? currencyExponent(code) : -1;
  }
  return EXPONENTS[index];
}

/** Whether the 7 bytes at `start` are `YYYY-MM` with a month 01 to 12 (isPeriod in line-file.ts). */
function isPeriodAt(line: Buffer, start: number): boolean {
  for (let i = 0; i < 7; i++) {
    if (i === 4) continue;
    if (line[start + i] < 48 || line[start + i] > 57) return false;
  }
  const month = (line[start + 5] - 48) * 10 + (line[start + 6] - 48);
  return line[start + 4] === 45 && month >= 1 && month <= 12;
}

const POWERS_OF_TEN = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];

/**
 * Minor units of a decimal amount, or NaN where parseMinorSafe (domain/money.ts) would give
 * undefined; the same digit loop, so the same value. Below 10^15 every step is exact.
 */
function decimalMinor(line: Buffer, start: number, end: number, exponent: number): number {
  const negative = start < end && line[start] === 45;
  let i = negative ? start + 1 : start;
  const wholeStart = i;
  let minor = 0;
  for (; i < end && line[i] >= 48 && line[i] <= 57; i++) minor = minor * 10 + (line[i] - 48);
  if (i === wholeStart || i - wholeStart + exponent > 15 || exponent >= POWERS_OF_TEN.length) return NaN;
  let scale = exponent;
  if (i < end) {
    if (line[i] !== 46) return NaN;
    const fractionStart = i + 1;
    if (fractionStart === end || end - fractionStart > 20) return NaN;
    let significantEnd = fractionStart;
    for (let j = fractionStart; j < end; j++) {
      if (line[j] < 48 || line[j] > 57) return NaN;
      if (line[j] !== 48) significantEnd = j + 1;
    }
    if (significantEnd - fractionStart > exponent) return NaN;
    for (let j = fractionStart; j < significantEnd; j++, scale--) minor = minor * 10 + (line[j] - 48);
  }
  minor *= POWERS_OF_TEN[scale];
  return negative ? 0 - minor : minor;
}

/** Minor units of an `amount_minor` field (`-?\d{1,15}`, as line-file.ts's MINOR_INTEGER), or NaN. */
function integerMinor(line: Buffer, start: number, end: number): number {
  const negative = start < end && line[start] === 45;
  let i = negative ? start + 1 : start;
  if (i === end || end - i > 15) return NaN;
  let minor = 0;
  for (; i < end; i++) {
    if (line[i] < 48 || line[i] > 57) return NaN;
    minor = minor * 10 + (line[i] - 48);
  }
  // 0 - 0 is 0: the record never holds −0.
  return negative ? 0 - minor : minor;
}

/** The lines of one range of one file into records: the fast path, and parseRow for the rest. */
class CsvLineEncoder {
  private readonly sideIndex: number;
  private readonly count: number;
  /** Field f of the line being read is bytes bounds[f] to bounds[f + 1] − 1. */
  private readonly bounds: Int32Array;
  /** Start and end of entity, currency, period and account, for BalanceTotals.groupOfBytes. */
  private readonly groupAt = new Int32Array(8);
  private readonly key: number;
  private readonly entity: number;
  private readonly currency: number;
  private readonly period: number;
  private readonly account: number;
  private readonly amount: number;
  private readonly decimal: boolean;
  private readonly status: number;
  private readonly document: number;
  /** The statuses this side may hold, as bytes, with their codes. */
  private readonly statuses: readonly (readonly [code: number, bytes: Buffer])[];

  constructor(
    private readonly path: string,
    private readonly side: Side,
    private readonly header: Header,
    private readonly files: PartitionFiles,
    private readonly balances: BalanceTotals,
  ) {
    const { index } = header;
    this.sideIndex = SIDES.indexOf(side);
    this.count = header.count;
    this.bounds = new Int32Array(header.count + 1);
    [this.key, this.entity, this.currency, this.period, this.account] = [index.key, index.entity, index.currency, index.period, index.account];
    this.decimal = header.decimal;
    this.amount = header.decimal ? index.amount : index.amount_minor;
    this.status = index.status ?? -1;
    this.document = index.document ?? -1;
    this.statuses = STATUSES_BY_SIDE[side].map((status) => [STATUS_CODES.indexOf(status), Buffer.from(status)] as const);
  }

  /**
   * Reads the line at `start` (which ends with a `\n` in `line`) and returns where the next one
   * starts: through the fast path when it takes the line, else through parseRow.
   */
  read(line: Buffer, view: DataView, start: number, lineNo: number): number {
    const next = this.splitFields(line, start);
    if (next >= 0 && this.encodeFields(line, view)) return next;
    const end = line.indexOf(NEWLINE, start);
    appendLine(this.files, this.balances, this.sideIndex, parseRow(line.toString('utf8', start, end), lineNo, this.header, this.path, this.side, false));
    return end + 1;
  }

  /**
   * Fills `bounds` when the line is printable ASCII without a double quote and has as many fields
   * as the header (a `\r\n` line end allowed); returns the next line's start, or -1.
   */
  private splitFields(line: Buffer, start: number): number {
    const bounds = this.bounds;
    let field = 0;
    bounds[0] = start;
    for (let i = start; ; i++) {
      const byte = line[i];
      // Digits, letters, `-`, `.`, `_` and the rest above the comma: most bytes, one test.
      if (byte > 44 && byte < 127) continue;
      if (byte === 44) {
        if (++field === this.count) return -1;
        bounds[field] = i + 1;
      } else if (byte === NEWLINE || (byte === 13 && line[i + 1] === NEWLINE)) {
        if (field + 1 !== this.count) return -1;
        bounds[this.count] = i + 1;
        return byte === NEWLINE ? i + 1 : i + 2;
      } else if (byte < 32 || byte === 34 || byte > 126) return -1;
    }
  }

  /** Checks the fields of a split line and, when all pass, totals and writes it; false: parseRow's turn. */
  private encodeFields(line: Buffer, view: DataView): boolean {
    const bounds = this.bounds;
    const keyStart = bounds[this.key];
    const keyEnd = bounds[this.key + 1] - 1;
    const currencyStart = bounds[this.currency];
    const periodStart = bounds[this.period];
    if (keyEnd === keyStart || bounds[this.entity + 1] - 1 === bounds[this.entity] || bounds[this.account + 1] - 1 === bounds[this.account]) return false;
    if (bounds[this.currency + 1] - 1 - currencyStart !== 3 || bounds[this.period + 1] - 1 - periodStart !== 7 || !isPeriodAt(line, periodStart)) return false;
    const exponent = exponentOf(line, currencyStart);
    if (exponent < 0) return false;
    const amountMinor = this.decimal ? decimalMinor(line, bounds[this.amount], bounds[this.amount + 1] - 1, exponent) : integerMinor(line, bounds[this.amount], bounds[this.amount + 1] - 1);
    if (amountMinor !== amountMinor) return false;
    const status = this.statusCode(line);
    if (status < 0) return false;
    const groupAt = this.groupAt;
    groupAt[0] = bounds[this.entity];
    groupAt[1] = bounds[this.entity + 1] - 1;
    groupAt[2] = currencyStart;
    groupAt[3] = currencyStart + 3;
    groupAt[4] = periodStart;
    groupAt[5] = periodStart + 7;
    groupAt[6] = bounds[this.account];
    groupAt[7] = bounds[this.account + 1] - 1;
    const group = this.balances.groupOfBytes(line, view, groupAt);
    // A recalled line is not approved, but its group still appears (with what the other sides hold there).
    this.balances.add(group, this.sideIndex, status === RECALLED ? 0 : amountMinor);
    const documentStart = this.document < 0 ? 0 : bounds[this.document];
    const documentEnd = this.document < 0 ? 0 : bounds[this.document + 1] - 1;
    this.writeRecord(line, view, keyStart, keyEnd, documentStart, documentEnd, status, group, amountMinor);
    return true;
  }

  /** The code of the line's status (STATUS_CODES), or -1 when this side may not hold it. */
  private statusCode(line: Buffer): number {
    if (this.status < 0) return 0;
    const start = this.bounds[this.status];
    const length = this.bounds[this.status + 1] - 1 - start;
    for (const [code, bytes] of this.statuses) {
      if (bytes.length !== length) continue;
      let i = 0;
      while (i < length && line[start + i] === bytes[i]) i++;
      if (i === length) return code;
    }
    return -1;
  }

  private writeRecord(line: Buffer, view: DataView, keyStart: number, keyEnd: number, documentStart: number, documentEnd: number, status: number, group: number, amountMinor: number): void {
    // An ASCII key's bytes are its UTF-16 code units: this hash is partitionOf's, and the record's.
    const hash = fnvBytes(line, keyStart, keyEnd);
    // (hash % partitions) in two steps of small integers: % of a uint32 above 2^31 is a float's.
    const partitions = this.files.partitions;
    const partition = ((((hash >>> 16) % partitions) << 16) + (hash & 0xffff)) % partitions;
    const keyBytes = keyEnd - keyStart;
    const documentBytes = documentEnd - documentStart;
    const at = this.files.reserve(partition, RECORD_HEADER_BYTES + keyBytes + documentBytes);
    const out = this.files.views[partition];
    writeHeader(out, at, this.sideIndex + 4 * status, hash, group, amountMinor, keyBytes, documentBytes);
    copyBytes(view, keyStart, out, at + RECORD_HEADER_BYTES, keyBytes);
    copyBytes(view, documentStart, out, at + RECORD_HEADER_BYTES + keyBytes, documentBytes);
    this.files.commit(partition, at + RECORD_HEADER_BYTES + keyBytes + documentBytes);
  }
}

/**
 * Phase 1 for `range` of a side's file, whose header was read before (readHeader): lines checked,
 * totalled and written to the partition files. A bad line throws the ReconciliationInputError of
 * readLineRange, its line numbered from 1 at `range.start` (the header is line 1 when it is 0).
 * `onChunk` gets the number of lines of each chunk read.
 */
export async function partitionCsvRange(path: string, side: Side, range: LineRange & { readonly header: Header }, files: PartitionFiles, balances: BalanceTotals, onChunk: (lines: number) => void): Promise<void> {
  const encoder = new CsvLineEncoder(path, side, range.header, files, balances);
  const fd = openSync(path, 'r');
  try {
    // One byte spare: a last line without a line end gets one, so every line ends with `\n`.
    let chunk = Buffer.allocUnsafe(CHUNK_BYTES + 1);
    let view = viewOf(chunk);
    let filled = 0;
    let lineNo = 0;
    let inHeader = range.start === 0;
    for (let position = range.start, done = false; !done; ) {
      // A line longer than the chunk: read on into a larger one.
      if (filled === chunk.length - 1) view = viewOf((chunk = Buffer.concat([chunk.subarray(0, filled)], 2 * chunk.length)));
      const want = Math.min(chunk.length - 1 - filled, range.end - position);
      // A synchronous read: a read from the page cache takes less time than handing it to the
      // thread pool and waiting, which left the thread idle a tenth of the time.
      const bytesRead = want > 0 ? readSync(fd, chunk, filled, want, position) : 0;
      position += bytesRead;
      filled += bytesRead;
      done = bytesRead === 0;
      if (done && filled > 0 && chunk[filled - 1] !== NEWLINE) chunk[filled++] = NEWLINE;
      const end = filled === 0 ? 0 : chunk.lastIndexOf(NEWLINE, filled - 1) + 1;
      let start = 0;
      if (inHeader && end > 0) (start = chunk.indexOf(NEWLINE) + 1), (inHeader = false), (lineNo = 1);
      const linesBefore = lineNo;
      while (start < end) start = encoder.read(chunk, view, start, ++lineNo);
      chunk.copy(chunk, 0, end, filled);
      filled -= end;
      if (lineNo > linesBefore) onChunk(lineNo - linesBefore);
      // Other work on this thread (a server's requests, a progress bar) gets its turn per chunk.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    closeSync(fd);
  }
}
