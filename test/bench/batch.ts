import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { createApiKey } from '../../src/auth/keys.ts';
import { configFromEnv } from '../../src/config.ts';
import { createPool, type Pool } from '../../src/db/pool.ts';
import { createApp } from '../../src/http/app.ts';
import { prepareVote } from '../../src/feedback/votes/service.ts';
import { VoteInput } from '../../src/feedback/votes/schema.ts';
import { checkBody } from '../../src/validation/body.ts';
import { allRoutes } from '../../src/http/routes/index.ts';
import { buildServices } from '../../src/server.ts';
import { createLogger } from '../../src/log.ts';
import { withScratchDatabase } from './scratch.ts';

/**
 * `npm run bench -- batch` (README "Benchmarks"): loads votes via POST /api/v1/batch, 1,000 per request from CLIENTS
 * concurrent clients, and the same rows through `COPY votes (...) FROM STDIN` on one connection, into the same
 * scratch database in the same run; prints rows/s of both and the ratio against the 0.5x target. Each loader runs
 * ROUNDS times on an emptied table and its best round counts, so neither gains from running first or last.
 */
const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const PER_REQUEST = 1_000;
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TARGET = 0.5;
const SECRET = 'bench-secret-0123456789abcdef';

interface BenchVote {
  conversation_id: string;
  vote: 'up' | 'down';
  query: string;
  response: string;
  reasons: string[];
  comment: string | null;
  metadata: Record<string, unknown>;
}

const QUESTIONS = [
  'How do I pay the second IMU instalment for a second home?',
  'Can I deduct the cost of a home office if I work as a freelancer under the flat-rate regime?',
  'What is the deadline for the 730 tax return this year?',
  'Does the split payment apply to invoices issued to public bodies?',
];
const ANSWERS = [
  'The second instalment is due on 16 December; pay it with the F24 form using the municipal tax codes. ',
  'Under the regime forfettario costs are not deducted analytically: a flat coefficient applies to revenue. ',
  'The 730 is filed by 30 September, directly online or through a CAF or an authorised professional. ',
  'Yes: the public body pays the VAT straight to the treasury, and the supplier collects only the taxable amount. ',
];

function votes(n: number): BenchVote[] {
  return Array.from({ length: n }, (_, i) => ({
    conversation_id: `bench-conv-${i % 20_000}`,
    vote: i % 3 === 0 ? 'down' : 'up',
    query: QUESTIONS[i % QUESTIONS.length]!,
    response: ANSWERS[i % ANSWERS.length]!.repeat(2),
    reasons: i % 3 === 0 ? ['outdated', 'too vague'] : [],
    comment: i % 5 === 0 ? 'The answer missed the December deadline.' : null,
    metadata: { app: 'bench', model: 'gpt-x', turn: i % 7 },
  }));
}

/** One CSV field (COPY's CSV format): quoted, quotes doubled; an empty unquoted field is NULL. */
function csv(value: string | null): string {
  return value === null ? '' : `"${value.replace(/"/g, '""')}"`;
}

function csvRow(v: BenchVote): string {
  const reasons = `{${v.reasons.map((r) => `"${r.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;
  return `${[v.conversation_id, v.vote, v.query, v.response, reasons].map(csv).join(',')},${csv(v.comment)},${csv(JSON.stringify(v.metadata))}\n`;
}

async function copyVotes(pool: Pool, rows: readonly BenchVote[]): Promise<void> {
  const client = await pool.connect();
  try {
    const stream = client.query(
      copyFrom(
        'copy votes (conversation_id, vote, query, response, reasons, comment, metadata) from stdin with (format csv)',
      ),
    );
    async function* chunks() {
      for (let i = 0; i < rows.length; i += PER_REQUEST)
        yield rows
          .slice(i, i + PER_REQUEST)
          .map(csvRow)
          .join('');
    }
    await pipeline(Readable.from(chunks()), stream);
  } finally {
    client.release();
  }
}

/** Posts pre-serialised batch bodies from `clients` concurrent loops; throws on any non-201. */
async function postBatches(url: string, key: string, bodies: readonly string[], clients: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      const res = await fetch(`${url}/api/v1/batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body,
      });
      const text = await res.text();
      if (res.status !== 201) throw new Error(`batch answered ${res.status}: ${text.slice(0, 500)}`);
    }
  };
  await Promise.all(Array.from({ length: clients }, worker));
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

export async function run(): Promise<void> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'fw-bench-batch-'));
  try {
    await withScratchDatabase(async (url) => {
      const logger = createLogger('silent');
      const config = configFromEnv({
        DATABASE_URL: url,
        DATA_DIR: dataDir,
        PII_HASH_SECRET: SECRET,
        LOG_LEVEL: 'silent',
      });
      const pool = createPool({ connectionString: url, max: config.poolMax, idleInTransactionTimeoutMs: 0, logger });
      const services = await buildServices(
        config,
        { url, pool, jobPool: pool, embedded: false, close: () => pool.end() },
        logger,
      );
      const server = http.createServer(createApp(services, allRoutes()).callback());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      try {
        const { key } = await createApiKey(pool, 'bench', ['ingest']);
        const rows = votes(ROWS);
        const bodies: string[] = [];
        for (let i = 0; i < rows.length; i += PER_REQUEST) {
          bodies.push(
            JSON.stringify({ items: rows.slice(i, i + PER_REQUEST).map((data) => ({ type: 'vote', data })) }),
          );
        }
        const empty = async () => {
          await pool.query('truncate votes');
          await pool.query('vacuum analyze votes');
        };
        // Warm-up: JIT, connections, prepared plans, the redactor's regexes.
        await postBatches(base, key, bodies.slice(0, 5), CLIENTS);
        await copyVotes(pool, rows.slice(0, 5 * PER_REQUEST));

        let batchBest = Infinity;
        let copyBest = Infinity;
        for (let round = 0; round < ROUNDS; round++) {
          await empty();
          batchBest = Math.min(batchBest, await timed(() => postBatches(base, key, bodies, CLIENTS)));
          const written = Number((await pool.query('select count(*) as n from votes')).rows[0].n);
          if (written !== ROWS) throw new Error(`batch wrote ${written} rows, expected ${ROWS}`);
          await empty();
          copyBest = Math.min(copyBest, await timed(() => copyVotes(pool, rows)));
        }
        // Where the batch's time goes: the per-item work every row needs before it reaches Postgres (schema check,
        // PII redaction of query/response/comment), on one thread, with no I/O. COPY skips all of it.
        const prepSeconds = await timed(async () => {
          rows.forEach((data, i) => {
            checkBody(VoteInput, data, `/items/${i}/data`);
            prepareVote(data as VoteInput, { secret: SECRET });
          });
        });
        const batchRate = ROWS / batchBest;
        const copyRate = ROWS / copyBest;
        const ratio = batchRate / copyRate;
        const out = process.stdout;
        out.write(
          `batch benchmark: ${ROWS} votes, ${PER_REQUEST} per request, ${CLIENTS} clients, best of ${ROUNDS} rounds\n`,
        );
        out.write(
          `${'COPY votes FROM STDIN (1 connection)'.padEnd(40)} ${copyRate.toFixed(0).padStart(8)} rows/s  ${copyBest.toFixed(2)} s\n`,
        );
        out.write(
          `${'POST /api/v1/batch'.padEnd(40)} ${batchRate.toFixed(0).padStart(8)} rows/s  ${batchBest.toFixed(2)} s\n`,
        );
        out.write(
          `${'  of which validate + redact alone'.padEnd(40)} ${(ROWS / prepSeconds).toFixed(0).padStart(8)} rows/s  ` +
            `${prepSeconds.toFixed(2)} s of CPU on the event loop\n`,
        );
        out.write(
          `ratio ${ratio.toFixed(2)}x of COPY (target >= ${TARGET}x) ${ratio >= TARGET ? 'OK' : 'BELOW TARGET'}\n`,
        );
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await pool.end();
      }
    });
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}
