// Runs every test file (test/**/*.test.ts and src/**/*.test.ts) in node's built-in test runner,
// through tsx, and ends with the runner's summary. Node 20's runner cannot glob .ts files itself.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function findTests(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (name.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

const files = [...findTests('test'), ...findTests('src')].sort();
const filter = process.argv.slice(2);
const selected = filter.length ? files.filter((f) => filter.some((pattern) => f.includes(pattern))) : files;
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...selected], { stdio: 'inherit' });
process.exit(result.status ?? 1);
