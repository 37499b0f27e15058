import http from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allRoutes } from '../../src/http/routes/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

// The surface anyone can reach without a key: it must answer every request with a 4xx (2xx only for the public
// GETs, and OPTIONS), and no request may grow the service's state: /metrics series, heap or RSS.

let app: TestApp;
let agent: http.Agent;

beforeAll(async () => {
  app = await startTestApp();
  agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
});
afterAll(async () => {
  agent.destroy();
  await app.close();
});

/** The seed of every random run here: fixed, so a failure replays; fast-check prints it with the counterexample. */
const SEED = 20261204;

const TEMPLATES = [...new Set(allRoutes().map((r) => r.path))];
const PUBLIC_GETS = new Set(
  allRoutes()
    .filter((r) => r.scope === null && r.method === 'GET')
    .map((r) => r.path),
);
const KNOWN_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
/** Methods Node's parser accepts that no route has, and tokens it refuses itself (400 before the app sees them). */
const ODD_METHODS = ['PROPFIND', 'MKCOL', 'LOCK', 'PURGE', 'SEARCH', 'REPORT', 'LINK', 'QUERY', 'FOO', 'get'];

interface Sent {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
}

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
}

/** One request over the keep-alive agent (node:http, not fetch: fetch refuses some methods and headers). */
function send(request: Sent): Promise<Answer> {
  const url = new URL(app.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: url.port,
        method: request.method,
        path: request.path,
        headers: request.headers,
        agent,
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${request.method} ${request.path} timed out`)));
    req.on('error', reject);
    req.end(request.body);
  });
}

const segment = fc.oneof(
  fc.string({ maxLength: 16 }).map(encodeURIComponent),
  fc.uuid(),
  fc.integer().map(String),
  fc.constantFrom('%ZZ', '%', '%00', '%2F', '..', '.', '', '%C3%BC', ';x=1', 'a'.repeat(2_000)),
);

/** A path near the routes (templates with random ids, their prefixes, their extensions) or anywhere. */
const path = fc
  .tuple(
    fc.oneof(
      fc.tuple(fc.constantFrom(...TEMPLATES), fc.array(segment, { minLength: 3, maxLength: 3 })).map(([t, ids]) => {
        let i = 0;
        return t.replace(/\{[a-z_]+\}/g, () => ids[i++]!);
      }),
      fc.tuple(fc.constantFrom(...TEMPLATES), segment).map(([t, s]) => `${t.replace(/\{[a-z_]+\}/g, 'x')}/${s}`),
      fc.array(segment, { minLength: 1, maxLength: 6 }).map((s) => `/${s.join('/')}`),
      fc.array(segment, { maxLength: 3 }).map((s) => `/api/v1/${s.join('/')}`),
      fc.constantFrom('/dashboards', '/dashboards/', '/dashboards/x.js', '/dashboards/vendor/uPlot.min.css', '//'),
    ),
    fc.option(
      fc
        .dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 16 }), { maxKeys: 3 })
        .map((q) => new URLSearchParams(q).toString()),
      { nil: undefined },
    ),
  )
  .map(([p, q]) => (q ? `${p}?${q}` : p));

const headerValue = fc.stringMatching(/^[\x21-\x7e][\x20-\x7e]{0,60}$/);
const headers = fc.record(
  {
    'content-type': fc.oneof(
      fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/merge+json'),
      headerValue,
    ),
    authorization: fc.oneof(fc.constantFrom('Bearer', 'Bearer fw_x', 'Basic YTpi', 'bearer  '), headerValue),
    'idempotency-key': headerValue,
    'x-request-id': headerValue,
    accept: fc.constantFrom('*/*', 'application/problem+json', 'text/html', 'nope'),
    'x-random': headerValue,
  },
  { requiredKeys: [] },
);
const body = fc.option(
  fc.oneof(
    fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
    fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
    fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)),
    fc.constant(Buffer.alloc(1024 * 1024 + 1, 0x20)),
  ),
  { nil: undefined, freq: 2 },
);
const request: fc.Arbitrary<Sent> = fc.record({
  method: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...KNOWN_METHODS) }, fc.constantFrom(...ODD_METHODS)),
  path,
  headers,
  body,
});

/** The template a path matches, if any (the same rule as the router: one segment per parameter). */
function templateOf(requestPath: string): string | undefined {
  const bare = requestPath.split('?')[0]!;
  return TEMPLATES.find((t) => new RegExp(`^${t.replace(/\{[a-z_]+\}/g, '[^/]+')}/?$`).test(bare));
}

function acceptable(sent: Sent, answer: Answer): boolean {
  if (answer.status >= 400 && answer.status < 500) return true;
  const bare = sent.path.split('?')[0]!;
  const method = sent.method.toUpperCase(); // node:http sends the method upper-cased
  const isPublicGet =
    (method === 'GET' || method === 'HEAD') &&
    (PUBLIC_GETS.has(templateOf(bare) ?? '') || bare.startsWith('/dashboards'));
  if (isPublicGet) return answer.status >= 200 && answer.status < 400;
  return method === 'OPTIONS' && answer.status === 204 && templateOf(sent.path) !== undefined;
}

/** The fw_http_* series in /metrics, one string per series (name and labels). */
async function httpSeries(): Promise<Set<string>> {
  const text = (await send({ method: 'GET', path: '/metrics', headers: {} })).text;
  return new Set(
    text
      .split('\n')
      .filter((line) => line.startsWith('fw_http_'))
      .map((line) => line.slice(0, line.lastIndexOf(' '))),
  );
}

/** Heap and RSS after a full collection (v8's gc, exposed for this process only). */
function memory(): { heap: number; rss: number } {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, rss: usage.rss };
}

describe('405 and OPTIONS', () => {
  it('answers a method a path does not have with 405 problem+json whose Allow lists the methods it has', async () => {
    const res = await app.request('DELETE', '/api/v1/experts/2c8e2ab4-5f0a-4a59-9b43-3c5a7c66d7a1');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD, PATCH, OPTIONS');
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.json).toMatchObject({
      type: '/docs#problem-method-not-allowed',
      status: 405,
      detail: 'Allowed methods: GET, HEAD, PATCH, OPTIONS',
    });
    const feedback = await app.request('DELETE', '/api/v1/interview-sessions/x/feedback');
    expect(feedback.headers.get('allow')).toBe('GET, HEAD, POST, PUT, OPTIONS');
    const other = await send({ method: 'PROPFIND', path: '/api/v1/votes', headers: {} });
    expect([other.status, other.headers.allow]).toEqual([405, 'POST, OPTIONS']);
  });

  it('answers OPTIONS on a route with 204 and Allow, without a key, and 404 on a path no route has', async () => {
    const res = await app.request('OPTIONS', '/api/v1/conversations/abc/votes');
    expect(res.status).toBe(204);
    expect(res.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
    expect(res.text).toBe('');
    expect((await app.request('OPTIONS', '/healthz')).headers.get('allow')).toBe('GET, HEAD, OPTIONS');
    expect((await app.request('OPTIONS', '/nowhere')).status).toBe(404);
  });

  it('counts 405 and OPTIONS under the route template, never the raw path', async () => {
    await app.request('OPTIONS', '/api/v1/experts/unique-id-in-path-1');
    await app.request('PUT', '/api/v1/experts/unique-id-in-path-2');
    await send({ method: 'MKCOL', path: '/nowhere/unique-id-in-path-3', headers: {} });
    const metrics = (await app.request('GET', '/metrics')).text;
    expect(metrics).not.toContain('unique-id-in-path');
    expect(metrics).toContain('fw_http_requests_total{method="OPTIONS",route="/api/v1/experts/{id}",status="204"}');
    expect(metrics).toContain('fw_http_requests_total{method="PUT",route="/api/v1/experts/{id}",status="405"}');
    expect(metrics).toContain('fw_http_requests_total{method="(other)",route="(unmatched)",status="404"}');
  });
});

describe('the unauthenticated surface under random requests', () => {
  it('answers 10,000 random requests without a key with 4xx (2xx for public GETs), adding no series and no memory', async () => {
    console.info(`random requests: fast-check seed ${SEED}`);
    const run = async (numRuns: number, seed: number) => {
      await fc.assert(
        fc.asyncProperty(request, async (sent) => {
          const answer = await send(sent);
          if (!acceptable(sent, answer)) throw new Error(`${sent.method} ${sent.path} answered ${answer.status}`);
          if (answer.status === 405) expect(answer.headers.allow).toMatch(/^[A-Z]+(, [A-Z]+)*$/);
        }),
        { seed, numRuns, interruptAfterTimeLimit: 90_000, markInterruptAsFailure: true, endOnFailure: true },
      );
    };
    // Warm up: every label combination the surface can produce appears once (they are bounded, which is the point):
    // each method on each template and on no template, then random requests of another seed.
    for (const method of [...KNOWN_METHODS, 'PROPFIND'])
      for (const p of [...TEMPLATES.map((t) => t.replace(/\{[a-z_]+\}/g, 'x')), '/nowhere', '/dashboards/'])
        await send({ method, path: p, headers: {} });
    await run(2_000, SEED);
    const seriesBefore = await httpSeries();
    const memoryBefore = memory();

    await run(10_000, SEED + 1);

    const seriesAfter = await httpSeries();
    const memoryAfter = memory();
    expect([...seriesAfter].filter((s) => !seriesBefore.has(s))).toEqual([]);
    const routes = new Set([...seriesAfter].map((s) => /route="([^"]*)"/.exec(s)?.[1]));
    expect([...routes].filter((r) => !TEMPLATES.includes(r!) && r !== '/dashboards/' && r !== '(unmatched)')).toEqual(
      [],
    );
    const growth = {
      heapMb: (memoryAfter.heap - memoryBefore.heap) / 2 ** 20,
      rssMb: (memoryAfter.rss - memoryBefore.rss) / 2 ** 20,
    };
    console.info(`memory growth over 10,000 requests: ${JSON.stringify(growth)}`);
    expect(growth.heapMb).toBeLessThan(8);
    expect(growth.rssMb).toBeLessThan(64);
  }, 240_000);
});
