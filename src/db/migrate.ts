import fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import pg from 'pg';

type RunMigration = Awaited<ReturnType<typeof runner>>[number];
import type { Logger } from '../log.ts';

/** Plain SQL migrations, zero-padded, each with `-- Up Migration` and `-- Down Migration` sections. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../sql/migrations', import.meta.url));
export const MIGRATIONS_TABLE = 'fw_migrations';

export type MigrationDirection = 'up' | 'down';

/** The oldest Postgres the schema runs on: xid8 stamps and pg_snapshot functions (the export's watermark) are 13+. */
export const MIN_SERVER_VERSION_NUM = 130000;

/** A clear refusal for a server too old for the schema (null when it is new enough). `server_version_num` form. */
export function serverVersionProblem(versionNum: number, version: string): string | null {
  if (versionNum >= MIN_SERVER_VERSION_NUM) return null;
  return (
    `PostgreSQL ${version} is too old: feedback-warehouse needs PostgreSQL 13 or later ` +
    '(its export watermark uses xid8 and pg_current_snapshot()). Point DATABASE_URL at a newer server.'
  );
}

async function checkServerVersion(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ num: string; version: string }>(
      `select current_setting('server_version_num') as num, current_setting('server_version') as version`,
    );
    const problem = serverVersionProblem(Number(rows[0]!.num), rows[0]!.version);
    if (problem !== null) throw new Error(problem);
  } finally {
    await client.end();
  }
}

/**
 * Applies (up: all pending; down: `count`, default 1) migrations with node-pg-migrate. Each migration runs in its own
 * transaction, and the runner holds a Postgres advisory lock for the whole run, so two `serve` processes starting
 * at once do not race (the second waits, then finds nothing to do).
 */
export async function migrate(
  databaseUrl: string,
  direction: MigrationDirection,
  logger: Logger,
  count?: number,
): Promise<RunMigration[]> {
  await checkServerVersion(databaseUrl);
  return runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    migrationsTable: MIGRATIONS_TABLE,
    direction,
    count: count ?? (direction === 'up' ? Infinity : 1),
    singleTransaction: false,
    checkOrder: true,
    // 'fail' (the library's default) makes the second of two servers starting at once exit with "Another migration
    // is already running"; waiting for the lock lets it find nothing left to do, (docs/decisions/0013).
    advisoryLockMode: 'wait',
    verbose: false,
    log: (message: string) => logger.debug({ migration: message }, 'migrate'),
    logger: {
      debug: (message: string) => logger.debug(message),
      info: (message: string) => logger.debug(message),
      warn: (message: string) => logger.warn(message),
      error: (message: string) => logger.error(message),
    },
  });
}

export interface MigrationStatus {
  readonly name: string;
  readonly appliedAt: Date | null;
}

/** Every migration file with the time it was applied (null: pending). */
export async function migrationStatus(
  query: (sql: string) => Promise<{ rows: unknown[] }>,
): Promise<MigrationStatus[]> {
  const files = (await fs.readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
  let applied = new Map<string, Date>();
  try {
    const { rows } = await query(`select name, run_on from ${MIGRATIONS_TABLE} order by id`);
    applied = new Map((rows as { name: string; run_on: Date }[]).map((r) => [r.name, r.run_on]));
  } catch (error) {
    if ((error as { code?: string }).code !== '42P01') throw error; // undefined_table: nothing applied yet
  }
  return files.map((file) => {
    const name = file.replace(/\.sql$/, '');
    return { name, appliedAt: applied.get(name) ?? null };
  });
}
