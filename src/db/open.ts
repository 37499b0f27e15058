import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { openEmbeddedDatabase } from './embedded.ts';
import { createPool, type Pool } from './pool.ts';

export interface Database {
  readonly url: string;
  readonly pool: Pool;
  readonly embedded: boolean;
  close(): Promise<void>;
}

/**
 * DATABASE_URL when set; otherwise embedded PGlite under DATA_DIR/pg (started here, or the one a running `serve`
 * already serves). Every caller, the server and each CLI command, gets its database here.
 */
export async function openDatabase(config: Config, logger: Logger, applicationName?: string): Promise<Database> {
  if (config.databaseUrl !== null) {
    const pool = createPool({
      connectionString: config.databaseUrl,
      max: config.poolMax,
      idleInTransactionTimeoutMs: config.idleInTransactionTimeoutMs,
      applicationName,
      logger,
    });
    return { url: config.databaseUrl, pool, embedded: false, close: () => pool.end() };
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
    embedded: true,
    async close() {
      await pool.end();
      await embedded.close();
    },
  };
}
