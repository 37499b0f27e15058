import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCrashes, sleep, startFaultService, watchCrashes, type FaultService } from './harness.ts';
import { send, voteBody } from './load.ts';

/** What misbehaving clients do below JSON: oversized headers, slow senders, chunked bodies, maximum-size errors. */

let service: FaultService;
let port: number;
const crashes = watchCrashes();

/** Short HTTP timeouts (README "Configuration"), so a slow-header client is cut off within the test. */
const HEADERS_TIMEOUT_MS = 2_000;

beforeAll(async () => {
  service = await startFaultService({
    HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
    HTTP_REQUEST_TIMEOUT_MS: '10000',
  });
  port = service.server.port;
});
afterAll(async () => {
  crashes.stop();
  await service?.close();
});

const votes = async () => (await service.check.query<{ n: number }>(`select count(*)::int as n from votes`)).rows[0]!.n;

interface RawAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** node:http request writing `chunks` one by one (chunked unless a content-length is given), bounded by a timeout. */
function rawRequest(options: {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly chunks: readonly Buffer[];
  readonly pauseMs?: number;
  readonly timeoutMs: number;
}): Promise<RawAnswer | { status: 0; error: string }> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: options.path, headers: options.headers });
    const timer = setTimeout(() => {
      req.destroy(new Error('client timeout'));
    }, options.timeoutMs);
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) });
      });
      res.on('error', () => {});
    });
    req.on('error', (error) => {
      if (answered) return;
      clearTimeout(timer);
      resolve({ status: 0, error: error.message });
    });
    void (async () => {
      for (const chunk of options.chunks) {
        if (answered || req.destroyed) return;
        req.write(chunk);
        if (options.pauseMs) await sleep(options.pauseMs);
      }
      req.end();
    })();
  });
}

describe('hostile transport', { timeout: 180_000 }, () => {
  it('refuses oversized headers with 431 and writes nothing', async () => {
    const before = await votes();
    const answer = await rawRequest({
      path: '/api/v1/votes',
      headers: {
        authorization: `Bearer ${service.keys.app}`,
        'content-type': 'application/json',
        'x-padding': 'p'.repeat(64 * 1024),
      },
      chunks: [Buffer.from(JSON.stringify(voteBody('oversized-header')))],
      timeoutMs: 10_000,
    });
    expect(answer.status).toBe(431);
    expect(await votes()).toBe(before);
  });

  it('refuses a chunked body over 1 MB with 413, however it is cut, and writes nothing', async () => {
    const before = await votes();
    const big = JSON.stringify({ ...voteBody('chunked'), response: 'r'.repeat(1_500_000) });
    const chunks = Array.from({ length: Math.ceil(big.length / 65_536) }, (_, i) =>
      Buffer.from(big.slice(i * 65_536, (i + 1) * 65_536)),
    );
    for (const withLength of [false, true]) {
      const answer = await rawRequest({
        path: '/api/v1/votes',
        headers: {
          authorization: `Bearer ${service.keys.app}`,
          'content-type': 'application/json',
          ...(withLength ? { 'content-length': String(big.length) } : { 'transfer-encoding': 'chunked' }),
        },
        chunks,
        timeoutMs: 20_000,
      });
      expect(answer.status, JSON.stringify(answer)).toBe(413);
    }
    expect(await votes()).toBe(before);
  });

  it('serves slow senders (a body trickled over seconds) and everyone else meanwhile', async () => {
    const before = await votes();
    const body = Buffer.from(JSON.stringify(voteBody('slow-sender')));
    const pieces = Array.from({ length: 20 }, (_, i) =>
      body.subarray(Math.floor((i * body.length) / 20), Math.floor(((i + 1) * body.length) / 20)),
    );
    const slow = Array.from({ length: 10 }, () =>
      rawRequest({
        path: '/api/v1/votes',
        headers: {
          authorization: `Bearer ${service.keys.app}`,
          'content-type': 'application/json',
          'content-length': String(body.length),
        },
        chunks: pieces,
        pauseMs: 100,
        timeoutMs: 30_000,
      }),
    );
    // Meanwhile everyone else is served.
    for (let i = 0; i < 10; i++) {
      expect((await send(service.url, 'GET', '/healthz', { timeoutMs: 5_000 })).status).toBe(200);
      await sleep(150);
    }
    const answers = await Promise.all(slow);
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
    expect(await votes()).toBe(before + 10);
  });

  it('cuts off slow-header clients after HTTP_HEADERS_TIMEOUT_MS, serving everyone else meanwhile', async () => {
    // A request line, then one header byte every 150 ms: the headers never end.
    const lorises = Array.from({ length: 20 }, () => {
      const socket = net.connect(port, '127.0.0.1');
      const state = { socket, closed: false, answer: '' };
      socket.on('data', (d: Buffer) => (state.answer += d.toString('latin1')));
      socket.on('close', () => (state.closed = true));
      socket.on('error', () => {});
      return state;
    });
    try {
      const giveUpAt = Date.now() + HEADERS_TIMEOUT_MS * 5;
      for (let i = 0; lorises.some((l) => !l.closed) && Date.now() < giveUpAt; i++) {
        for (const l of lorises)
          if (!l.closed) l.socket.write(i === 0 ? 'POST /api/v1/votes HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: ' : 'a');
        expect((await send(service.url, 'GET', '/healthz', { timeoutMs: 5_000 })).status).toBe(200);
        await sleep(150);
      }
      expect(lorises.filter((l) => !l.closed).length, 'slow-header sockets still open').toBe(0);
      expect(lorises.filter((l) => !l.answer.startsWith('HTTP/1.1 408')).length, 'closed without a 408').toBe(0);
    } finally {
      for (const l of lorises) l.socket.destroy();
    }
  });

  it('answers a 1 MB body of wrong reasons items with a bounded 422, and eight at once keep RSS bounded and /healthz up', async () => {
    const before = await votes();
    // Every item of `reasons` is wrong (a number, not a string): about 150,000 errors in one body under 1 MB.
    const reasons: number[] = [];
    let body = '';
    for (let n = 0; ; n++) {
      reasons.push(n % 10);
      if (n % 1000 === 0) {
        body = JSON.stringify({ conversation_id: 'bounded', vote: 'down', reasons });
        if (body.length > 1_000_000 - 4_000) break;
      }
    }
    const one = await send(service.url, 'POST', '/api/v1/votes', {
      key: service.keys.app,
      body: JSON.parse(body),
      timeoutMs: 30_000,
    });
    expect(one.status).toBe(422);
    expect(one.json.errors.length).toBeLessThanOrEqual(100);
    expect(one.json.errors_truncated).toBe(true);
    expect(one.json.error_count).toBeGreaterThan(100);
    expect(JSON.stringify(one.json).length).toBeLessThan(64 * 1024);

    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    let healthChecks = 0;
    let done = false;
    const burst = Promise.all(
      Array.from({ length: 8 }, () =>
        send(service.url, 'POST', '/api/v1/votes', {
          key: service.keys.app,
          body: JSON.parse(body),
          timeoutMs: 60_000,
        }),
      ),
    ).finally(() => (done = true));
    // /healthz answers throughout the burst (each probe within the client timeout).
    while (!done && healthChecks < 200) {
      const health = await send(service.url, 'GET', '/healthz', { timeoutMs: 5_000 });
      expect(health.status, 'healthz during the burst').toBe(200);
      healthChecks++;
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      await sleep(50);
    }
    const answers = await burst;
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    const growthMb = Math.round((rssPeak - rssBefore) / 2 ** 20);
    console.log(
      `eight 1 MB bodies of wrong reasons: statuses ${answers.map((a) => a.status).join(',')}, ` +
        `${one.json.error_count} errors each, answer ${JSON.stringify(one.json).length} bytes, RSS +${growthMb} MB, ` +
        `${healthChecks} /healthz probes answered`,
    );
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(422));
    expect(growthMb).toBeLessThan(300);
    expect(await votes()).toBe(before);
    expect(crashes.errors, describeCrashes(crashes.errors)).toEqual([]);
  });
});
