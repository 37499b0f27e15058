import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApiKey } from '../../src/auth/keys.ts';
import { configFromEnv, type Config } from '../../src/config.ts';
import { createPool, type Pool } from '../../src/db/pool.ts';
import { createLogger } from '../../src/log.ts';
import { serve, type RunningServer } from '../../src/server.ts';
import { startPgCluster, type PgCluster } from '../helpers/pgCluster.ts';

export const FAULT_PII_SECRET = 'fault-suite-secret-0123456789';

/** The real service (`serve()` of src/server.ts) on an ephemeral port, over a throwaway cluster of its own. */
export interface FaultService {
  readonly cluster: PgCluster;
  readonly server: RunningServer;
  readonly config: Config;
  /** http://127.0.0.1:PORT: the suite sends traffic to 127.0.0.1 only. */
  readonly url: string;
  readonly dataDir: string;
  /** The environment a CLI child (`feedback-warehouse export`) needs to reach the same database and warehouse. */
  readonly env: Record<string, string>;
  /** A pool of the test's own, to check what Postgres holds (it survives restarts: its idle clients are dropped). */
  readonly check: Pool;
  /** Keys created up front: ingest+read+query, admin. */
  readonly keys: { readonly app: string; readonly admin: string };
  close(): Promise<void>;
}

export async function startFaultService(env: Record<string, string> = {}): Promise<FaultService> {
  const cluster = await startPgCluster();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'fw-faults-'));
  const fullEnv = {
    DATABASE_URL: cluster.url,
    DATA_DIR: dataDir,
    PORT: '0',
    PII_HASH_SECRET: FAULT_PII_SECRET,
    LOG_LEVEL: process.env.FAULTS_LOG_LEVEL ?? 'silent',
    PG_POOL_MAX: '10',
    ...env,
  };
  const config = configFromEnv(fullEnv);
  const logger = createLogger(config.logLevel);
  let server: RunningServer;
  try {
    server = await serve(config, logger, { jobs: false, announce: () => {} });
  } catch (error) {
    await cluster.destroy();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const check = createPool({
    connectionString: cluster.url,
    max: 4,
    idleInTransactionTimeoutMs: 60_000,
    logger: createLogger('silent'),
  });
  const keys = {
    app: (await createApiKey(check, 'faults-app', ['ingest', 'read', 'query'])).key,
    admin: (await createApiKey(check, 'faults-admin', ['admin'])).key,
  };
  let closed = false;
  return {
    cluster,
    server,
    config,
    url: `http://127.0.0.1:${server.port}`,
    dataDir,
    env: { DATABASE_URL: cluster.url, DATA_DIR: dataDir, PII_HASH_SECRET: FAULT_PII_SECRET, LOG_LEVEL: 'silent' },
    check,
    keys,
    async close() {
      if (closed) return;
      closed = true;
      if (cluster.frozen) cluster.thaw();
      try {
        await server.close();
      } finally {
        await check.end();
        await cluster.destroy();
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Records every uncaughtException and unhandledRejection while a fault test runs: the service is in-process, so an
 * unhandled 'error' event of a pg client (the crash the suite exists to catch) lands here instead of killing vitest
 * silently. The test asserts the list is empty.
 */
export function watchCrashes(): { readonly errors: unknown[]; stop(): void } {
  const errors: unknown[] = [];
  const onError = (error: unknown) => errors.push(error);
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  return {
    errors,
    stop() {
      process.off('uncaughtException', onError);
      process.off('unhandledRejection', onError);
    },
  };
}

/** A short text for a failure message: what crashed, without any request body. */
export function describeCrashes(errors: readonly unknown[]): string {
  return errors
    .slice(0, 5)
    .map((e) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e)))
    .join('\n');
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
