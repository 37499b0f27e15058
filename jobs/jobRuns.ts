import type { Pool, PoolClient } from '../src/db/pool.ts';

export type JobTrigger = 'schedule' | 'api' | 'cli';
export type JobStatus = 'running' | 'succeeded' | 'failed' | 'skipped' | 'abandoned';

/** One row of job_runs (sql/migrations/0003_jobs.sql). */
export interface JobRun {
  readonly id: number;
  readonly name: string;
  readonly trigger: JobTrigger;
  readonly status: JobStatus;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
  readonly rows: Readonly<Record<string, number>>;
  readonly lagSeconds: number | null;
  readonly error: string | null;
  readonly detail: Readonly<Record<string, unknown>>;
  readonly host: string;
  readonly pid: number;
}

interface Row {
  id: number;
  job_name: string;
  trigger: JobTrigger;
  status: JobStatus;
  started_at: Date;
  finished_at: Date | null;
  rows: Record<string, number>;
  lag_seconds: number | null;
  error: string | null;
  detail: Record<string, unknown>;
  host: string;
  pid: number;
}

const COLUMNS = 'id, job_name, trigger, status, started_at, finished_at, rows, lag_seconds, error, detail, host, pid';

function toRun(r: Row): JobRun {
  return {
    id: r.id,
    name: r.job_name,
    trigger: r.trigger,
    status: r.status,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    rows: r.rows,
    lagSeconds: r.lag_seconds,
    error: r.error,
    detail: r.detail,
    host: r.host,
    pid: r.pid,
  };
}

/** The run as the API and the CLI show it (snake_case, ISO times). */
export function runJson(run: JobRun): Record<string, unknown> {
  return {
    id: run.id,
    name: run.name,
    trigger: run.trigger,
    status: run.status,
    started_at: run.startedAt.toISOString(),
    finished_at: run.finishedAt?.toISOString() ?? null,
    duration_ms: run.finishedAt ? run.finishedAt.getTime() - run.startedAt.getTime() : null,
    rows: run.rows,
    lag_seconds: run.lagSeconds,
    error: run.error,
    detail: run.detail,
    host: run.host,
    pid: run.pid,
  };
}

export async function runningRuns(db: Pool | PoolClient, name: string): Promise<JobRun[]> {
  const { rows } = await db.query<Row>(
    `select ${COLUMNS} from job_runs where job_name = $1::text and status = 'running'`,
    [name],
  );
  return rows.map(toRun);
}

export async function markAbandoned(db: Pool | PoolClient, ids: readonly number[], at: Date): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `update job_runs set status = 'abandoned', finished_at = greatest($2::timestamptz, started_at),
            error = 'the process running it stopped before it finished'
      where id = any ($1::bigint[]) and status = 'running'`,
    [ids, at],
  );
}

export async function insertRun(
  db: Pool | PoolClient,
  run: {
    name: string;
    trigger: JobTrigger;
    status: 'running' | 'skipped';
    startedAt: Date;
    host: string;
    pid: number;
    error?: string | null;
  },
): Promise<JobRun> {
  const { rows } = await db.query<Row>(
    `insert into job_runs (job_name, trigger, status, started_at, finished_at, error, host, pid)
     values ($1::text, $2::text, $3::text, $4::timestamptz, case when $3::text = 'running' then null else $4::timestamptz end,
             $5::text, $6::text, $7::int)
     returning ${COLUMNS}`,
    [run.name, run.trigger, run.status, run.startedAt, run.error ?? null, run.host, run.pid],
  );
  return toRun(rows[0]!);
}

export async function finishRun(
  db: Pool | PoolClient,
  id: number,
  outcome: {
    status: 'succeeded' | 'failed';
    finishedAt: Date;
    rows: Record<string, number>;
    lagSeconds: number | null;
    error: string | null;
    detail: Record<string, unknown>;
  },
): Promise<JobRun> {
  const { rows } = await db.query<Row>(
    `update job_runs
        set status = $2::text, finished_at = greatest($3::timestamptz, started_at), rows = $4::jsonb, lag_seconds = $5::float8,
            error = $6::text, detail = $7::jsonb
      where id = $1::bigint
      returning ${COLUMNS}`,
    [
      id,
      outcome.status,
      outcome.finishedAt,
      JSON.stringify(outcome.rows),
      outcome.lagSeconds,
      outcome.error,
      JSON.stringify(outcome.detail),
    ],
  );
  return toRun(rows[0]!);
}

export async function getRun(db: Pool, name: string, id: number): Promise<JobRun | null> {
  const { rows } = await db.query<Row>(
    `select ${COLUMNS} from job_runs where id = $1::bigint and job_name = $2::text`,
    [id, name],
  );
  return rows[0] ? toRun(rows[0]) : null;
}

/** The latest run of each job. */
export async function latestRuns(db: Pool): Promise<Map<string, JobRun>> {
  const { rows } = await db.query<Row>(
    `select distinct on (job_name) ${COLUMNS} from job_runs order by job_name, started_at desc, id desc`,
  );
  return new Map(rows.map((r) => [r.job_name, toRun(r)]));
}

/** The most recent runs, newest first (optionally of one job). */
export async function recentRuns(db: Pool, limit: number, name?: string): Promise<JobRun[]> {
  const { rows } = await db.query<Row>(
    `select ${COLUMNS} from job_runs where ($2::text is null or job_name = $2::text) order by started_at desc, id desc limit $1::int`,
    [limit, name ?? null],
  );
  return rows.map(toRun);
}
