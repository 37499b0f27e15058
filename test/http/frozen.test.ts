import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.ts';
import { startProxiedApp, type ProxiedApp } from '../helpers/proxiedApp.ts';

let proxied: ProxiedApp;
let app: TestApp;
let ingest: string;

beforeAll(async () => {
  // The request pool's timeouts as PG_STATEMENT_TIMEOUT_MS and PG_CONNECT_TIMEOUT_MS set them, made short for the
  // test: the client gives up one second after the statement timeout (src/db/pool.ts).
  proxied = await startProxiedApp({}, { statementTimeoutMs: 500, connectTimeoutMs: 500 });
  app = proxied.app;
  ingest = await app.key('ingest');
});
afterAll(() => proxied.close());

/** A request that must be answered: a hang fails the test at 15 s instead of at the test timeout. */
function send(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(app.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${ingest}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
}

describe('when Postgres freezes (the connections stay open, nothing answers)', () => {
  it('every write path answers 503 with Retry-After instead of waiting for ever, and works again after', async () => {
    expect((await send('/api/v1/votes', { conversation_id: 'frozen', vote: 'up' })).status).toBe(201);
    proxied.proxy.freeze();
    try {
      const answers = await Promise.all([
        send('/api/v1/votes', { conversation_id: 'frozen', vote: 'up' }),
        send('/api/v1/votes', { conversation_id: 'frozen', vote: 'down' }, { 'Idempotency-Key': 'frozen-1' }),
        send('/api/v1/batch', { items: [{ type: 'vote', data: { conversation_id: 'frozen', vote: 'up' } }] }),
        send('/api/v1/interview-sessions', { external_ref: 'frozen-1' }),
      ]);
      for (const answer of answers) {
        expect(answer.status).toBe(503);
        expect(answer.headers.get('retry-after')).toBe('5');
      }
    } finally {
      proxied.proxy.thaw();
    }
    // The clients that timed out were dropped; fresh connections serve the next requests.
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 201; attempt++) {
      status = (await send('/api/v1/votes', { conversation_id: 'frozen', vote: 'up' })).status;
      if (status !== 201) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(201);
    const replay = await send(
      '/api/v1/votes',
      { conversation_id: 'frozen', vote: 'down' },
      { 'Idempotency-Key': 'frozen-1' },
    );
    expect(replay.status).toBe(201);
  });
});
