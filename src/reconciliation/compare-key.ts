/**
 * Transaction level: the lines of one key, gathered per side, and the breaks they make. Pure; the
 * engine feeds it one partition at a time. The rules (README.md in this folder says the same):
 *
 * - A side's lines of a key are netted per account; an account netting to zero is not held.
 *   The ERP's lines are netted within its first document (in string order): further documents
 *   of the same key are duplicates, reported as such and kept out of the amount comparison.
 * - `missing_in_finsync`: approved in the platform (no line recalled), finsync has no line.
 * - `missing_in_erp`: finsync has lines, the ERP none.
 * - `extra_in_erp`: the ERP has lines finsync never posted, or the key in more than one document.
 * - `status_mismatch`: recalled in the platform but posted by finsync, unless every finsync line
 *   of the key is `reversed` (the recall was honoured); or posted by finsync without a recorded
 *   confirmation (a line `posted`) while the ERP holds it.
 * - finsync's status of a key whose lines differ: `posted` (some line unconfirmed) before
 *   `reversed` before `confirmed`. A key partly `reversed`, partly `confirmed` shows `reversed`
 *   yet still breaks on a recall: not all of it was reversed.
 * - `account_mismatch`: two sides holding the key hold different sets of accounts.
 * - `amount_mismatch`: the sides holding the key hold the same accounts, with different nets.
 *
 * A key can have several breaks, at most one per class.
 */
import { BREAK_CLASSES, type AccountAmount, type Break, type BreakClass, type LineStatus, type SideValues } from './types.ts';

/** Bits of SideState.flags. FLAGGED: a platform line `recalled`, a finsync line `posted` (unconfirmed). */
const FLAGGED = 1;
/** A finsync line `reversed`. */
const REVERSED = 2;
/** Any other line: platform `approved`, finsync `confirmed`, the ERP's. */
const PLAIN = 4;

/** What one side holds of one key while a partition is read. */
interface SideState {
  readonly entity: string;
  readonly currency: string;
  readonly period: string;
  /** The statuses its lines carry, as FLAGGED | REVERSED | PLAIN bits. */
  flags: number;
  /** Platform and finsync: one entry per account (netted as lines come). ERP: one entry per line. */
  readonly accounts: string[];
  readonly amounts: number[];
  /** ERP: the document of each line. */
  readonly documents: string[];
}

export interface KeyState {
  platform: SideState | undefined;
  finsync: SideState | undefined;
  erp: SideState | undefined;
}

export function newKeyState(): KeyState {
  return { platform: undefined, finsync: undefined, erp: undefined };
}

/** Sides by their one-letter code in the partition files. */
export type SideCode = 'p' | 'f' | 'e';

export function addLine(state: KeyState, side: SideCode, entity: string, currency: string, period: string, account: string, amountMinor: number, status: LineStatus, document: string): void {
  const name = side === 'p' ? 'platform' : side === 'f' ? 'finsync' : 'erp';
  let held = state[name];
  if (held === undefined) {
    held = { entity, currency, period, flags: 0, accounts: [], amounts: [], documents: [] };
    state[name] = held;
  }
  held.flags |= status === 'recalled' || status === 'posted' ? FLAGGED : status === 'reversed' ? REVERSED : PLAIN;
  if (side === 'e') {
    held.accounts.push(account);
    held.amounts.push(amountMinor);
    held.documents.push(document);
    return;
  }
  const at = held.accounts.indexOf(account);
  if (at < 0) {
    held.accounts.push(account);
    held.amounts.push(amountMinor);
  } else {
    held.amounts[at] = addMinor(held.amounts[at], amountMinor);
  }
}

/** Exact sum, or an error: a sum beyond 2^53 cannot be held exactly in a number. */
export function addMinor(a: number, b: number): number {
  const sum = a + b;
  if (!Number.isSafeInteger(sum)) throw new Error(`Amounts summing to ${sum} are beyond the safe integers (2^53 minor units); reconciliation cannot total them exactly`);
  return sum;
}

const byAccount = (a: AccountAmount, b: AccountAmount) => (a.account < b.account ? -1 : a.account > b.account ? 1 : 0);

function netted(accounts: readonly string[], amounts: readonly number[]): AccountAmount[] {
  const out: AccountAmount[] = [];
  for (let i = 0; i < accounts.length; i++) if (amounts[i] !== 0) out.push({ account: accounts[i], amountMinor: amounts[i] });
  return out.sort(byAccount);
}

function erpValues(held: SideState): SideValues {
  const documents = [...new Set(held.documents)].sort();
  const first = documents[0];
  const accounts: string[] = [];
  const amounts: number[] = [];
  for (let i = 0; i < held.accounts.length; i++) {
    if (held.documents[i] !== first) continue;
    const at = accounts.indexOf(held.accounts[i]);
    if (at < 0) (accounts.push(held.accounts[i]), amounts.push(held.amounts[i]));
    else amounts[at] = addMinor(amounts[at], held.amounts[i]);
  }
  return { status: '', amounts: netted(accounts, amounts), documents };
}

function sameAccounts(a: readonly AccountAmount[], b: readonly AccountAmount[]): boolean {
  return a.length === b.length && a.every((x, i) => x.account === b[i].account);
}

function sameAmounts(a: readonly AccountAmount[], b: readonly AccountAmount[]): boolean {
  return a.every((x, i) => x.amountMinor === b[i].amountMinor);
}

/** finsync's status of a key from its lines' flags: `posted` before `reversed` before `confirmed`. */
function finsyncStatus(flags: number): LineStatus {
  return flags & FLAGGED ? 'posted' : flags & REVERSED ? 'reversed' : 'confirmed';
}

/** The breaks of one key, in the order of BREAK_CLASSES. */
export function classifyKey(key: string, state: KeyState): Break[] {
  const platform: SideValues | null = state.platform ? { status: state.platform.flags & FLAGGED ? 'recalled' : 'approved', amounts: netted(state.platform.accounts, state.platform.amounts), documents: [] } : null;
  const finsync: SideValues | null = state.finsync ? { status: finsyncStatus(state.finsync.flags), amounts: netted(state.finsync.accounts, state.finsync.amounts), documents: [] } : null;
  const erp = state.erp ? erpValues(state.erp) : null;
  const present = [platform, finsync, erp].filter((v): v is SideValues => v !== null);
  const accountsDiffer = present.some((v) => !sameAccounts(v.amounts, present[0].amounts));
  const found: Record<BreakClass, boolean> = {
    missing_in_erp: finsync !== null && erp === null,
    extra_in_erp: erp !== null && (finsync === null || erp.documents.length > 1),
    amount_mismatch: !accountsDiffer && present.some((v) => !sameAmounts(v.amounts, present[0].amounts)),
    account_mismatch: accountsDiffer,
    status_mismatch: (platform?.status === 'recalled' && finsync !== null && state.finsync?.flags !== REVERSED) || (finsync?.status === 'posted' && erp !== null),
    missing_in_finsync: platform?.status === 'approved' && finsync === null,
  };
  const first = state.finsync ?? state.platform ?? state.erp;
  if (first === undefined) throw new Error('Assertion failed: a key without lines');
  const breaks: Break[] = [];
  for (const cls of BREAK_CLASSES) {
    if (found[cls]) breaks.push({ class: cls, key, entity: first.entity, currency: first.currency, period: first.period, platform, finsync, erp });
  }
  return breaks;
}

/** Whether the key counts as approved for completeness (the platform holds it, none of its lines recalled). */
export function isApproved(state: KeyState): boolean {
  return state.platform !== undefined && (state.platform.flags & FLAGGED) === 0;
}
