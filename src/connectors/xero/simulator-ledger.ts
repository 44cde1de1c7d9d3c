/**
 * The simulator's organisation: its chart of accounts, tracking categories and tax types (master
 * data, changeable at run time), its manual journals, and the checks Xero runs before it saves one,
 * answered as validation messages in Xero's words where they are known [M] and in ours where not
 * [U] (README.md lists them). Amounts are minor units of the base currency throughout.
 */
import { formatAmount } from '../../domain/money.ts';
import { JsonDecimal } from './exact-json.ts';
import { formatMsDate, optionalString, parseXeroDate, readAmountMinor, XeroShapeError, type NormalizedXeroLine } from './mapping.ts';
import type { WhereRow } from './simulator-where.ts';

export type MasterStatus = 'ACTIVE' | 'ARCHIVED';

export interface XeroAccountData {
  readonly code: string;
  readonly name?: string;
  readonly status?: MasterStatus;
}

export interface XeroTrackingCategoryData {
  readonly name: string;
  readonly status?: MasterStatus;
  readonly options: readonly (string | { readonly name: string; readonly status?: MasterStatus })[];
}

export interface SimJournalLine extends NormalizedXeroLine {
  readonly accountId: string;
}

/** A manual journal as the simulator holds it. */
export interface SimJournal {
  readonly id: string;
  readonly narration: string;
  /** YYYY-MM-DD */
  readonly date: string;
  readonly status: 'DRAFT' | 'POSTED' | 'DELETED' | 'VOIDED';
  readonly lineAmountTypes: string;
  readonly lines: readonly SimJournalLine[];
  readonly updatedAtMs: number;
  /** The Idempotency-Key of the request that created it, if any. */
  readonly idempotencyKey?: string;
}

export type Draft = Omit<SimJournal, 'id' | 'updatedAtMs' | 'idempotencyKey'>;
export type Checked = { readonly ok: true; readonly draft: Draft } | { readonly ok: false; readonly errors: readonly string[] };

interface TrackingCategory {
  readonly id: string;
  status: MasterStatus;
  readonly options: Map<string, { readonly id: string; status: MasterStatus }>;
}

export interface LedgerSettings {
  readonly baseCurrency: string;
  readonly accounts: readonly XeroAccountData[];
  readonly trackingCategories: readonly XeroTrackingCategoryData[];
  /** TaxType codes a line may carry; default NONE only. The simulator computes no tax. */
  readonly taxTypes: readonly string[];
  /** Journals dated on or before it are refused (Xero's period lock date). */
  readonly periodLockDate?: string;
  readonly random: () => number;
  readonly now: () => number;
}

const NEW_STATUSES = new Set(['DRAFT', 'POSTED']);
const LINE_AMOUNT_TYPES = new Set(['Exclusive', 'Inclusive', 'NoTax']);
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A version 4 UUID drawn from the simulator's seeded generator, so a seed reproduces ids. */
export function randomUuid(random: () => number): string {
  const bytes = Array.from({ length: 16 }, () => Math.floor(random() * 256));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class SimulatorLedger {
  private readonly journals = new Map<string, SimJournal>();
  private readonly accounts = new Map<string, { readonly id: string; status: MasterStatus }>();
  private readonly tracking = new Map<string, TrackingCategory>();
  private readonly taxTypes: ReadonlySet<string>;

  constructor(private readonly settings: LedgerSettings) {
    for (const account of settings.accounts) this.setAccount(account.code, account.status ?? 'ACTIVE');
    for (const category of settings.trackingCategories) {
      const options = new Map(category.options.map((option) => (typeof option === 'string' ? { name: option } : option)).map((option) => [option.name, { id: randomUuid(settings.random), status: option.status ?? 'ACTIVE' }] as const));
      this.tracking.set(category.name, { id: randomUuid(settings.random), status: category.status ?? 'ACTIVE', options });
    }
    this.taxTypes = new Set(settings.taxTypes);
  }

  get currency(): string {
    return this.settings.baseCurrency;
  }

  /** Adds an account or changes its status (archiving one makes Xero refuse new lines on it). */
  setAccount(code: string, status: MasterStatus): void {
    const existing = this.accounts.get(code);
    if (existing) existing.status = status;
    else this.accounts.set(code, { id: randomUuid(this.settings.random), status });
  }

  /** Adds a tracking option (and its category) or changes its status. */
  setTrackingOption(category: string, option: string, status: MasterStatus): void {
    let entry = this.tracking.get(category);
    if (!entry) {
      entry = { id: randomUuid(this.settings.random), status: 'ACTIVE', options: new Map() };
      this.tracking.set(category, entry);
    }
    const existing = entry.options.get(option);
    if (existing) existing.status = status;
    else entry.options.set(option, { id: randomUuid(this.settings.random), status });
  }

  /** Checks one ManualJournal of a create request the way Xero does before saving it. */
  check(raw: Record<string, unknown>): Checked {
    const errors: string[] = [];
    const text = (value: unknown, field: string): string | undefined => {
      try {
        return optionalString(value, field);
      } catch {
        errors.push(`${field} must be text.`);
        return undefined;
      }
    };
    const narration = text(raw.Narration, 'Narration');
    if (narration === undefined || narration.trim() === '') errors.push('Narration is required.');
    const dateText = text(raw.Date, 'Date');
    const date = dateText === undefined ? new Date(this.settings.now()).toISOString().slice(0, 10) : parseXeroDate(dateText);
    if (date === undefined) errors.push(`The date '${dateText}' is not a valid date.`);
    const status = text(raw.Status, 'Status') ?? 'DRAFT';
    if (!NEW_STATUSES.has(status)) errors.push(`A new manual journal can only be DRAFT or POSTED, not '${status}'.`);
    const lineAmountTypes = text(raw.LineAmountTypes, 'LineAmountTypes') ?? 'Exclusive';
    if (!LINE_AMOUNT_TYPES.has(lineAmountTypes)) errors.push(`'${lineAmountTypes}' is not a valid LineAmountTypes value.`);
    const rawLines = Array.isArray(raw.JournalLines) ? raw.JournalLines : [];
    if (rawLines.length < 2) errors.push('A manual journal must have at least two journal lines.');
    const lines = rawLines.flatMap((line, index) => this.checkLine(line, index, errors));
    if (lines.length === rawLines.length && rawLines.length >= 2) this.checkBalance(lines, errors);
    if (date !== undefined && this.settings.periodLockDate !== undefined && date <= this.settings.periodLockDate) {
      errors.push(`The journal date cannot be on or before the period lock date, currently set at ${humanDate(this.settings.periodLockDate)}.`);
    }
    if (errors.length > 0) return { ok: false, errors };
    return { ok: true, draft: { narration: narration as string, date: date as string, status: status as 'DRAFT' | 'POSTED', lineAmountTypes, lines } };
  }

  private checkLine(raw: unknown, index: number, errors: string[]): SimJournalLine[] {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || raw instanceof JsonDecimal) {
      errors.push(`Journal line ${index + 1} is not an object.`);
      return [];
    }
    const line = raw as Record<string, unknown>;
    let amountMinor: number | undefined;
    try {
      amountMinor = readAmountMinor(line.LineAmount, this.currency, 'LineAmount');
    } catch (error) {
      if (!(error instanceof XeroShapeError)) throw error;
      errors.push(line.LineAmount === undefined ? `Journal line ${index + 1} has no LineAmount.` : `The line amount ${error.detail}.`);
    }
    const code = typeof line.AccountCode === 'string' ? line.AccountCode : '';
    const account = this.accounts.get(code);
    if (account === undefined) errors.push(`Account code '${code}' is not a valid code for this document.`);
    else if (account.status !== 'ACTIVE') errors.push(`Account code '${code}' has been archived, or has been deleted. Each line item must reference a valid account.`);
    const taxType = typeof line.TaxType === 'string' ? line.TaxType : undefined;
    if (taxType !== undefined && !this.taxTypes.has(taxType)) errors.push(`The TaxType code '${taxType}' does not exist or cannot be used for this type of transaction.`);
    const tracking = this.checkTracking(line.Tracking, errors);
    if (amountMinor === undefined || account === undefined || tracking === undefined) return [];
    return [{ accountCode: code, accountId: account.id, amountMinor, description: typeof line.Description === 'string' ? line.Description : '', ...(taxType !== undefined && { taxType }), tracking }];
  }

  private checkTracking(raw: unknown, errors: string[]): SimJournalLine['tracking'] | undefined {
    if (raw === undefined) return [];
    if (!Array.isArray(raw)) {
      errors.push('Tracking must be a list of tracking categories.');
      return undefined;
    }
    if (raw.length > 2) errors.push('A journal line can have at most 2 tracking categories.');
    const result: { name: string; option: string }[] = [];
    for (const item of raw) {
      const name = typeof (item as { Name?: unknown })?.Name === 'string' ? (item as { Name: string }).Name : '';
      const option = typeof (item as { Option?: unknown })?.Option === 'string' ? (item as { Option: string }).Option : '';
      const category = this.tracking.get(name);
      if (category === undefined) errors.push(`The tracking category '${name}' could not be found.`);
      else if (category.status !== 'ACTIVE') errors.push(`The tracking category '${name}' is archived.`);
      else if (!category.options.has(option)) errors.push(`The tracking option '${option}' could not be found in tracking category '${name}'.`);
      else if (category.options.get(option)?.status !== 'ACTIVE') errors.push(`The tracking option '${option}' in tracking category '${name}' is archived.`);
      else result.push({ name, option });
    }
    return result.length === raw.length && raw.length <= 2 ? result : undefined;
  }

  private checkBalance(lines: readonly SimJournalLine[], errors: string[]): void {
    let debit = 0n;
    let credit = 0n;
    for (const line of lines) {
      if (line.amountMinor > 0) debit += BigInt(line.amountMinor);
      else credit += BigInt(line.amountMinor);
    }
    if (debit + credit !== 0n) {
      // The wording of the official description's own example answer.
      errors.push(`The total debits (${formatAmount(Number(debit), this.currency)}) must equal total credits (${formatAmount(Number(credit), this.currency)})`);
    }
  }

  create(draft: Draft, idempotencyKey?: string): SimJournal {
    const journal: SimJournal = { ...draft, id: randomUuid(this.settings.random), updatedAtMs: this.settings.now(), ...(idempotencyKey !== undefined && { idempotencyKey }) };
    this.journals.set(journal.id, journal);
    return journal;
  }

  /**
   * A POST naming an existing journal: a posted one can only be voided, a draft deleted or
   * replaced. Returns the changed journal or the validation messages [U].
   */
  update(id: string, raw: Record<string, unknown>): SimJournal | string[] {
    const journal = this.journals.get(id);
    if (journal === undefined) return [`The manual journal '${id}' could not be found.`];
    const status = typeof raw.Status === 'string' ? raw.Status : undefined;
    if (journal.status === 'POSTED') {
      if (status !== 'VOIDED' || raw.JournalLines !== undefined) return ['A posted manual journal can only be voided.'];
      return this.replace({ ...journal, status: 'VOIDED' });
    }
    if (journal.status !== 'DRAFT') return [`This manual journal is ${journal.status} and cannot be changed.`];
    if (status === 'DELETED') return this.replace({ ...journal, status: 'DELETED' });
    const checked = this.check({ Narration: journal.narration, Date: journal.date, Status: journal.status, LineAmountTypes: journal.lineAmountTypes, JournalLines: this.render(journal, true).JournalLines, ...raw });
    return checked.ok ? this.replace({ ...journal, ...checked.draft }) : [...checked.errors];
  }

  private replace(journal: SimJournal): SimJournal {
    const changed = { ...journal, updatedAtMs: this.settings.now() };
    this.journals.set(changed.id, changed);
    return changed;
  }

  /** Stores a journal without Xero's checks (break injection); returns it with its new id. */
  insert(journal: Omit<Draft, 'lines'> & { readonly lines: readonly NormalizedXeroLine[] }): SimJournal {
    const lines = journal.lines.map((line) => ({ ...line, accountId: this.accounts.get(line.accountCode)?.id ?? randomUuid(this.settings.random) }));
    return this.create({ ...journal, lines });
  }

  /** Changes one line's account or amount in place, without checks (a tampered ledger). */
  changeLine(id: string, index: number, change: { readonly accountCode?: string; readonly amountMinor?: number }): void {
    const journal = this.journals.get(id);
    const line = journal?.lines[index];
    if (journal === undefined || line === undefined) throw new Error(`Assertion failed: no line ${index} in manual journal ${id}`);
    const lines = journal.lines.map((l, i) => (i === index ? { ...l, ...change } : l));
    this.replace({ ...journal, lines });
  }

  find(id: string): SimJournal | undefined {
    return this.journals.get(id);
  }

  list(): SimJournal[] {
    return [...this.journals.values()];
  }

  /** A journal as the `where` filter and `order` see it. */
  row(journal: SimJournal): WhereRow {
    return {
      ManualJournalID: journal.id,
      Narration: journal.narration,
      Status: journal.status,
      LineAmountTypes: journal.lineAmountTypes,
      Date: Date.parse(`${journal.date}T00:00:00Z`),
      UpdatedDateUTC: journal.updatedAtMs,
      ShowOnCashBasisReports: true,
      HasAttachments: false,
    };
  }

  /** A journal in Xero's answer shape; list answers without `page` leave the lines out. */
  render(journal: SimJournal, withLines: boolean): Record<string, unknown> & { JournalLines: unknown[] } {
    return {
      Date: formatMsDate(Date.parse(`${journal.date}T00:00:00Z`)),
      Status: journal.status,
      LineAmountTypes: journal.lineAmountTypes,
      UpdatedDateUTC: formatMsDate(journal.updatedAtMs),
      ManualJournalID: journal.id,
      Narration: journal.narration,
      JournalLines: withLines ? journal.lines.map((line) => this.renderLine(line)) : [],
      ShowOnCashBasisReports: true,
      HasAttachments: false,
    };
  }

  private renderLine(line: SimJournalLine): Record<string, unknown> {
    return {
      Description: line.description,
      TaxType: line.taxType ?? 'NONE',
      LineAmount: new JsonDecimal(formatAmount(line.amountMinor, this.currency)),
      AccountCode: line.accountCode,
      Tracking: line.tracking.map((entry) => {
        const category = this.tracking.get(entry.name);
        return { Name: entry.name, Option: entry.option, ...(category && { TrackingCategoryID: category.id }), ...(category?.options.get(entry.option) && { TrackingOptionID: category.options.get(entry.option)?.id }) };
      }),
      AccountID: line.accountId,
      IsBlank: false,
    };
  }
}

/** 2026-03-31 -> "31 Mar 2026", as Xero words dates in messages [M]. */
function humanDate(date: string): string {
  const [year, month, day] = date.split('-').map(Number);
  return `${day} ${MONTHS[month - 1]} ${year}`;
}
