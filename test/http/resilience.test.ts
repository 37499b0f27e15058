import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.ts';
import { startProxiedApp, type ProxiedApp } from '../helpers/proxiedApp.ts';
import type { TcpProxy } from '../helpers/tcpProxy.ts';

let proxied: ProxiedApp;
let proxy: TcpProxy;
let app: TestApp;
let ingest: string;

beforeAll(async () => {
  proxied = await startProxiedApp();
  ({ proxy, app } = proxied);
  ingest = await app.key('ingest');
});
afterAll(() => proxied.close());

describe('when Postgres goes away', () => {
  it('answers 503 with Retry-After, keeps /healthz up, fails /readyz, and recovers by itself', async () => {
    const body = { conversation_id: 'resilience', vote: 'up' };
    expect((await app.request('POST', '/api/v1/votes', { key: ingest, body })).status).toBe(201);

    await proxy.cut();
    const down = await app.request('POST', '/api/v1/votes', { key: ingest, body });
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('5');
    expect(down.headers.get('content-type')).toMatch(/problem\+json/);
    expect((await app.request('GET', '/healthz')).status).toBe(200);
    const ready = await app.request('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.headers.get('retry-after')).toBe('5');

    await proxy.restore();
    let status = 0;
    for (let attempt = 0; attempt < 20 && status !== 201; attempt++) {
      status = (await app.request('POST', '/api/v1/votes', { key: ingest, body })).status;
      if (status !== 201) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(201);
    expect((await app.request('GET', '/readyz')).status).toBe(200);
    const { rows } = await proxied.db.pool.query(
      "select count(*)::int as n from votes where conversation_id = 'resilience'",
    );
    expect(rows[0].n).toBe(2);
  });
});
