/** A plain valid DE01 expense line to build test reports from: 120.00 EUR lodging, out of pocket, one cost center. */
import type { LineInput } from '../../src/domain/report.ts';

export function sampleLine(overrides: Partial<LineInput> = {}): LineInput {
  return {
    lineId: 'L1',
    date: '2026-05-04',
    category: 'LODGING',
    amount: { value: '120.00', currency: 'EUR' },
    paymentType: 'out_of_pocket',
    allocations: [{ costCenter: 'DE4110', percent: '100' }],
    ...overrides,
  };
}
