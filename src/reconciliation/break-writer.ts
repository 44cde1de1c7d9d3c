/**
 * Writes breaks to a file as they are found, as CSV or as JSON lines, through a buffer of at most
 * 64 KB: memory does not grow with the number of breaks.
 *
 * CSV columns: class, key, entity, currency, period, then per side (platform, finsync, erp) its
 * status and its net amounts as `account=amountMinor` joined by `;` (empty when the side has no
 * line of the key), and erp_documents (the ERP's document numbers joined by `;`). Fields are codes
 * (line-file.ts refuses commas, quotes and control characters), so nothing needs quoting.
 * JSON lines: one Break object (types.ts) per line.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Break, SideValues } from './types.ts';

export type BreakFormat = 'csv' | 'jsonl';

export const BREAK_CSV_HEADER = 'class,key,entity,currency,period,platform_status,platform_amounts_minor,finsync_status,finsync_amounts_minor,erp_status,erp_amounts_minor,erp_documents';

const FLUSH_CHARS = 64 * 1024;

export interface BreakWriter {
  write(found: Break): void;
  /** Writes what is buffered and closes the file. */
  close(): void;
}

function sideFields(values: SideValues | null): string {
  if (values === null) return ',';
  let amounts = '';
  for (const { account, amountMinor } of values.amounts) amounts += `${amounts === '' ? '' : ';'}${account}=${amountMinor}`;
  return `${values.status},${amounts}`;
}

export function breakCsvRow(found: Break): string {
  return `${found.class},${found.key},${found.entity},${found.currency},${found.period},${sideFields(found.platform)},${sideFields(found.finsync)},${sideFields(found.erp)},${found.erp?.documents.join(';') ?? ''}`;
}

/** Opens `path` (truncating it) and returns a writer of breaks in `format`. */
export function openBreakWriter(path: string, format: BreakFormat): BreakWriter {
  const fd = openSync(path, 'w');
  let buffer = format === 'csv' ? `${BREAK_CSV_HEADER}\n` : '';
  return {
    write(found) {
      buffer += `${format === 'csv' ? breakCsvRow(found) : JSON.stringify(found)}\n`;
      if (buffer.length >= FLUSH_CHARS) (writeSync(fd, buffer), (buffer = ''));
    },
    close() {
      if (buffer !== '') writeSync(fd, buffer);
      buffer = '';
      closeSync(fd);
    },
  };
}
