/**
 * Exports a run's breaks as they are found: CSV (one break per row, the engine's break-writer
 * columns), JSON lines (one Break per line), or one JSON document `{ "breaks": [...], "summary": {...} }`
 * with the run's completeness, counts and balances at the end. Written through a buffer, so the
 * file's size does not weigh on memory; refused up front (RECON_EXPORT_INVALID) when the path cannot
 * be written or names no format.
 */
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { extname } from 'node:path';
import { AppError } from '../errors.ts';
import { openBreakWriter, type BreakWriter } from '../reconciliation/break-writer.ts';
import type { Break } from '../reconciliation/types.ts';

export type ExportFormat = 'csv' | 'jsonl' | 'json';

const FLUSH_CHARS = 64 * 1024;

export function exportFormatOf(path: string): ExportFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.json') return 'json';
  throw new AppError('RECON_EXPORT_INVALID', { path, detail: `the extension ${ext || '(none)'} names no format` });
}

export interface RunExport {
  write(found: Break): void;
  /** Ends the file; the JSON document gets the summary. */
  close(summary: unknown): void;
  /** Removes a half-written file after a failed run. */
  abort(): void;
}

export function openExport(path: string, format: ExportFormat): RunExport {
  try {
    return format === 'json' ? openJsonExport(path) : wrap(openBreakWriter(path, format), path);
  } catch (error) {
    throw new AppError('RECON_EXPORT_INVALID', { path, detail: (error as Error).message });
  }
}

function wrap(writer: BreakWriter, path: string): RunExport {
  return {
    write: (found) => writer.write(found),
    close: () => writer.close(),
    abort: () => {
      writer.close();
      unlinkSync(path);
    },
  };
}

function openJsonExport(path: string): RunExport {
  const fd = openSync(path, 'w');
  let buffer = '{"breaks":[';
  let first = true;
  const flush = () => {
    if (buffer !== '') writeSync(fd, buffer);
    buffer = '';
  };
  return {
    write(found) {
      buffer += `${first ? '\n' : ',\n'}${JSON.stringify(found)}`;
      first = false;
      if (buffer.length >= FLUSH_CHARS) flush();
    },
    close(summary) {
      buffer += `\n],"summary":${JSON.stringify(summary)}}\n`;
      flush();
      closeSync(fd);
    },
    abort() {
      closeSync(fd);
      unlinkSync(path);
    },
  };
}
