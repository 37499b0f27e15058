import type { Config } from '../src/config.ts';
import type { Pool } from '../src/db/pool.ts';
import type { Logger } from '../src/log.ts';
import type { ExportProgress } from '../src/warehouse/export/exportTypes.ts';
import type { Clock } from './clock.ts';

/**
 * A job: something the service runs on a schedule (node-cron, UTC) or on demand (`feedback-warehouse jobs run NAME`,
 * POST /api/v1/jobs/{name}/run). The runner (jobs/runner.ts) records each run in Postgres (job_runs), holds the
 * job's advisory lock while it runs and passes it an AbortSignal that fires on shutdown or when the lock is lost.
 */
export interface JobDefinition {
  /** Lowercase, dashes: `export`, `prune-idempotency`. */
  readonly name: string;
  readonly description: string;
  /** A cron expression evaluated in UTC, or null for on-demand only. */
  readonly schedule: string | null;
  run(context: JobContext): Promise<JobOutcome>;
}

export interface JobContext {
  readonly pool: Pool;
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  /** This run's job_runs id. */
  readonly runId: number;
  readonly signal: AbortSignal;
  /** Options of an on-demand run (export: `full`, `parquetDir`). */
  readonly options: Readonly<JobOptions>;
  /** Export progress, for the CLI's terminal display. */
  readonly onProgress?: (progress: ExportProgress) => void;
}

export interface JobOptions {
  readonly full?: boolean;
  readonly parquetDir?: string | null;
}

/** What a run reports; stored in job_runs (rows, lag_seconds, detail). Values must be JSON. */
export interface JobOutcome {
  /** Rows per table. */
  readonly rows?: Readonly<Record<string, number>>;
  readonly lagSeconds?: number | null;
  readonly detail?: Readonly<Record<string, unknown>>;
}
