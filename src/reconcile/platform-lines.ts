/**
 * The platform's side of a reconciliation: what the expense platform holds as approved (or
 * recalled) for an entity and period, read back through its connector, turned into journal lines.
 *
 * The platform speaks in expense lines, not GL lines, so each report is coded by the rule sets in
 * force for its date, exactly as the pipeline codes it: the platform side is "the journal the
 * platform's current data calls for". Against finsync's side this finds what was approved but never
 * posted, amounts changed in the platform after posting (a lost update), reports recalled after
 * posting, and coding that changed since. A report the rules cannot code gives one line on account
 * `UNCODED` with amount 0, so the key is still known as approved (and breaks).
 */
import { postingKey } from '../domain/keys.ts';
import { DomainError } from '../domain/domain-error.ts';
import { normalizeReport, postingDateOf, type ExpenseReport, type ReportInput } from '../domain/report.ts';
import type { MappingService } from '../mapping/mapping-service.ts';
import type { LineSource, ReconLine } from '../reconciliation/types.ts';

export interface PlatformReport {
  readonly report: ReportInput;
  readonly status: 'approved' | 'recalled';
  /** The platform's id of the document or event that delivered it (a Concur FIS document id): re-ingest uses it. */
  readonly eventId: string;
}

/** A platform's read-back: every report of an entity whose posting date falls in the period. */
export interface PlatformReader {
  /** Names the reader in errors and in the run's summary. */
  readonly name: string;
  /** The inbox source its reports arrive under, so a re-ingested report is the same event. */
  readonly source: string;
  reports(entity: string, period: string): AsyncIterable<readonly PlatformReport[]>;
}

/** Known platform keys: enough to heal a break without holding the reports themselves. */
export interface PlatformKey {
  readonly reportId: string;
  readonly revision: number;
  readonly eventId: string;
  readonly status: 'approved' | 'recalled';
}

export const UNCODED_ACCOUNT = 'UNCODED';

export interface PlatformLinesOptions {
  readonly entity: string;
  readonly period: string;
  /** The target a report's journal goes to (routing: a cutover moves it by posting date). */
  readonly targetOf: (report: { entity: string; approvedAt: string; customFields?: Readonly<Record<string, string>> }, postingDate: string) => string;
  readonly mapping: Pick<MappingService, 'mapReport'>;
  /** Filled while the lines are read: external key → the report it stands for. */
  readonly keys: Map<string, PlatformKey>;
}

export function platformLines(reader: PlatformReader, options: PlatformLinesOptions): LineSource {
  return { name: reader.name, side: 'platform', checked: false, batches: batches(reader, options) };
}

function normalized(input: ReportInput): ExpenseReport | undefined {
  try {
    return normalizeReport(input);
  } catch (error) {
    if (error instanceof DomainError) return undefined;
    throw error;
  }
}

async function* batches(reader: PlatformReader, options: PlatformLinesOptions): AsyncGenerator<readonly ReconLine[]> {
  for await (const page of reader.reports(options.entity, options.period)) {
    const lines: ReconLine[] = [];
    for (const item of page) {
      const report = normalized(item.report);
      // A report that does not even normalize (finsync refused it at intake) is still approved there: keep it, uncoded.
      const period = report ? postingDateOf(report).slice(0, 7) : String(item.report.approvedAt).slice(0, 7);
      if (item.report.entity !== options.entity || period !== options.period) continue;
      const key = postingKey(item.report.reportId, item.report.revision, options.targetOf(item.report, report ? postingDateOf(report) : String(item.report.approvedAt).slice(0, 10)));
      options.keys.set(key, { reportId: item.report.reportId, revision: item.report.revision, eventId: item.eventId, status: item.status });
      const base = { key, entity: item.report.entity, period, status: item.status, document: '' } as const;
      const mapped = report && (await options.mapping.mapReport(report));
      if (!mapped || !mapped.ok || mapped.journal.lines.length === 0) {
        lines.push({ ...base, currency: item.report.currency, account: UNCODED_ACCOUNT, amountMinor: 0 });
        continue;
      }
      for (const line of mapped.journal.lines) {
        lines.push({ ...base, currency: mapped.journal.currency, account: line.account, amountMinor: line.debitMinor - line.creditMinor });
      }
    }
    if (lines.length > 0) yield lines;
  }
}
