import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { openEmbeddedDatabase } from './embedded.ts';
import { createPool, type Pool } from './pool.ts';

export interface Database {
  readonly url: string;
  /** For requests: statement and client timeouts, so a slow or frozen database is a quick 503. */
  readonly pool: Pool;
  /**
   * For jobs (the export's long read transaction and COPY, pruning): no statement or client timeout. A small pool of
   * its own against a server; the same pool as `pool` on embedded PGlite, which is one session anyway.
   */
  readonly jobPool: Pool;
  readonly embedded: boolean;
  close(): Promise<void>;
}

/** Connections of the jobs' pool: the export holds one for its snapshot, a job run one for its advisory lock. */
const JOB_POOL_MAX = 4;

/**
 * DATABASE_URL when set; otherwise embedded PGlite under DATA_DIR/pg (started here, or the one a running `serve`
 * already serves). Every caller, the server and each CLI command, gets its database here.
 */
export async function openDatabase(config: Config, logger: Logger, applicationName?: string): Promise<Database> {
  if (config.databaseUrl !== null) {
    const common = {
      connectionString: config.databaseUrl,
      idleInTransactionTimeoutMs: config.idleInTransactionTimeoutMs,
      connectTimeoutMs: config.connectTimeoutMs,
      applicationName,
      logger,
    };
    const pool = createPool({ ...common, max: config.poolMax, statementTimeoutMs: config.statementTimeoutMs });
    const jobPool = createPool({ ...common, max: JOB_POOL_MAX });
    return {
      url: config.databaseUrl,
      pool,
      jobPool,
      embedded: false,
      async close() {
        await Promise.all([pool.end(), jobPool.end()]);
      },
    };
  }
  const embedded = await openEmbeddedDatabase(config.dataDir, logger);
  const pool = createPool({
    connectionString: embedded.url,
    // PGlite is one Postgres session multiplexed by pglite-socket: connections share prepared statements and
    // interleave extended-protocol messages outside transactions, so each process uses exactly one connection.
    max: 1,
    idleInTransactionTimeoutMs: config.idleInTransactionTimeoutMs,
    applicationName,
    logger,
  });
  return {
    url: embedded.url,
    pool,
    // PGlite runs in this process or beside it on this machine: it cannot freeze without us, and its one session
    // serves the export too, so no timeouts here.
    jobPool: pool,
    embedded: true,
    async close() {
      await pool.end();
      await embedded.close();
    },
  };
}
