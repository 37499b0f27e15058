import type { Pool } from '../src/db/pool.ts';
import type { JobDefinition } from './definition.ts';

/** Rows deleted per statement, so a first prune of a large table never holds locks or a snapshot for long. */
const BATCH = 5_000;

// query_audit: every row older than the cutoff. A row still 'running' that old comes from a process that died
// mid-query (a query is interrupted after QUERY_TIMEOUT_MS, at most an hour, and the retention is at least a day).
// job_runs: never a 'running' row (a job may still hold it), and never a job's latest run, which GET /api/v1/jobs and
// `jobs list` show as its last run however long ago it was.
const PRUNE = {
  query_audit: `with doomed as (
                  select id from query_audit where started_at < $1::timestamptz order by id limit $2::int
                )
                delete from query_audit q using doomed where q.id = doomed.id`,
  job_runs: `with latest as (
               select max(id) as id from job_runs group by job_name
             ), doomed as (
               select id from job_runs
                where started_at < $1::timestamptz and status <> 'running' and id not in (select id from latest)
                order by id limit $2::int
             )
             delete from job_runs j using doomed where j.id = doomed.id`,
} as const;

async function pruneTable(pool: Pool, sql: string, cutoff: Date, signal: AbortSignal): Promise<number> {
  let deleted = 0;
  for (;;) {
    signal.throwIfAborted();
    const { rowCount } = await pool.query(sql, [cutoff, BATCH]);
    deleted += rowCount ?? 0;
    if ((rowCount ?? 0) < BATCH) return deleted;
  }
}

/**
 * Daily: deletes query_audit and job_runs rows older than AUDIT_RETENTION_DAYS (default 400), counted from the
 * job's clock (README "Jobs").
 */
export const pruneAuditJob: JobDefinition = {
  name: 'prune-audit',
  description: 'Delete query audit rows and job runs older than AUDIT_RETENTION_DAYS (never a running or latest run)',
  schedule: '53 3 * * *',
  async run({ pool, config, clock, signal }) {
    const cutoff = new Date(clock.now().getTime() - config.auditRetentionDays * 86_400_000);
    const rows = {
      query_audit: await pruneTable(pool, PRUNE.query_audit, cutoff, signal),
      job_runs: await pruneTable(pool, PRUNE.job_runs, cutoff, signal),
    };
    return { rows, detail: { cutoff: cutoff.toISOString(), retention_days: config.auditRetentionDays } };
  },
};
