import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startServe } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { until } from '../warehouse/export/compare.ts';

let db: TestDatabase;
let dataDir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), 'fw-jobs-cli-'));
});
afterAll(async () => {
  await db.drop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('feedback-warehouse export / jobs', () => {
  it('export prints a summary on stdout; the next run is incremental; --full --parquet rebuilds and keeps the Parquet lake', async () => {
    const env = { DATABASE_URL: db.url, DATA_DIR: dataDir };
    await db.pool.query(
      `insert into votes (conversation_id, vote) select 'cli-' || g, 'up' from generate_series(1, 25) g`,
    );
    const first = await runCli(['export'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^export run \d+: full \(first export\), as of \S+, watermark \d+$/m);
    expect(first.stdout).toMatch(/^votes\s+full\s+25\s+0\s+25$/m);
    expect(first.stdout).toMatch(/published .*warehouse\.duckdb/);
    await db.pool.query(`insert into votes (conversation_id, vote) values ('cli-new', 'down')`);
    const second = await runCli(['export'], env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^votes\s+incremental\s+\d+\s+0\s+26$/m);
    const lake = path.join(dataDir, 'lake');
    const full = await runCli(['export', '--full', '--parquet', lake], env);
    expect(full.code, full.stderr).toBe(0);
    expect(full.stdout).toMatch(/: full \(requested \(--full\)\)/);
    expect(await readdir(path.join(lake, 'votes'))).toEqual([expect.stringMatching(/^day=\d{4}-\d{2}-\d{2}$/)]);
    expect(await readdir(lake)).toContain('_manifest.json');
    expect(full.stdout).toMatch(
      /^lake: \d+ partitions rewritten, \d+ files \([\d,]+ bytes\) written, \d+ deleted; [\d,]+ bytes listed$/m,
    );
  });

  it('jobs list shows every job, its schedule and last run; jobs run runs one by name', async () => {
    const env = { DATABASE_URL: db.url, DATA_DIR: dataDir };
    const pruned = await runCli(['jobs', 'run', 'prune-idempotency'], env);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toMatch(/prune-idempotency run \d+ succeeded/);
    const list = await runCli(['jobs', 'list'], env);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^export\s+schedule 0 2 \* \* \*\s+next \S+T02:00:00\.000Z\s+last succeeded/m);
    expect(list.stdout).toMatch(/^prune-idempotency\s+schedule 17 \* \* \* \*/m);
    expect(list.stdout).toMatch(/^prune-tombstones\s+schedule 41 3 \* \* \*/m);
    expect(list.stdout).toMatch(/^prune-audit\s+schedule 53 3 \* \* \*/m);
    const json = await runCli(['jobs', 'list', '--json'], env);
    const parsed = JSON.parse(json.stdout) as { jobs: { name: string; last_run: { trigger: string } | null }[] };
    expect(parsed.jobs.find((j) => j.name === 'export')!.last_run).toMatchObject({ trigger: 'cli' });
    const unknown = await runCli(['jobs', 'run', 'nope'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /no job named "nope"; jobs: export, prune-idempotency, prune-tombstones, prune-audit/,
    );
  });

  it('two servers on one schedule never export at the same time: one runs, the other records a skip', async () => {
    // Two "machines": their own DATA_DIR (so their own warehouse), one Postgres, an export every second.
    const dirs = [await mkdtemp(path.join(tmpdir(), 'fw-a-')), await mkdtemp(path.join(tmpdir(), 'fw-b-'))];
    const servers = await Promise.all(
      dirs.map((dir) =>
        startServe(['--port', '0'], { DATABASE_URL: db.url, DATA_DIR: dir, EXPORT_SCHEDULE: '* * * * * *' }),
      ),
    );
    try {
      await until(
        async () => {
          const { rows } = await db.pool.query(
            `select count(*) filter (where status = 'succeeded')::int as ok, count(*) filter (where status = 'skipped')::int as skipped
               from job_runs where job_name = 'export' and trigger = 'schedule'`,
          );
          return rows[0].ok >= 2 && rows[0].skipped >= 1;
        },
        'scheduled exports on both servers',
        20_000,
      );
    } finally {
      for (const server of servers) server.child.kill('SIGTERM');
      for (const server of servers) expect(await server.exited).toBe(0);
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    }
    const { rows } = await db.pool.query(
      `select count(*)::int as overlapping from job_runs a join job_runs b on a.id < b.id
        where a.job_name = 'export' and b.job_name = 'export' and a.status = 'succeeded' and b.status = 'succeeded'
          and tstzrange(a.started_at, a.finished_at) && tstzrange(b.started_at, b.finished_at)`,
    );
    expect(rows[0].overlapping).toBe(0);
  });

  it('export works from a shell while serve runs on embedded Postgres (PGlite)', async () => {
    const home = await mkdtemp(path.join(tmpdir(), 'fw-embedded-export-'));
    const server = await startServe(['--port', '0', '--no-jobs'], { DATA_DIR: home });
    try {
      const adminKey = /admin API key[^\n]*\n(fw_\S+)/.exec(server.output())![1]!;
      const vote = await fetch(`${server.url}/api/v1/votes`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ conversation_id: 'embedded', vote: 'up', reasons: ['a, b'] }),
      });
      expect(vote.status).toBe(201);
      const exported = await runCli(['export'], { DATA_DIR: home });
      expect(exported.code, exported.stderr).toBe(0);
      expect(exported.stdout).toMatch(/^votes\s+full\s+1\s+0\s+1$/m);
      const jobs = await fetch(`${server.url}/api/v1/jobs`, { headers: { authorization: `Bearer ${adminKey}` } });
      const body = (await jobs.json()) as { jobs: { name: string; last_run: { status: string; trigger: string } }[] };
      expect(body.jobs.find((j) => j.name === 'export')!.last_run).toMatchObject({
        status: 'succeeded',
        trigger: 'cli',
      });
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    } finally {
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      await rm(home, { recursive: true, force: true });
    }
  });
});
