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
export const FLAGGED = 1;
/** A finsync line `reversed`. */
export const REVERSED = 2;
/** Any other line: platform `approved`, finsync `confirmed`, the ERP's. */
export const PLAIN = 4;

/** The flag of a line's status. */
export function statusFlag(status: LineStatus): number {
  return status === 'recalled' || status === 'posted' ? FLAGGED : status === 'reversed' ? REVERSED : PLAIN;
}

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
  held.flags |= statusFlag(status);
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

/** Verdicts of KeyNets.verdict. */
export const UNSURE = 0;
export const CLEAN = 1;
export const CLEAN_APPROVED = 2;

/** Distinct accounts per side that KeyNets holds; a key with more goes to classifyKey. */
const KEY_NETS_ACCOUNTS = 16;

/**
 * The lines of one key as numbers only (an account as a number, equal for equal accounts), for the
 * common case: a key that makes no break. Phase 2 adds every line of a key and asks for a verdict;
 * CLEAN or CLEAN_APPROVED means classifyKey would find no break (and isApproved would answer
 * false or true), UNSURE that it must be asked: a break is likely, or the key is of a rare shape.
 * The rules are the ones above, restated for that case: finsync and the ERP hold the key, in one
 * document; no status break; every side holding the key holds the same nonzero nets per account.
 */
export class KeyNets {
  private readonly flags = new Int32Array(3);
  private readonly counts = new Int32Array(3);
  private readonly accounts = new Int32Array(3 * KEY_NETS_ACCOUNTS);
  private readonly nets = new Float64Array(3 * KEY_NETS_ACCOUNTS);
  private overflow = false;

  reset(): void {
    this.flags.fill(0);
    this.counts.fill(0);
    this.overflow = false;
  }

  /** One line: `sideIndex` in SIDES order, `flag` its statusFlag. The ERP's lines must all be of one document. */
  add(sideIndex: number, flag: number, account: number, amountMinor: number): void {
    this.flags[sideIndex] |= flag;
    const base = sideIndex * KEY_NETS_ACCOUNTS;
    const count = this.counts[sideIndex];
    let k = 0;
    while (k < count && this.accounts[base + k] !== account) k++;
    if (k < count) {
      const sum = this.nets[base + k] + amountMinor;
      // addMinor throws on this sum: UNSURE sends the key to addLine, which throws it.
      if (!Number.isSafeInteger(sum)) this.overflow = true;
      this.nets[base + k] = sum;
    } else if (count === KEY_NETS_ACCOUNTS) {
      this.overflow = true;
    } else {
      this.accounts[base + count] = account;
      this.nets[base + count] = amountMinor;
      this.counts[sideIndex] = count + 1;
    }
  }

  verdict(): number {
    const [platform, finsync, erp] = this.flags;
    if (this.overflow || finsync === 0 || erp === 0) return UNSURE;
    if (finsync & FLAGGED || (platform & FLAGGED && finsync !== REVERSED)) return UNSURE;
    if (!this.sameNets(1, 2) || (platform !== 0 && !this.sameNets(0, 1))) return UNSURE;
    return platform !== 0 && (platform & FLAGGED) === 0 ? CLEAN_APPROVED : CLEAN;
  }

  /** Whether two sides hold the same nonzero nets on the same accounts. */
  private sameNets(a: number, b: number): boolean {
    let held = 0;
    for (let i = 0; i < this.counts[b]; i++) if (this.nets[b * KEY_NETS_ACCOUNTS + i] !== 0) held++;
    for (let i = 0; i < this.counts[a]; i++) {
      const net = this.nets[a * KEY_NETS_ACCOUNTS + i];
      if (net === 0) continue;
      const account = this.accounts[a * KEY_NETS_ACCOUNTS + i];
      let k = 0;
      while (k < this.counts[b] && this.accounts[b * KEY_NETS_ACCOUNTS + k] !== account) k++;
      if (k === this.counts[b] || this.nets[b * KEY_NETS_ACCOUNTS + k] !== net) return false;
      held--;
    }
    return held === 0;
  }
}
