import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobDefinitions } from '../../jobs/index.ts';
import { pruneAuditJob } from '../../jobs/pruneAudit.ts';
import { JobRunner } from '../../jobs/runner.ts';
import { configFromEnv, ConfigError } from '../../src/config.ts';
import { createTestDatabase, quietLogger, type TestDatabase } from '../helpers/db.ts';
import { fakeClock } from './fixtures.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const NOW = '2031-06-01T00:00:00.000Z';

async function audit(startedAt: string, outcome: 'ok' | 'running', sql: string): Promise<void> {
  await db.pool.query(
    `insert into query_audit (api_key_name, source, sql, max_rows, started_at, duration_ms, row_count, truncated, outcome)
     values ('analyst', 'api', $1::text, 100, $2::timestamptz, $3::float8, $4::int, $5::boolean, $6::text)`,
    outcome === 'ok' ? [sql, startedAt, 5, 1, false, 'ok'] : [sql, startedAt, null, null, null, 'running'],
  );
}

async function jobRun(name: string, startedAt: string, status: 'succeeded' | 'failed' | 'running'): Promise<number> {
  const { rows } = await db.pool.query<{ id: number }>(
    `insert into job_runs (job_name, trigger, status, started_at, finished_at, host, pid)
     values ($1::text, 'schedule', $2::text, $3::timestamptz,
             case when $2::text = 'running' then null else $3::timestamptz + interval '1 minute' end, 'old-host', 1)
     returning id`,
    [name, status, startedAt],
  );
  return rows[0]!.id;
}

describe('prune-audit', () => {
  it('is a daily job the service schedules', () => {
    const job = jobDefinitions(configFromEnv({ DATA_DIR: '/tmp/unused' })).find((j) => j.name === 'prune-audit');
    expect(job?.schedule).toMatch(/^\d+ \d+ \* \* \*$/);
  });

  it('reads AUDIT_RETENTION_DAYS, default 400, and refuses a value that is not a positive number of days', () => {
    expect(configFromEnv({}).auditRetentionDays).toBe(400);
    expect(configFromEnv({ AUDIT_RETENTION_DAYS: '30' }).auditRetentionDays).toBe(30);
    for (const bad of ['0', '-1', '1.5', 'a year'])
      expect(() => configFromEnv({ AUDIT_RETENTION_DAYS: bad })).toThrow(ConfigError);
  });

  it('deletes audit rows and finished job runs older than the retention, by the injected clock, and nothing newer', async () => {
    // Retention 30 days at 2031-06-01: the cutoff is 2031-05-02.
    await audit('2031-04-01T00:00:00Z', 'ok', 'select 1 -- old');
    await audit('2031-04-01T00:00:00Z', 'running', 'select 2 -- old, its process died');
    await audit('2031-05-03T00:00:00Z', 'ok', 'select 3 -- recent');
    const oldExport = await jobRun('export', '2031-04-01T02:00:00Z', 'succeeded');
    const newExport = await jobRun('export', '2031-05-31T02:00:00Z', 'succeeded');
    const stuck = await jobRun('stuck', '2031-03-01T00:00:00Z', 'running');
    const rareOld = await jobRun('rare', '2031-01-01T00:00:00Z', 'failed');
    const rareLatest = await jobRun('rare', '2031-02-01T00:00:00Z', 'succeeded');
    await db.pool.query(
      `insert into export_state (warehouse, watermark, as_of, mode, last_run_id)
       values ('old-host:/w', '1'::xid8, now(), 'full', $1::bigint)`,
      [oldExport],
    );

    const config = configFromEnv({ DATA_DIR: '/tmp/unused', LOG_LEVEL: 'silent', AUDIT_RETENTION_DAYS: '30' });
    const runner = new JobRunner({
      pool: db.pool,
      config,
      logger: quietLogger,
      definitions: [pruneAuditJob],
      clock: fakeClock(NOW),
      advisoryLock: db.real,
    });
    try {
      const run = await runner.run('prune-audit', 'cli');
      expect(run).toMatchObject({ status: 'succeeded', rows: { query_audit: 2, job_runs: 2 } });
      expect(run.detail).toEqual({ cutoff: '2031-05-02T00:00:00.000Z', retention_days: 30 });
      const sqls = (await db.pool.query(`select sql from query_audit order by id`)).rows.map((r) => r.sql);
      expect(sqls).toEqual(['select 3 -- recent']);
      const ids = (await db.pool.query(`select id from job_runs where job_name <> 'prune-audit' order by id`)).rows;
      // The running row stays, and so does each job's latest run however old; the older ones are gone.
      expect(ids.map((r) => Number(r.id))).toEqual([newExport, stuck, rareLatest]);
      expect(ids.map((r) => Number(r.id))).not.toContain(rareOld);
      const state = await db.pool.query(`select last_run_id from export_state where warehouse = 'old-host:/w'`);
      expect(state.rows).toEqual([{ last_run_id: null }]);

      // A second run finds nothing more to delete (and keeps the first run's row: it is recent).
      expect((await runner.run('prune-audit', 'cli')).rows).toEqual({ query_audit: 0, job_runs: 0 });
    } finally {
      await runner.close();
    }
  });

  it('deletes in batches until the backlog is gone', async () => {
    await db.pool.query(
      `insert into query_audit (api_key_name, source, sql, max_rows, started_at, duration_ms, row_count, truncated, outcome)
       select 'analyst', 'cli', 'select ' || i, 10, '2020-01-01'::timestamptz + i * interval '1 second', 1, 0, false, 'ok'
         from generate_series(1, 12000) i`,
    );
    const outcome = await pruneAuditJob.run({
      pool: db.pool,
      config: configFromEnv({ DATA_DIR: '/tmp/unused' }),
      clock: fakeClock(NOW),
      signal: new AbortController().signal,
    } as never);
    expect(outcome.rows).toMatchObject({ query_audit: 12000 });
    expect(
      (await db.pool.query(`select count(*)::int as n from query_audit where started_at < '2021-01-01'`)).rows[0].n,
    ).toBe(0);
  });
});
