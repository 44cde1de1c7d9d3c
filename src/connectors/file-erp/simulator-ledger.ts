/**
 * The simulated ERP's general ledger and its Journal Import checks: the master data a journal must
 * fit (ledgers, open periods, accounts, cost centers, companies), the per-journal validation that
 * turns a bad line into a rejection record, and the import of the journals that pass, each with
 * the next sequential journal id (JE_HEADER_ID).
 */
import { formatAmount } from '../../domain/money.ts';
import type { AcceptedJournal, ExportLine, RejectedLine } from './layout-answers.ts';
import { toFileDate, type BatchFileRead, type DetailColumn, type InterfaceLine } from './layout.ts';

export interface MasterData {
  /** LEDGER_ID values. */
  readonly ledgers: readonly string[];
  /** `YYYY-MM` periods open for posting, in every ledger. */
  readonly openPeriods: readonly string[];
  /** SEGMENT2 values. */
  readonly accounts: readonly string[];
  /** Accounts that exist but take no postings. */
  readonly closedAccounts?: readonly string[];
  /** SEGMENT3 values (an empty SEGMENT3 means no cost center and is always accepted). */
  readonly costCenters: readonly string[];
  readonly closedCostCenters?: readonly string[];
  /** SEGMENT1 values; absent: any company is accepted. */
  readonly companies?: readonly string[];
}

export interface SimJournalLine {
  /** JE_LINE_NUM, from 1. */
  readonly lineNumber: number;
  readonly company: string;
  readonly account: string;
  readonly costCenter: string;
  readonly debitMinor: number;
  readonly creditMinor: number;
  readonly description: string;
}

/** A journal in the simulated ledger. */
export interface SimJournal {
  /** JE_HEADER_ID. */
  readonly id: string;
  /** REFERENCE4: our external key for journals finsync sent. */
  readonly journalName: string;
  /** REFERENCE1; empty for journals entered another way. */
  readonly batchId: string;
  /** The import run; empty for journals entered another way. */
  readonly runId: string;
  readonly ledgerId: string;
  /** YYYY-MM-DD. */
  readonly accountingDate: string;
  readonly currency: string;
  readonly category: string;
  readonly source: string;
  readonly description: string;
  readonly lines: readonly SimJournalLine[];
}

export interface ImportResult {
  readonly journalCount: number;
  readonly accepted: readonly AcceptedJournal[];
  readonly rejected: readonly RejectedLine[];
  /** Journals (by REFERENCE4) rejected. */
  readonly rejectedCount: number;
}

export type DuplicateJournalPolicy = 'import' | 'refuse';

interface Group {
  readonly name: string;
  readonly lines: { readonly line: InterfaceLine; readonly lineNumber: number }[];
}

/** Columns every line of a journal must agree on, and the InterfaceLine field of each. */
const JOURNAL_COLUMNS: readonly (readonly [DetailColumn, keyof InterfaceLine])[] = [
  ['LEDGER_ID', 'ledgerId'],
  ['ACCOUNTING_DATE', 'accountingDate'],
  ['CURRENCY_CODE', 'currency'],
  ['USER_JE_CATEGORY_NAME', 'category'],
  ['USER_JE_SOURCE_NAME', 'source'],
  ['REFERENCE5', 'journalDescription'],
];

export class SimLedger {
  private readonly journals: SimJournal[] = [];
  private readonly idsByName = new Map<string, string[]>();
  private readonly importedBatches = new Map<string, string>();
  private nextId: number;

  constructor(
    private masterData: MasterData,
    firstJournalId: number,
  ) {
    this.nextId = firstJournalId;
  }

  updateMasterData(change: Partial<MasterData>): void {
    this.masterData = { ...this.masterData, ...change };
  }

  hasLedger(ledgerId: string): boolean {
    return this.masterData.ledgers.includes(ledgerId);
  }

  /** The run that imported journals of this batch id, if any did. */
  importRunOf(batchId: string): string | undefined {
    return this.importedBatches.get(batchId);
  }

  list(): SimJournal[] {
    return [...this.journals];
  }

  /** Adds a journal as another interface or a user would, without the import's checks (foreign or tampered data for tests). */
  insert(journal: Omit<SimJournal, 'id'>): SimJournal {
    const stored: SimJournal = { ...journal, id: String(this.nextId++) };
    this.journals.push(stored);
    this.idsByName.set(stored.journalName, [...(this.idsByName.get(stored.journalName) ?? []), stored.id]);
    return stored;
  }

  /** Validates every journal of a batch file and imports those that pass, in file order. */
  importBatch(batch: BatchFileRead, runId: string, duplicateJournals: DuplicateJournalPolicy): ImportResult {
    const groups = new Map<string, Group>();
    batch.lines.forEach((line, index) => {
      const group = groups.get(line.journalName) ?? { name: line.journalName, lines: [] };
      group.lines.push({ line, lineNumber: batch.lineNumbers.lines[index] });
      groups.set(line.journalName, group);
    });
    const accepted: AcceptedJournal[] = [];
    const rejected: RejectedLine[] = [];
    let rejectedCount = 0;
    for (const group of groups.values()) {
      const problems = this.check(group, duplicateJournals);
      if (problems.length > 0) {
        rejected.push(...problems);
        rejectedCount++;
        continue;
      }
      const journal = this.store(group, batch.header.batchId, runId);
      accepted.push({ journalName: journal.journalName, journalId: journal.id, ledgerId: journal.ledgerId, accountingDate: journal.accountingDate, lineCount: journal.lines.length });
    }
    if (accepted.length > 0 && !this.importedBatches.has(batch.header.batchId)) this.importedBatches.set(batch.header.batchId, runId);
    return { journalCount: groups.size, accepted, rejected, rejectedCount };
  }

  /** The lines of a ledger's journals dated in a period, by journal id then line. */
  exportLines(ledgerId: string, period: string): ExportLine[] {
    return this.journals
      .filter((journal) => journal.ledgerId === ledgerId && journal.accountingDate.startsWith(`${period}-`))
      .flatMap((journal) =>
        journal.lines.map((line) => ({
          journalId: journal.id, lineNumber: line.lineNumber, ledgerId: journal.ledgerId, accountingDate: journal.accountingDate, currency: journal.currency,
          company: line.company, account: line.account, costCenter: line.costCenter, debitMinor: line.debitMinor, creditMinor: line.creditMinor,
          batchName: journal.batchId, journalName: journal.journalName, lineDescription: line.description,
        })),
      );
  }

  private store(group: Group, batchId: string, runId: string): SimJournal {
    const first = group.lines[0].line;
    return this.insert({
      journalName: group.name, batchId, runId, ledgerId: first.ledgerId, accountingDate: first.accountingDate, currency: first.currency,
      category: first.category, source: first.source, description: first.journalDescription,
      lines: group.lines.map(({ line }, index) => ({
        lineNumber: index + 1, company: line.company, account: line.account, costCenter: line.costCenter,
        debitMinor: line.debitMinor, creditMinor: line.creditMinor, description: line.lineDescription,
      })),
    });
  }

  /** Every rejection of one journal; empty when it can be imported. */
  private check(group: Group, duplicateJournals: DuplicateJournalPolicy): RejectedLine[] {
    const problems: RejectedLine[] = [];
    const reject = (lineNumber: number, column: string, value: string, reasonCode: string, message: string, journalId = '') =>
      problems.push({ lineNumber, journalName: group.name, column, value, reasonCode, message, journalId });
    const { line: first, lineNumber: firstLine } = group.lines[0];
    const md = this.masterData;
    // A journal already in the ledger is answered with that journal alone: nothing else about it matters.
    const existing = this.idsByName.get(group.name)?.[0];
    if (duplicateJournals === 'refuse' && group.name !== '' && existing !== undefined) {
      reject(firstLine, 'REFERENCE4', group.name, 'DUPLICATE_JOURNAL', `Journal ${group.name} is already in the ledger as ${existing}`, existing);
      return problems;
    }
    if (group.name === '') reject(firstLine, 'REFERENCE4', '', 'JOURNAL_NAME_MISSING', 'REFERENCE4 (the journal name) is empty');
    if (!md.ledgers.includes(first.ledgerId)) reject(firstLine, 'LEDGER_ID', first.ledgerId, 'LEDGER_UNKNOWN', `Ledger ${first.ledgerId} does not exist`);
    const period = first.accountingDate.slice(0, 7);
    if (!md.openPeriods.includes(period)) reject(firstLine, 'ACCOUNTING_DATE', toFileDate(first.accountingDate), 'PERIOD_CLOSED', `Period ${period} is not open in ledger ${first.ledgerId}`);
    for (const { line, lineNumber } of group.lines) {
      for (const [column, key] of JOURNAL_COLUMNS) {
        if (line[key] !== first[key]) reject(lineNumber, column, String(line[key]), 'JOURNAL_INCONSISTENT', `${column} differs from the journal's first line (${String(first[key])})`);
      }
      if (line.status !== 'NEW') reject(lineNumber, 'STATUS', line.status, 'STATUS_INVALID', 'STATUS must be NEW');
      if (line.actualFlag !== 'A') reject(lineNumber, 'ACTUAL_FLAG', line.actualFlag, 'ACTUAL_FLAG_INVALID', 'Only actual journals (A) are imported');
      if (md.companies !== undefined && !md.companies.includes(line.company)) reject(lineNumber, 'SEGMENT1', line.company, 'COMPANY_UNKNOWN', `Company ${line.company} is not a company of the ledger`);
      if (!md.accounts.includes(line.account)) reject(lineNumber, 'SEGMENT2', line.account, 'ACCOUNT_UNKNOWN', `Account ${line.account} does not exist`);
      else if (md.closedAccounts?.includes(line.account)) reject(lineNumber, 'SEGMENT2', line.account, 'ACCOUNT_CLOSED', `Account ${line.account} is closed for posting`);
      if (line.costCenter !== '' && !md.costCenters.includes(line.costCenter)) reject(lineNumber, 'SEGMENT3', line.costCenter, 'COST_CENTER_UNKNOWN', `Cost center ${line.costCenter} does not exist`);
      else if (line.costCenter !== '' && md.closedCostCenters?.includes(line.costCenter)) reject(lineNumber, 'SEGMENT3', line.costCenter, 'COST_CENTER_CLOSED', `Cost center ${line.costCenter} is closed for posting`);
    }
    const debit = group.lines.reduce((sum, { line }) => sum + BigInt(line.debitMinor), 0n);
    const credit = group.lines.reduce((sum, { line }) => sum + BigInt(line.creditMinor), 0n);
    if (debit !== credit) {
      const amounts = `debits ${formatAmount(Number(debit), first.currency)}, credits ${formatAmount(Number(credit), first.currency)}`;
      reject(firstLine, 'ENTERED_DR', formatAmount(Number(debit), first.currency), 'UNBALANCED', `The journal is unbalanced (${amounts})`);
    }
    return problems;
  }
}
