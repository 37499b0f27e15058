import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApiKey, type Scope } from '../../src/auth/keys.ts';
import { configFromEnv, type Config } from '../../src/config.ts';
import { createApp } from '../../src/http/app.ts';
import { dashboards } from '../../src/http/dashboards.ts';
import { allRoutes } from '../../src/http/routes/index.ts';
import type { Services } from '../../src/http/services.ts';
import { buildServices } from '../../src/server.ts';
import { createTestDatabase, quietLogger, type TestDatabase } from './db.ts';
import type { Logger } from '../../src/log.ts';

export interface TestApp {
  readonly url: string;
  readonly db: TestDatabase;
  readonly services: Services;
  readonly config: Config;
  /** Creates a key with these scopes and returns it in clear text. */
  key(...scopes: Scope[]): Promise<string>;
  /** fetch with JSON helpers: `await app.request('POST', '/api/v1/votes', { key, body })`. */
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface RequestOptions {
  readonly key?: string;
  readonly body?: unknown;
  /** Sent as is (for malformed JSON). */
  readonly rawBody?: string | Uint8Array;
  readonly headers?: Record<string, string>;
}

export interface TestResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any;
}

export const PII_SECRET = 'test-secret-0123456789abcdef';

/** The real app on an ephemeral port over a fresh test database. */
/** `logger`: where the app logs (silent by default); a test that reads the log lines passes its own. */
export async function startTestApp(
  env: Record<string, string> = {},
  existing?: TestDatabase,
  logger: Logger = quietLogger,
): Promise<TestApp> {
  const db = existing ?? (await createTestDatabase());
  const dataDir = await mkdtemp(path.join(tmpdir(), 'fw-test-'));
  const config = configFromEnv({
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    PII_HASH_SECRET: PII_SECRET,
    LOG_LEVEL: 'silent',
    ...env,
  });
  // The services src/server.ts builds, over the test database: one pool for requests and jobs, as on embedded
  // PGlite; COPY IN and the jobs' advisory lock only on a real server (src/db/open.ts).
  const services = await buildServices(
    config,
    { url: db.url, pool: db.pool, jobPool: db.pool, embedded: !db.real, close: async () => {} },
    logger,
  );
  const app = createApp(services, allRoutes(), [dashboards({ panelsDir: config.dashboardPanelsDir })]);
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url,
    db,
    services,
    config,
    async key(...scopes) {
      // Names are unique among active keys (sql/migrations/0007_api_key_names.sql): the first key with these scopes
      // is `test-<scopes>`, later ones get a number.
      const base = `test-${scopes.join('-')}`;
      const { rows } = await db.pool.query<{ n: number }>(
        `select count(*)::int as n from api_keys where name = $1::text or name like $1::text || '-n%'`,
        [base],
      );
      const n = rows[0]!.n;
      return (await createApiKey(db.pool, n === 0 ? base : `${base}-n${n + 1}`, scopes)).key;
    },
    async request(method, requestPath, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      if (options.key) headers.authorization = `Bearer ${options.key}`;
      let body: string | Uint8Array<ArrayBuffer> | undefined;
      if (options.rawBody !== undefined)
        body = typeof options.rawBody === 'string' ? options.rawBody : new Uint8Array(options.rawBody);
      else if (options.body !== undefined) body = JSON.stringify(options.body);
      if (body !== undefined) headers['content-type'] ??= 'application/json';
      const res = await fetch(url + requestPath, { method, headers, body });
      const text = await res.text();
      let json: unknown = undefined;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, text, json };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await services.jobs.close();
      await services.warehouse.close();
      await services.sandbox.close();
      if (!existing) await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
