import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../log.ts';
import { QueryFailure } from './queryFailure.ts';
import type { WorkerReply, WorkerRequest } from './queryProtocol.ts';
import type { QueryLimits, SandboxResult } from './sandbox.ts';

/** Queries running at once per server; one more is refused (busy: HTTP 429) rather than queued behind them. */
export const MAX_CONCURRENT_QUERIES = 4;

/**
 * The OS memory limit of each query process (RLIMIT_DATA, set with util-linux `prlimit --data`): DuckDB's
 * memory_limit covers its buffer manager only, and `repeat` building a 1.5 GB string went to 3 GB of RSS past it.
 * At this limit an allocation fails, and DuckDB answers "Out of Memory Error" or the process dies (answered "out of
 * memory"). RLIMIT_DATA rather than RLIMIT_AS: it counts writable memory, not the address space V8 and DuckDB reserve
 * (1.2 GB at start). A fresh process has about 130 MB of it; 60 rows of 10 MB, whose first 3 fill the byte cap, take
 * 1.5 GB (the strings are in DuckDB's chunk and in V8), so 2 GB is the smallest round limit that answers them.
 */
export const QUERY_PROCESS_MEMORY = 2 * 1024 ** 3;

/**
 * A process that used more than this (freed memory stays with the allocator) or ran out of memory is replaced after
 * its query, so the next query starts with the whole limit.
 */
const RECYCLE_ABOVE = QUERY_PROCESS_MEMORY / 2;

/** After the timeout's interrupt, how long a query may take to stop before its process is killed. */
export const KILL_GRACE_MS = 1000;

const WORKER_ENTRY = fileURLToPath(new URL('./queryWorker.ts', import.meta.url));
/** DuckDB, V8 and the C++ runtime say one of these on stderr when an allocation fails past the limit. */
const OUT_OF_MEMORY = /bad_alloc|out of memory|allocation failed|cannot allocate/i;
const STDERR_TAIL = 4096;

function findPrlimit(): string | null {
  if (process.platform !== 'linux') return null;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'prlimit');
    if (dir && existsSync(candidate)) return candidate;
  }
  return null;
}

/**
 * The environment of a query process: what Node and tsx need, and nothing of the server's (DATABASE_URL and
 * PII_HASH_SECRET stay out of a process that runs analysts' SQL).
 */
function workerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'SYSTEMROOT']) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  return env;
}

interface Pending {
  readonly id: number;
  readonly resolve: (reply: WorkerReply) => void;
  readonly reject: (error: Error) => void;
  killedAfterMs: number | null;
}

/** One query process: a child running queryWorker.ts, at most one query at a time. */
class QueryProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  pending: Pending | null = null;
  exited = false;
  /** Started and answered once: only such a process is replaced when it ends (no restart loop on a broken setup). */
  started = false;
  private stderr = '';

  constructor(command: string, args: string[], onExit: (proc: QueryProcess) => void) {
    this.child = spawn(command, args, {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
      env: workerEnv(),
    });
    // Kept to tell an out-of-memory death from another crash; never logged (DuckDB may quote the SQL there).
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (text: string) => {
      this.stderr = (this.stderr + text).slice(-STDERR_TAIL);
    });
    this.ready = new Promise((resolve, reject) => {
      this.child.once('message', () => {
        this.started = true;
        resolve();
      });
      this.child.once('error', reject);
      this.child.once('exit', () => reject(new Error('the query process stopped while starting')));
    });
    this.ready.catch(() => {});
    this.child.on('message', (message: WorkerReply | { ready: true }) => {
      if ('id' in message && this.pending?.id === message.id) {
        const pending = this.pending;
        this.pending = null;
        this.idle();
        pending.resolve(message);
      }
    });
    this.child.on('exit', () => {
      this.exited = true;
      const pending = this.pending;
      this.pending = null;
      if (pending) pending.reject(this.deathFailure(pending));
      onExit(this);
    });
    this.idle();
  }

  /** Runs one query: interrupted by the process at timeoutMs, killed here at timeoutMs + KILL_GRACE_MS. */
  run(id: number, sql: string, limits: QueryLimits): Promise<WorkerReply> {
    return new Promise<WorkerReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.killedAfterMs = limits.timeoutMs;
        this.child.kill('SIGKILL');
      }, limits.timeoutMs + KILL_GRACE_MS);
      const pending: Pending = {
        id,
        killedAfterMs: null,
        resolve: (reply) => (clearTimeout(timer), resolve(reply)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      };
      this.pending = pending;
      this.busy();
      this.child.send({ id, sql, limits } satisfies WorkerRequest, (error) => {
        if (error) this.kill();
      });
    });
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  private deathFailure(pending: Pending): Error {
    if (pending.killedAfterMs !== null) {
      return new QueryFailure(
        'timeout',
        `The query ran longer than ${pending.killedAfterMs} ms, did not stop when interrupted, and was killed.`,
      );
    }
    if (OUT_OF_MEMORY.test(this.stderr)) {
      return new QueryFailure(
        'error',
        `Out of memory: the query needed more than the ${QUERY_PROCESS_MEMORY / 1024 ** 2} MB its process may use, ` +
          'and the query engine stopped.',
      );
    }
    return new QueryFailure('error', 'The query engine stopped while running this query (its process ended).');
  }

  // An idle process does not keep the server's event loop alive; a running query does (its kill timer).
  private idle(): void {
    this.child.unref();
    (this.child.channel as { unref?: () => void } | undefined)?.unref?.();
  }

  private busy(): void {
    this.child.ref();
    (this.child.channel as { ref?: () => void } | undefined)?.ref?.();
  }
}

export interface QuerySandboxOptions {
  readonly maxConcurrent?: number;
  /** Told about a discarded process (changed settings) and crashes, never with the SQL. */
  readonly logger?: Logger;
}

/**
 * Governed ad-hoc SQL over the published warehouse (docs/decisions/0008), run outside the server process: a
 * pool of at most maxConcurrent query processes (queryWorker.ts), each with its own locked-down DuckDB instance on
 * the published snapshot (sandbox.ts), an OS memory limit of its own (QUERY_PROCESS_MEMORY), the statement check
 * and allow-list, a wall-clock timeout (DuckDB's interrupt first, the process killed KILL_GRACE_MS later), and row
 * and byte caps. A process that crashes, runs out of memory, is killed, or whose settings a query changed is
 * replaced; the server and the other queries carry on. Each process follows publications: the next query sees a
 * newly published snapshot, a query in flight finishes on the old one.
 *
 * Example: `await sandbox.run('select count(*) from votes', { maxRows: 100, maxBytes: 1e6, timeoutMs: 10_000 })`.
 */
export class QuerySandbox {
  private readonly maxConcurrent: number;
  private readonly logger: Logger | undefined;
  private readonly idle: QueryProcess[] = [];
  private readonly all = new Set<QueryProcess>();
  private readonly command: { command: string; args: string[] };
  private running = 0;
  private nextId = 1;
  private closed = false;

  constructor(warehouseDir: string, options: QuerySandboxOptions = {}) {
    this.maxConcurrent = options.maxConcurrent ?? MAX_CONCURRENT_QUERIES;
    this.logger = options.logger;
    const node = [process.execPath, '--import', 'tsx', WORKER_ENTRY, warehouseDir];
    const prlimit = findPrlimit();
    if (prlimit === null) {
      this.logger?.warn('prlimit (util-linux) not found: query processes run without their own memory limit');
    }
    this.command =
      prlimit === null
        ? { command: node[0]!, args: node.slice(1) }
        : { command: prlimit, args: [`--data=${QUERY_PROCESS_MEMORY}`, '--', ...node] };
  }

  /** Runs one query; throws QueryFailure when it is refused, fails, times out, or cannot run now. */
  async run(sql: string, limits: QueryLimits): Promise<SandboxResult> {
    if (this.closed) throw new Error('the query sandbox is closed');
    if (this.running >= this.maxConcurrent) {
      throw new QueryFailure('busy', `${this.maxConcurrent} queries are already running; retry shortly.`);
    }
    this.running++;
    try {
      const proc = this.idle.pop() ?? this.spawn();
      await proc.ready;
      const reply = await proc.run(this.nextId++, sql, limits);
      if (reply.settingsChanged.length > 0) {
        this.logger?.warn(
          { event: 'query_sandbox_settings_changed', settings: reply.settingsChanged },
          'a query changed the sandbox settings: its process was discarded',
        );
        this.discard(proc);
      } else if (reply.memoryBytes > RECYCLE_ABOVE || /out of memory/i.test(reply.failure?.message ?? '')) {
        this.discard(proc);
      } else if (!this.closed) {
        this.idle.push(proc);
      } else {
        proc.kill();
      }
      if (reply.result) return reply.result;
      if (reply.failure) throw new QueryFailure(reply.failure.outcome, reply.failure.message);
      throw new Error(`the warehouse query failed: ${reply.fault ?? 'no answer'}`);
    } finally {
      this.running--;
    }
  }

  /** The process ids of the query processes (for tests that crash one). */
  pids(): number[] {
    return [...this.all].flatMap((proc) => (proc.child.pid === undefined ? [] : [proc.child.pid]));
  }

  /** The process ids of the processes running a query now. */
  runningPids(): number[] {
    return [...this.all].flatMap((proc) => (proc.pending && proc.child.pid !== undefined ? [proc.child.pid] : []));
  }

  /** Stops every query process; a query in flight fails. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.all];
    this.idle.length = 0;
    await Promise.all(
      all.map(
        (proc) =>
          new Promise<void>((resolve) => {
            if (proc.exited) return resolve();
            proc.child.once('exit', () => resolve());
            proc.kill();
          }),
      ),
    );
  }

  private spawn(): QueryProcess {
    const proc = new QueryProcess(this.command.command, this.command.args, (gone) => this.gone(gone));
    this.all.add(proc);
    return proc;
  }

  private discard(proc: QueryProcess): void {
    this.all.delete(proc);
    proc.kill();
  }

  /** A process ended (crash, kill, discard): forget it, and start its replacement so the next query need not wait. */
  private gone(proc: QueryProcess): void {
    const wasKnown = this.all.delete(proc);
    const idleAt = this.idle.indexOf(proc);
    if (idleAt >= 0) this.idle.splice(idleAt, 1);
    if (wasKnown) this.logger?.info({ event: 'query_process_ended' }, 'a query process ended; it is replaced');
    if (this.closed || !proc.started || this.all.size >= this.maxConcurrent) return;
    this.idle.push(this.spawn());
  }
}
