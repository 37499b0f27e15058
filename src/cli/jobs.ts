import { InvalidArgumentError, type Command } from 'commander';
import type { JobRun } from '../../jobs/jobRuns.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/open.ts';
import type { Logger } from '../log.ts';
import type { ExportProgress } from '../warehouse/export/exportTypes.ts';
import { withMigratedDatabase } from './context.ts';

/** EX_TEMPFAIL (sysexits.h): the job is running elsewhere; try again later. */
const EXIT_ALREADY_RUNNING = 75;

const number = (n: number) => n.toLocaleString('en-US');

/** A live line on stderr while rows stream (only on a terminal): table, rows so far, rows per second. */
function progressLine(stream: NodeJS.WriteStream): (progress: ExportProgress) => void {
  return (p) => {
    if (p.phase === 'done') {
      stream.write(`\r\x1b[K  ${p.table.padEnd(24)} ${number(p.rows).padStart(12)} rows copied\n`);
      return;
    }
    const rate = p.elapsedMs > 0 ? Math.round((p.rows * 1000) / p.elapsedMs) : 0;
    const what = p.phase === 'deletes' ? 'deleted ids' : 'rows';
    stream.write(
      `\r\x1b[K  ${p.table.padEnd(24)} ${number(p.rows).padStart(12)} ${what}  ${number(rate).padStart(10)} rows/s`,
    );
  };
}

/** The human summary of an export run, on stdout. */
function printExportSummary(run: JobRun, out: NodeJS.WritableStream): void {
  const d = run.detail as {
    mode?: string;
    reason?: string | null;
    as_of?: string;
    watermark?: string;
    rows_changed?: number;
    rows_deleted?: number;
    duration_ms?: number;
    rollup_ms?: number;
    tables?: { table: string; mode: string; changed: number; deleted: number; rows: number }[];
    published?: string;
    parquet_dir?: string | null;
    lake?: {
      files_written: number;
      bytes_written: number;
      partitions_rewritten: number;
      files_deleted: number;
      lake_bytes: number;
    } | null;
  };
  const lines = [
    `export run ${run.id}: ${d.mode}${d.reason ? ` (${d.reason})` : ''}, as of ${d.as_of}, watermark ${d.watermark}`,
    `${'table'.padEnd(24)} ${'mode'.padEnd(12)} ${'changed'.padStart(12)} ${'deleted'.padStart(10)} ${'rows'.padStart(12)}`,
    ...(d.tables ?? []).map(
      (t) =>
        `${t.table.padEnd(24)} ${t.mode.padEnd(12)} ${number(t.changed).padStart(12)} ${number(t.deleted).padStart(10)} ${number(t.rows).padStart(12)}`,
    ),
  ];
  const seconds = (d.duration_ms ?? 0) / 1000;
  const rate = seconds > 0 ? Math.round((d.rows_changed ?? 0) / seconds) : 0;
  lines.push(
    `total: ${number(d.rows_changed ?? 0)} rows copied, ${number(d.rows_deleted ?? 0)} deleted in ${seconds.toFixed(2)} s (${number(rate)} rows/s; rollups ${((d.rollup_ms ?? 0) / 1000).toFixed(2)} s)`,
    `published ${d.published}`,
  );
  if (d.parquet_dir) lines.push(`lake ${d.parquet_dir}`);
  if (d.lake)
    lines.push(
      `lake: ${number(d.lake.partitions_rewritten)} partitions rewritten, ${number(d.lake.files_written)} files (${number(d.lake.bytes_written)} bytes) written, ${number(d.lake.files_deleted)} deleted; ${number(d.lake.lake_bytes)} bytes listed`,
    );
  if (run.lagSeconds !== null) lines.push(`lag: the oldest open transaction was ${run.lagSeconds.toFixed(1)} s old`);
  out.write(`${lines.join('\n')}\n`);
}

/** A JobRunner over the jobs' pool with every job definition, as the server builds it (src/server.ts). */
async function jobRunner(database: Database, config: Config, logger: Logger) {
  const [{ jobDefinitions }, { JobRunner }] = await Promise.all([
    import('../../jobs/index.ts'),
    import('../../jobs/runner.ts'),
  ]);
  return new JobRunner({
    pool: database.jobPool,
    config,
    logger,
    definitions: jobDefinitions(config),
    advisoryLock: !database.embedded,
  });
}

/**
 * Opens the database (migrated), runs one job through a JobRunner so the run is recorded like a scheduled one, and
 * maps the outcome to an exit code: 0 succeeded, 1 failed, 75 already running, 2 unknown job.
 */
function runJobCommand(name: string, options: { full?: boolean; parquetDir?: string | null }): Promise<void> {
  return withMigratedDatabase(name, async (database, { config, logger }) => {
    const { JobAlreadyRunning, UnknownJob } = await import('../../jobs/runner.ts');
    const runner = await jobRunner(database, config, logger);
    const interrupt = () => {
      process.stderr.write('\ninterrupted: stopping the job (the published warehouse stays as it was)\n');
      void runner.close();
    };
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    try {
      const tty = process.stderr.isTTY === true;
      let run: JobRun;
      try {
        run = await runner.run(name, 'cli', options, { onProgress: tty ? progressLine(process.stderr) : undefined });
      } catch (error) {
        if (error instanceof JobAlreadyRunning) {
          process.stderr.write(`${error.message}; not starting another\n`);
          process.exitCode = EXIT_ALREADY_RUNNING;
          return;
        }
        if (error instanceof UnknownJob) {
          process.stderr.write(`${error.message}; jobs: ${[...runner.definitions.keys()].join(', ')}\n`);
          process.exitCode = 2;
          return;
        }
        throw error;
      }
      if (run.status !== 'succeeded') {
        process.stderr.write(`${name} run ${run.id} ${run.status}: ${run.error ?? 'unknown error'}\n`);
        process.exitCode = 1;
        return;
      }
      if (name === 'export') printExportSummary(run, process.stdout);
      else process.stdout.write(`${name} run ${run.id} succeeded; rows: ${JSON.stringify(run.rows)}\n`);
    } finally {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
      await runner.close();
    }
  });
}

function formatRun(run: Record<string, unknown> | null): string {
  if (!run) return 'never';
  const duration = run.duration_ms === null ? '' : ` in ${((run.duration_ms as number) / 1000).toFixed(1)} s`;
  return `${run.status as string} ${run.started_at as string}${duration}`;
}

/** `export`, `jobs list`, `jobs run NAME` (docs/CONTRACT.md "CLI"). */
export function jobsCommands(program: Command): void {
  program
    .command('export')
    .description('Export Postgres into the DuckDB warehouse (incremental unless --full), recompute rollups, publish')
    .option('--full', 'rebuild every table instead of copying what changed since the last export')
    .option(
      '--parquet <dir>',
      'also keep the Parquet lake in DIR (partitioned by UTC day, with DIR/_manifest.json)',
      (v) => {
        if (v.trim() === '') throw new InvalidArgumentError('a directory is required');
        return v;
      },
    )
    .action((options: { full?: boolean; parquet?: string }) =>
      runJobCommand('export', {
        full: options.full === true,
        parquetDir: options.parquet ?? null,
      }),
    );

  const jobs = program.command('jobs').description('List and run the scheduled jobs');
  jobs
    .command('list')
    .description('Every job with its schedule (UTC), next run, the run in progress and the last run')
    .option('--json', 'print the same document as GET /api/v1/jobs')
    .action((options: { json?: boolean }) =>
      withMigratedDatabase('jobs', async (database, { config, logger }) => {
        const { jobsOverview } = await import('../../jobs/summary.ts');
        const runner = await jobRunner(database, config, logger);
        const overview = (await jobsOverview(runner, database.pool)) as {
          jobs: {
            name: string;
            schedule: string | null;
            next_run_at: string | null;
            running: Record<string, unknown> | null;
            last_run: Record<string, unknown> | null;
          }[];
          warehouses: { warehouse: string; as_of: string; watermark: string }[];
        };
        if (options.json) {
          process.stdout.write(`${JSON.stringify(overview, null, 2)}\n`);
          return;
        }
        for (const job of overview.jobs) {
          process.stdout.write(
            `${job.name.padEnd(20)} schedule ${(job.schedule ?? 'on demand').padEnd(14)} next ${(job.next_run_at ?? '-').padEnd(24)} ` +
              `${job.running ? `RUNNING since ${job.running.started_at as string} (run ${job.running.id as number}); ` : ''}last ${formatRun(job.last_run)}\n`,
          );
        }
        for (const w of overview.warehouses)
          process.stdout.write(`warehouse ${w.warehouse}: as of ${w.as_of} (watermark ${w.watermark})\n`);
      }),
    );
  jobs
    .command('run')
    .description('Run a job now and wait for it (recorded like a scheduled run)')
    .argument('<name>', 'the job: export, prune-idempotency')
    .option('--full', 'export: rebuild every table')
    .action((name: string, options: { full?: boolean }) => runJobCommand(name, { full: options.full === true }));
}
