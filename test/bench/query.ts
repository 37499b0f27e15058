import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { createApiKey } from '../../src/auth/keys.ts';
import { createPool } from '../../src/db/pool.ts';
import { createLogger } from '../../src/log.ts';
import { finishQueryAudit, startQueryAudit } from '../../src/warehouse/query/queryAudit.ts';
import { QuerySandbox } from '../../src/warehouse/query/querySandbox.ts';
import { publishedPath } from '../../src/warehouse/export/snapshotFiles.ts';
import { startServe } from '../helpers/cli.ts';
import { exportNow } from '../warehouse/export/compare.ts';
import { withScratchDatabase } from './scratch.ts';

/**
 * `npm run bench -- query`: what running queries outside the server process costs (docs/decisions/0008).
 * Over VOTES exported votes, the median latency of a small aggregation three ways, in one run: run directly on DuckDB
 * in this process (the baseline), through the sandbox's process pool (statement check, allow-list, IPC, settings
 * check), and through POST /api/v1/query of a running `serve` (plus HTTP, auth and the two audit writes, also timed alone); then rows/s
 * of a 10,000-row result each way. Target: endpoint overhead under 10 ms at the median. Figures are printed, never
 * asserted (docs/STYLE.md "Tests").
 */

const VOTES = Number(process.env.BENCH_VOTES ?? 100_000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
const SMALL = 'select vote, count(*) as n, min(created_at) as first from votes group by vote order by vote';
const WIDE = 'select id, conversation_id, vote, reasons, created_at from votes order by id limit 10000';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const percentile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const ms = (x: number) => `${x.toFixed(2)} ms`;
const say = (line: string) => process.stdout.write(`${line}\n`);

/** Runs fn `count` times after a warm-up and returns the times in ms. */
async function times(count: number, fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < 10; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await fn();
    out.push(performance.now() - started);
  }
  return out;
}

export async function run(): Promise<void> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'fw-bench-query-'));
  const warehouseDir = path.join(dataDir, 'warehouse');
  try {
    await withScratchDatabase(async (url) => {
      const pool = createPool({
        connectionString: url,
        max: 2,
        idleInTransactionTimeoutMs: 0,
        logger: createLogger('warn'),
      });
      let key: string;
      try {
        await pool.query(
          `insert into votes (conversation_id, vote, reasons, created_at)
           select 'conv-' || (i % 5000), case when i % 3 = 0 then 'down' else 'up' end,
                  case when i % 3 = 0 then array['outdated'] else '{}' end, now() - i * interval '1 minute'
             from generate_series(1, ${VOTES}) as i`,
        );
        await exportNow(pool, warehouseDir);
        ({ key } = await createApiKey(pool, 'bench-query', ['query']));
      } finally {
        await pool.end();
      }
      say(`query benchmark: ${VOTES.toLocaleString('en')} votes, ${REQUESTS} runs each, sequential`);

      // Baseline: the same SQL on DuckDB in this process, READ_ONLY on the published file, one connection.
      const instance = await DuckDBInstance.create(publishedPath(warehouseDir), { access_mode: 'READ_ONLY' });
      const conn = await instance.connect();
      let direct: number[];
      let directWide: number[];
      try {
        direct = await times(REQUESTS, () => conn.runAndReadAll(SMALL));
        directWide = await times(20, async () => (await conn.runAndReadAll(WIDE)).getRowsJson());
      } finally {
        conn.closeSync();
        instance.closeSync();
      }

      const sandbox = new QuerySandbox(warehouseDir);
      const limits = { maxRows: 10_000, maxBytes: 32 * 1024 * 1024, timeoutMs: 10_000 };
      let pooled: number[];
      let pooledWide: number[];
      try {
        pooled = await times(REQUESTS, () => sandbox.run(SMALL, limits));
        pooledWide = await times(20, () => sandbox.run(WIDE, limits));
      } finally {
        await sandbox.close();
      }

      // What every endpoint query pays besides the sandbox: its audit row, written before it runs and completed after.
      const auditPool = createPool({
        connectionString: url,
        max: 2,
        idleInTransactionTimeoutMs: 0,
        logger: createLogger('warn'),
      });
      let audit: number[];
      try {
        const caller = { apiKeyId: null, apiKeyName: 'bench', source: 'cli' as const };
        audit = await times(REQUESTS, async () => {
          const id = await startQueryAudit(auditPool, caller, SMALL, 10_000);
          await finishQueryAudit(auditPool, id, {
            outcome: 'ok',
            durationMs: 1,
            rowCount: 2,
            truncated: false,
            error: null,
          });
        });
      } finally {
        await auditPool.end();
      }

      const serve = await startServe(['--no-jobs', '--port', '0'], {
        DATABASE_URL: url,
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
      });
      let endpoint: number[];
      let endpointWide: number[];
      let floor: number[];
      try {
        const post = (sql: string) => async () => {
          const res = await fetch(`${serve.url}/api/v1/query`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: JSON.stringify({ sql }),
          });
          await res.arrayBuffer();
          if (res.status !== 200) throw new Error(`query: ${res.status}`);
        };
        floor = await times(REQUESTS, async () => (await fetch(`${serve.url}/healthz`)).arrayBuffer());
        endpoint = await times(REQUESTS, post(SMALL));
        endpointWide = await times(20, post(WIDE));
      } finally {
        serve.child.kill('SIGTERM');
        await serve.exited;
      }

      const row = (name: string, xs: number[]) =>
        say(`  ${name.padEnd(34)} p50 ${ms(median(xs)).padStart(10)}   p95 ${ms(percentile(xs, 0.95)).padStart(10)}`);
      say(`small aggregation (${SMALL.slice(0, 60)}...):`);
      row('DuckDB in this process (baseline)', direct);
      row('sandbox process pool', pooled);
      row('POST /api/v1/query', endpoint);
      row('GET /healthz (the HTTP floor)', floor);
      row('the two audit writes alone', audit);
      say(`  isolation overhead (pool - baseline):  ${ms(median(pooled) - median(direct))} at the median`);
      say(
        `  endpoint overhead (endpoint - baseline): ${ms(median(endpoint) - median(direct))} at the median (target < 10 ms)`,
      );
      const rate = (xs: number[]) => `${Math.round(10_000 / (median(xs) / 1000)).toLocaleString('en')} rows/s`;
      say('10,000-row result (5 columns, JSON values):');
      say(`  DuckDB in this process (rows as JSON)  ${ms(median(directWide))}  ${rate(directWide)}`);
      say(`  sandbox process pool                   ${ms(median(pooledWide))}  ${rate(pooledWide)}`);
      say(`  POST /api/v1/query                     ${ms(median(endpointWide))}  ${rate(endpointWide)}`);
    });
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}
