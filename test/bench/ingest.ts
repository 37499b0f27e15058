import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { createApiKey } from '../../src/auth/keys.ts';
import { createPool } from '../../src/db/pool.ts';
import { createLogger } from '../../src/log.ts';
import { startServe } from '../helpers/cli.ts';
import { withScratchDatabase } from './scratch.ts';

const run_ = promisify(execFile);
const CONNECTIONS = 32;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);

/** pgbench with the same single-row transactional insert into the same table, 32 clients. */
async function pgbench(url: string, dir: string): Promise<number> {
  const script = path.join(dir, 'insert.sql');
  await writeFile(
    script,
    "insert into votes (conversation_id, vote, query, reasons, metadata) values ('bench-' || (random() * 100000)::int, 'up', 'How do I file my taxes?', array['slow'], '{\"app\":\"bench\"}');\n",
  );
  const { stdout } = await run_(
    'pgbench',
    ['-n', '-c', String(CONNECTIONS), '-j', '2', '-T', String(SECONDS), '-f', script, url],
    {
      maxBuffer: 1 << 24,
    },
  );
  const tps = /tps = ([\d.]+)/.exec(stdout);
  if (!tps) throw new Error(`cannot read pgbench output:\n${stdout}`);
  return Number(tps[1]);
}

async function cannon(
  url: string,
  key: string,
  idempotent: boolean,
): Promise<{ rps: number; non2xx: number; p50: number; p99: number }> {
  let n = 0;
  const result = await autocannon({
    url: `${url}/api/v1/votes`,
    connections: CONNECTIONS,
    pipelining: 1,
    duration: SECONDS,
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => {
          n++;
          return {
            ...req,
            headers: {
              authorization: `Bearer ${key}`,
              'content-type': 'application/json',
              ...(idempotent ? { 'idempotency-key': `bench-${process.pid}-${n}` } : {}),
            },
            body: JSON.stringify({
              conversation_id: `bench-${n % 100000}`,
              vote: 'up',
              query: 'How do I file my taxes?',
              reasons: ['slow'],
              metadata: { app: 'bench' },
            }),
          };
        },
      },
    ],
  });
  return { rps: result.requests.average, non2xx: result.non2xx, p50: result.latency.p50, p99: result.latency.p99 };
}

export async function run(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'fw-bench-'));
  try {
    await withScratchDatabase(async (url) => {
      const pool = createPool({
        connectionString: url,
        max: 2,
        idleInTransactionTimeoutMs: 0,
        logger: createLogger('warn'),
      });
      const { key } = await createApiKey(pool, 'bench', ['ingest']);
      await pool.end();
      const server = await startServe(['--port', '0', '--no-jobs'], {
        DATABASE_URL: url,
        DATA_DIR: dir,
        LOG_LEVEL: 'warn',
        PG_POOL_MAX: '32',
      });
      try {
        await cannon(server.url, key, false); // warm-up: JIT, connections, plan cache
        const plain = await cannon(server.url, key, false);
        const withKey = await cannon(server.url, key, true);
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        await client.query('vacuum analyze votes');
        await client.end();
        const baseline = await pgbench(url, dir);
        const line = (label: string, r: { rps: number; non2xx: number; p50: number; p99: number }, target: number) =>
          `${label.padEnd(34)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  non-2xx ${r.non2xx}  ` +
          `ratio ${(r.rps / baseline).toFixed(2)}x (target >= ${target}x) ${r.rps / baseline >= target ? 'OK' : 'BELOW TARGET'}`;
        process.stdout.write(`ingest benchmark: ${CONNECTIONS} connections, ${SECONDS} s each, no pipelining\n`);
        process.stdout.write(`${'pgbench single-row insert'.padEnd(34)} ${baseline.toFixed(0).padStart(7)} tps\n`);
        process.stdout.write(`${line('POST /api/v1/votes', plain, 0.6)}\n`);
        process.stdout.write(`${line('POST /api/v1/votes + Idempotency-Key', withKey, 0.45)}\n`);
      } finally {
        server.child.kill('SIGTERM');
        await server.exited;
      }
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
