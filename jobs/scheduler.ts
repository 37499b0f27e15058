import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '../src/log.ts';
import { safeErrorMessage } from '../src/warehouse/shared/safeError.ts';
import type { JobRun } from './jobRuns.ts';
import { JobAlreadyRunning, type JobRunner } from './runner.ts';

/** Cron expressions are evaluated in UTC (docs/CONTRACT.md "Configuration": EXPORT_SCHEDULE is UTC). */
export const SCHEDULE_TIMEZONE = 'UTC';

/** The next time a cron expression fires after now (UTC), or null when it cannot be computed. */
export function nextRunOf(expression: string): Date | null {
  const task = cron.createTask(expression, () => {}, { timezone: SCHEDULE_TIMEZONE });
  try {
    return task.getNextRuns(1)[0] ?? null;
  } catch {
    return null;
  } finally {
    void task.destroy();
  }
}

export interface Scheduler {
  stop(): Promise<void>;
}

/**
 * Starts node-cron tasks for every job with a schedule (`serve` without --no-jobs). A tick that finds the job
 * running, here or on another server (the advisory lock), is recorded as 'skipped'; it never queues.
 */
export function startScheduler(runner: JobRunner, logger: Logger): Scheduler {
  const tasks: ScheduledTask[] = [];
  for (const definition of runner.definitions.values()) {
    if (definition.schedule === null) continue;
    const task = cron.schedule(
      definition.schedule,
      async () => {
        try {
          await runner.run(definition.name, 'schedule');
        } catch (error) {
          if (error instanceof JobAlreadyRunning) {
            logger.info({ job: definition.name }, 'scheduled run skipped: already running');
            await runner
              .recordSkipped(definition.name, 'schedule', error.message)
              .catch((e: unknown) => logger.warn({ err: e }, 'could not record a skipped run'));
          } else {
            logger.error({ job: definition.name, error: safeErrorMessage(error) }, 'scheduled run could not start');
          }
        }
      },
      { timezone: SCHEDULE_TIMEZONE, name: `feedback-warehouse:${definition.name}`, noOverlap: true },
    );
    tasks.push(task);
    logger.info(
      { job: definition.name, schedule: definition.schedule, next: nextRunOf(definition.schedule)?.toISOString() },
      'job scheduled',
    );
  }
  return {
    async stop() {
      await Promise.all(tasks.map((task) => task.destroy()));
    },
  };
}

/**
 * At start (`serve` with jobs): a published warehouse whose rollups an older version computed (an upgrade added or
 * changed rollups, or ROLLUP_SEGMENTS changed) would answer the rollup endpoints 503 until the next scheduled export,
 * up to a day away. `stale` says whether that is so (false when the rollups are current or nothing was ever
 * exported); if it is, the export starts now in the background, recorded as a scheduled run. Returns the run started,
 * or null (nothing to catch up, the export already running here or elsewhere, or the check failing: logged, never
 * thrown, so a start is never stopped by it).
 */
export async function catchUpExport(
  runner: JobRunner,
  stale: () => Promise<boolean>,
  logger: Logger,
): Promise<JobRun | null> {
  try {
    if (!runner.definitions.has('export') || !(await stale())) return null;
    const started = await runner.start('export', 'schedule');
    logger.info({ job: 'export', run: started.run.id }, 'the published rollups predate this version: exporting now');
    started.done.catch(() => {}); // recorded in job_runs by the runner
    return started.run;
  } catch (error) {
    if (error instanceof JobAlreadyRunning) return null;
    logger.warn({ error: safeErrorMessage(error) }, 'could not check whether the published rollups are current');
    return null;
  }
}
