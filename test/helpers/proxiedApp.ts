import { createPool, type PoolOptions } from '../../src/db/pool.ts';
import { startTestApp, type TestApp } from './app.ts';
import { createTestDatabase, quietLogger, type TestDatabase } from './db.ts';
import { startTcpProxy, type TcpProxy } from './tcpProxy.ts';

/** A test app whose pool reaches its database through a TCP proxy that a test can cut and restore. */
export interface ProxiedApp {
  readonly db: TestDatabase;
  readonly proxy: TcpProxy;
  readonly app: TestApp;
  close(): Promise<void>;
}

/** `poolOptions`: e.g. the request pool's timeouts, as src/db/open.ts sets them from the configuration. */
export async function startProxiedApp(
  env: Record<string, string> = {},
  poolOptions: Partial<Pick<PoolOptions, 'statementTimeoutMs' | 'connectTimeoutMs'>> = {},
): Promise<ProxiedApp> {
  const db = await createTestDatabase();
  const target = new URL(db.url);
  const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
  const viaProxy = new URL(db.url);
  viaProxy.port = String(proxy.port);
  const pool = createPool({
    connectionString: viaProxy.toString(),
    max: 4,
    idleInTransactionTimeoutMs: 60_000,
    logger: quietLogger,
    ...poolOptions,
  });
  const app = await startTestApp(env, { ...db, url: viaProxy.toString(), pool, drop: async () => {} });
  return {
    db,
    proxy,
    app,
    async close() {
      await app.close();
      await pool.end();
      await proxy.close();
      await db.drop();
    },
  };
}
