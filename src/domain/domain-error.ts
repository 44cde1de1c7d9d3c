/**
 * Errors raised by pure domain code when input is wrong. The code names an entry of the error
 * registry (src/errors.ts); callers outside the domain turn it into an AppError. Keeping the
 * registry out of the domain keeps this folder free of imports from the rest of src/.
 */
export type DomainErrorCode =
  | 'CURRENCY_UNKNOWN'
  | 'AMOUNT_PRECISION'
  | 'AMOUNT_INVALID'
  | 'ALLOCATION_INVALID'
  | 'REPORT_INVALID'
  | 'MD_RECORD_INVALID';

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    readonly params: Record<string, string | number>,
  ) {
    super(`${code}: ${JSON.stringify(params)}`);
    this.name = 'DomainError';
  }
}
