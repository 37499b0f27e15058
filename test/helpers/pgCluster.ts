import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Where the server binaries live: PG_BIN_DIR, else Debian's PostgreSQL 15, else the newest version installed under
 * /usr/lib/postgresql.
 */
export const PG_BIN_DIR = process.env.PG_BIN_DIR ?? debianBinDir();

function debianBinDir(): string {
  const preferred = '/usr/lib/postgresql/15/bin';
  if (existsSync(preferred)) return preferred;
  try {
    const versions = readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return `/usr/lib/postgresql/${versions[0]}/bin`;
  } catch {
    // not Debian: fall through to the documented default, and initdb's failure names it
  }
  return preferred;
}

/**
 * A throwaway Postgres cluster of its own (initdb + pg_ctl on a free port of 127.0.0.1), so a fault test can stop,
 * crash, freeze and restart "the database" without touching the shared server. Run as the postgres user when we are
 * root (the server refuses to run as root). Always removed by `destroy()`, and on process exit if a test forgot.
 */
export interface PgCluster {
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust auth). */
  readonly url: string;
  readonly dir: string;
  /** `pg_ctl stop -m fast|immediate` (waits until it is down). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** `pg_ctl start` on the same port and data directory; resolves once it accepts connections. */
  start(): Promise<void>;
  /** SIGSTOP to the postmaster and every backend: connections stay open, nothing answers. */
  freeze(): void;
  /** SIGCONT to the same processes. */
  thaw(): void;
  readonly frozen: boolean;
  /** The server's log so far (for failure messages). */
  log(): string;
  /** Stops the server (immediate) and removes its directory. Idempotent. */
  destroy(): Promise<void>;
}

const POSTGRES_UID = 101;
const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function asPostgres(file: string, args: readonly string[]): [string, string[]] {
  return isRoot() ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, [...args]];
}

function postgresUid(): number {
  try {
    return Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  } catch {
    return POSTGRES_UID;
  }
}

/** A port nobody listens on right now (the kernel's pick for port 0). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The postmaster's pid and its children's (backends, checkpointer, walwriter...), from /proc. */
function clusterPids(dataDir: string): number[] {
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return [];
  }
  if (!Number.isInteger(postmaster) || postmaster <= 0) return [];
  const pids = [postmaster];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/PID/stat is the parent pid; the command name (field 2) may contain spaces, so split after ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmaster) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

function signal(pids: readonly number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

const live = new Set<() => void>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test that throws before its teardown, or a worker that is torn down, must not leave a postmaster behind.
  process.on('exit', () => {
    for (const cleanup of live) cleanup();
  });
}

export async function startPgCluster(options: { settings?: Record<string, string> } = {}): Promise<PgCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fw-pgcluster-'));
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  if (isRoot()) chownSync(dir, postgresUid(), -1);
  const port = await freePort();
  const settings: Record<string, string> = {
    port: String(port),
    listen_addresses: "'127.0.0.1'",
    unix_socket_directories: `'${dir}'`,
    fsync: 'off',
    full_page_writes: 'off',
    max_connections: '100',
    shared_buffers: '32MB',
    ...options.settings,
  };
  const pgCtl = path.join(PG_BIN_DIR, 'pg_ctl');
  const serverOptions = Object.entries(settings)
    .map(([name, value]) => `-c ${name}=${value}`)
    .join(' ');
  const ctl = async (...args: string[]) => {
    const [file, argv] = asPostgres(pgCtl, args);
    await run(file, argv, { timeout: 60_000 });
  };
  let destroyed = false;
  let frozen = false;
  const removeSync = () => {
    if (destroyed) return;
    destroyed = true;
    signal(clusterPids(dataDir), 'SIGCONT');
    try {
      const [file, argv] = asPostgres(pgCtl, ['stop', '-D', dataDir, '-m', 'immediate', '-w']);
      execFileSync(file, argv, { stdio: 'ignore', timeout: 30_000 });
    } catch {
      // not running
    }
    rmSync(dir, { recursive: true, force: true });
  };
  live.add(removeSync);
  installExitHook();
  try {
    const [initdb, initArgs] = asPostgres(path.join(PG_BIN_DIR, 'initdb'), [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--locale=C.UTF-8',
      '--no-sync',
    ]);
    await run(initdb, initArgs, { timeout: 120_000 });
  } catch (error) {
    live.delete(removeSync);
    removeSync();
    throw new Error(`initdb failed (is PostgreSQL 15 installed under ${PG_BIN_DIR}?)`, { cause: error });
  }
  const start = () => ctl('start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', serverOptions);
  const cluster: PgCluster = {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    dir,
    get frozen() {
      return frozen;
    },
    async stop(mode = 'fast') {
      if (frozen) cluster.thaw();
      await ctl('stop', '-D', dataDir, '-m', mode, '-w', '-t', '60');
    },
    start,
    freeze() {
      // The postmaster first, so it forks no new backend while we stop the others.
      const pids = clusterPids(dataDir);
      signal(pids, 'SIGSTOP');
      signal(clusterPids(dataDir), 'SIGSTOP');
      frozen = true;
    },
    thaw() {
      signal(clusterPids(dataDir), 'SIGCONT');
      frozen = false;
    },
    log() {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
    async destroy() {
      live.delete(removeSync);
      removeSync();
    },
  };
  try {
    await start();
  } catch (error) {
    const log = cluster.log();
    await cluster.destroy();
    throw new Error(`pg_ctl start failed:\n${log}`, { cause: error });
  }
  return cluster;
}
