import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../../src/db/migrate.ts';
import { createLogger } from '../../src/log.ts';

/** A scratch database on TEST_DATABASE_URL / DATABASE_URL (default: the local server), migrated, dropped after. */
export async function withScratchDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const server =
    process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `fw_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  try {
    await migrate(url.toString(), 'up', createLogger('warn'));
    return await fn(url.toString());
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}
