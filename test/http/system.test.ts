import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

describe('system routes', () => {
  it('GET /healthz and /readyz answer 200 without a key', async () => {
    expect((await app.request('GET', '/healthz')).json).toEqual({ status: 'ok' });
    const ready = await app.request('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json.checks.postgres).toBe('ok');
  });

  it('GET /openapi.json is OpenAPI 3.1 generated from the validation schemas', async () => {
    const res = await app.request('GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.json.openapi).toBe('3.1.0');
    const post = res.json.paths['/api/v1/votes'].post;
    expect(post.requestBody.content['application/json'].schema.properties.vote.enum).toEqual(['up', 'down']);
    expect(post.requestBody.content['application/json'].schema.additionalProperties).toBe(false);
    expect(post.responses['422'].content['application/problem+json']).toBeDefined();
    expect(post.parameters.map((p: { name: string }) => p.name)).toContain('Idempotency-Key');
    expect(res.json.paths['/api/v1/conversations/{conversation_id}/votes'].get['x-scope']).toBe('read');
  });

  it('GET /docs is a readable page listing every operation and problem type', async () => {
    const res = await app.request('GET', '/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.text).toContain('POST /api/v1/votes');
    expect(res.text).toContain('id="problem-validation-error"');
    expect(res.text).toContain('Apache-2.0');
    expect(res.text).not.toContain('OPTIONS /api/v1/votes'); // one sentence covers every path's OPTIONS
  });

  it('GET /metrics exposes request counts and latency by route and status, and pool usage', async () => {
    const key = await app.key('read');
    await app.request('GET', '/api/v1/conversations/m/votes', { key });
    await app.request('GET', '/api/v1/conversations/m/votes');
    const res = await app.request('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    expect(res.text).toMatch(
      /fw_http_requests_total\{method="GET",route="\/api\/v1\/conversations\/\{conversation_id\}\/votes",status="200"\} 1/,
    );
    expect(res.text).toContain(
      'fw_http_requests_total{method="GET",route="/api/v1/conversations/{conversation_id}/votes",status="401"} 1',
    );
    expect(res.text).toContain('fw_http_request_duration_seconds_bucket');
    expect(res.text).toMatch(/fw_pg_pool_connections \d+/);
  });

  it('echoes a request id and makes one when none is sent', async () => {
    const given = await app.request('GET', '/healthz', { headers: { 'X-Request-Id': 'abc-123' } });
    expect(given.headers.get('x-request-id')).toBe('abc-123');
    const made = await app.request('GET', '/healthz');
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves the static dashboards and uPlot without a key, and nothing outside them', async () => {
    const page = await app.request('GET', '/dashboards/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.text).toContain('/dashboards/vendor/uPlot.iife.min.js');
    expect(page.text).toContain('/dashboards/votes.js');
    const script = await app.request('GET', '/dashboards/shared.js');
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    const panels = await app.request('GET', '/dashboards/panels.json');
    expect(panels.json.errors).toEqual([]);
    expect(panels.json.panels.length).toBeGreaterThan(0);
    const uplot = await app.request('GET', '/dashboards/vendor/uPlot.iife.min.js');
    expect(uplot.status).toBe(200);
    expect(uplot.text).toContain('uPlot');
    expect((await app.request('GET', '/dashboards/../package.json')).status).toBe(404);
    expect((await app.request('GET', '/dashboards/%2e%2e%2fpackage.json')).status).toBe(404);
    expect((await app.request('GET', '/dashboards/missing.js')).status).toBe(404);
  });
});
