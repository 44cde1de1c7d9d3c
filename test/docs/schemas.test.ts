// Proves the JSON Schemas published in docs/schemas/ are the ones the code uses, and that the
// journals the pipeline builds and the reports the simulator sends conform to them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Compile } from 'typebox/compile';
import { PUBLISHED_SCHEMAS, renderSchema, JournalEntrySchema, MoneySchema } from '../../src/domain/schemas.ts';
import { generateReports } from '../../src/demo/expense-platform.ts';
import { normalizeReport, ReportInputSchema } from '../../src/domain/report.ts';
import { createTableMapper } from '../../src/mapping/build-journal.ts';
import { SAMPLE_COMPANY, SAMPLE_MAPPINGS } from '../../src/demo/sample-company.ts';

test('docs/schemas holds exactly what the code publishes (run `npm run schemas` after a change)', () => {
  for (const [file, schema] of Object.entries(PUBLISHED_SCHEMAS)) {
    assert.equal(readFileSync(new URL(`../../docs/schemas/${file}`, import.meta.url), 'utf8'), renderSchema(schema), `docs/schemas/${file} is stale`);
  }
});

test('simulated reports and the journals built from them conform to the published schemas', () => {
  const checkInput = Compile(ReportInputSchema);
  const checkJournal = Compile(JournalEntrySchema);
  const checkMoney = Compile(MoneySchema);
  const mappers = new Map(SAMPLE_MAPPINGS.map((m) => [m.entity, createTableMapper(m)]));
  let journals = 0;
  for (const input of generateReports({ count: 200, seed: 5, invalidShare: 0 })) {
    assert.ok(checkInput.Check(input));
    const report = normalizeReport(input);
    for (const line of report.lines) assert.ok(checkMoney.Check(line.amount));
    const rate = (code: string) => SAMPLE_COMPANY.taxCodes.find((t) => t.entity === report.entity && t.code === code)?.rateBp;
    const mapped = mappers.get(report.entity)!.mapReport(report, rate);
    if (!mapped.ok) continue;
    assert.ok(checkJournal.Check(mapped.journal), JSON.stringify([...checkJournal.Errors(mapped.journal)].slice(0, 3)));
    journals++;
  }
  assert.ok(journals > 150);
});
