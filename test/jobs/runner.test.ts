import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../jobs/clock.ts';
import type { JobDefinition } from '../../jobs/definition.ts';
import { JobAlreadyRunning, UnknownJob } from '../../jobs/runner.ts';
import type { JobRun } from '../../jobs/jobRuns.ts';
import { startScheduler } from '../../jobs/scheduler.ts';
import { createTestDatabase, quietLogger, type TestDatabase } from '../helpers/db.ts';
import { fakeClock, gatedJob, runInAnotherProcess, testRunner } from './fixtures.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const runner = (definitions: JobDefinition[], clock?: Clock) => testRunner(db, definitions, clock);

describe('JobRunner', () => {
  it('records each run in Postgres with the injected clock: started, finished, status, rows, lag', async () => {
    const clock = fakeClock('2030-01-02T03:04:05.000Z');
    const job = gatedJob('recorded');
    const jobs = runner([job], clock);
    const { run, done } = await jobs.start('recorded', 'cli');
    expect(run).toMatchObject({
      name: 'recorded',
      status: 'running',
      trigger: 'cli',
      startedAt: new Date('2030-01-02T03:04:05.000Z'),
    });
    const { rows: running } = await db.pool.query(`select status, finished_at from job_runs where id = $1`, [run.id]);
    expect(running[0]).toEqual({ status: 'running', finished_at: null });
    clock.set('2030-01-02T03:05:00.000Z');
    job.open();
    const finished = await done;
    expect(finished).toMatchObject({
      status: 'succeeded',
      rows: { things: 3 },
      lagSeconds: 1.5,
      detail: { note: 'done' },
    });
    const { rows } = await db.pool.query(
      `select status, started_at, finished_at, rows, lag_seconds, error from job_runs where id = $1`,
      [run.id],
    );
    expect(rows[0]).toEqual({
      status: 'succeeded',
      started_at: new Date('2030-01-02T03:04:05.000Z'),
      finished_at: new Date('2030-01-02T03:05:00.000Z'),
      rows: { things: 3 },
      lag_seconds: 1.5,
      error: null,
    });
  });

  it('does not start a job that is running here, nor an unknown one', async () => {
    const job = gatedJob('single');
    const jobs = runner([job]);
    const first = await jobs.start('single', 'api');
    await expect(jobs.start('single', 'api')).rejects.toBeInstanceOf(JobAlreadyRunning);
    await expect(jobs.start('nope', 'api')).rejects.toBeInstanceOf(UnknownJob);
    job.open();
    expect((await first.done).status).toBe('succeeded');
  });

  it('does not start a job another live process on this host is running, and runs it once that process is gone', async () => {
    // Embedded PGlite has no advisory lock that excludes anybody: the run that process recorded does.
    const other = await runInAnotherProcess(db.pool, 'elsewhere');
    try {
      const jobs = runner([gatedJob('elsewhere')]);
      const refused = await jobs.start('elsewhere', 'schedule').catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(JobAlreadyRunning);
      expect((refused as JobAlreadyRunning).run).toMatchObject({ id: other.runId, pid: other.pid });
      const skipped = await jobs.recordSkipped('elsewhere', 'schedule', (refused as Error).message);
      expect(skipped).toMatchObject({ status: 'skipped', error: expect.stringMatching(/already running/) });
      await other.exit();
      const later = gatedJob('elsewhere');
      const { done } = await runner([later]).start('elsewhere', 'schedule');
      later.open();
      expect((await done).status).toBe('succeeded');
    } finally {
      await other.exit();
    }
    const { rows } = await db.pool.query(`select status from job_runs where id = $1`, [other.runId]);
    expect(rows[0].status).toBe('abandoned');
  });

  it('records a failure with a message stripped of row values', async () => {
    const jobs = runner([
      {
        name: 'boom',
        description: 'fails',
        schedule: null,
        async run() {
          throw new Error(
            `Conversion Error: Could not convert string 'mario.rossi@example.it' to INT32\nLINE 1: the whole row`,
          );
        },
      },
    ]);
    const run = await jobs.run('boom', 'cli');
    expect(run.status).toBe('failed');
    expect(run.error).toBe(`Conversion Error: Could not convert string '…' to INT32`);
    const { rows } = await db.pool.query(`select error from job_runs where id = $1`, [run.id]);
    expect(rows[0].error).not.toContain('mario');
  });

  it('marks a run left "running" by a process that died as abandoned, then runs', async () => {
    const { rows } = await db.pool.query(
      `insert into job_runs (job_name, trigger, status, started_at, host, pid) values ('orphan', 'schedule', 'running', now(), 'gone-host', 4242) returning id`,
    );
    const job = gatedJob('orphan');
    const jobs = runner([job]);
    const { done } = await jobs.start('orphan', 'cli');
    job.open();
    expect((await done).status).toBe('succeeded');
    const { rows: old } = await db.pool.query(
      `select status, finished_at is not null as finished from job_runs where id = $1`,
      [rows[0].id],
    );
    expect(old[0]).toEqual({ status: 'abandoned', finished: true });
  });

  it('close() stops a running job and records it as failed', async () => {
    const job = gatedJob('stoppable');
    const jobs = runner([job]);
    const { done } = await jobs.start('stoppable', 'cli');
    await job.entered;
    await jobs.close();
    const run = await done;
    expect(run).toMatchObject({ status: 'failed', error: expect.stringMatching(/shutting down/) });
    await expect(jobs.start('stoppable', 'cli')).rejects.toThrow(/shutting down/);
  });
});

describe('scheduler', () => {
  it('runs a job on its cron schedule (UTC) and records the trigger', async () => {
    const job: JobDefinition = {
      name: 'ticker',
      description: 'every second',
      schedule: '* * * * * *',
      run: async () => ({ rows: { ticks: 1 } }),
    };
    const jobs = runner([job]);
    const scheduler = startScheduler(jobs, quietLogger);
    try {
      const [run] = (await once(jobs, 'finished')) as [JobRun];
      expect(run).toMatchObject({ name: 'ticker', trigger: 'schedule', status: 'succeeded', rows: { ticks: 1 } });
    } finally {
      await scheduler.stop();
      await jobs.close();
    }
  });

  it('a tick that finds the job running in another process on this host is recorded as skipped', async () => {
    const other = await runInAnotherProcess(db.pool, 'contended-here');
    const jobs = runner([gatedJob('contended-here', '* * * * * *')]);
    const scheduler = startScheduler(jobs, quietLogger);
    try {
      const [skipped] = (await once(jobs, 'skipped')) as [JobRun];
      expect(skipped).toMatchObject({ name: 'contended-here', trigger: 'schedule', status: 'skipped' });
      expect(skipped.error).toContain(`run ${other.runId} `);
    } finally {
      await scheduler.stop();
      await other.exit();
      await jobs.close();
    }
  });
});
