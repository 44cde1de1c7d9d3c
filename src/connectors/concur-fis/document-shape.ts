/**
 * The shape of the SAP Concur FIS expense financial document (the JSON inside
 * `content[].document`), with the tables both directions of the mapping share: payment type codes
 * and the custom-field layout. Field names are Concur's; see README.md for which are confirmed.
 */
import type { PaymentType } from '../../domain/report.ts';

export const FIS_DOC_TYPES = ['expense', 'invoice', 'cashadvance', 'payroll', 'obligation'] as const;
export type FisDocType = (typeof FIS_DOC_TYPES)[number];

export const FIS_DOC_STATUSES = ['READY', 'ACKNOWLEDGED', 'POSTING_CONFIRMED_SUCCESS', 'POSTING_CONFIRMED_FAILURE'] as const;
export type FisDocStatus = (typeof FIS_DOC_STATUSES)[number];

/** One item of `content[]` in a pull answer. `document` is a string unless `DocumentFormatAs: json` was asked for. */
export interface FisTransaction {
  readonly id: string;
  readonly docType: string;
  readonly companyId: string | null;
  readonly entityId: string | null;
  readonly companyUuid: string | null;
  readonly erpSystemId: string | null;
  readonly document: string | object;
  readonly docStatus: FisDocStatus;
  readonly links?: readonly unknown[];
}

export type YesNo = 'Y' | 'N';

export interface FisEmployee {
  readonly employeeId: string;
  readonly employeeFirstName: string | null;
  readonly employeeLastName: string | null;
}

export interface FisReport {
  readonly reportKey: number;
  readonly reportId: string;
  readonly reportName: string | null;
  /** Our legal entity (see README.md, "Entity"). */
  readonly ledgerCode: string;
  readonly totalApprovedAmount: string;
  readonly employeeCurrencyAlphaCode: string;
  readonly reportSubmitDate: string | null;
  /** When the report reached payment processing, i.e. its final approval: our `approvedAt`. */
  readonly reportPaymentProcessingDate: string;
  readonly reportCreationDate: string | null;
  readonly isTest: YesNo;
  readonly revisionNumber: string;
  /** reportCustomNCode: custom fields by the layout's slot numbers. */
  readonly [slot: `reportCustom${number}Code`]: string | null | undefined;
}

export interface FisJournal {
  readonly journalAccountCode: string;
  readonly journalPayer: string;
  readonly journalPayee: string;
  /** In the report (employee) currency, as every journal amount. */
  readonly amountGross: string;
  readonly amountNetOfTax: string;
  readonly amountNetOfReclaim: string;
  readonly taxGuid: readonly string[];
}

/** Our shape of an allocation's tax item; Concur's own field list is not confirmed (README.md). */
export interface FisTax {
  readonly taxGuid: string;
  readonly taxCode: string;
  /** This allocation's share of the tax, in the entry currency; null when the source gave only a code. */
  readonly taxTransactionAmount: string | null;
  /** The same in the report currency. */
  readonly taxPostedAmount: string | null;
}

export interface FisAllocation {
  readonly allocationId: string;
  /** "60.00" for a split by percent; eight decimals ("33.33333333") for a split by amount (README.md). */
  readonly allocationPercentage: string;
  readonly journal: readonly FisJournal[];
  readonly tax: readonly FisTax[];
  readonly [slot: `allocationCustom${number}Code`]: string | null | undefined;
}

export interface FisExpenseEntry {
  readonly entryId: string;
  readonly legacyEntryId: number;
  readonly expenseTypeCode: string;
  readonly expenseTypeName: string;
  /** Midnight UTC of the expense date: "2026-04-10T00:00:00.000Z". */
  readonly entryDate: string;
  readonly entryCurrAlphaCode: string;
  /** Report-currency units per entry-currency unit ("1" for a domestic entry). */
  readonly entryExchangeRate: string;
  readonly entryExchangeRateDirection: 'M';
  /** In the entry currency. */
  readonly reportEntryTransactionAmount: string;
  /** In the report currency. */
  readonly entryApprovedAmount: string;
  readonly reportEntryPatKey: string;
  readonly entryIsPersonal: YesNo;
  readonly entryVendorDescription: string | null;
  readonly entryDescription: string | null;
  /** R (receipt), N (none), null (not said). */
  readonly entryReceiptType: 'R' | 'N' | null;
  readonly allocation: readonly FisAllocation[];
  readonly [slot: `entryCustom${number}Code`]: string | null | undefined;
}

export interface FisExpenseDocument {
  readonly employee: FisEmployee;
  readonly report: FisReport;
  readonly expenseEntry: readonly FisExpenseEntry[];
  readonly cashAdvanceApplication: readonly unknown[];
}

/**
 * Our payment types <-> Concur payment type codes (`reportEntryPatKey`). CASH, CBCP and IBIP are
 * Concur's codes; CADV for an entry applied against a cash advance is our choice (README.md).
 */
export const PAYMENT_TYPE_CODES: Readonly<Record<PaymentType, string>> = {
  out_of_pocket: 'CASH',
  company_card: 'CBCP',
  individual_card: 'IBIP',
  cash_advance: 'CADV',
};

/** Codes read but never written: IBCP (individually billed, company paid) is settled through the card clearing account. */
export const PAYMENT_CODE_ALIASES: Readonly<Record<string, PaymentType>> = { IBCP: 'company_card' };

export function paymentTypeOfCode(code: string): PaymentType | undefined {
  for (const [type, written] of Object.entries(PAYMENT_TYPE_CODES)) if (written === code) return type as PaymentType;
  return Object.hasOwn(PAYMENT_CODE_ALIASES, code) ? PAYMENT_CODE_ALIASES[code] : undefined;
}

/**
 * Where fields without a Concur field of their own travel: custom-field slot numbers, as a Concur
 * administrator would configure them. The defaults are documented in README.md.
 */
export interface FisLayout {
  /** allocationCustomNCode holding the cost center. */
  readonly costCenterSlot: number;
  /** allocationCustomNCode holding the project. */
  readonly projectSlot: number;
  /** entryCustomNCode holding the exchange-rate source (ECB, ...). */
  readonly rateSourceSlot: number;
  /** entryCustomNCode holding the exchange-rate date (YYYY-MM-DD). */
  readonly rateDateSlot: number;
  /** entryCustomNCode holding the per diem days. */
  readonly perDiemDaysSlot: number;
  /** Report custom fields by name -> reportCustomNCode. */
  readonly reportCustomFields: Readonly<Record<string, number>>;
  /** Line custom fields by name -> entryCustomNCode. */
  readonly entryCustomFields: Readonly<Record<string, number>>;
}

export const DEFAULT_FIS_LAYOUT: FisLayout = {
  costCenterSlot: 1,
  projectSlot: 2,
  rateSourceSlot: 36,
  rateDateSlot: 37,
  perDiemDaysSlot: 38,
  reportCustomFields: {},
  entryCustomFields: {},
};

/** Merges a partial layout over the defaults and asserts that no two entry fields share a slot. */
export function resolveLayout(layout: Partial<FisLayout> = {}): FisLayout {
  const resolved = { ...DEFAULT_FIS_LAYOUT, ...layout };
  const entrySlots = [resolved.rateSourceSlot, resolved.rateDateSlot, resolved.perDiemDaysSlot, ...Object.values(resolved.entryCustomFields)];
  const checks: [string, number[]][] = [
    ['entry', entrySlots],
    ['allocation', [resolved.costCenterSlot, resolved.projectSlot]],
    ['report', Object.values(resolved.reportCustomFields)],
  ];
  for (const [level, slots] of checks) {
    if (new Set(slots).size !== slots.length || slots.some((slot) => !Number.isInteger(slot) || slot < 1 || slot > 40)) {
      throw new Error(`Assertion failed: the FIS layout uses a ${level} custom slot twice or outside 1..40`);
    }
  }
  return resolved;
}

/** A schema-valid percent ("33.33", "50", "12.5") in basis points. */
export function percentToBasisPoints(percent: string): number {
  const [whole, fraction = ''] = percent.split('.');
  return Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
}

