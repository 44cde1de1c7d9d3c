/** The parameters that fill a break's message (errors.ts, RECON_*): what each side holds, in words. */
import type { SideValues } from '../reconciliation/types.ts';
import type { OpenBreak } from './breaks.ts';

function amounts(values: SideValues | null): string {
  if (values === null) return 'nothing';
  return values.amounts.length === 0 ? 'zero' : values.amounts.map((a) => `${a.account} ${a.amountMinor}`).join(', ');
}

function detailOf(b: Pick<OpenBreak, 'class' | 'detail' | 'currency'>): string {
  const { platform, finsync, erp } = b.detail;
  const sides = `platform: ${amounts(platform)}; finsync: ${amounts(finsync)}; ERP: ${amounts(erp)} (minor units of ${b.currency})`;
  switch (b.class) {
    case 'extra_in_erp':
      return finsync === null ? `in ${erp?.documents.join(', ') ?? '?'}, and finsync never posted it` : `in ${erp?.documents.length ?? 0} documents (${erp?.documents.join(', ') ?? ''})`;
    case 'status_mismatch':
      return platform?.status === 'recalled' ? `was recalled in the expense platform but finsync's posting stands (${finsync?.status ?? '?'})` : `is held by the ERP but finsync recorded no confirmation (${finsync?.status ?? '?'})`;
    case 'missing_in_finsync':
      return `platform: ${amounts(platform)}`;
    default:
      return sides;
  }
}

export function breakParams(b: Pick<OpenBreak, 'class' | 'detail' | 'currency' | 'entity' | 'period' | 'externalKey' | 'target' | 'reportId' | 'revision'>): Record<string, string | number> {
  return {
    entity: b.entity,
    period: b.period,
    externalKey: b.externalKey,
    target: b.target ?? 'the ERP',
    reportId: b.reportId ?? '?',
    revision: b.revision ?? '?',
    detail: detailOf(b),
  };
}
