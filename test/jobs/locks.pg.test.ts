import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDefinition } from '../../jobs/definition.ts';
import { jobDefinitions } from '../../jobs/index.ts';
import { JobAlreadyRunning, JobRunner } from '../../jobs/runner.ts';
import type { JobRun } from '../../jobs/jobRuns.ts';
import { startScheduler } from '../../jobs/scheduler.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { quietLogger, type TestDatabase } from '../helpers/db.ts';
import { gatedJob, testRunner } from './fixtures.ts';

// Two servers contending for a job's advisory lock, and a transaction holding an export inside its snapshot while
// the API answers: multi-session behaviour, so a real Postgres server only (embedded PGlite is one session; its
// exclusion is tested in runner.test.ts and routes.test.ts).

let app: TestApp;
let db: TestDatabase;
let admin: string;

beforeAll(async () => {
  app = await startTestApp();
  db = app.db;
  admin = await app.key('admin');
});
afterAll(() => app.close());

const runner = (definitions: JobDefinition[]) => testRunner(db, definitions);

describe('JobRunner', () => {
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
});

describe('scheduler', () => {
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

describe('POST /api/v1/jobs/{name}/run', () => {
  it('answers 409 while the job runs, here or on another server, and 404 for an unknown job', async () => {
    // Hold the export inside its snapshot: an exclusive lock on votes blocks its read of the table.
    const blocker = await app.db.pool.connect();
    try {
      await blocker.query('begin');
      await blocker.query('lock table votes in access exclusive mode');
      const started = await app.request('POST', '/api/v1/jobs/export/run', { key: admin });
      expect(started.status).toBe(202);
      const again = await app.request('POST', '/api/v1/jobs/export/run', { key: admin });
      expect(again.status).toBe(409);
      expect(again.json).toMatchObject({ status: 409, run_id: started.json.run.id });
      const otherServer = new JobRunner({
        pool: app.db.pool,
        config: app.config,
        logger: quietLogger,
        definitions: jobDefinitions(app.config),
      });
      await expect(otherServer.start('export', 'schedule')).rejects.toBeInstanceOf(JobAlreadyRunning);
      const list = await app.request('GET', '/api/v1/jobs', { key: admin });
      expect(list.json.jobs.find((j: { name: string }) => j.name === 'export').running).toMatchObject({
        id: started.json.run.id,
      });
      const finished = once(app.services.jobs, 'finished');
      await blocker.query('commit');
      expect(((await finished) as [JobRun])[0].status).toBe('succeeded');
    } finally {
      await blocker.query('rollback').catch(() => {});
      blocker.release();
    }
    expect((await app.request('POST', '/api/v1/jobs/nope/run', { key: admin })).status).toBe(404);
  });
});
