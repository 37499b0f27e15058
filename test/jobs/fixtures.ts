import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { hostname } from 'node:os';
import type { Clock } from '../../jobs/clock.ts';
import type { JobDefinition } from '../../jobs/definition.ts';
import { JobRunner } from '../../jobs/runner.ts';
import { configFromEnv } from '../../src/config.ts';
import type { Pool } from '../../src/db/pool.ts';
import { quietLogger, type TestDatabase } from '../helpers/db.ts';

export const jobsConfig = configFromEnv({ DATA_DIR: '/tmp/fw-jobs-test-unused', LOG_LEVEL: 'silent' });

/** A job that runs until the test opens its gate (or its signal aborts it). */
export function gatedJob(
  name: string,
  schedule: string | null = null,
): JobDefinition & { open(): void; entered: Promise<void> } {
  let open!: () => void;
  let entered!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const enteredPromise = new Promise<void>((resolve) => (entered = resolve));
  return {
    name,
    description: 'waits for the test',
    schedule,
    open: () => open(),
    entered: enteredPromise,
    async run({ signal }) {
      entered();
      await Promise.race([
        gate,
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
        ),
      ]);
      return { rows: { things: 3 }, lagSeconds: 1.5, detail: { note: 'done' } };
    },
  };
}

export function fakeClock(start: string): Clock & { set(iso: string): void } {
  let now = new Date(start);
  return { now: () => new Date(now), set: (iso) => (now = new Date(iso)) };
}

/** A runner configured as src/server.ts does: the advisory lock on a real server, none on embedded PGlite. */
export function testRunner(db: TestDatabase, definitions: JobDefinition[], clock?: Clock): JobRunner {
  return new JobRunner({
    pool: db.pool,
    config: jobsConfig,
    logger: quietLogger,
    definitions,
    clock,
    advisoryLock: db.real,
  });
}

/**
 * Another live process on this host with a run of `job` recorded as 'running' under its pid, as a CLI export beside
 * `serve` leaves it (on embedded PGlite that row and the pid are all that exclude a second run). `exit()` ends the
 * process, leaving its run 'running' as a killed process would.
 */
export async function runInAnotherProcess(
  pool: Pool,
  job: string,
): Promise<{ runId: number; pid: number; exit(): Promise<void> }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const exit = async () => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill();
    await exited;
  };
  try {
    if (child.pid === undefined) throw new Error('could not start a child process');
    const { rows } = await pool.query<{ id: number }>(
      `insert into job_runs (job_name, trigger, status, started_at, host, pid)
       values ($1::text, 'cli', 'running', now(), $2::text, $3::int) returning id`,
      [job, hostname(), child.pid],
    );
    return { runId: rows[0]!.id, pid: child.pid, exit };
  } catch (error) {
    await exit();
    throw error;
  }
}
