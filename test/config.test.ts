// Proves that loadConfig turns the environment into a frozen, checked config: defaults apply, integers are parsed from strings, every bad or unknown FINSYNC_ variable fails with CONFIG_INVALID naming it, and FINSYNC_TEST_* variables are ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/config.ts';
import { AppError } from '../src/errors.ts';

/** Asserts that loading `env` fails with CONFIG_INVALID and a message naming `variable`. */
function assertRefused(env: Record<string, string>, variable: string): void {
  assert.throws(
    () => loadConfig(env),
    (error: unknown) => {
      assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
      assert.equal(error.code, 'CONFIG_INVALID');
      assert.match(error.message, new RegExp(`\\b${variable}\\b`), `the message names ${variable}: ${error.message}`);
      return true;
    },
  );
}

test('an empty environment gives the documented defaults', () => {
  const config = loadConfig({});
  assert.equal(config.databaseUrl, undefined);
  assert.equal(config.databaseSchema, undefined);
  assert.equal(config.sqliteFile, '.finsync/finsync.db');
  assert.equal(config.httpHost, '127.0.0.1');
  assert.equal(config.httpPort, 8080);
  assert.equal(config.bodyLimitBytes, 1024 * 1024);
  assert.equal(config.logLevel, 'info');
  assert.equal(config.netsuiteUrl, undefined);
  assert.equal(config.netsuiteToken, undefined);
  assert.equal(config.netsuiteConcurrency, 5);
  assert.equal(config.requestTimeoutMs, 30_000);
  assert.equal(config.pollIntervalMs, 250);
  assert.equal(config.leaseMs, 120_000);
  assert.equal(config.retryDelayMs, 200);
  assert.equal(config.retryDelayMsMax, 60_000);
  assert.equal(config.inProcessAttempts, 2);
  assert.equal(config.maxPostingClaims, 200);
  assert.equal(config.breakerFailures, 5);
  assert.equal(config.breakerHalfOpenAfterMs, 5_000);
});

test('an empty variable counts as unset', () => {
  const config = loadConfig({ FINSYNC_HTTP_PORT: '', FINSYNC_LOG_LEVEL: '' });
  assert.equal(config.httpPort, 8080);
  assert.equal(config.logLevel, 'info');
});

test('integers are parsed from their environment strings, bounds included', () => {
  const config = loadConfig({
    FINSYNC_HTTP_PORT: '65535',
    FINSYNC_POLL_INTERVAL_MS: '5',
    FINSYNC_LEASE_MS: '3600000',
    FINSYNC_IN_PROCESS_RETRIES: '0',
    FINSYNC_BODY_LIMIT_BYTES: '2048',
  });
  assert.strictEqual(config.httpPort, 65535);
  assert.strictEqual(config.pollIntervalMs, 5);
  assert.strictEqual(config.leaseMs, 3_600_000);
  assert.strictEqual(config.inProcessAttempts, 0);
  assert.strictEqual(config.bodyLimitBytes, 2048);
  assert.equal(loadConfig({ FINSYNC_HTTP_PORT: '0' }).httpPort, 0);
});

test('strings and enums are taken as given', () => {
  const config = loadConfig({
    FINSYNC_SQLITE_FILE: '/var/lib/finsync/hub.db',
    FINSYNC_HTTP_HOST: '0.0.0.0',
    FINSYNC_LOG_LEVEL: 'debug',
    FINSYNC_NETSUITE_URL: 'https://1234.suitetalk.api.netsuite.com',
    FINSYNC_NETSUITE_TOKEN: 'secret',
    FINSYNC_DATABASE_SCHEMA: 'finsync_prod',
  });
  assert.equal(config.sqliteFile, '/var/lib/finsync/hub.db');
  assert.equal(config.httpHost, '0.0.0.0');
  assert.equal(config.logLevel, 'debug');
  assert.equal(config.netsuiteUrl, 'https://1234.suitetalk.api.netsuite.com');
  assert.equal(config.netsuiteToken, 'secret');
  assert.equal(config.databaseSchema, 'finsync_prod');
});

test('an integer out of its bounds is refused, naming the variable', () => {
  assertRefused({ FINSYNC_HTTP_PORT: '70000' }, 'FINSYNC_HTTP_PORT');
  assertRefused({ FINSYNC_HTTP_PORT: '-1' }, 'FINSYNC_HTTP_PORT');
  assertRefused({ FINSYNC_POLL_INTERVAL_MS: '0' }, 'FINSYNC_POLL_INTERVAL_MS');
  assertRefused({ FINSYNC_IN_PROCESS_RETRIES: '11' }, 'FINSYNC_IN_PROCESS_RETRIES');
});

test('a value that is not a whole number is refused, naming the variable', () => {
  assertRefused({ FINSYNC_HTTP_PORT: 'abc' }, 'FINSYNC_HTTP_PORT');
  assertRefused({ FINSYNC_LEASE_MS: '1.5e3' }, 'FINSYNC_LEASE_MS');
  assertRefused({ FINSYNC_REQUEST_TIMEOUT_MS: '30s' }, 'FINSYNC_REQUEST_TIMEOUT_MS');
});

test('a log level outside the enum is refused, naming the variable', () => {
  assertRefused({ FINSYNC_LOG_LEVEL: 'loud' }, 'FINSYNC_LOG_LEVEL');
});

test('a string that breaks its pattern is refused, naming the variable', () => {
  assertRefused({ FINSYNC_NETSUITE_URL: 'ftp://example.com' }, 'FINSYNC_NETSUITE_URL');
  assertRefused({ FINSYNC_DATABASE_SCHEMA: 'Robert"; DROP' }, 'FINSYNC_DATABASE_SCHEMA');
});

test('an unknown FINSYNC_ variable is refused, naming it', () => {
  assertRefused({ FINSYNC_FOO: '1' }, 'FINSYNC_FOO');
  // A typo of a real setting must not fall back to the default silently.
  assertRefused({ FINSYNC_HTTP_PROT: '9000' }, 'FINSYNC_HTTP_PROT');
});

test('FINSYNC_TEST_* variables and variables of other programs are ignored', () => {
  const config = loadConfig({ FINSYNC_TEST_ANYTHING: 'whatever', FINSYNC_TEST_DATABASE_URL: 'postgres://x', PATH: '/usr/bin', HOME: '/root' });
  assert.deepEqual(config, loadConfig({}));
});

test('the result is frozen', () => {
  const config = loadConfig({ FINSYNC_HTTP_PORT: '9000' });
  assert.ok(Object.isFrozen(config));
  assert.throws(() => {
    (config as { httpPort: number }).httpPort = 1;
  }, TypeError);
  assert.equal(config.httpPort, 9000);
});

test('DATABASE_URL is picked up', () => {
  const url = 'postgres://finsync:secret@db.example:5432/finsync';
  assert.equal(loadConfig({ DATABASE_URL: url }).databaseUrl, url);
});

test('overrides apply over the environment and are checked too', () => {
  assert.equal(loadConfig({ FINSYNC_POLL_INTERVAL_MS: '1000' }, { pollIntervalMs: 25 }).pollIntervalMs, 25);
  assert.throws(() => loadConfig({}, { pollIntervalMs: 1 }), (error: unknown) => error instanceof AppError && error.code === 'CONFIG_INVALID');
});

test('a first retry delay longer than the longest retry delay is refused', () => {
  assertRefused({ FINSYNC_RETRY_DELAY_MS: '5000', FINSYNC_RETRY_DELAY_MS_MAX: '1000' }, 'FINSYNC_RETRY_DELAY_MS');
  assert.equal(loadConfig({ FINSYNC_RETRY_DELAY_MS: '1000', FINSYNC_RETRY_DELAY_MS_MAX: '1000' }).retryDelayMs, 1000);
});
