/**
 * The time window of a re-drive, [from, to): two ISO 8601 values, each a calendar date (midnight
 * UTC) or an instant with its offset (`2026-05-04T10:00:00Z`, `2026-05-04T12:00+02:00`). Local times
 * without an offset are refused: the same text would name another instant on another server.
 */
import { AppError } from '../errors.ts';

/** The longest window one re-drive covers. */
export const REDRIVE_WINDOW_DAYS_MAX = 31;

const DAY_MS = 86_400_000;

export interface RedriveWindow {
  readonly fromMs: number;
  readonly toMs: number;
  readonly fromIso: string;
  readonly toIso: string;
}

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):(\d{2})))?$/;

export function parseWindow(from: string, to: string): RedriveWindow {
  const fromMs = parseInstant('from', from);
  const toMs = parseInstant('to', to);
  const fromIso = new Date(fromMs).toISOString();
  const toIso = new Date(toMs).toISOString();
  if (toMs <= fromMs) throw new AppError('REDRIVE_WINDOW_INVALID', { detail: `to (${toIso}) must be after from (${fromIso})` });
  if (toMs - fromMs > REDRIVE_WINDOW_DAYS_MAX * DAY_MS) {
    throw new AppError('REDRIVE_WINDOW_TOO_LONG', { from: fromIso, to: toIso, days: Math.round(((toMs - fromMs) / DAY_MS) * 100) / 100, maxDays: REDRIVE_WINDOW_DAYS_MAX });
  }
  return { fromMs, toMs, fromIso, toIso };
}

/** Epoch milliseconds of an ISO 8601 date or instant; a value that is neither, or names no real day or time, is refused. */
export function parseInstant(name: string, value: string): number {
  const match = INSTANT.exec(value);
  const refuse = () => new AppError('REDRIVE_WINDOW_INVALID', { detail: `${name} "${value.length > 40 ? `${value.slice(0, 40)}…` : value}" is not an ISO 8601 date or instant with an offset` });
  if (!match) throw refuse();
  const [, year, month, day, hour = '0', minute = '0', second = '0', , offsetHours = '0', offsetMinutes = '0'] = match;
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  // Date.parse rolls 2026-02-30 over to March; a window edge must name a day that exists.
  const realDay = date.getUTCFullYear() === Number(year) && date.getUTCMonth() === Number(month) - 1 && date.getUTCDate() === Number(day);
  const realTime = Number(hour) <= 23 && Number(minute) <= 59 && Number(second) <= 59 && Number(offsetHours) <= 23 && Number(offsetMinutes) <= 59;
  const ms = match[4] === undefined ? date.getTime() : Date.parse(value);
  if (!realDay || !realTime || !Number.isFinite(ms)) throw refuse();
  return ms;
}
