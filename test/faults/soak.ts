/**
 * `npm run soak`: the service under mixed traffic for SOAK_MINUTES (default 10) over a throwaway Postgres cluster:
 * ingestion on every write path, an export every SOAK_EXPORT_EVERY_S seconds (default 60) through the jobs API,
 * governed queries, rollup and dashboard reads. Asserts no errors and flat RSS and open handles; prints figures.
 * Not a test file (not in CI): it takes minutes. Run with --expose-gc (the npm script does) for settled RSS samples.
 */
import { startFaultService, sleep } from './harness.ts';
import { createExpert, ok, send, steadyLoad, writeOnce, WRITE_PATHS, type Answer, type Attempt } from './load.ts';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 10);
const EXPORT_EVERY_S = Number(process.env.SOAK_EXPORT_EVERY_S ?? 60);
const SAMPLE_EVERY_S = Number(process.env.SOAK_SAMPLE_EVERY_S ?? 10);
const CLIENT_TIMEOUT_MS = 30_000;

interface Sample {
  readonly atS: number;
  readonly rssMb: number;
  readonly heapMb: number;
  readonly handles: number;
  readonly requests: number;
}

const mb = (n: number) => Math.round(n / 2 ** 20);
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
function percentile(xs: readonly number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function main(): Promise<number> {
  if (!(MINUTES > 0)) throw new Error(`SOAK_MINUTES must be a positive number, got ${process.env.SOAK_MINUTES}`);
  const service = await startFaultService({ PG_POOL_MAX: '10' });
  const started = Date.now();
  const endAt = started + MINUTES * 60_000;
  const errors: string[] = [];
  const counts: Record<string, number> = {};
  const latencies: Record<string, number[]> = {};
  const record = (what: string, a: Answer, expected: (a: Answer) => boolean = ok) => {
    const label = `${what} ${a.failure ?? a.status}`;
    counts[label] = (counts[label] ?? 0) + 1;
    (latencies[what] ??= []).push(a.doneAt - a.sentAt);
    if (!expected(a)) errors.push(`${new Date().toISOString()} ${label}`);
  };
  const exports: { atS: number; ms: number; status: string }[] = [];
  const samples: Sample[] = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  try {
    const { url, keys } = service;
    const ctx = { url, key: keys.app, expertId: await createExpert(url, keys.app), timeoutMs: CLIENT_TIMEOUT_MS };
    const stopped = () => Date.now() >= endAt;
    const loops: Promise<unknown>[] = [];
    // Ingestion: one client per write path, a request every 25 ms or so each.
    loops.push(
      steadyLoad<Attempt>({
        workers: WRITE_PATHS.length,
        step: async (worker) => {
          const attempts = await writeOnce(ctx, WRITE_PATHS[worker]!);
          for (const a of attempts) record(a.path, a);
          return [];
        },
        stopped,
        maxSteps: 10_000_000,
        deadline: endAt,
        pauseMs: 25,
      }),
    );
    // Readers: rollups, a conversation, the dashboards page, and governed queries.
    const reads: [string, string, string, unknown?][] = [
      ['rollups-votes', 'GET', '/api/v1/rollups/votes'],
      ['rollups-experts', 'GET', '/api/v1/rollups/experts'],
      ['rollups-interviews', 'GET', '/api/v1/rollups/interviews'],
      ['dashboards', 'GET', '/dashboards/'],
      ['faq', 'GET', '/api/v1/faq-entries'],
      ['query', 'POST', '/api/v1/query', { sql: 'select vote, count(*) as n from votes group by vote' }],
      ['query', 'POST', '/api/v1/query', { sql: 'select * from vote_daily order by day desc limit 30' }],
    ];
    let readIndex = 0;
    let exported = false;
    loops.push(
      steadyLoad<never>({
        workers: 2,
        step: async () => {
          const [what, method, path, body] = reads[readIndex++ % reads.length]!;
          // Before the first export the warehouse does not exist yet: the query endpoint says so (a 4xx/503 by
          // design), so reads of the warehouse start after it.
          if (!exported && (what === 'query' || what.startsWith('rollups'))) return [];
          record(what, await send(url, method, path, { key: keys.app, body, timeoutMs: CLIENT_TIMEOUT_MS }));
          return [];
        },
        stopped,
        maxSteps: 10_000_000,
        deadline: endAt,
        pauseMs: 100,
      }),
    );
    // Exports through the jobs API, every EXPORT_EVERY_S, each followed to its end.
    loops.push(
      (async () => {
        while (!stopped()) {
          const began = Date.now();
          const run = await send(url, 'POST', '/api/v1/jobs/export/run', {
            key: keys.admin,
            timeoutMs: CLIENT_TIMEOUT_MS,
          });
          record('export-start', run, (a) => a.status === 202);
          if (run.status === 202) {
            const id = run.json.run.id as number;
            for (let i = 0; i < 600; i++) {
              const state = await send(url, 'GET', `/api/v1/jobs/export/runs/${id}`, {
                key: keys.admin,
                timeoutMs: CLIENT_TIMEOUT_MS,
              });
              // The run itself (GET ./runs/{id} answers the run, not {run}).
              const status = state.json?.status as string | undefined;
              if (status && status !== 'running') {
                exports.push({ atS: Math.round((began - started) / 1000), ms: Date.now() - began, status });
                if (status !== 'succeeded') errors.push(`export run ${id} ${status}`);
                else exported = true;
                break;
              }
              await sleep(200);
            }
          }
          while (!stopped() && Date.now() < began + EXPORT_EVERY_S * 1000) await sleep(200);
        }
      })(),
    );
    // Samples: RSS (after a collection when gc is exposed), heap, open handles.
    loops.push(
      (async () => {
        while (!stopped()) {
          gc?.();
          const memory = process.memoryUsage();
          samples.push({
            atS: Math.round((Date.now() - started) / 1000),
            rssMb: mb(memory.rss),
            heapMb: mb(memory.heapUsed),
            handles: process.getActiveResourcesInfo().length,
            requests: Object.values(counts).reduce((a, b) => a + b, 0),
          });
          const last = samples.at(-1)!;
          console.error(
            `soak t=${last.atS}s requests=${last.requests} rss=${last.rssMb}MB heap=${last.heapMb}MB handles=${last.handles} errors=${errors.length}`,
          );
          for (let waited = 0; waited < SAMPLE_EVERY_S * 1000 && !stopped(); waited += 200) await sleep(200);
        }
      })(),
    );
    await Promise.all(loops);
  } finally {
    await service.close();
  }

  // Flat: the last third of the samples against the first third after the first minute (JIT, caches, pool warm).
  const warm = samples.filter((s) => s.atS >= Math.min(60, (MINUTES * 60) / 3));
  const third = Math.max(1, Math.floor(warm.length / 3));
  const early = warm.slice(0, third);
  const late = warm.slice(-third);
  const rssEarly = mean(early.map((s) => s.rssMb));
  const rssLate = mean(late.map((s) => s.rssMb));
  const handlesEarly = Math.max(...early.map((s) => s.handles));
  const handlesLate = Math.max(...late.map((s) => s.handles));
  const seconds = (Date.now() - started) / 1000;
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const figures = {
    minutes: MINUTES,
    requests: total,
    requests_per_s: Math.round(total / seconds),
    by_outcome: counts,
    p50_ms: Object.fromEntries(Object.entries(latencies).map(([k, v]) => [k, percentile(v, 50)])),
    p99_ms: Object.fromEntries(Object.entries(latencies).map(([k, v]) => [k, percentile(v, 99)])),
    exports,
    rss_mb: { early: Math.round(rssEarly), late: Math.round(rssLate), max: Math.max(...samples.map((s) => s.rssMb)) },
    handles: { early: handlesEarly, late: handlesLate },
    errors: errors.length,
  };
  console.log(JSON.stringify(figures, null, 2));
  const failures: string[] = [];
  if (errors.length > 0) failures.push(`${errors.length} errors, first: ${errors.slice(0, 10).join('; ')}`);
  if (exports.length < Math.floor((MINUTES * 60) / EXPORT_EVERY_S)) failures.push(`only ${exports.length} exports`);
  // Flat within noise: a quarter plus 32 MB for RSS (the warehouse and the pool's buffers grow a little with data).
  if (rssLate > rssEarly * 1.25 + 32)
    failures.push(`RSS grew from ${Math.round(rssEarly)} to ${Math.round(rssLate)} MB`);
  if (handlesLate > handlesEarly + 10) failures.push(`open handles grew from ${handlesEarly} to ${handlesLate}`);
  for (const f of failures) console.error(`soak FAILED: ${f}`);
  if (failures.length === 0) console.error('soak passed');
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
