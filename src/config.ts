import path from 'node:path';
import cron from 'node-cron';
import { isSupportedCountry } from 'libphonenumber-js/max';

/** Every setting the service reads, typed and frozen. Built only by `configFromEnv`. */
export interface Config {
  /** Postgres URL; null means embedded PGlite under `DATA_DIR/pg`, served through pglite-socket. */
  readonly databaseUrl: string | null;
  readonly dataDir: string;
  readonly port: number;
  readonly warehouseDir: string;
  readonly exportSchedule: string;
  /** null: generated once and kept under DATA_DIR (see src/privacy/secret.ts). */
  readonly piiHashSecret: string | null;
  readonly faqAutoApproveTrust: number;
  readonly queryTimeoutMs: number;
  readonly queryMaxRows: number;
  /** Bytes of a query answer's rows (their JSON text) at most; past it the answer is truncated (QUERY_MAX_BYTES). */
  readonly queryMaxBytes: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Connections in the service's pool (PG_POOL_MAX). */
  readonly poolMax: number;
  /** Sessions end a transaction left idle this long (PG_IDLE_TX_TIMEOUT_MS), so nobody holds the export watermark back. */
  readonly idleInTransactionTimeoutMs: number;
  /** A new Postgres connection, or a wait for a free one, gives up after this long: 503 (PG_CONNECT_TIMEOUT_MS). */
  readonly connectTimeoutMs: number;
  /**
   * `statement_timeout` of the request pool (PG_STATEMENT_TIMEOUT_MS); the client itself gives up one second later,
   * so a frozen server still gets a 503 (src/db/pool.ts). Jobs (the export) run on a pool of their own without it.
   */
  readonly statementTimeoutMs: number;
  /** HTTP: a client must send its request headers within this long (HTTP_HEADERS_TIMEOUT_MS). */
  readonly httpHeadersTimeoutMs: number;
  /** HTTP: a client must send its whole request within this long (HTTP_REQUEST_TIMEOUT_MS). */
  readonly httpRequestTimeoutMs: number;
  /** query_audit and job_runs rows older than this many days are deleted by the prune-audit job. */
  readonly auditRetentionDays: number;
  /** Regions tried, in order, for phone numbers written without a country code (PII_PHONE_REGIONS; README "Privacy"). */
  readonly piiPhoneRegions: readonly string[];
  /** The Parquet lake the scheduled export keeps (LAKE_DIR; null: none; README "At scale"). */
  readonly lakeDir: string | null;
  /** Minutes a lake file no longer listed (and holding no erased row) is kept for readers (LAKE_RETENTION_MINUTES). */
  readonly lakeRetentionMinutes: number;
}

/** Every default in one place (docs/CONTRACT.md "Configuration"). */
export const DEFAULTS = {
  DATA_DIR: './data',
  PORT: '8080',
  EXPORT_SCHEDULE: '0 2 * * *',
  FAQ_AUTO_APPROVE_TRUST: '0.9',
  QUERY_TIMEOUT_MS: '10000',
  QUERY_MAX_ROWS: '10000',
  QUERY_MAX_BYTES: '33554432', // 32 MB
  LOG_LEVEL: 'info',
  PG_POOL_MAX: '20',
  PG_IDLE_TX_TIMEOUT_MS: '60000',
  PG_CONNECT_TIMEOUT_MS: '3000',
  PG_STATEMENT_TIMEOUT_MS: '5000',
  HTTP_HEADERS_TIMEOUT_MS: '10000',
  HTTP_REQUEST_TIMEOUT_MS: '30000',
  AUDIT_RETENTION_DAYS: '400',
  PII_PHONE_REGIONS: 'IT,US,GB,DE,FR,ES,CH,CN,IN',
  LAKE_RETENTION_MINUTES: '60',
} as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

function read(env: Env, name: keyof typeof DEFAULTS): string {
  const value = env[name];
  return value === undefined || value.trim() === '' ? DEFAULTS[name] : value.trim();
}

function integer(env: Env, name: keyof typeof DEFAULTS, min: number, max: number): number {
  const raw = read(env, name);
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function optional(env: Env, name: string): string | null {
  const value = env[name];
  return value === undefined || value.trim() === '' ? null : value.trim();
}

/** Node's server timeouts: headers first, then the whole request, which must leave time for the headers. */
function httpTimeouts(env: Env): Pick<Config, 'httpHeadersTimeoutMs' | 'httpRequestTimeoutMs'> {
  const httpHeadersTimeoutMs = integer(env, 'HTTP_HEADERS_TIMEOUT_MS', 1_000, 600_000);
  const httpRequestTimeoutMs = integer(env, 'HTTP_REQUEST_TIMEOUT_MS', 1_000, 3_600_000);
  if (httpRequestTimeoutMs < httpHeadersTimeoutMs) {
    throw new ConfigError(
      `HTTP_REQUEST_TIMEOUT_MS (${httpRequestTimeoutMs}) must be at least HTTP_HEADERS_TIMEOUT_MS (${httpHeadersTimeoutMs})`,
    );
  }
  return { httpHeadersTimeoutMs, httpRequestTimeoutMs };
}

/**
 * A pure function from an environment to the service's config; throws ConfigError with a message an operator can
 * act on. Example: `configFromEnv({ PORT: '9000' }).port === 9000`.
 */
export function configFromEnv(env: Env = process.env): Config {
  const dataDir = path.resolve(read(env, 'DATA_DIR'));
  const trustRaw = read(env, 'FAQ_AUTO_APPROVE_TRUST');
  const trust = Number(trustRaw);
  if (!Number.isFinite(trust) || trust < 0 || trust > 1) {
    throw new ConfigError(`FAQ_AUTO_APPROVE_TRUST must be a number from 0 to 1, got "${trustRaw}"`);
  }
  const exportSchedule = read(env, 'EXPORT_SCHEDULE');
  if (!cron.validate(exportSchedule)) {
    throw new ConfigError(`EXPORT_SCHEDULE must be a cron expression such as "0 2 * * *", got "${exportSchedule}"`);
  }
  const logLevel = read(env, 'LOG_LEVEL') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const secret = optional(env, 'PII_HASH_SECRET');
  if (secret !== null && secret.length < 16) {
    throw new ConfigError('PII_HASH_SECRET must be at least 16 characters (or unset, to generate one under DATA_DIR)');
  }
  const databaseUrl = optional(env, 'DATABASE_URL');
  if (databaseUrl !== null && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must be a postgres:// or postgresql:// URL (or unset, for embedded Postgres)');
  }
  const warehouseDir = optional(env, 'WAREHOUSE_DIR');
  const lakeDir = optional(env, 'LAKE_DIR');
  const piiPhoneRegions = read(env, 'PII_PHONE_REGIONS')
    .split(',')
    .map((r) => r.trim().toUpperCase());
  const badRegion = piiPhoneRegions.find((r) => !/^[A-Z]{2}$/.test(r) || !isSupportedCountry(r));
  if (badRegion !== undefined) {
    throw new ConfigError(
      `PII_PHONE_REGIONS must be comma-separated ISO 3166-1 alpha-2 region codes such as "IT,US,GB", got "${badRegion}"`,
    );
  }
  return Object.freeze({
    databaseUrl,
    dataDir,
    port: integer(env, 'PORT', 0, 65535),
    warehouseDir: warehouseDir === null ? path.join(dataDir, 'warehouse') : path.resolve(warehouseDir),
    exportSchedule,
    piiHashSecret: secret,
    faqAutoApproveTrust: trust,
    queryTimeoutMs: integer(env, 'QUERY_TIMEOUT_MS', 100, 3_600_000),
    queryMaxRows: integer(env, 'QUERY_MAX_ROWS', 1, 10_000_000),
    // Within what one V8 string and one IPC message carry comfortably (the JSON answer is built in memory).
    queryMaxBytes: integer(env, 'QUERY_MAX_BYTES', 1024, 256 * 1024 * 1024),
    logLevel,
    poolMax: integer(env, 'PG_POOL_MAX', 1, 1000),
    idleInTransactionTimeoutMs: integer(env, 'PG_IDLE_TX_TIMEOUT_MS', 0, 86_400_000),
    connectTimeoutMs: integer(env, 'PG_CONNECT_TIMEOUT_MS', 100, 600_000),
    statementTimeoutMs: integer(env, 'PG_STATEMENT_TIMEOUT_MS', 0, 86_400_000),
    ...httpTimeouts(env),
    auditRetentionDays: integer(env, 'AUDIT_RETENTION_DAYS', 1, 36_500),
    piiPhoneRegions: Object.freeze(piiPhoneRegions),
    lakeDir: lakeDir === null ? null : path.resolve(lakeDir),
    lakeRetentionMinutes: integer(env, 'LAKE_RETENTION_MINUTES', 0, 525_600),
  });
}
