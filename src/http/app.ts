import { randomUUID } from 'node:crypto';
import Koa, { type Context, type Next } from 'koa';
import Router from '@koa/router';
import type { ApiKey } from '../auth/keys.ts';
import { withTransaction } from '../db/pool.ts';
import { readJsonBody } from './body.ts';
import { fingerprint, runIdempotent, type Reply } from '../idempotency/store.ts';
import { problemMiddleware, problems } from './problem.ts';
import type { Db } from '../db/pool.ts';
import { allowHeader, routeOf, type Method, type RouteDef, type WriteOptions } from './routeDef.ts';
import type { Services } from './services.ts';
import { validateBody, validateText } from '../validation/body.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The methods a metrics label may name; any other (PROPFIND, a made-up token) is counted as one constant, so no
 * client can mint label values (the Prometheus docs' "Use labels": every label value is a new time series).
 */
const METRIC_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The method label of a method outside METRIC_METHODS. */
export const OTHER_METHOD = '(other)';

/** Request id, access log (never a body) and Prometheus metrics, outermost so they see the final status. */
function observe(services: Services) {
  return async function observeRequest(ctx: Context, next: Next): Promise<void> {
    const started = process.hrtime.bigint();
    const incoming = ctx.get('X-Request-Id');
    const requestId = REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // Labels come only from route templates and a fixed method list, never from the raw path or method.
      const route = routeOf(ctx);
      const method = METRIC_METHODS.has(ctx.method) ? ctx.method : OTHER_METHOD;
      const labels = { method, route, status: String(ctx.status) };
      services.metrics.httpRequests.inc(labels);
      services.metrics.httpDuration.observe(labels, seconds);
      services.logger.info(
        {
          requestId,
          method: ctx.method,
          // The route template, never the path: a path carries ids (a conversation id may be personal).
          route,
          status: ctx.status,
          durationMs: Math.round(seconds * 1e4) / 10,
        },
        'request',
      );
    }
  };
}

async function authenticate(ctx: Context, services: Services, route: RouteDef): Promise<ApiKey | null> {
  if (route.scope === null) return null;
  const header = ctx.get('Authorization');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw problems.unauthorized('Send an API key as "Authorization: Bearer <key>".');
  const apiKey = await services.keys.find(match[1]!);
  if (!apiKey) throw problems.unauthorized('The API key is unknown or revoked.');
  if (!apiKey.scopes.includes(route.scope) && !apiKey.scopes.includes('admin')) {
    throw problems.forbidden(`This route needs the "${route.scope}" scope; the key has: ${apiKey.scopes.join(', ')}.`);
  }
  return apiKey;
}

function idempotencyKey(ctx: Context): string | null {
  const value = ctx.get('Idempotency-Key');
  if (value === '') return ctx.headers['idempotency-key'] === undefined ? null : badKey();
  if (value.length > 255) badKey();
  return value;
}

function badKey(): never {
  throw problems.badRequest('Idempotency-Key must be 1 to 255 characters.');
}

function koaPath(openApiPath: string): string {
  return openApiPath.replace(/\{([a-z_]+)\}/g, ':$1');
}

function mount(router: Router, services: Services, route: RouteDef): void {
  const handler = async (ctx: Context) => {
    ctx.state.routeTemplate = route.path;
    const apiKey = await authenticate(ctx, services, route);
    let params: Record<string, string> = { ...(ctx.params as Record<string, string>) };
    if (route.params) {
      const checked = validateText(route.params, params);
      // An id that cannot exist (not a uuid, too long) is simply not found.
      if (!checked.ok)
        throw problems.notFound(`No such resource: ${checked.errors.map((e) => e.path.slice(1)).join(', ')}.`);
      params = checked.value as Record<string, string>;
    }
    let query: Record<string, unknown> = { ...ctx.query };
    if (route.query) {
      const checked = validateText(route.query, query);
      if (!checked.ok)
        throw problems.validation(
          checked.errors.map((e) => ({ ...e, path: `/query${e.path}` })),
          'A query parameter is invalid.',
        );
      query = checked.value as Record<string, unknown>;
    }
    const key =
      route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH' ? idempotencyKey(ctx) : null;
    let body: unknown = undefined;
    if (route.body) {
      const json = await readJsonBody(ctx);
      body = validateBody(route.body, json.value);
    }
    let replayed = false;
    const idempotency =
      key !== null && apiKey !== null
        ? { apiKeyId: apiKey.id, key, fingerprint: fingerprint(ctx.method, ctx.path, body) }
        : null;
    const write = async (fn: (db: Db) => Promise<Reply>, options: WriteOptions = {}): Promise<Reply> => {
      if (idempotency !== null) {
        const reply = await runIdempotent(services.pool, idempotency, fn);
        replayed = reply.replayed;
        return reply;
      }
      return options.singleStatement ? fn(services.pool) : withTransaction(services.pool, fn);
    };
    const reply = await route.handle({ ctx, services, apiKey, params, query, body, idempotency, write });
    if (replayed) ctx.set('Idempotent-Replayed', 'true');
    ctx.status = reply.status;
    if (reply.body !== undefined && reply.body !== null) ctx.body = reply.body;
  };
  const path = koaPath(route.path);
  switch (route.method) {
    case 'GET':
      router.get(path, handler);
      break;
    case 'POST':
      router.post(path, handler);
      break;
    case 'PUT':
      router.put(path, handler);
      break;
    case 'PATCH':
      router.patch(path, handler);
      break;
    case 'DELETE':
      router.delete(path, handler);
      break;
  }
}

/**
 * Answers a path that some route template matches but not with this method: OPTIONS is 204 and any other method
 * 405, both with `Allow` listing the methods the path has (RFC 9110 sections 9.3.7, 15.5.6 and 10.2.1: a 405 must
 * send Allow; an empty Allow would mean that no method is allowed).
 */
function allowedMethods(routes: readonly RouteDef[]) {
  const byKoaPath = new Map<string, { template: string; methods: Method[] }>();
  for (const route of routes) {
    const entry = byKoaPath.get(koaPath(route.path)) ?? { template: route.path, methods: [] };
    entry.methods.push(route.method);
    byKoaPath.set(koaPath(route.path), entry);
  }
  return async function answerOtherMethods(ctx: Context, next: Next): Promise<void> {
    await next();
    if (ctx.status !== 404 || ctx.body !== undefined) return;
    const layers = ((ctx as { matched?: { path: unknown }[] }).matched ?? [])
      .map((layer) => (typeof layer.path === 'string' ? byKoaPath.get(layer.path) : undefined))
      .filter((entry) => entry !== undefined);
    if (layers.length === 0) return;
    ctx.state.routeTemplate = layers[0]!.template;
    const allow = allowHeader(layers.flatMap((entry) => entry.methods));
    if (ctx.method === 'OPTIONS') {
      ctx.status = 204;
      ctx.set('Allow', allow);
      return;
    }
    throw problems.methodNotAllowed(allow);
  };
}

/**
 * The Koa application: observe -> problem+json -> routes. Extra koa middleware (static dashboards) may be mounted
 * after the routes by the caller.
 */
export function createApp(services: Services, routes: readonly RouteDef[], extra: readonly Koa.Middleware[] = []): Koa {
  const app = new Koa({ proxy: false });
  app.silent = true; // errors are logged once by problemMiddleware, not again by koa
  const router = new Router();
  for (const route of routes) mount(router, services, route);
  app.use(observe(services));
  app.use(problemMiddleware(services.logger));
  app.use(router.routes());
  app.use(allowedMethods(routes));
  for (const middleware of extra) app.use(middleware);
  return app;
}
