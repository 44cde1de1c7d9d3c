/**
 * finsync's side of a reconciliation: the journal lines finsync sent to its targets, or believes
 * they hold, for one entity and accounting period, read from the postings table in ranges of
 * PAGE_ROWS posting ids per query, so memory stays bounded whatever the table's size.
 *
 * Which postings count, by state (schema.ts, PostingState):
 *
 * | state | unknown_outcome | counts as | why |
 * |---|---|---|---|
 * | `posted` | any | `confirmed` (document id recorded), else `posted`; a journal whose reversal is posted: `reversed` | the ERP confirmed it |
 * | `posting` | any | `posted` | in flight: its attempt is recorded as sending before the call, so it may be in the ERP by now |
 * | `queued` | 1 | `posted` | an earlier attempt may have committed (a timeout after sending); the lane looks it up before any resend |
 * | `queued` | 0 | left out | never sent, or every attempt was answered and nothing committed |
 * | `quarantined` | any | left out | finsync holds it as not posted and it is in the exception queue already; if the ERP holds it after all, that shows as `extra_in_erp`. The flag is no guide here: a claim that timed out on its last attempt is quarantined without setting it, and one settled by a lookup keeps it set |
 * | `superseded` | (always 0) | left out | replaced before it could reach the ERP |
 * | `skipped` | any | left out | a reversal whose journal never reached the ERP, so it was never sent |
 *
 * A reversal posting is its own key (`…_rev`) with its own lines, dated on the day it was made,
 * so it falls in that day's period. One line per journal line: debit − credit in minor units.
 *
 * Entity and period live in the journal JSON, so the query narrows the postings with two filters
 * that can only keep too many, never too few, and each journal is checked exactly after parsing:
 *
 * - `approved_at` within the period widened by a day on each side. A journal's postingDate is the
 *   date written in its report's `approvedAt` (postingDateOf), and `approved_at` is that instant:
 *   an RFC 3339 offset is less than 24 hours. A reversal's postingDate is the UTC day of its
 *   `approved_at` (the moment it was queued). One hazard: ingest stores the receive time when
 *   `approvedAt` does not parse (a leap second, `…:60`, passes the schema but not Date.parse).
 * - the report's entity, or any revision but the report's latest: `reports.entity` follows the
 *   latest revision, and an earlier one may have belonged to another entity.
 *
 * Neither filter has an index, so the database reads the postings table in id order once per run
 * (without sending the rows it drops): one query per PAGE_ROWS ids, 200,000 postings in about
 * 0.2 s on SQLite and 0.4 s on PostgreSQL. An index on `approved_at` (a migration) would make a run
 * follow the period's size instead, should the table grow into the tens of millions.
 */
import type { JournalEntry } from '../domain/journal.ts';
import type { Db } from '../store/db.ts';
import { ReconciliationInputError } from './line-file.ts';
import type { LineSource, LineStatus, ReconLine } from './types.ts';

/** Posting ids per query, so at most this many journals (a few KB each) and their lines in memory at once. */
export const PAGE_ROWS = 2000;
const DAY_MS = 86_400_000;
const PERIOD = /^(\d{4})-(0[1-9]|1[0-2])$/;

export interface FinsyncLinesOptions {
  /** The legal entity's code, as in the journal. */
  readonly entity: string;
  /** `YYYY-MM`: postings whose journal postingDate falls in it. */
  readonly period: string;
  /** Only postings to this target connection; every target when absent. */
  readonly target?: string;
  /** Posting ids per query (at most this many postings held at once); default PAGE_ROWS. */
  readonly pageRows?: number;
}

/** What the page query returns per posting. */
interface PostingPage {
  readonly id: number;
  readonly kind: 'journal' | 'reversal';
  readonly external_key: string;
  readonly state: string;
  readonly document_id: string | null;
  readonly journal: string;
  /** 1 or true (by database) when a reversal of the same report, revision and target is posted. */
  readonly reversal_posted: unknown;
}

export function finsyncLines(db: Db, options: FinsyncLinesOptions): LineSource {
  const match = PERIOD.exec(options.period);
  if (!match) throw new Error(`Assertion failed: period ${options.period} is not YYYY-MM`);
  const pageRows = options.pageRows ?? PAGE_ROWS;
  if (!Number.isInteger(pageRows) || pageRows < 1) throw new Error(`Assertion failed: pageRows must be a positive integer, got ${pageRows}`);
  const name = `finsync postings of ${options.entity} in ${options.period}${options.target === undefined ? '' : ` to ${options.target}`}`;
  return { name, side: 'finsync', checked: false, batches: readBatches(db, options, pageRows, name) };
}

/**
 * Pages by id range, `after < id <= after + pageRows`, up to the highest id when the read starts:
 * the planner walks the primary key whatever it guesses of the filters (with `LIMIT` alone,
 * PostgreSQL guessed few matches and sorted a scan of the whole table for every page), a page holds
 * at most pageRows postings, and the table is read once. Postings made during the read are left to
 * the next run.
 */
async function* readBatches(db: Db, options: FinsyncLinesOptions, pageRows: number, name: string): AsyncGenerator<readonly ReconLine[]> {
  const highest = await db.selectFrom('postings').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst();
  const lastId = Number(highest?.id ?? 0);
  let linesRead = 0;
  for (let after = 0; after < lastId; after += pageRows) {
    const rows = await readPage(db, options, after, after + pageRows);
    const lines: ReconLine[] = [];
    for (const row of rows) linesRead = addLines(row, options, name, linesRead, lines);
    if (lines.length > 0) yield lines;
  }
}

async function readPage(db: Db, options: FinsyncLinesOptions, after: number, upTo: number): Promise<PostingPage[]> {
  const [year, month] = options.period.split('-').map(Number);
  const fromMs = Date.UTC(year, month - 1, 1) - DAY_MS;
  const toMs = Date.UTC(year, month, 1) + DAY_MS;
  let query = db
    .selectFrom('postings as p')
    .innerJoin('reports as r', 'r.report_id', 'p.report_id')
    .select(['p.id', 'p.kind', 'p.external_key', 'p.state', 'p.document_id', 'p.journal'])
    .select((eb) =>
      eb
        .exists(
          eb
            .selectFrom('postings as v')
            .select('v.id')
            .whereRef('v.report_id', '=', 'p.report_id')
            .whereRef('v.revision', '=', 'p.revision')
            .whereRef('v.target', '=', 'p.target')
            .where('v.kind', '=', 'reversal')
            .where('v.state', '=', 'posted'),
        )
        .as('reversal_posted'),
    )
    .where('p.id', '>', after)
    .where('p.id', '<=', upTo)
    // A CASE rather than `state IN (…)`: an index on state could lead the planner away from the id range.
    .where((eb) => eb.case().when(eb.or([eb('p.state', 'in', ['posted', 'posting']), eb.and([eb('p.state', '=', 'queued'), eb('p.unknown_outcome', '=', 1)])])).then(1).else(0).end(), '=', 1)
    .where('p.approved_at', '>=', fromMs)
    .where('p.approved_at', '<', toMs)
    .where((eb) => eb.or([eb('r.entity', '=', options.entity), eb('p.revision', '<>', eb.ref('r.latest_revision'))]));
  if (options.target !== undefined) query = query.where('p.target', '=', options.target);
  return (await query.orderBy('p.id').execute()) as PostingPage[];
}

/** The posting's lines when its journal is of the entity and period; returns the lines read so far. */
function addLines(row: PostingPage, options: FinsyncLinesOptions, name: string, linesRead: number, into: ReconLine[]): number {
  const journal = JSON.parse(row.journal) as JournalEntry;
  if (journal.entity !== options.entity || journal.postingDate.slice(0, 7) !== options.period) return linesRead;
  const status = statusOf(row);
  for (const [index, line] of journal.lines.entries()) {
    linesRead++;
    if (!Number.isSafeInteger(line.debitMinor) || !Number.isSafeInteger(line.creditMinor)) {
      const detail = `posting ${row.id} (${row.external_key}), journal line ${index}: debitMinor ${String(line.debitMinor)} and creditMinor ${String(line.creditMinor)} must be integers of minor units`;
      throw new ReconciliationInputError(name, linesRead, 'amount_minor', detail);
    }
    into.push({ key: row.external_key, entity: journal.entity, currency: journal.currency, period: options.period, account: line.account, amountMinor: line.debitMinor - line.creditMinor, status, document: '' });
  }
  return linesRead;
}

function statusOf(row: PostingPage): LineStatus {
  // The lane posts a reversal only once its journal is in the ERP, so a posted reversal settles both.
  if (row.kind === 'journal' && Number(row.reversal_posted) === 1) return 'reversed';
  return row.state === 'posted' && row.document_id !== null ? 'confirmed' : 'posted';
}
