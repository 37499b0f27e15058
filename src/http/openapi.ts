import type { TSchema } from '@sinclair/typebox';
import type { RouteDef, RouteResponse } from './route.ts';

const PROBLEM = {
  type: 'object',
  description: 'RFC 9457 problem details',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string', format: 'uri-reference' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    request_id: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: {
          path: { type: 'string', description: 'JSON Pointer into the body' },
          message: { type: 'string' },
        },
      },
    },
  },
};

const ERROR_RESPONSES: Record<number, string> = {
  400: 'Malformed JSON or a bad header',
  401: 'Missing or unknown API key',
  403: 'The key lacks the scope',
  413: 'Body over 1 MB',
  422: 'Schema violation (errors[] names each path), or a rule refused the request',
  503: 'Database unreachable; retry after Retry-After seconds',
};

/** Plain JSON of a TypeBox schema (drops TypeBox's symbol keys). */
function plain(schema: TSchema): unknown {
  return JSON.parse(JSON.stringify(schema)) as unknown;
}

function parameters(route: RouteDef): unknown[] {
  const out: unknown[] = [];
  for (const [where, schema] of [
    ['path', route.params],
    ['query', route.query],
  ] as const) {
    if (!schema) continue;
    const props = (schema as { properties?: Record<string, TSchema> }).properties ?? {};
    const required = new Set((schema as { required?: string[] }).required ?? []);
    for (const [name, prop] of Object.entries(props)) {
      out.push({ name, in: where, required: where === 'path' || required.has(name), schema: plain(prop) });
    }
  }
  if (route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH') {
    out.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description: route.writesNothing
        ? 'Accepted (1 to 255 characters) but not stored: this request writes nothing, so a repeat simply runs again.'
        : 'Same key, same API key, same path and body within 24 h replays the stored reply and writes nothing; ' +
          'a different body is 422; while the first request runs, 409.',
      schema: { type: 'string', minLength: 1, maxLength: 255 },
    });
  }
  return out;
}

const PROBLEM_CONTENT = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };

function response(r: RouteResponse): Record<string, unknown> {
  const content: Record<string, unknown> = {};
  if (r.schema) content['application/json'] = { schema: plain(r.schema) };
  for (const [type, schema] of Object.entries(r.content ?? {})) content[type] = { schema: plain(schema) };
  if (r.problem) Object.assign(content, PROBLEM_CONTENT);
  const headers = Object.fromEntries(
    Object.entries(r.headers ?? {}).map(([name, h]) => [name, { description: h.description, schema: plain(h.schema) }]),
  );
  return {
    description: r.description,
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    ...(Object.keys(content).length > 0 ? { content } : {}),
  };
}

/** The OpenAPI 3.1 document, generated from the same route definitions and schemas ajv validates with. */
export function openApiDocument(routes: readonly RouteDef[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(route.responses)) responses[status] = response(r);
    const errorStatuses = Object.keys(ERROR_RESPONSES)
      .map(Number)
      .filter((s) => route.scope !== null || (s !== 401 && s !== 403))
      .filter((s) => route.body !== undefined || (s !== 413 && s !== 400 && s !== 422));
    for (const status of errorStatuses) {
      responses[String(status)] ??= { description: ERROR_RESPONSES[status], content: PROBLEM_CONTENT };
    }
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = {
      operationId: route.operationId,
      tags: [route.tag],
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      ...(route.scope ? { security: [{ bearer: [route.scope] }], 'x-scope': route.scope } : { security: [] }),
      parameters: parameters(route),
      ...(route.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: plain(route.body) } } } }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'feedback-warehouse',
      version,
      description:
        'Feedback on AI answers, interviews and expert reviews, stored in Postgres and analysed in DuckDB. ' +
        'Authenticate with "Authorization: Bearer <key>"; scopes: ingest, read, query, admin (admin has all).',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key from `keys create`' } },
      schemas: { Problem: PROBLEM },
    },
    paths,
  };
}
