// Proves the JSON Schemas published in docs/schemas/ are the ones the code uses, and that the
// journals the pipeline builds and the reports the simulator sends conform to them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Compile } from 'typebox/compile';
import { PUBLISHED_SCHEMAS, renderSchema, JournalEntrySchema, MoneySchema } from '../../src/domain/schemas.ts';
import { generateReports } from '../../src/demo/expense-platform.ts';
import { normalizeReport, ReportInputSchema } from '../../src/domain/report.ts';
import { SAMPLE_COMPANY } from '../../src/demo/sample-company.ts';
import { createReferenceData } from '../../src/masterdata/company.ts';
import { sampleMapping } from '../support/sample-mapping.ts';

test('docs/schemas holds exactly what the code publishes (run `npm run schemas` after a change)', () => {
  for (const [file, schema] of Object.entries(PUBLISHED_SCHEMAS)) {
    assert.equal(readFileSync(new URL(`../../docs/schemas/${file}`, import.meta.url), 'utf8'), renderSchema(schema), `docs/schemas/${file} is stale`);
  }
});

test('simulated reports and the journals built from them conform to the published schemas', async () => {
  const checkInput = Compile(ReportInputSchema);
  const checkJournal = Compile(JournalEntrySchema);
  const checkMoney = Compile(MoneySchema);
  const mapper = sampleMapping(createReferenceData(SAMPLE_COMPANY));
  let journals = 0;
  for (const input of generateReports({ count: 200, seed: 5, invalidShare: 0 })) {
    assert.ok(checkInput.Check(input));
    const report = normalizeReport(input);
    for (const line of report.lines) assert.ok(checkMoney.Check(line.amount));
    const mapped = await mapper.mapReport(report);
    if (!mapped.ok) continue;
    assert.ok(checkJournal.Check(mapped.journal), JSON.stringify([...checkJournal.Errors(mapped.journal)].slice(0, 3)));
    journals++;
  }
  assert.ok(journals > 150);
});
