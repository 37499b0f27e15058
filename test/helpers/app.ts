import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApiKeyStore, createApiKey, type Scope } from '../../src/auth/keys.ts';
import { configFromEnv, type Config } from '../../src/config.ts';
import { createApp } from '../../src/http/app.ts';
import { dashboards } from '../../src/http/dashboards.ts';
import { VoteWriter } from '../../src/feedback/votes/writer.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { allRoutes } from '../../src/http/routes/index.ts';
import type { Services } from '../../src/http/services.ts';
import { WarehouseReader } from '../../src/warehouse/shared/reader.ts';
import { QuerySandbox } from '../../src/warehouse/query/querySandbox.ts';
import { JobRunner } from '../../jobs/runner.ts';
import { jobDefinitions } from '../../jobs/index.ts';
import { createTestDatabase, quietLogger, type TestDatabase } from './db.ts';

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
export async function startTestApp(env: Record<string, string> = {}, existing?: TestDatabase): Promise<TestApp> {
  const db = existing ?? (await createTestDatabase());
  const dataDir = await mkdtemp(path.join(tmpdir(), 'fw-test-'));
  const config = configFromEnv({
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    PII_HASH_SECRET: PII_SECRET,
    LOG_LEVEL: 'silent',
    ...env,
  });
  const warehouse = new WarehouseReader(config.warehouseDir);
  const services: Services = {
    config,
    pool: db.pool,
    logger: quietLogger,
    keys: new ApiKeyStore(db.pool),
    metrics: createMetrics(db.pool),
    piiSecret: PII_SECRET,
    voteWriter: new VoteWriter(db.pool),
    warehouse,
    sandbox: new QuerySandbox(config.warehouseDir),
    // As src/server.ts: embedded PGlite has no advisory lock that excludes anybody (one shared session).
    jobs: new JobRunner({
      pool: db.pool,
      config,
      logger: quietLogger,
      definitions: jobDefinitions(config),
      advisoryLock: db.real,
    }),
    copyIn: db.real,
    readinessChecks: [{ name: 'warehouse', check: () => warehouse.check() }],
  };
  const app = createApp(services, allRoutes(), [dashboards()]);
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
