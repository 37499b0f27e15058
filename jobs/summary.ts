import type { Pool } from '../src/db/pool.ts';
import { readExportStates } from '../src/warehouse/export/exportState.ts';
import type { JobRunner } from './runner.ts';
import { latestRuns, recentRuns, runJson, runningRuns } from './jobRuns.ts';
import { nextRunOf } from './scheduler.ts';

/** What `jobs list` and GET /api/v1/jobs show: every job with its schedule, the run in progress and the last run. */
export async function jobsOverview(runner: JobRunner, pool: Pool, recent = 20): Promise<Record<string, unknown>> {
  const latest = await latestRuns(pool);
  const jobs = await Promise.all(
    [...runner.definitions.values()].map(async (job) => {
      const running = (await runningRuns(pool, job.name))[0] ?? null;
      const last = latest.get(job.name) ?? null;
      return {
        name: job.name,
        description: job.description,
        schedule: job.schedule,
        schedule_timezone: 'UTC',
        next_run_at: job.schedule ? (nextRunOf(job.schedule)?.toISOString() ?? null) : null,
        running: running ? runJson(running) : null,
        last_run: last ? runJson(last) : null,
      };
    }),
  );
  const warehouses = (await readExportStates(pool)).map((w) => ({
    warehouse: w.warehouse,
    as_of: w.asOf.toISOString(),
    watermark: w.watermark,
    mode: w.mode,
    system_identifier: w.systemIdentifier,
    last_run_id: w.lastRunId,
    updated_at: w.updatedAt.toISOString(),
  }));
  return { jobs, warehouses, recent_runs: (await recentRuns(pool, recent)).map(runJson) };
}
