import http from 'node:http';
import type Koa from 'koa';
import { ApiKeyStore, ensureAdminKey } from './auth/keys.ts';
import type { Config } from './config.ts';
import { migrate } from './db/migrate.ts';
import { openDatabase, type Database } from './db/open.ts';
import { createApp } from './http/app.ts';
import { dashboards } from './http/dashboards.ts';
import { createMetrics } from './http/metrics.ts';
import { allRoutes } from './http/routes/index.ts';
import type { Services } from './http/services.ts';
import type { Logger } from './log.ts';
import { setPhoneRegions } from './privacy/phone.ts';
import { loadPiiSecret } from './privacy/secret.ts';
import { VoteWriter } from './feedback/votes/writer.ts';
import { WarehouseReader } from './warehouse/shared/reader.ts';
import { QuerySandbox } from './warehouse/query/querySandbox.ts';
import { JobRunner } from '../jobs/runner.ts';
import { jobDefinitions } from '../jobs/index.ts';
import { catchUpExport, startScheduler } from '../jobs/scheduler.ts';
import type { JobRun } from '../jobs/jobRuns.ts';
import { rollupsAreCurrent } from './warehouse/rollups/rollupMaintenance.ts';

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly services: Services;
  /** The catch-up export started at start because the published rollups predate this version, or null. */
  readonly catchUp: Promise<JobRun | null>;
  /** Stops accepting connections, lets in-flight requests finish, then closes the pool and the database. */
  close(): Promise<void>;
}

export interface ServeOptions {
  readonly port?: number;
  readonly jobs?: boolean;
  /** Where the first admin key is announced (stdout by default). */
  readonly announce?: (line: string) => void;
  readonly extraMiddleware?: (services: Services) => Koa.Middleware[];
}

/** Builds the services the routes use, from an open database. */
export async function buildServices(config: Config, database: Database, logger: Logger): Promise<Services> {
  const warehouse = new WarehouseReader(config.warehouseDir);
  setPhoneRegions(config.piiPhoneRegions);
  return {
    config,
    pool: database.pool,
    logger,
    keys: new ApiKeyStore(database.pool),
    metrics: createMetrics(database.pool, { defaultMetrics: true }),
    piiSecret: await loadPiiSecret(config),
    voteWriter: new VoteWriter(database.pool),
    warehouse,
    sandbox: new QuerySandbox(config.warehouseDir, { logger }),
    jobs: new JobRunner({
      // Jobs run long statements (the export's snapshot and COPY): their own pool, without the request timeouts.
      pool: database.jobPool,
      config,
      logger,
      definitions: jobDefinitions(config),
      advisoryLock: !database.embedded,
    }),
    copyIn: !database.embedded,
    readinessChecks: [{ name: 'warehouse', check: () => warehouse.check() }],
  };
}

/** `feedback-warehouse serve`: migrate, make sure an admin key exists, listen, and drain on SIGTERM. */
export async function serve(config: Config, logger: Logger, options: ServeOptions = {}): Promise<RunningServer> {
  const database = await openDatabase(config, logger, 'feedback-warehouse serve');
  try {
    await migrate(database.url, 'up', logger);
    const adminKey = await ensureAdminKey(database.pool);
    if (adminKey !== null) {
      (options.announce ?? ((line) => process.stdout.write(`${line}\n`)))(
        `Created the first admin API key (shown once; keep it safe):\n${adminKey}`,
      );
    }
  } catch (error) {
    await database.close();
    throw error;
  }
  const services = await buildServices(config, database, logger);
  const app = createApp(services, allRoutes(), [
    dashboards({ panelsDir: config.dashboardPanelsDir }),
    ...(options.extraMiddleware?.(services) ?? []),
  ]);
  const server = http.createServer(
    {
      // A client that sends its headers or its body slowly holds a socket only this long (Node's defaults are 60 s
      // and 300 s): it gets a 408 and the connection is closed. Node checks these every connectionsCheckingInterval.
      headersTimeout: config.httpHeadersTimeoutMs,
      requestTimeout: config.httpRequestTimeoutMs,
      connectionsCheckingInterval: Math.min(1_000, config.httpHeadersTimeoutMs),
    },
    app.callback(),
  );
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? config.port, resolve);
  });
  const port = (server.address() as { port: number }).port;
  logger.info({ port, embeddedPostgres: database.embedded }, 'listening');
  // Scheduled jobs (docs/decisions/0015) (EXPORT_SCHEDULE, UTC) unless `serve --no-jobs`.
  const scheduler = options.jobs === false ? null : startScheduler(services.jobs, logger);
  // An upgrade whose rollups differ from the published ones exports at once rather than at the next schedule.
  const catchUp = scheduler
    ? catchUpExport(
        services.jobs,
        async () =>
          (await services.warehouse.withConnection((conn) => rollupsAreCurrent(conn, config.rollupSegments))) === false,
        logger,
      )
    : Promise.resolve(null);
  let closing: Promise<void> | undefined;
  return {
    url: `http://localhost:${port}`,
    port,
    services,
    catchUp,
    close() {
      closing ??= (async () => {
        await scheduler?.stop();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        // Requests in flight finish; keep-alive sockets are closed as soon as they go idle.
        const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
        await closed;
        clearInterval(idleSweep);
        await services.jobs.close();
        await services.warehouse.close();
        await services.sandbox.close();
        await database.close();
        logger.info('stopped');
      })();
      return closing;
    },
  };
}
