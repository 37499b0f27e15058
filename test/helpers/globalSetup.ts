import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrate } from '../../src/db/migrate.ts';
import { createLogger } from '../../src/log.ts';
import { LAKE_GLOB, lakeEngineInstalled } from './lakeEngine.ts';
import { PG_ONLY_GLOB, pgOnlyTestFiles } from './pgOnly.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A Postgres server URL (any database) when tests run on a real server; null for embedded PGlite. */
    serverUrl: string | null;
    /** The migrated template each test file clones. */
    templateDatabase: string | null;
    /** Embedded PGlite only: a migrated data directory (dumpDataDir) each test file loads instead of initdb. */
    pgliteDump: string | null;
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
 * PGlite's initdb takes several seconds; loading a data directory takes about one. So one instance is created and
 * migrated here, and every test file starts its own in-memory PGlite from this dump.
 */
async function dumpMigratedPglite(dir: string): Promise<string> {
  const db = await PGlite.create();
  try {
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0 });
    await server.start();
    try {
      await migrate(
        `postgres://postgres@${server.getServerConn()}/postgres?sslmode=disable`,
        'up',
        createLogger('warn'),
      );
    } finally {
      await server.stop();
    }
    const file = path.join(dir, 'migrated.tar');
    await writeFile(file, Buffer.from(await (await db.dumpDataDir('none')).arrayBuffer()));
    return file;
  } finally {
    await db.close();
  }
}

/**
 * Tests run on TEST_DATABASE_URL (or DATABASE_URL) when set: a template database is migrated once here and every
 * test file clones it. With neither set they run on embedded PGlite, one in-memory instance per test file, and the
 * files that need a multi-session server (*.pg.test.ts, excluded in vitest.config.ts) are not run: said once here.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const serverUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || null;
  if (!lakeEngineInstalled()) {
    const lakeTests = (await readdir(path.join(project.config.root, 'test/lake'))).filter((f) =>
      f.endsWith('.test.ts'),
    );
    console.log(
      `chdb is not installed: ${lakeTests.length} lake test files that read the Parquet lake with ClickHouse were not ` +
        `run (${LAKE_GLOB}); install it with npm ci --prefix test/lake --no-audit --no-fund to run them`,
    );
  }
  if (serverUrl === null) {
    const skipped = await pgOnlyTestFiles(path.join(project.config.root, 'test'));
    console.log(
      `embedded PGlite: ${skipped.length} test files that need a multi-session Postgres server were not run ` +
        `(${PG_ONLY_GLOB}); set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run them`,
    );
    const dir = await mkdtemp(path.join(tmpdir(), 'fw-pglite-'));
    try {
      project.provide('pgliteDump', await dumpMigratedPglite(dir));
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    project.provide('serverUrl', null);
    project.provide('templateDatabase', null);
    return () => rm(dir, { recursive: true, force: true });
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
  project.provide('pgliteDump', null);
  return async () => {
    await admin.query(`drop database if exists ${template} with (force)`);
    await admin.end();
  };
}
