import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { exportNow } from '../warehouse/export/compare.ts';

// `feedback-warehouse query "SQL"` run as a user would (the real binary): the same sandbox, limits and audit as
// POST /api/v1/query, with the key name `cli`.

let db: TestDatabase;
let dataDir: string;
let env: Record<string, string>;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), 'fw-query-cli-'));
  env = { DATABASE_URL: db.url, DATA_DIR: dataDir, QUERY_MAX_ROWS: '5' };
});
afterAll(async () => {
  await db.drop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('feedback-warehouse query', () => {
  it('says to run an export first when there is no warehouse, on one line, exit 1', async () => {
    const res = await runCli(['query', 'select 1'], env);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(
      /^no warehouse yet: The warehouse has not been exported yet: run `feedback-warehouse export`/,
    );
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('prints an aligned table by default, csv or json for scripts, capped at QUERY_MAX_ROWS or --limit', async () => {
    await db.pool.query(
      `insert into votes (conversation_id, vote, reasons) values ('alpha', 'up', '{}'), ('b', 'down', array['x, y'])`,
    );
    await exportNow(db.pool, path.join(dataDir, 'warehouse'));
    const sql = 'select conversation_id, vote, reasons, id * 100 as score from votes order by id';

    const table = await runCli(['query', sql], env);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      ' conversation_id | vote | reasons  | score',
      '-----------------+------+----------+-------',
      ' alpha           | up   | []       |   100',
      ' b               | down | ["x, y"] |   200',
    ]);
    expect(lines[4]).toMatch(/^\(2 rows, [\d.]+ ms\)$/);

    // --limit lowers the cap; what was cut is said on stderr, so stdout stays valid CSV.
    const csv = await runCli(['query', `${sql} desc`, '--format', 'csv', '--limit', '1'], env);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout).toBe('conversation_id,vote,reasons,score\r\nb,down,"[""x, y""]",200\r\n');
    expect(csv.stderr).toMatch(/^truncated at 1 rows; aggregate, add a LIMIT or raise --limit$/m);

    // QUERY_MAX_ROWS (5 here) caps every query.
    const json = await runCli(['query', 'select range as n, [range] as list from range(100)', '--format', 'json'], env);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      columns: [
        { name: 'n', type: 'BIGINT' },
        { name: 'list', type: 'BIGINT[]' },
      ],
      rows: [0, 1, 2, 3, 4].map((n) => [n, [n]]),
      row_count: 5,
      truncated: true,
    });

    const over = await runCli(['query', 'select 1', '--limit', '6'], env);
    expect(over.code).toBe(2);
    expect(over.stderr).toMatch(/--limit may lower QUERY_MAX_ROWS \(5\), not raise it/);
  });

  it('refuses or reports a failing query on one line of stderr with exit 1', async () => {
    const refused = await runCli(['query', 'delete from votes'], env);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/^query refused: .*(DELETE|read-only)/);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    const failed = await runCli(['query', 'select * from nope'], env);
    expect(failed.code).toBe(1);
    expect(failed.stderr.trim()).toMatch(
      /^query failed: Catalog Error: Table with name nope does not exist! Did you mean/,
    );
    expect(failed.stderr.trim().split('\n')).toHaveLength(1);
    const slow = await runCli(['query', 'select count(*) from range(10000000000)'], {
      ...env,
      QUERY_TIMEOUT_MS: '300',
    });
    expect(slow.code).toBe(1);
    expect(slow.stderr.trim()).toBe('query timed out: The query ran longer than 300 ms and was interrupted.');
  });

  it('audits every query with the key name cli', async () => {
    const { rows } = await db.pool.query(`select api_key_name, source, outcome, sql from query_audit order by id`);
    expect(rows.every((r) => r.api_key_name === 'cli' && r.source === 'cli')).toBe(true);
    expect(rows.map((r) => r.outcome)).toEqual(['not_exported', 'ok', 'ok', 'ok', 'refused', 'error', 'timeout']);
    expect(rows[4].sql).toBe('delete from votes');
  });

  it('says on stderr when QUERY_MAX_BYTES cut the result, and names a function the allow-list refuses', async () => {
    const env3k = { ...env, QUERY_MAX_BYTES: '3000' };
    const cut = await runCli(['query', "select repeat('x', 2000) as v from range(3)", '--format', 'csv'], env3k);
    expect(cut.code, cut.stderr).toBe(0);
    expect(cut.stdout.split('\r\n').filter(Boolean)).toHaveLength(2);
    expect(cut.stderr).toMatch(/^truncated at 1 rows by the byte cap \(QUERY_MAX_BYTES\)/m);
    const json = await runCli(['query', "select repeat('x', 2000) as v from range(3)", '--format', 'json'], env3k);
    expect(JSON.parse(json.stdout)).toMatchObject({ row_count: 1, truncated: true, truncated_reason: 'bytes' });
    const refused = await runCli(['query', "select * from read_text('/etc/hostname')"], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toMatch(
      /^query refused: Permission Error: the table function read_text is not allowed/,
    );
  });
});
