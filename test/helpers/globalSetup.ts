import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrate } from '../../src/db/migrate.ts';
import { createLogger } from '../../src/log.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A Postgres server URL (any database) when tests run on a real server; null for embedded PGlite. */
    serverUrl: string | null;
    /** The migrated template each test file clones. */
    templateDatabase: string | null;
  }
}

const START_HINT =
  'Postgres is not reachable. Start it with:\n  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n' +
  'or unset TEST_DATABASE_URL and DATABASE_URL to run the tests on embedded PGlite.';

export function databaseUrlFor(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * Tests run on TEST_DATABASE_URL (or DATABASE_URL) when set: a template database is migrated once here and every
 * test file clones it. With neither set they run on embedded PGlite, one in-memory instance per test file.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const serverUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || null;
  if (serverUrl === null) {
    project.provide('serverUrl', null);
    project.provide('templateDatabase', null);
    return async () => {};
  }
  const admin = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5_000 });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(`${START_HINT}\n(${(error as Error).message})`, { cause: error });
  }
  const template = `fw_template_${process.pid}_${Date.now()}`;
  await admin.query(`create database ${template}`);
  try {
    await migrate(databaseUrlFor(serverUrl, template), 'up', createLogger('warn'));
  } catch (error) {
    await admin.query(`drop database if exists ${template}`);
    await admin.end();
    throw error;
  }
  project.provide('serverUrl', serverUrl);
  project.provide('templateDatabase', template);
  return async () => {
    await admin.query(`drop database if exists ${template} with (force)`);
    await admin.end();
  };
}
