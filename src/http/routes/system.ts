import { Type } from '@sinclair/typebox';
import { docsPage } from '../docsPage.ts';
import { openApiDocument } from '../openapi.ts';
import { problems } from '../problem.ts';
import { defineRoutes, type RouteDef } from '../routeDef.ts';

const VERSION = '0.1.0';

/** Health, readiness, metrics and the API's own documentation; none needs a key. The document lists them too. */
export function systemRoutes(apiRoutes: () => readonly RouteDef[]): RouteDef[] {
  let doc: Record<string, unknown> | undefined;
  const document = () => (doc ??= openApiDocument([...routes, ...apiRoutes()], VERSION));
  const routes = defineRoutes(
    {
      operationId: 'healthz',
      method: 'GET',
      path: '/healthz',
      tag: 'system',
      summary: 'Liveness: the process is up',
      scope: null,
      responses: { 200: { description: 'Alive', schema: Type.Object({ status: Type.Literal('ok') }) } },
      handle: async () => ({ status: 200, body: { status: 'ok' } }),
    },
    {
      operationId: 'readyz',
      method: 'GET',
      path: '/readyz',
      tag: 'system',
      summary: 'Readiness: Postgres (and the warehouse) are usable',
      scope: null,
      responses: {
        200: {
          description: 'Ready',
          schema: Type.Object({ status: Type.Literal('ready'), checks: Type.Record(Type.String(), Type.String()) }),
        },
        503: {
          description: 'unavailable: not ready; the detail names the failing checks',
          problem: true,
          headers: { 'Retry-After': { description: 'Seconds to wait', schema: Type.Integer({ minimum: 1 }) } },
        },
      },
      async handle({ services, ctx }) {
        const checks: Record<string, string> = {};
        let ready = true;
        const all = [
          {
            name: 'postgres',
            check: async () => {
              await services.pool.query('select 1');
            },
          },
          ...services.readinessChecks,
        ];
        await Promise.all(
          all.map(async ({ name, check }) => {
            try {
              await Promise.race([
                check(),
                new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 2 s')), 2_000).unref()),
              ]);
              checks[name] = 'ok';
            } catch {
              checks[name] = 'unavailable';
              ready = false;
            }
          }),
        );
        if (!ready) {
          ctx.set('Retry-After', '5');
          throw problems.unavailable(
            `Not ready: ${Object.entries(checks)
              .filter(([, v]) => v !== 'ok')
              .map(([k]) => k)
              .join(', ')} unavailable.`,
          );
        }
        return { status: 200, body: { status: 'ready', checks } };
      },
    },
    {
      operationId: 'metrics',
      method: 'GET',
      path: '/metrics',
      tag: 'system',
      summary: 'Prometheus metrics (text exposition format)',
      scope: null,
      responses: {
        200: {
          description: 'Metrics in the Prometheus text exposition format (version 0.0.4)',
          content: { 'text/plain': Type.String() },
        },
      },
      async handle({ services, ctx }) {
        ctx.type = services.metrics.registry.contentType;
        return { status: 200, body: await services.metrics.registry.metrics() };
      },
    },
    {
      operationId: 'openapi',
      method: 'GET',
      path: '/openapi.json',
      tag: 'system',
      summary: 'This API as an OpenAPI 3.1 document',
      scope: null,
      responses: {
        200: {
          description: 'The document',
          schema: Type.Object({
            openapi: Type.Literal('3.1.0'),
            info: Type.Object({ title: Type.String(), version: Type.String() }),
            paths: Type.Record(Type.String(), Type.Object({})),
          }),
        },
      },
      handle: async () => ({ status: 200, body: document() }),
    },
    {
      operationId: 'docs',
      method: 'GET',
      path: '/docs',
      tag: 'system',
      summary: 'A readable API reference',
      scope: null,
      responses: {
        200: {
          description: 'A self-contained HTML page rendered from /openapi.json',
          content: { 'text/html': Type.String() },
        },
      },
      async handle({ ctx }) {
        ctx.type = 'text/html; charset=utf-8';
        return { status: 200, body: docsPage(document()) };
      },
    },
  );
  return routes;
}
