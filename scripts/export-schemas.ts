// Writes the canonical model's JSON Schemas to docs/schemas/ (run: npm run schemas).
import { mkdirSync, writeFileSync } from 'node:fs';
import { PUBLISHED_SCHEMAS, renderSchema } from '../src/domain/schemas.ts';

mkdirSync('docs/schemas', { recursive: true });
for (const [file, schema] of Object.entries(PUBLISHED_SCHEMAS)) writeFileSync(`docs/schemas/${file}`, renderSchema(schema));
console.log(`wrote ${Object.keys(PUBLISHED_SCHEMAS).length} schemas to docs/schemas/`);
