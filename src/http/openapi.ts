import type { TSchema } from '@sinclair/typebox';
import { allowHeader, type Method, type RouteDef, type RouteResponse } from './routeDef.ts';

const PROBLEM = {
  type: 'object',
  description:
    'RFC 9457 problem details. type points at the problem type on /docs; other members are extensions (RFC 9457 ' +
    'section 3.2) that some problem types add.',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string', format: 'uri-reference' },
    title: { type: 'string' },
    status: { type: 'integer', minimum: 400, maximum: 599, description: 'The HTTP status code of the answer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    request_id: { type: 'string', description: 'As the X-Request-Id header; quote it when reporting a problem' },
    errors: {
      type: 'array',
      description: 'Each field the request got wrong (validation-error, query-*, batch items)',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: {
          path: { type: 'string', description: 'JSON Pointer into the body (/query/... for a query parameter)' },
          message: { type: 'string' },
        },
      },
    },
    errors_truncated: {
      type: 'boolean',
      description: 'True when errors lists only the first of more entries; error_count says how many there were',
    },
    error_count: { type: 'integer', minimum: 0, description: 'How many errors the request had in all' },
    failed_indexes: {
      type: 'array',
      items: { type: 'integer', minimum: 0 },
      description: 'POST /api/v1/batch: the indexes of the items that failed',
    },
    timeout_ms: { type: 'integer', minimum: 1, description: 'query-timeout: the limit the query ran past' },
    faq_entry_id: { type: 'string', format: 'uuid', description: 'A 409 on promote: the entry already made' },
    candidate_status: { type: 'string', description: 'A 409 on a candidate decision: the decision already taken' },
    run_id: { type: 'integer', description: 'A 409 on a job start: the run in progress' },
  },
};

const PROBLEM_CONTENT = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };

const retryAfter = (description: string) => ({
  'Retry-After': { description, schema: { type: 'integer', minimum: 1 } },
});

/** Where a shared answer happens, and how it is described; a route's own entry for the status comes first. */
interface SharedResponse {
  readonly status: number;
  readonly description: string;
  readonly headers?: Record<string, unknown>;
  readonly applies: (route: RouteDef) => boolean;
}

const takesKey = (r: RouteDef) => r.scope !== null;
const isWrite = (r: RouteDef) => r.method === 'POST' || r.method === 'PUT' || r.method === 'PATCH';
/** A write whose Idempotency-Key is stored (src/idempotency/store.ts); the query endpoint only checks it. */
const storesKey = (r: RouteDef) => isWrite(r) && !r.writesNothing;

/** The answers every operation may give besides its own (src/http/app.ts, body.ts, idempotency.ts, problem.ts). */
const SHARED_RESPONSES: readonly SharedResponse[] = [
  {
    status: 400,
    description: 'malformed-json (the body is not JSON or not UTF-8) or bad-request (a malformed Idempotency-Key)',
    applies: (r) => takesKey(r) && (r.body !== undefined || isWrite(r)),
  },
  {
    status: 401,
    description: 'unauthorized: no API key, or an unknown or revoked one',
    headers: { 'WWW-Authenticate': { description: 'Bearer', schema: { type: 'string' } } },
    applies: takesKey,
  },
  { status: 403, description: 'forbidden: the key lacks the scope', applies: takesKey },
  {
    status: 404,
    description: 'not-found: no such resource (an id that cannot exist, such as a malformed uuid, included)',
    applies: (r) => takesKey(r) && r.params !== undefined,
  },
  {
    status: 409,
    description:
      'conflict: a request with this Idempotency-Key is still running, or a concurrent request changed the same records; retry',
    applies: (r) => takesKey(r) && storesKey(r),
  },
  { status: 413, description: 'payload-too-large: the body is over 1 MB', applies: (r) => r.body !== undefined },
  {
    status: 415,
    description: 'unsupported-media-type: the body is sent as something other than application/json',
    applies: (r) => r.body !== undefined,
  },
  {
    status: 422,
    description:
      'validation-error (errors[] names each path: /... in the body, /query/... for a query parameter), ' +
      'unprocessable (a rule refused the request), or an Idempotency-Key reused with another request',
    applies: (r) => takesKey(r) && (r.body !== undefined || r.query !== undefined || storesKey(r)),
  },
  {
    status: 503,
    description: 'unavailable: the database is unreachable; retry after Retry-After seconds',
    headers: retryAfter('Seconds to wait'),
    applies: takesKey,
  },
];

/** Any method a path does not have (src/http/app.ts allowedMethods; RFC 9110 section 15.5.6). */
const METHOD_NOT_ALLOWED = {
  description:
    'method-not-allowed: the path exists, but not with this method; Allow lists the methods it has (and OPTIONS)',
  headers: {
    Allow: { description: 'The methods of this path, e.g. "GET, HEAD, OPTIONS"', schema: { type: 'string' } },
  },
  content: PROBLEM_CONTENT,
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

/**
 * One documented answer: the route's own entry (its description wins: it names the case), else the shared one.
 * Every error status is problem+json (src/http/problem.ts sendProblem), whether the route says so or not.
 */
function response(status: number, own: RouteResponse | undefined, shared: SharedResponse | undefined): unknown {
  const r: RouteResponse = own ?? { description: shared!.description };
  const content: Record<string, unknown> = {};
  if (r.schema) content['application/json'] = { schema: plain(r.schema) };
  for (const [type, schema] of Object.entries(r.content ?? {})) content[type] = { schema: plain(schema) };
  if (r.problem || status >= 400) Object.assign(content, PROBLEM_CONTENT);
  const headers = {
    ...shared?.headers,
    ...Object.fromEntries(
      Object.entries(r.headers ?? {}).map(([name, h]) => [
        name,
        { description: h.description, schema: plain(h.schema) },
      ]),
    ),
  };
  return {
    description: r.description,
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    ...(Object.keys(content).length > 0 ? { content } : {}),
  };
}

/** The operationId of a path's OPTIONS operation: options + the path's words, e.g. optionsApiV1ExpertsId. */
function optionsOperationId(path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter((w) => w !== '');
  return `options${words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')}`;
}

/** OPTIONS, which every path answers without a key (src/http/app.ts allowedMethods; RFC 9110 section 9.3.7). */
function optionsOperation(path: string, methods: readonly Method[]): Record<string, unknown> {
  const allow = allowHeader(methods);
  return {
    operationId: optionsOperationId(path),
    tags: ['system'],
    summary: `The methods of this path: ${allow}`,
    description:
      'No key needed. Any method the path does not have is answered 405 method-not-allowed with the same Allow.',
    security: [],
    parameters: [],
    responses: {
      204: {
        description: 'No body; Allow lists the methods',
        headers: {
          Allow: { description: 'The methods of this path', schema: { type: 'string', const: allow } },
        },
      },
    },
  };
}

/** The OpenAPI 3.1 document, generated from the same route definitions and schemas ajv validates with. */
export function openApiDocument(routes: readonly RouteDef[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const shared = new Map(SHARED_RESPONSES.filter((s) => s.applies(route)).map((s) => [s.status, s]));
    const statuses = [...new Set([...Object.keys(route.responses).map(Number), ...shared.keys()])].sort(
      (a, b) => a - b,
    );
    const responses: Record<string, unknown> = {};
    for (const status of statuses)
      responses[String(status)] = response(status, route.responses[status], shared.get(status));
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
  for (const [path, operations] of Object.entries(paths)) {
    operations.options = optionsOperation(
      path,
      routes.filter((r) => r.path === path).map((r) => r.method),
    );
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'feedback-warehouse',
      version,
      description:
        'Feedback on AI answers, interviews and expert reviews, stored in Postgres and analysed in DuckDB. ' +
        'Authenticate with "Authorization: Bearer <key>"; scopes: ingest, read, query, admin (admin has all). ' +
        'Every error is application/problem+json (RFC 9457). Every path answers OPTIONS with 204 and Allow; any ' +
        'other method it does not have is 405 (components.responses.MethodNotAllowed); a path no route has is 404 (components.responses.NotFound).',
      // As package.json's "license" (SPDX identifier, OpenAPI 3.1 License Object).
      license: { name: 'Apache License 2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key from `keys create`' } },
      schemas: { Problem: PROBLEM },
      responses: {
        MethodNotAllowed: METHOD_NOT_ALLOWED,
        NotFound: { description: 'not-found: no route has this path', content: PROBLEM_CONTENT },
      },
    },
    paths,
  };
}
