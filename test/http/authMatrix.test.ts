import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCOPES, type Scope } from '../../src/auth/keys.ts';
import type { RouteDef } from '../../src/http/routeDef.ts';
import { allRoutes } from '../../src/http/routes/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

// README "Auth": a missing, unknown or revoked key is 401; a key without the route's scope is 403; admin has every
// scope. The routes come from allRoutes(), so a new route is in this matrix without anybody adding it.

let app: TestApp;
const keys: Partial<Record<Scope, string>> = {};
let revoked: string;

type Case = 'no key' | 'unknown key' | 'revoked key' | Scope;
const CASES: readonly Case[] = ['no key', 'unknown key', 'revoked key', ...SCOPES];

beforeAll(async () => {
  app = await startTestApp();
  for (const scope of SCOPES) keys[scope] = await app.key(scope);
  // Every scope, so only the revocation can be why it is refused; used once first, so the server has it cached.
  const all = await app.request('POST', '/api/v1/keys', {
    key: keys.admin,
    body: { name: 'matrix-revoked', scopes: [...SCOPES] },
  });
  revoked = all.json.key;
  expect((await app.request('GET', '/api/v1/jobs', { key: revoked })).status).toBe(200);
  expect((await app.request('POST', '/api/v1/keys/matrix-revoked/revoke', { key: keys.admin })).status).toBe(200);
});
afterAll(() => app.close());

/** The route's path with values that name nothing, so no request of the matrix changes anything that exists. */
function concretePath(route: RouteDef): string {
  const properties = (route.params as { properties?: Record<string, { type?: string; format?: string }> } | undefined)
    ?.properties;
  return route.path.replace(/\{([a-z_]+)\}/g, (_, name: string) => {
    const schema = properties?.[name] ?? {};
    if (schema.type === 'integer') return '999999';
    if (schema.format === 'uuid') return randomUUID();
    return 'matrix-nothing';
  });
}

function authorization(c: Case): string | undefined {
  if (c === 'no key') return undefined;
  if (c === 'unknown key') return `fw_${randomBytes(32).toString('base64url')}`;
  if (c === 'revoked key') return revoked;
  return keys[c];
}

function expected(route: RouteDef, c: Case): 'allowed' | 401 | 403 {
  if (route.scope === null) return 'allowed';
  if (c === 'no key' || c === 'unknown key' || c === 'revoked key') return 401;
  return c === route.scope || c === 'admin' ? 'allowed' : 403;
}

describe('auth matrix: every route x {no key, unknown key, revoked key, each scope alone}', () => {
  const routes = allRoutes();

  it('covers the keys, jobs and every other admin route', () => {
    const paths = routes.map((r) => `${r.method} ${r.path}`);
    expect(paths).toContain('POST /api/v1/keys/{name}/rotate');
    expect(routes.filter((r) => r.scope === 'admin').length).toBeGreaterThan(8);
  });

  it.each(routes.map((r) => [`${r.method} ${r.path}`, r] as const))('%s', async (_, route) => {
    const path = concretePath(route);
    for (const c of CASES) {
      const key = authorization(c);
      const res = await app.request(route.method, path, {
        key,
        body: route.body ? {} : undefined,
      });
      const want = expected(route, c);
      if (want === 'allowed') {
        expect([401, 403, 500], `${c}: ${res.text}`).not.toContain(res.status);
      } else {
        expect(res.status, `${c}: ${res.text}`).toBe(want);
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(res.json).toMatchObject({ status: want });
        if (want === 401) expect(res.headers.get('www-authenticate')).toBe('Bearer');
      }
    }
  });
});
