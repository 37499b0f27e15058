import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
import { inject } from 'vitest';
import { migrate } from '../../src/db/migrate.ts';
import { createPool, type Pool } from '../../src/db/pool.ts';
import { createLogger } from '../../src/log.ts';
import { databaseUrlFor } from './globalSetup.ts';

export interface TestDatabase {
  readonly url: string;
  readonly pool: Pool;
  /** Real Postgres (false: embedded PGlite). */
  readonly real: boolean;
  drop(): Promise<void>;
}

export const quietLogger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

/** A fresh database for one test file: a clone of the migrated template, or an in-memory PGlite. */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const serverUrl = inject('serverUrl');
  const template = inject('templateDatabase');
  if (serverUrl !== null && template !== null) {
    const name = `fw_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    try {
      await admin.query(
        options.migrated === false ? `create database ${name}` : `create database ${name} template ${template}`,
      );
    } finally {
      await admin.end();
    }
    const url = databaseUrlFor(serverUrl, name);
    const pool = createPool({
      connectionString: url,
      max: 20,
      idleInTransactionTimeoutMs: 60_000,
      logger: quietLogger,
    });
    return {
      url,
      pool,
      real: true,
      async drop() {
        await pool.end();
        const client = new pg.Client({ connectionString: serverUrl });
        await client.connect();
        try {
          await client.query(`drop database if exists ${name} with (force)`);
        } finally {
          await client.end();
        }
      },
    };
  }
  // Migrated: loaded from the data directory globalSetup migrated once (no initdb, no migrations here).
  const dump = options.migrated === false ? null : inject('pgliteDump');
  const db = await PGlite.create(dump ? { loadDataDir: new Blob([await readFile(dump)]) } : {});
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 64 });
  await server.start();
  const url = `postgres://postgres@${server.getServerConn()}/postgres?sslmode=disable`;
  if (!dump && options.migrated !== false) await migrate(url, 'up', quietLogger);
  const pool = createPool({ connectionString: url, max: 8, idleInTransactionTimeoutMs: 60_000, logger: quietLogger });
  return {
    url,
    pool,
    real: false,
    async drop() {
      await pool.end();
      await server.stop();
      await db.close();
    },
  };
}
