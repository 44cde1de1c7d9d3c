/**
 * loadConfig(env): the only reader of process.env. Every setting is checked against a TypeBox
 * schema with bounds; unknown FINSYNC_ variables are refused (a typo must not silently fall back to
 * a default); the result is frozen. docs/config.md lists the same settings.
 */
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { AppError } from './errors.ts';

const Int = (minimum: number, maximum: number, defaultValue: number, description: string) => Type.Integer({ minimum, maximum, default: defaultValue, description });

export const ConfigSchema = Type.Object({
  databaseUrl: Type.Optional(Type.String({ minLength: 1, description: 'DATABASE_URL: PostgreSQL connection URL; when absent the embedded SQLite store is used' })),
  databaseSchema: Type.Optional(Type.String({ pattern: '^[a-z_][a-z0-9_]{0,62}$', description: 'FINSYNC_DATABASE_SCHEMA: PostgreSQL schema to use (created if missing)' })),
  sqliteFile: Type.String({ minLength: 1, default: '.finsync/finsync.db', description: 'FINSYNC_SQLITE_FILE: the embedded store file' }),
  httpHost: Type.String({ minLength: 1, default: '127.0.0.1', description: 'FINSYNC_HTTP_HOST' }),
  httpPort: Int(0, 65535, 8080, 'FINSYNC_HTTP_PORT'),
  bodyLimitBytes: Int(1024, 50 * 1024 * 1024, 1024 * 1024, 'FINSYNC_BODY_LIMIT_BYTES: largest accepted request body'),
  logLevel: Type.Union([Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')], { default: 'info', description: 'FINSYNC_LOG_LEVEL' }),
  netsuiteUrl: Type.Optional(Type.String({ pattern: '^https?://', description: 'FINSYNC_NETSUITE_URL: base URL of the NetSuite account (or its simulator)' })),
  netsuiteToken: Type.Optional(Type.String({ minLength: 1, description: 'FINSYNC_NETSUITE_TOKEN: OAuth 2.0 access token; never logged' })),
  netsuiteConcurrency: Int(1, 100, 5, 'FINSYNC_NETSUITE_CONCURRENCY: requests in flight, at most the account concurrency limit'),
  requestTimeoutMs: Int(100, 900_000, 30_000, 'FINSYNC_REQUEST_TIMEOUT_MS: one ERP request; NetSuite gives up after 15 minutes'),
  pollIntervalMs: Int(5, 60_000, 250, 'FINSYNC_POLL_INTERVAL_MS: how often idle workers look for due work'),
  leaseMs: Int(1_000, 3_600_000, 120_000, 'FINSYNC_LEASE_MS: how long a claimed item stays owned by its worker'),
  retryDelayMs: Int(1, 600_000, 200, 'FINSYNC_RETRY_DELAY_MS: first retry delay'),
  retryDelayMsMax: Int(1, 3_600_000, 60_000, 'FINSYNC_RETRY_DELAY_MS_MAX: longest retry delay'),
  inProcessAttempts: Int(0, 10, 2, 'FINSYNC_IN_PROCESS_RETRIES: quick retries before a posting is rescheduled'),
  maxPostingClaims: Int(1, 10_000, 200, 'FINSYNC_MAX_POSTING_CLAIMS: claims of one posting before it is quarantined'),
  breakerFailures: Int(1, 1000, 5, 'FINSYNC_BREAKER_FAILURES: consecutive outage failures that open a lane circuit'),
  breakerHalfOpenAfterMs: Int(100, 3_600_000, 5_000, 'FINSYNC_BREAKER_HALF_OPEN_AFTER_MS'),
  masterDataPollMs: Int(10, 60_000, 250, 'FINSYNC_MASTER_DATA_POLL_MS: how often a process reads master-data changes and rule-set activations made by other processes'),
  entitiesFile: Type.Optional(Type.String({ minLength: 1, description: 'FINSYNC_ENTITIES_FILE: JSON file listing the legal entities; default: the sample company’s three entities' })),
  masterDataSourcesFile: Type.Optional(Type.String({ minLength: 1, description: 'FINSYNC_MASTER_DATA_SOURCES: JSON file listing the master-data sources and their schedules' })),
  apiKey: Type.Optional(Type.String({ minLength: 1, description: 'FINSYNC_API_KEY: the API key the command line acts with where it needs a person (`finsync mapping` propose, review, approve…); the hub itself does not use it' })),
  concurFisUrl: Type.Optional(Type.String({ pattern: '^https?://', description: 'FINSYNC_CONCUR_FIS_URL: base URL of SAP Concur (or its simulator); with the token, finsync pulls approved reports from the Financial Integration Service' })),
  concurFisToken: Type.Optional(Type.String({ minLength: 1, description: 'FINSYNC_CONCUR_FIS_TOKEN: company-level OAuth 2.0 access token with the FISVC scope; never logged' })),
  concurSystemId: Type.String({ minLength: 1, maxLength: 50, default: 'finsync', description: 'FINSYNC_CONCUR_SYSTEM_ID: this connection’s systemId, sent with every acknowledgement and confirmation' }),
  concurPollMs: Int(100, 3_600_000, 5_000, 'FINSYNC_CONCUR_POLL_MS: how often the ready queue is pulled'),
  concurEntities: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$', description: 'FINSYNC_CONCUR_ENTITIES: comma-separated entities whose reports come from Concur (their platform side for reconciliation); default all' })),
  ruleSetsDir: Type.Optional(Type.String({ minLength: 1, description: 'FINSYNC_RULE_SETS_DIR: folder of rule files (<SCOPE>.yaml or .csv) installed at start as version 1 of their scopes when no rule-set version exists yet' })),
});

export type Config = Readonly<Static<typeof ConfigSchema>>;

const ENV_NAMES: Record<keyof Config, string> = {
  databaseUrl: 'DATABASE_URL',
  databaseSchema: 'FINSYNC_DATABASE_SCHEMA',
  sqliteFile: 'FINSYNC_SQLITE_FILE',
  httpHost: 'FINSYNC_HTTP_HOST',
  httpPort: 'FINSYNC_HTTP_PORT',
  bodyLimitBytes: 'FINSYNC_BODY_LIMIT_BYTES',
  logLevel: 'FINSYNC_LOG_LEVEL',
  netsuiteUrl: 'FINSYNC_NETSUITE_URL',
  netsuiteToken: 'FINSYNC_NETSUITE_TOKEN',
  netsuiteConcurrency: 'FINSYNC_NETSUITE_CONCURRENCY',
  requestTimeoutMs: 'FINSYNC_REQUEST_TIMEOUT_MS',
  pollIntervalMs: 'FINSYNC_POLL_INTERVAL_MS',
  leaseMs: 'FINSYNC_LEASE_MS',
  retryDelayMs: 'FINSYNC_RETRY_DELAY_MS',
  retryDelayMsMax: 'FINSYNC_RETRY_DELAY_MS_MAX',
  inProcessAttempts: 'FINSYNC_IN_PROCESS_RETRIES',
  maxPostingClaims: 'FINSYNC_MAX_POSTING_CLAIMS',
  breakerFailures: 'FINSYNC_BREAKER_FAILURES',
  breakerHalfOpenAfterMs: 'FINSYNC_BREAKER_HALF_OPEN_AFTER_MS',
  masterDataPollMs: 'FINSYNC_MASTER_DATA_POLL_MS',
  entitiesFile: 'FINSYNC_ENTITIES_FILE',
  masterDataSourcesFile: 'FINSYNC_MASTER_DATA_SOURCES',
  ruleSetsDir: 'FINSYNC_RULE_SETS_DIR',
  concurFisUrl: 'FINSYNC_CONCUR_FIS_URL',
  concurFisToken: 'FINSYNC_CONCUR_FIS_TOKEN',
  concurSystemId: 'FINSYNC_CONCUR_SYSTEM_ID',
  concurPollMs: 'FINSYNC_CONCUR_POLL_MS',
  concurEntities: 'FINSYNC_CONCUR_ENTITIES',
  apiKey: 'FINSYNC_API_KEY',
};

export const CONFIG_ENV_NAMES: Readonly<Record<string, string>> = ENV_NAMES;

const check = Compile(ConfigSchema);

export function loadConfig(env: Record<string, string | undefined>, overrides: Partial<Config> = {}): Config {
  const known = new Set(Object.values(ENV_NAMES));
  // FINSYNC_TEST_* variables belong to the test suite, not to a running hub.
  const unknown = Object.keys(env).filter((name) => name.startsWith('FINSYNC_') && !name.startsWith('FINSYNC_TEST_') && !known.has(name));
  if (unknown.length > 0) throw new AppError('CONFIG_INVALID', { detail: `unknown setting ${unknown.join(', ')}; see docs/config.md for the accepted names` });
  const raw: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ENV_NAMES)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const schema = (ConfigSchema.properties as Record<string, { type?: string }>)[key];
    raw[key] = schema.type === 'integer' && /^-?\d+$/.test(value) ? Number(value) : value;
  }
  Object.assign(raw, overrides);
  for (const [key, schema] of Object.entries(ConfigSchema.properties as Record<string, { default?: unknown }>)) {
    if (raw[key] === undefined && schema.default !== undefined) raw[key] = schema.default;
  }
  if (!check.Check(raw)) {
    const first = [...check.Errors(raw)][0];
    const key = first?.instancePath.replace(/^\//, '') as keyof Config;
    throw new AppError('CONFIG_INVALID', { detail: `${ENV_NAMES[key] ?? key} ${first?.message ?? 'is invalid'}` });
  }
  const config = raw as Config;
  if (config.retryDelayMs > config.retryDelayMsMax) {
    throw new AppError('CONFIG_INVALID', { detail: `FINSYNC_RETRY_DELAY_MS (${config.retryDelayMs}) must not exceed FINSYNC_RETRY_DELAY_MS_MAX (${config.retryDelayMsMax})` });
  }
  return Object.freeze(config);
}
