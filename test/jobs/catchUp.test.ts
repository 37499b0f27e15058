import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/keys.ts';
import { configFromEnv, type Config } from '../../src/config.ts';
import { serve, type RunningServer } from '../../src/server.ts';
import { runExport } from '../../src/warehouse/export/exporter.ts';
import { publishedPath } from '../../src/warehouse/export/snapshotFiles.ts';
import { rollupsAreCurrent } from '../../src/warehouse/rollups/rollupMaintenance.ts';
import { closeSession, openSession } from '../../src/warehouse/shared/duckdbSession.ts';
import { PII_SECRET } from '../helpers/app.ts';
import { until } from '../warehouse/export/compare.ts';
import { createTestDatabase, quietLogger, type TestDatabase } from '../helpers/db.ts';

// README "Operations": a server started on a published warehouse whose rollups an older version computed exports at
// once, so an upgrade does not leave the rollup endpoints answering 503 until the next scheduled export.

let db: TestDatabase;
let dataDir: string;
let config: Config;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), 'fw-catchup-'));
  config = configFromEnv({
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    PII_HASH_SECRET: PII_SECRET,
    LOG_LEVEL: 'silent',
    EXPORT_SCHEDULE: '0 2 1 1 *', // far from now: only the catch-up can run the export
  });
  await db.pool.query(`insert into votes (conversation_id, vote, metadata) values ('c-1', 'up', '{"app":"a"}')`);
});
afterAll(async () => {
  await db?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

async function withPublished<T>(fn: (conn: Awaited<ReturnType<typeof openSession>>['conn']) => Promise<T>) {
  const session = await openSession(publishedPath(config.warehouseDir), {});
  try {
    return await fn(session.conn);
  } finally {
    closeSession(session);
  }
}

async function startServer(): Promise<RunningServer> {
  return serve(config, quietLogger, { port: 0, jobs: true, announce: () => {} });
}

describe('serve: catching up rollups an older version computed', () => {
  it('exports nothing at start when the warehouse was never exported', async () => {
    const server = await startServer();
    try {
      expect(await server.catchUp).toBeNull();
    } finally {
      await server.close();
    }
  });

  it('exports at start when the published rollups predate this version, and not again once they are current', async () => {
    await runExport(db.pool, config.warehouseDir, quietLogger, { rollupSegments: config.rollupSegments });
    // What an older version's export leaves: another rollup definition, and a rollup table this version added missing.
    await withPublished(async (conn) => {
      await conn.run(`update rollup_state set definitions = 'an older version'`);
      await conn.run(`drop table vote_daily_by_segment`);
    });
    let server = await startServer();
    try {
      const run = await server.catchUp;
      expect(run).toMatchObject({ name: 'export', trigger: 'schedule', status: 'running' });
      await until(async () => {
        const { rows } = await db.pool.query<{ status: string }>('select status from job_runs where id = $1', [
          run!.id,
        ]);
        return rows[0]?.status === 'succeeded';
      }, 'the catch-up export to succeed');
      const { key } = await createApiKey(db.pool, 'catch-up-reader', ['read']);
      const res = await fetch(`${server.url}/api/v1/rollups/votes?segment=app`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(res.status).toBe(200);
      expect((await res.json()).segments).toMatchObject([{ value: 'a', up: 1, down: 0 }]);
    } finally {
      await server.close();
    }
    expect(await withPublished((conn) => rollupsAreCurrent(conn, config.rollupSegments))).toBe(true);
    server = await startServer();
    try {
      expect(await server.catchUp).toBeNull();
    } finally {
      await server.close();
    }
  });
});
