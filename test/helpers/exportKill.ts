import { spawn } from 'node:child_process';
import type { Pool } from '../../src/db/pool.ts';
import { BIN, cliEnv } from './cli.ts';

export interface KilledExport {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Its job_runs row said 'running' before it ended (the kill, if any, landed inside the export). */
  readonly started: boolean;
}

/**
 * `feedback-warehouse export` in a child process, SIGKILLed `delayMs` after its run has started (its job_runs row
 * says 'running'), so the kill lands inside the export rather than in the process start-up. `pool` reaches the same
 * database as `env`.
 */
export async function exportKilledAfter(
  pool: Pool,
  env: Record<string, string>,
  delayMs: number,
): Promise<KilledExport> {
  const child = spawn(process.execPath, [BIN, 'export'], { env: cliEnv(env), stdio: 'ignore' });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  void exited.then(() => (done = true));
  let started = false;
  while (!done && !started) {
    const { rows } = await pool.query(`select 1 from job_runs where status = 'running' and pid = $1::int`, [child.pid]);
    started = rows.length > 0;
    if (!started) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  if (started) setTimeout(() => child.kill('SIGKILL'), delayMs);
  return { ...(await exited), started };
}
