import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../jobs/clock.ts';
import type { JobDefinition } from '../../jobs/definition.ts';
import { JobAlreadyRunning, JobRunner, UnknownJob } from '../../jobs/runner.ts';
import type { JobRun } from '../../jobs/runs.ts';
import { startScheduler } from '../../jobs/scheduler.ts';
import { configFromEnv } from '../../src/config.ts';
import { createTestDatabase, quietLogger, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const config = configFromEnv({ DATA_DIR: '/tmp/fw-jobs-test-unused', LOG_LEVEL: 'silent' });

/** A job that runs until the test opens its gate (or its signal aborts it). */
function gatedJob(
  name: string,
  schedule: string | null = null,
): JobDefinition & { open(): void; entered: Promise<void> } {
  let open!: () => void;
  let entered!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const enteredPromise = new Promise<void>((resolve) => (entered = resolve));
  return {
    name,
    description: 'waits for the test',
    schedule,
    open: () => open(),
    entered: enteredPromise,
    async run({ signal }) {
      entered();
      await Promise.race([
        gate,
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
        ),
      ]);
      return { rows: { things: 3 }, lagSeconds: 1.5, detail: { note: 'done' } };
    },
  };
}

function fakeClock(start: string): Clock & { set(iso: string): void } {
  let now = new Date(start);
  return { now: () => new Date(now), set: (iso) => (now = new Date(iso)) };
}

const runner = (definitions: JobDefinition[], clock?: Clock) =>
  new JobRunner({ pool: db.pool, config, logger: quietLogger, definitions, clock });

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

  it('two servers never run the same job at once: the second finds the advisory lock taken and records a skip', async () => {
    const job = gatedJob('shared');
    const serverA = runner([job]);
    const serverB = runner([gatedJob('shared')]);
    const a = await serverA.start('shared', 'schedule');
    const refused = await serverB.start('shared', 'schedule').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(JobAlreadyRunning);
    expect((refused as JobAlreadyRunning).run?.id).toBe(a.run.id);
    const skipped = await serverB.recordSkipped('shared', 'schedule', (refused as Error).message);
    expect(skipped).toMatchObject({ status: 'skipped', error: expect.stringMatching(/already running/) });
    job.open();
    await a.done;
    // Once the first run is over, the other server may run it.
    const later = gatedJob('shared');
    const serverC = runner([later]);
    const c = await serverC.start('shared', 'schedule');
    later.open();
    expect((await c.done).status).toBe('succeeded');
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

  it('a tick that finds the job running on another server is recorded as skipped', async () => {
    const busy = gatedJob('contended');
    const elsewhere = runner([busy]);
    const running = await elsewhere.start('contended', 'api');
    const jobs = runner([gatedJob('contended', '* * * * * *')]);
    const scheduler = startScheduler(jobs, quietLogger);
    try {
      const [skipped] = (await once(jobs, 'skipped')) as [JobRun];
      expect(skipped).toMatchObject({ name: 'contended', trigger: 'schedule', status: 'skipped' });
    } finally {
      await scheduler.stop();
      busy.open();
      await running.done;
      await jobs.close();
    }
  });
});
