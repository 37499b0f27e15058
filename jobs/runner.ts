import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { Config } from '../src/config.ts';
import type { Pool, PoolClient } from '../src/db/pool.ts';
import { UNIQUE_VIOLATION, sqlState } from '../src/db/sqlstate.ts';
import type { Logger } from '../src/log.ts';
import { safeErrorMessage } from '../src/warehouse/shared/safeError.ts';
import type { ExportProgress } from '../src/warehouse/export/exportTypes.ts';
import { systemClock, type Clock } from './clock.ts';
import type { JobDefinition, JobOptions } from './definition.ts';
import { finishRun, insertRun, markAbandoned, runningRuns, type JobRun, type JobTrigger } from './jobRuns.ts';
import { isAlive } from '../src/processAlive.ts';

/** The job is running (in this process, or in another one holding its lock). */
export class JobAlreadyRunning extends Error {
  override name = 'JobAlreadyRunning';
  constructor(
    readonly job: string,
    readonly run: JobRun | null,
  ) {
    super(
      run
        ? `job "${job}" is already running (run ${run.id} on ${run.host} pid ${run.pid} since ${run.startedAt.toISOString()})`
        : `job "${job}" is already running`,
    );
  }
}

export class UnknownJob extends Error {
  override name = 'UnknownJob';
  constructor(readonly job: string) {
    super(`no job named "${job}"`);
  }
}

export interface StartedRun {
  /** The run as recorded when it started (status 'running'). */
  readonly run: JobRun;
  /** Settles with the finished run (succeeded or failed); never rejects. */
  readonly done: Promise<JobRun>;
}

export interface RunnerEvents {
  started: [JobRun];
  finished: [JobRun];
  skipped: [JobRun];
}

/** A signed 64-bit advisory lock key per job name (one lock space with the idempotency keys, disjoint by prefix). */
function lockKey(name: string): string {
  return createHash('sha256').update(`feedback-warehouse:job:${name}`).digest().readBigInt64BE(0).toString();
}

interface Running {
  readonly controller: AbortController;
  run: JobRun | null;
  done: Promise<JobRun> | null;
}

/**
 * Runs jobs and records every run in Postgres (job_runs). A job runs at most once at a time:
 *  - in this process, a second start is refused at once;
 *  - across processes and hosts, each run holds a session advisory lock on its own connection for its whole life
 *    (pg_try_advisory_lock, so the second server skips instead of queueing); if that connection is lost the run is
 *    aborted, since another server may now take the lock;
 *  - job_runs allows one 'running' row per job (a partial unique index), which also covers embedded PGlite, where
 *    all connections share one backend and advisory locks exclude nobody.
 * A run left 'running' by a dead process is marked 'abandoned' by the next run of the job: on this host when its
 * pid is gone, on another host as soon as the lock could be taken (the lock dies with the session).
 *
 * Events (tests wait on these, never on sleeps): 'started', 'finished', 'skipped', each with the JobRun.
 */
export class JobRunner extends EventEmitter<RunnerEvents> {
  readonly definitions: ReadonlyMap<string, JobDefinition>;
  private readonly pool: Pool;
  private readonly config: Config;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly host = hostname();
  private readonly running = new Map<string, Running>();
  private readonly advisoryLock: boolean;
  private closed = false;

  /**
   * `advisoryLock: false` for embedded PGlite: its pool has one connection per process (src/db/open.ts), so a run
   * cannot keep a second one for the lock; there the unique index and the pid check exclude a second run.
   */
  constructor(options: {
    pool: Pool;
    config: Config;
    logger: Logger;
    definitions: readonly JobDefinition[];
    clock?: Clock;
    advisoryLock?: boolean;
  }) {
    super();
    this.pool = options.pool;
    this.advisoryLock = options.advisoryLock ?? true;
    this.config = options.config;
    this.logger = options.logger;
    this.clock = options.clock ?? systemClock;
    this.definitions = new Map(options.definitions.map((d) => [d.name, d]));
  }

  /** True while a run of this job started by this runner is in progress. */
  isRunning(name: string): boolean {
    return this.running.has(name);
  }

  /**
   * Starts a run and returns once it is recorded (status 'running'); `done` settles when it ends.
   * Throws UnknownJob, or JobAlreadyRunning when it runs here or elsewhere.
   */
  async start(
    name: string,
    trigger: JobTrigger,
    options: JobOptions = {},
    hooks: { onProgress?: (progress: ExportProgress) => void } = {},
  ): Promise<StartedRun> {
    const definition = this.definitions.get(name);
    if (!definition) throw new UnknownJob(name);
    if (this.closed) throw new Error('the job runner is shutting down');
    const current = this.running.get(name);
    if (current) throw new JobAlreadyRunning(name, current.run);
    // Claimed synchronously, before the first await, so two concurrent starts here cannot both pass.
    const slot: Running = { controller: new AbortController(), run: null, done: null };
    this.running.set(name, slot);
    let lockClient: PoolClient | null = null;
    let locked = false;
    try {
      if (this.advisoryLock) {
        lockClient = await this.pool.connect();
        const { rows } = await lockClient.query<{ locked: boolean }>(
          `select pg_try_advisory_lock(${lockKey(name)}) as locked`,
        );
        locked = rows[0]?.locked === true;
      }
      const db = lockClient ?? this.pool;
      const others = await runningRuns(db, name);
      if (this.advisoryLock && !locked) throw new JobAlreadyRunning(name, others[0] ?? null);
      // Holding the lock: a 'running' row is stale unless its process is alive on this host (PGlite, see above).
      const live = others.find((r) => r.host === this.host && r.pid !== process.pid && isAlive(r.pid));
      if (live) throw new JobAlreadyRunning(name, live);
      await markAbandoned(
        db,
        others.map((r) => r.id),
        this.clock.now(),
      );
      let run: JobRun;
      try {
        run = await insertRun(db, {
          name,
          trigger,
          status: 'running',
          startedAt: this.clock.now(),
          host: this.host,
          pid: process.pid,
        });
      } catch (error) {
        if (sqlState(error) === UNIQUE_VIOLATION)
          throw new JobAlreadyRunning(name, (await runningRuns(db, name))[0] ?? null);
        throw error;
      }
      slot.run = run;
      const client = lockClient;
      // Losing the lock's connection means another server may start this job: stop ours.
      const onLost = () => slot.controller.abort(new Error('the connection holding the job lock was lost'));
      client?.on('error', onLost);
      this.emit('started', run);
      slot.done = this.execute(definition, run, client, options, hooks, slot).finally(() =>
        client?.off('error', onLost),
      );
      return { run, done: slot.done };
    } catch (error) {
      this.running.delete(name);
      if (lockClient) {
        if (locked) await lockClient.query(`select pg_advisory_unlock(${lockKey(name)})`).catch(() => {});
        lockClient.release();
      }
      throw error;
    }
  }

  /** Starts a run and waits for it to finish. */
  async run(
    name: string,
    trigger: JobTrigger,
    options: JobOptions = {},
    hooks: { onProgress?: (progress: ExportProgress) => void } = {},
  ): Promise<JobRun> {
    return (await this.start(name, trigger, options, hooks)).done;
  }

  /** Records that a scheduled run was skipped because the job was running (here or on another server). */
  async recordSkipped(name: string, trigger: JobTrigger, reason: string): Promise<JobRun> {
    const run = await insertRun(this.pool, {
      name,
      trigger,
      status: 'skipped',
      startedAt: this.clock.now(),
      host: this.host,
      pid: process.pid,
      error: reason.slice(0, 4000),
    });
    this.emit('skipped', run);
    return run;
  }

  /** Aborts the runs in progress and waits for them to record their end. */
  async close(): Promise<void> {
    this.closed = true;
    const pending = [...this.running.values()];
    for (const slot of pending) slot.controller.abort(new Error('the service is shutting down'));
    await Promise.all(pending.map((slot) => slot.done ?? Promise.resolve()));
  }

  private async execute(
    definition: JobDefinition,
    run: JobRun,
    lockClient: PoolClient | null,
    options: JobOptions,
    hooks: { onProgress?: (progress: ExportProgress) => void },
    slot: Running,
  ): Promise<JobRun> {
    const logger = this.logger.child({ job: definition.name, runId: run.id });
    let finished: JobRun = run;
    let broken: Error | undefined;
    try {
      let outcome: {
        status: 'succeeded' | 'failed';
        rows: Record<string, number>;
        lagSeconds: number | null;
        error: string | null;
        detail: Record<string, unknown>;
      };
      try {
        const result = await definition.run({
          pool: this.pool,
          config: this.config,
          logger,
          clock: this.clock,
          runId: run.id,
          signal: slot.controller.signal,
          options,
          onProgress: hooks.onProgress,
        });
        outcome = {
          status: 'succeeded',
          rows: { ...result.rows },
          lagSeconds: result.lagSeconds ?? null,
          error: null,
          detail: { ...result.detail },
        };
      } catch (error) {
        logger.error({ err: error }, 'job failed');
        outcome = { status: 'failed', rows: {}, lagSeconds: null, error: safeErrorMessage(error), detail: {} };
      }
      try {
        // Recorded before the lock is released, so whoever takes the lock next never sees this run as 'running'.
        finished = await finishRun(lockClient ?? this.pool, run.id, { ...outcome, finishedAt: this.clock.now() });
      } catch (error) {
        broken = error as Error;
        logger.error({ err: error }, 'could not record the end of the job run; the next run will mark it abandoned');
        finished = {
          ...run,
          status: outcome.status,
          finishedAt: this.clock.now(),
          error: outcome.error,
          rows: outcome.rows,
        };
      }
      if (finished.status === 'succeeded')
        logger.info({ rows: finished.rows, lagSeconds: finished.lagSeconds }, 'job succeeded');
    } finally {
      if (lockClient) {
        if (!broken)
          await lockClient
            .query(`select pg_advisory_unlock(${lockKey(definition.name)})`)
            .catch((e: Error) => (broken = e));
        lockClient.release(broken);
      }
      this.running.delete(definition.name);
    }
    this.emit('finished', finished);
    return finished;
  }
}
