import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../../src/db/pool.ts';
import { copyIntoDuckDB, makeRowPipe, type RowPipe } from '../../../src/warehouse/export/copyStream.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.ts';

let db: TestDatabase;
let dir: string;
let instance: DuckDBInstance;
let conn: DuckDBConnection;

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), 'fw-copy-'));
  instance = await DuckDBInstance.create(':memory:');
  conn = await instance.connect();
  await conn.run('create table t (n BIGINT, s VARCHAR)');
});
afterAll(async () => {
  conn.closeSync();
  instance.closeSync();
  await db.drop();
  await rm(dir, { recursive: true, force: true });
});

const copy = (pipe: RowPipe, sql: string) =>
  withTransaction(db.pool, (client) =>
    copyIntoDuckDB({
      client,
      copySql: `copy (${sql}) to stdout with (format csv)`,
      duck: conn,
      fields: ['n', 's'],
      statement: (source) => `insert into t select cast(n as BIGINT), s from ${source}`,
      pipe,
    }),
  );

const ROWS = `select g, 'row ' || g || E'\\nwith "quotes", commas' from generate_series(1, 20000) g`;

describe('copyIntoDuckDB', () => {
  it('streams rows through a named pipe, and through a spill file where pipes are missing, with the same result', async () => {
    const fifo = await makeRowPipe(dir);
    expect(fifo.kind).toBe('fifo');
    for (const pipe of [fifo, fifo, { path: path.join(dir, 'spill.csv'), kind: 'file' as const }]) {
      await conn.run('delete from t');
      expect(await copy(pipe, ROWS)).toEqual({ rows: 20000, duckRows: 20000 });
      const [row] = (
        await conn.runAndReadAll(`select count(*)::int as n, max(s) filter (where n = 7) as s from t`)
      ).getRowObjects();
      expect(row).toEqual({ n: 20000, s: 'row 7\nwith "quotes", commas' });
    }
  });

  it('fails, and leaves the pool usable, when Postgres fails mid-stream', async () => {
    const pipe = await makeRowPipe(path.join(dir));
    await expect(copy(pipe, `select g, (1 / (g - 15000))::text from generate_series(1, 20000) g`)).rejects.toThrow(
      /division by zero/,
    );
    expect((await db.pool.query('select 1 as ok')).rows[0].ok).toBe(1);
  });

  it('fails, and leaves the pool usable, when DuckDB refuses a value mid-stream', async () => {
    const pipe = await makeRowPipe(path.join(dir));
    await expect(
      copy(pipe, `select case when g = 15000 then 'x' else g::text end, 's' from generate_series(1, 200000) g`),
    ).rejects.toThrow(/convert|INT64|BIGINT/i);
    for (let i = 0; i < 3; i++) expect((await db.pool.query('select 1 as ok')).rows[0].ok).toBe(1);
  });
});
