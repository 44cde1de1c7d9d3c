/**
 * Shared by the exception-queue and replay tests: DE01 reports made to quarantine for a known cause,
 * and running the `finsync` command line against a harness's own store.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateReports } from '../../src/demo/expense-platform.ts';
import type { ReportInput } from '../../src/domain/report.ts';
import type { Harness } from './hub-harness.ts';
import { POSTGRES_URL } from './stores.ts';

const BIN = fileURLToPath(new URL('../../bin/finsync.js', import.meta.url));

/** Distinct DE01 reports (distinct amounts and merchants, so no duplicate is suspected between them). */
const DE01_REPORTS = generateReports({ count: 120, seed: 61, invalidShare: 0 }).filter((r) => r.entity === 'DE01');

/** DE4180 is closed since 2026-03-31; DE01-E0040 left on 2026-06-30; department 2001 is DE4110 in NetSuite. */
export const CLOSED_CENTER = 'DE4180';
export const LEAVER = 'DE01-E0040';
export const REFUSED_CENTER = 'DE4110';
export const REFUSED_DEPARTMENT = '2001';

/** The n-th DE01 report for one employee, every line on one date and allocated whole to one cost center. */
export function de01Report(n: number, employeeId: string, costCenter: string, date: string): ReportInput {
  const base = DE01_REPORTS[n];
  assert.ok(base, `the generator made at least ${n + 1} DE01 reports`);
  return { ...base, employeeId, lines: base.lines.map((l) => ({ ...l, date, allocations: [{ costCenter, percent: '100' }] })) };
}

/** Runs `finsync` with a clean environment plus `env`; resolves with its exit code and output. */
export function runFinsync(args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'DATABASE_URL' && !name.startsWith('FINSYNC_') && !name.startsWith('NODE_TEST')));
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The CLI's store settings for the harness's store: its SQLite file, or its PostgreSQL schema. */
export function storeEnv(h: Harness): Record<string, string> {
  const schema = /\(schema (\w+)\)$/.exec(h.hub.store.location)?.[1];
  return schema ? { DATABASE_URL: POSTGRES_URL, FINSYNC_DATABASE_SCHEMA: schema, FINSYNC_LOG_LEVEL: 'silent' } : { FINSYNC_SQLITE_FILE: h.hub.store.location, FINSYNC_LOG_LEVEL: 'silent' };
}
