import type { ApiKeyStore } from '../auth/keys.ts';
import type { Config } from '../config.ts';
import type { Pool } from '../db/pool.ts';
import type { Logger } from '../log.ts';
import type { VoteWriter } from '../feedback/votes/writer.ts';
import type { Metrics } from './metrics.ts';
import type { JobRunner } from '../../jobs/runner.ts';
import type { WarehouseReader } from '../warehouse/shared/reader.ts';
import type { QuerySandbox } from '../warehouse/query/querySandbox.ts';

/** What route handlers may use; built once by src/server.ts (or by a test) and passed to createApp. */
export interface Services {
  readonly config: Config;
  readonly pool: Pool;
  readonly logger: Logger;
  readonly keys: ApiKeyStore;
  readonly metrics: Metrics;
  /** The HMAC-SHA256 key for pseudonymising emails (src/privacy/pseudonym.ts). */
  readonly piiSecret: string;
  /** Group commit for votes sent without an Idempotency-Key (src/feedback/votes/writer.ts). */
  readonly voteWriter: VoteWriter;
  /** The published DuckDB warehouse, opened READ_ONLY (src/warehouse/shared/reader.ts). */
  readonly warehouse: WarehouseReader;
  /** The query endpoint's pool of locked-down DuckDB processes over the published file (src/warehouse/query/querySandbox.ts). */
  readonly sandbox: QuerySandbox;
  /** Runs and records jobs (export, prune-idempotency); jobs/runner.ts. */
  readonly jobs: JobRunner;
  /** Extra readiness checks (the warehouse adds one); each resolves or throws. */
  /**
   * Whether the database takes `COPY FROM STDIN` (false on embedded PGlite behind pglite-socket, whose wire protocol
   * has no COPY IN): large vote batches use it when it does.
   */
  readonly copyIn: boolean;
  readonly readinessChecks: ReadonlyArray<{ name: string; check: () => Promise<void> }>;
}
