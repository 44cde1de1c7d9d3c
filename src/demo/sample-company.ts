/**
 * The sample company group of the demo and the tests: four legal entities in four countries and
 * currencies (US01/USD, DE01/EUR, JP01/JPY, and GB01/GBP, the newly acquired company), with employees, cost centers, GL accounts, tax codes,
 * expense categories and the mapping v0 tables that code their expenses. Some records are closed or
 * terminated on purpose, so validation has something to catch.
 */
import type { Category, CompanyDefinition, CostCenter, Employee, GlAccount, LegalEntity, TaxCode } from '../masterdata/company.ts';
import type { Policy } from '../masterdata/records.ts';

export const SAMPLE_TARGET = 'netsuite';

const ENTITIES: LegalEntity[] = [
  { code: 'US01', name: 'Finsync Demo Inc.', country: 'US', currency: 'USD', target: SAMPLE_TARGET, erpSubsidiaryId: '1', reconcileSchedule: '0 2 * * *' },
  { code: 'DE01', name: 'Finsync Demo GmbH', country: 'DE', currency: 'EUR', target: SAMPLE_TARGET, erpSubsidiaryId: '2', reconcileSchedule: '0 2 * * *' },
  { code: 'JP01', name: 'Finsync Demo K.K.', country: 'JP', currency: 'JPY', target: SAMPLE_TARGET, erpSubsidiaryId: '3', recalledAfterPosting: 'flag', reconcileSchedule: '0 3 * * *' },
  { code: 'GB01', name: 'Finsync Demo Ltd', country: 'GB', currency: 'GBP', target: SAMPLE_TARGET, erpSubsidiaryId: '4', reconcileSchedule: '0 2 * * *' },
];

/** The entities the expense-platform simulator generates reports for by default (GB01 joined later: the demo asks for it). */
export const ORIGINAL_ENTITIES: readonly LegalEntity[] = ENTITIES.slice(0, 3);

const ACCOUNTS: [string, string, boolean][] = [
  ['6110', 'Travel - lodging', true],
  ['6120', 'Travel - airfare', true],
  ['6130', 'Travel - meals', true],
  ['6140', 'Travel - ground transport', true],
  ['6150', 'Per diem - tax free', true],
  ['6155', 'Per diem - taxable part', true],
  ['6170', 'Office supplies', true],
  ['6180', 'Entertainment', true],
  ['1410', 'Input tax recoverable', true],
  ['1250', 'Employee receivable', true],
  ['1260', 'Cash advances to employees', true],
  ['2110', 'Employee payable', true],
  ['2120', 'Corporate card clearing', true],
  ['7990', 'Rounding differences', true],
  ['6999', 'Suspense (blocked)', false],
];

export const EMPLOYEES_PER_ENTITY = 40;
export const COST_CENTERS_PER_ENTITY = 8;
/** The last cost center of every entity closed on this day. */
export const CLOSED_COST_CENTER_SINCE = '2026-03-31';

function entityIndex(entity: string): number {
  return ENTITIES.findIndex((e) => e.code === entity) + 1;
}

export function employeeId(entity: string, n: number): string {
  return `${entity}-E${String(n).padStart(4, '0')}`;
}

export function costCenterCode(entity: string, n: number): string {
  return `${entity.slice(0, 2)}${4100 + n * 10}`;
}

function buildEmployees(): Employee[] {
  return ENTITIES.flatMap((entity) =>
    Array.from({ length: EMPLOYEES_PER_ENTITY }, (_, i) => ({
      entity: entity.code,
      employeeId: employeeId(entity.code, i + 1),
      name: `Employee ${i + 1} of ${entity.code}`,
      erpId: String(entityIndex(entity.code) * 100_000 + i + 1),
      validFrom: '2020-01-01',
      // The last employee of each entity left the company.
      ...(i + 1 === EMPLOYEES_PER_ENTITY && { validTo: '2026-06-30' }),
    })),
  );
}

function buildCostCenters(): CostCenter[] {
  return ENTITIES.flatMap((entity) =>
    Array.from({ length: COST_CENTERS_PER_ENTITY }, (_, i) => ({
      entity: entity.code,
      code: costCenterCode(entity.code, i + 1),
      name: `Cost center ${i + 1} of ${entity.code}`,
      erpId: String(entityIndex(entity.code) * 1000 + i + 1),
      validFrom: '2020-01-01',
      ...(i + 1 === COST_CENTERS_PER_ENTITY && { validTo: CLOSED_COST_CENTER_SINCE }),
    })),
  );
}

function buildAccounts(): GlAccount[] {
  return ENTITIES.flatMap((entity) =>
    ACCOUNTS.map(([number, name, postable]) => ({
      entity: entity.code,
      number,
      name,
      postable,
      erpId: String(entityIndex(entity.code) * 10_000 + Number(number)),
    })),
  );
}

const TAX_CODES: TaxCode[] = [
  { entity: 'DE01', code: 'DE19', rateBp: 1900, erpId: '201' },
  { entity: 'DE01', code: 'DE7', rateBp: 700, erpId: '202' },
  { entity: 'DE01', code: 'DE19-ENT', rateBp: 1900, erpId: '203' },
  { entity: 'DE01', code: 'DE16', rateBp: 1600, erpId: '204', validFrom: '2020-07-01', validTo: '2020-12-31' },
  { entity: 'JP01', code: 'JP10', rateBp: 1000, erpId: '301' },
  { entity: 'JP01', code: 'JP8', rateBp: 800, erpId: '302' },
  { entity: 'US01', code: 'US-NT', rateBp: 0, erpId: '101' },
  { entity: 'GB01', code: 'GB20', rateBp: 2000, erpId: '401' },
  { entity: 'GB01', code: 'GB5', rateBp: 500, erpId: '402' },
];

/** The expense categories of every entity, as the ERP holds them (NetSuite expense categories). */
export const SAMPLE_CATEGORIES: readonly [string, string][] = [
  ['LODGING', 'Lodging'],
  ['AIRFARE', 'Airfare'],
  ['MEALS', 'Meals'],
  ['TAXI', 'Taxi and ground transport'],
  ['PERDIEM', 'Per diem'],
  ['SUPPLIES', 'Office supplies'],
  ['ENTERTAINMENT', 'Entertainment'],
];

function buildCategories(): Category[] {
  return ENTITIES.flatMap((entity) => SAMPLE_CATEGORIES.map(([code, name], i) => ({ entity: entity.code, code, name, erpId: String(entityIndex(entity.code) * 100 + i + 1) })));
}

/** Each entity's expense policy, in the entity's currency. */
const POLICIES: Readonly<Record<string, Policy>> = {
  US01: {
    allowedCurrencies: ['USD', 'EUR', 'GBP', 'CAD', 'JPY'],
    categoryLimits: { MEALS: { perLine: '150.00', perDay: '200.00' }, LODGING: { perLine: '600.00' }, ENTERTAINMENT: { perLine: '500.00' } },
    receiptRequiredAbove: '75.00',
    perDiem: { PERDIEM: { dailyLimit: '79.00' } },
    duplicateWindowDays: 30,
    flagWeekends: true,
    holidays: ['2026-01-01', '2026-07-03', '2026-11-26', '2026-12-25'],
  },
  DE01: {
    allowedCurrencies: ['EUR', 'USD', 'GBP', 'CHF'],
    categoryLimits: { MEALS: { perLine: '120.00', perDay: '180.00' }, LODGING: { perLine: '400.00' }, ENTERTAINMENT: { perLine: '400.00' } },
    receiptRequiredAbove: '50.00',
    perDiem: { PERDIEM: { dailyLimit: '28.00' } },
    duplicateWindowDays: 30,
    flagWeekends: true,
    holidays: ['2026-01-01', '2026-04-03', '2026-05-01', '2026-10-03', '2026-12-25', '2026-12-26'],
  },
  JP01: {
    // The expense platform books JP01's trips abroad in USD and EUR (expense-platform-lines.ts).
    allowedCurrencies: ['JPY', 'USD', 'EUR'],
    categoryLimits: { MEALS: { perLine: '20000', perDay: '30000' }, LODGING: { perLine: '60000' } },
    receiptRequiredAbove: '5000',
    // Yen have no minor unit: 5000 is the mapping's limitMinorPerDay for JP01.
    perDiem: { PERDIEM: { dailyLimit: '5000' } },
    duplicateWindowDays: 30,
    flagWeekends: true,
    holidays: ['2026-01-01', '2026-05-05', '2026-11-03'],
  },
  GB01: {
    allowedCurrencies: ['GBP', 'EUR', 'USD'],
    categoryLimits: { MEALS: { perLine: '100.00', perDay: '150.00' }, LODGING: { perLine: '350.00' }, ENTERTAINMENT: { perLine: '300.00' } },
    receiptRequiredAbove: '40.00',
    perDiem: { PERDIEM: { dailyLimit: '25.00' } },
    duplicateWindowDays: 30,
    flagWeekends: true,
    holidays: ['2026-01-01', '2026-04-03', '2026-04-06', '2026-12-25', '2026-12-28'],
  },
};

export const SAMPLE_COMPANY: CompanyDefinition = {
  name: 'Finsync Demo Group',
  entities: ENTITIES,
  employees: buildEmployees(),
  costCenters: buildCostCenters(),
  glAccounts: buildAccounts(),
  taxCodes: TAX_CODES,
  categories: buildCategories(),
  policies: ENTITIES.map((e) => ({ entity: e.code, policy: POLICIES[e.code] })),
};

/**
 * The statutory tax-free per diem per day of each entity, in minor units of its currency: the
 * sample rule sets (src/demo/rules/) split per diem lines above it to the taxable account.
 */
export const PER_DIEM_LIMIT_MINOR_PER_DAY: Readonly<Record<string, number>> = { US01: 7_900, DE01: 2_800, JP01: 5_000, GB01: 2_500 };

