/**
 * The legal entities a hub serves: from the JSON file named by FINSYNC_ENTITIES_FILE, or the
 * sample company's three entities when none is given (the demo and a first `finsync serve`).
 */
import { readFileSync } from 'node:fs';
import { Cron } from 'croner';
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { currencyExponent } from '../domain/money.ts';
import { AppError } from '../errors.ts';
import type { LegalEntity } from './company.ts';

const EntitySchema = Type.Object(
  {
    code: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$' }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    country: Type.String({ pattern: '^[A-Z]{2}$' }),
    currency: Type.String({ pattern: '^[A-Z]{3}$' }),
    target: Type.String({ minLength: 1, maxLength: 40, description: 'the target connection holding the ledger' }),
    erpSubsidiaryId: Type.String({ minLength: 1, maxLength: 64 }),
    recalledAfterPosting: Type.Optional(Type.Union([Type.Literal('reverse'), Type.Literal('flag')], { description: 'a report recalled after posting: reverse it (default) or flag it' })),
    reconcileSchedule: Type.Optional(Type.String({ minLength: 9, maxLength: 100, description: 'cron expression of the scheduled reconciliation' })),
  },
  { additionalProperties: false },
);
const EntitiesFileSchema = Type.Object({ entities: Type.Array(EntitySchema, { minItems: 1, maxItems: 10_000 }) }, { additionalProperties: false });
const check = Compile(EntitiesFileSchema);

export function loadEntitiesFile(path: string): LegalEntity[] {
  const invalid = (detail: string) => new AppError('CONFIG_INVALID', { detail: `FINSYNC_ENTITIES_FILE ${path}: ${detail}` });
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw invalid((error as Error).message);
  }
  if (!check.Check(parsed)) {
    const first = [...check.Errors(parsed)][0];
    throw invalid(`${first?.instancePath || '/'} ${first?.message ?? 'is invalid'}`);
  }
  const entities = (parsed as { entities: LegalEntity[] }).entities;
  const seen = new Set<string>();
  for (const [i, entity] of entities.entries()) {
    if (seen.has(entity.code)) throw invalid(`/entities/${i}/code: ${entity.code} is listed twice`);
    seen.add(entity.code);
    if (entity.reconcileSchedule !== undefined) {
      try {
        new Cron(entity.reconcileSchedule, { paused: true }).stop();
      } catch (error) {
        throw invalid(`/entities/${i}/reconcileSchedule: "${entity.reconcileSchedule}" is not a cron expression: ${(error as Error).message}`);
      }
    }
    try {
      currencyExponent(entity.currency, `/entities/${i}/currency`);
    } catch {
      throw invalid(`/entities/${i}/currency: ${entity.currency} is not an ISO 4217 currency code`);
    }
  }
  return entities;
}
