import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRun } from '../../jobs/jobRuns.ts';
import { publishedPath } from '../../src/warehouse/export/snapshotFiles.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { runInAnotherProcess } from './fixtures.ts';

let app: TestApp;
let admin: string;
let read: string;
let ingest: string;

beforeAll(async () => {
  app = await startTestApp();
  admin = await app.key('admin');
  read = await app.key('read');
  ingest = await app.key('ingest');
});
afterAll(() => app.close());

/** POST /api/v1/jobs/{name}/run and wait for that run to finish (the runner's event, no sleeps). */
async function runViaApi(name: string, query = ''): Promise<JobRun> {
  const finished = once(app.services.jobs, 'finished') as Promise<[JobRun]>;
  const res = await app.request('POST', `/api/v1/jobs/${name}/run${query}`, { key: admin });
  expect(res.status, res.text).toBe(202);
  const [run] = await finished;
  expect(run.id).toBe(res.json.run.id);
  return run;
}

const warehouseVotes = (conversation: string) =>
  app.services.warehouse.withConnection(async (conn) =>
    Number(
      (
        await conn.runAndReadAll(`select count(*)::int as n from votes where conversation_id = $c`, { c: conversation })
      ).getRowObjects()[0]!.n,
    ),
  );

describe('GET /api/v1/jobs', () => {
  it('needs an admin key', async () => {
    expect((await app.request('GET', '/api/v1/jobs')).status).toBe(401);
    expect((await app.request('GET', '/api/v1/jobs', { key: read })).status).toBe(403);
    expect((await app.request('POST', '/api/v1/jobs/export/run', { key: ingest })).status).toBe(403);
  });

  it('lists the jobs with their UTC schedule and next run', async () => {
    const res = await app.request('GET', '/api/v1/jobs', { key: admin });
    expect(res.status).toBe(200);
    const byName = Object.fromEntries(res.json.jobs.map((j: { name: string }) => [j.name, j]));
    expect(byName.export).toMatchObject({ schedule: '0 2 * * *', schedule_timezone: 'UTC', running: null });
    expect(new Date(byName.export.next_run_at).getUTCHours()).toBe(2);
    expect(byName['prune-idempotency']).toBeDefined();
  });
});

describe('POST /api/v1/jobs/{name}/run', () => {
  it('starts the export (202 with the run and its Location), which is then recorded and published', async () => {
    await app.request('POST', '/api/v1/votes', { key: ingest, body: { conversation_id: 'api-1', vote: 'up' } });
    const finished = once(app.services.jobs, 'finished') as Promise<[JobRun]>;
    const res = await app.request('POST', '/api/v1/jobs/export/run', { key: admin });
    expect(res.status).toBe(202);
    expect(res.json.run).toMatchObject({ name: 'export', status: 'running', trigger: 'api' });
    expect(res.headers.get('location')).toBe(`/api/v1/jobs/export/runs/${res.json.run.id}`);
    await finished;
    const run = await app.request('GET', res.headers.get('location')!, { key: admin });
    expect(run.status).toBe(200);
    expect(run.json).toMatchObject({ status: 'succeeded', detail: { mode: 'full' } });
    expect(run.json.rows.votes).toBe(1);
    expect(await warehouseVotes('api-1')).toBe(1);
    const list = await app.request('GET', '/api/v1/jobs', { key: admin });
    const exportJob = list.json.jobs.find((j: { name: string }) => j.name === 'export');
    expect(exportJob.last_run).toMatchObject({ id: res.json.run.id, status: 'succeeded' });
    expect(list.json.warehouses[0]).toMatchObject({ last_run_id: res.json.run.id, mode: 'full' });
  });

  it('an erased conversation disappears from the warehouse at the next export', async () => {
    for (const vote of ['up', 'down'])
      await app.request('POST', '/api/v1/votes', { key: ingest, body: { conversation_id: 'erase-me', vote } });
    await app.request('POST', '/api/v1/votes', { key: ingest, body: { conversation_id: 'keep-me', vote: 'up' } });
    await runViaApi('export');
    expect(await warehouseVotes('erase-me')).toBe(2);
    expect((await app.request('DELETE', '/api/v1/conversations/erase-me', { key: admin })).status).toBe(204);
    const run = await runViaApi('export');
    expect(run.detail).toMatchObject({ mode: 'incremental', rows_deleted: 2 });
    expect(await warehouseVotes('erase-me')).toBe(0);
    expect(await warehouseVotes('keep-me')).toBe(1);
  });

  it('answers 409 while the job runs in another process on this host, and 404 for an unknown job', async () => {
    // A CLI export beside `serve`: on embedded PGlite its recorded run and live pid are what refuse a second run.
    const other = await runInAnotherProcess(app.db.pool, 'export');
    try {
      const refused = await app.request('POST', '/api/v1/jobs/export/run', { key: admin });
      expect(refused.status).toBe(409);
      expect(refused.json).toMatchObject({ status: 409, run_id: other.runId });
      const list = await app.request('GET', '/api/v1/jobs', { key: admin });
      expect(list.json.jobs.find((j: { name: string }) => j.name === 'export').running).toMatchObject({
        id: other.runId,
        pid: other.pid,
      });
      // Once that process is gone, its run is abandoned and the export starts.
      await other.exit();
      expect((await runViaApi('export')).status).toBe('succeeded');
    } finally {
      await other.exit();
    }
    const run = await app.request('GET', `/api/v1/jobs/export/runs/${other.runId}`, { key: admin });
    expect(run.json).toMatchObject({ status: 'abandoned' });
    expect((await app.request('POST', '/api/v1/jobs/nope/run', { key: admin })).status).toBe(404);
  });

  it('runs prune-idempotency on demand', async () => {
    const run = await runViaApi('prune-idempotency');
    expect(run).toMatchObject({ status: 'succeeded', rows: { idempotency_keys: 0 } });
  });

  it('the export job accepts ?full=true', async () => {
    const run = await runViaApi('export', '?full=true');
    expect(run.detail).toMatchObject({ mode: 'full', reason: 'requested (--full)' });
  });
});

describe('readiness', () => {
  it('is ready with a published warehouse, and 503 naming the warehouse when it cannot be opened', async () => {
    const ok = await app.request('GET', '/readyz');
    expect(ok.status).toBe(200);
    expect(ok.json.checks.warehouse).toBe('ok');
    await writeFile(publishedPath(app.config.warehouseDir), 'not a duckdb file');
    const broken = await app.request('GET', '/readyz');
    expect(broken.status).toBe(503);
    expect(broken.json.detail).toMatch(/warehouse/);
    // The next export publishes a whole new file and readiness comes back.
    await runViaApi('export');
    expect((await app.request('GET', '/readyz')).status).toBe(200);
  });
});
