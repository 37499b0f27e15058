import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsImport from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, type TestResponse } from '../helpers/app.ts';
import { startProxiedApp, type ProxiedApp } from '../helpers/proxiedApp.ts';

// The OpenAPI document describes every answer: real answers of every status the API gives, from the real app, are
// checked against /openapi.json (the status is documented for the operation, the media type is one it lists, the
// body matches its schema, the headers it documents are sent).

const addFormats = addFormatsImport as unknown as (ajv: Ajv2020) => Ajv2020;

// Short, so that slow queries fill every slot for a moment only (429), and the test stays quick.
const TIMEOUT_MS = 1500;
const SLOW = 'select count(*) from range(1000000000000)';

type Doc = {
  paths: Record<string, Record<string, Operation>>;
  components: { responses: Record<string, DocResponse> };
  info: { license?: { identifier?: string } };
};
type Operation = { responses: Record<string, DocResponse | { $ref: string }> };
type DocResponse = {
  description: string;
  headers?: Record<string, { schema: unknown }>;
  content?: Record<string, { schema: unknown }>;
};

interface Sample {
  readonly method: string;
  readonly path: string;
  readonly answer: TestResponse;
}

/** Checks answers against one app's /openapi.json; returns what does not conform, one line per problem. */
class Conformance {
  readonly #ajv: Ajv2020;
  readonly #doc: Doc;
  readonly #templates: { template: string; pattern: RegExp }[];
  readonly statuses = new Set<number>();

  constructor(doc: Doc) {
    this.#doc = doc;
    this.#ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
    this.#ajv.addSchema(doc, 'openapi.json');
    // Literal paths before templated ones, as the router sees no overlap but a reader should not have to check.
    this.#templates = Object.keys(doc.paths)
      .map((template) => ({
        template,
        pattern: new RegExp(`^${template.replace(/\{[a-z_]+\}/g, '[^/]+')}$`),
      }))
      .sort((a, b) => Number(a.template.includes('{')) - Number(b.template.includes('{')));
  }

  check({ method, path, answer }: Sample): string[] {
    this.statuses.add(answer.status);
    const where = `${method} ${path} -> ${answer.status}`;
    const bare = path.split('?')[0]!;
    const template = this.#templates.find((t) => t.pattern.test(bare))?.template;
    let pointer: string;
    let response: DocResponse;
    if (template === undefined) {
      if (answer.status !== 404) return [`${where}: no documented path matches`];
      pointer = '#/components/responses/NotFound';
      response = this.#doc.components.responses.NotFound!;
    } else {
      const operation = this.#doc.paths[template]![method.toLowerCase()];
      if (operation === undefined) {
        if (answer.status !== 405) return [`${where}: ${template} documents no ${method}`];
        const allow = this.#doc.paths[template]!.options!.responses['204'] as DocResponse;
        const expected = (allow.headers!.Allow!.schema as { const: string }).const;
        if (answer.headers.get('allow') !== expected)
          return [`${where}: Allow is "${answer.headers.get('allow')}", the document says "${expected}"`];
        pointer = '#/components/responses/MethodNotAllowed';
        response = this.#doc.components.responses.MethodNotAllowed!;
      } else {
        const found = operation.responses[String(answer.status)];
        if (found === undefined) return [`${where}: status not documented for ${method} ${template}`];
        const ref = (found as { $ref?: string }).$ref;
        pointer = ref ?? `#/paths/${escape(template)}/${method.toLowerCase()}/responses/${answer.status}`;
        response = ref ? this.#doc.components.responses[ref.split('/').pop()!]! : (found as DocResponse);
      }
    }
    const failures: string[] = [];
    for (const name of Object.keys(response.headers ?? {}))
      if (answer.headers.get(name) === null) failures.push(`${where}: documented header ${name} missing`);
    const type = (answer.headers.get('content-type') ?? '').split(';')[0]!.trim();
    if (response.content === undefined) {
      if (answer.text !== '') failures.push(`${where}: a body where the document has none`);
      return failures;
    }
    if (!(type in response.content))
      return [...failures, `${where}: media type "${type}" not in ${Object.keys(response.content).join(', ')}`];
    const body = type.endsWith('json') ? answer.json : answer.text;
    const validate = this.#ajv.compile({ $ref: `openapi.json${pointer}/content/${escape(type)}/schema` });
    if (!validate(body)) failures.push(`${where}: body breaks the schema: ${this.#ajv.errorsText(validate.errors)}`);
    return failures;
  }
}

/** A JSON Pointer token (RFC 6901 section 4). */
function escape(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

let app: TestApp;
let proxied: ProxiedApp;
let conformance: Conformance;
let key: Record<'ingest' | 'read' | 'admin' | 'query', string>;

beforeAll(async () => {
  app = await startTestApp({ QUERY_TIMEOUT_MS: String(TIMEOUT_MS) });
  key = {
    ingest: await app.key('ingest'),
    read: await app.key('read'),
    admin: await app.key('admin'),
    query: await app.key('query'),
  };
  conformance = new Conformance((await app.request('GET', '/openapi.json')).json as Doc);
});
afterAll(async () => {
  await app?.close();
  await proxied?.close();
});

async function sample(
  method: string,
  path: string,
  options: { key?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
  on: TestApp = app,
): Promise<Sample> {
  return { method, path, answer: await on.request(method, path, options) };
}

describe('the OpenAPI document', () => {
  it('states the license of package.json', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
      license: string;
    };
    const doc = (await app.request('GET', '/openapi.json')).json as Doc;
    expect(doc.info.license?.identifier).toBe(pkg.license);
  });

  it('documents a problem+json body on every error status of every operation, and 415 wherever a body is taken', async () => {
    const doc = (await app.request('GET', '/openapi.json')).json as Doc & {
      paths: Record<string, Record<string, { requestBody?: unknown }>>;
    };
    const missing: string[] = [];
    for (const [path, operations] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(operations)) {
        for (const [status, r] of Object.entries(op.responses))
          if (Number(status) >= 400 && !('$ref' in r) && !r.content?.['application/problem+json'])
            missing.push(`${method} ${path} ${status}`);
        if (op.requestBody && !op.responses['415']) missing.push(`${method} ${path} 415`);
      }
    expect(missing).toEqual([]);
    for (const p of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs'])
      expect(doc.paths[p]?.get).toBeDefined();
    expect(doc.paths['/api/v1/rollups/votes']!.get!.responses['422']).toBeDefined();
  });

  it('describes a sample of real answers of every status the API gives', async () => {
    const samples: Sample[] = [];
    const take = async (s: Promise<Sample>, status: number) => {
      const got = await s;
      expect(got.answer.status, `${got.method} ${got.path}: ${got.answer.text.slice(0, 300)}`).toBe(status);
      samples.push(got);
      return got.answer;
    };
    const conversation = `conv-${randomUUID()}`;

    // 200, and the system routes
    for (const p of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs']) await take(sample('GET', p), 200);
    await take(sample('GET', '/api/v1/rollups/votes?from=2026-01-01', { key: key.read }), 200);
    await take(sample('GET', '/api/v1/rollups/experts', { key: key.read }), 200);
    await take(sample('GET', '/api/v1/rollups/interviews', { key: key.read }), 200);
    await take(sample('GET', '/api/v1/faq-entries', { key: key.read }), 200);
    await take(sample('GET', '/api/v1/faq-candidates?status=pending', { key: key.read }), 200);
    await take(sample('GET', '/api/v1/jobs', { key: key.admin }), 200);

    // 201
    const vote = { conversation_id: conversation, vote: 'down', reasons: ['wrong'], comment: 'no' };
    await take(sample('POST', '/api/v1/votes', { key: key.ingest, body: vote }), 201);
    await take(sample('GET', `/api/v1/conversations/${conversation}/votes`, { key: key.read }), 200);
    const session = { external_ref: `ref-${randomUUID()}`, title: 'Interview' };
    const created = await take(sample('POST', '/api/v1/interview-sessions', { key: key.ingest, body: session }), 201);
    const expert = await take(
      sample('POST', '/api/v1/experts', {
        key: key.ingest,
        body: { user_ref: `u-${randomUUID()}`, credential_type: 'dottore_commercialista', trust_score: 0.4 },
      }),
      201,
    );
    await take(sample('GET', `/api/v1/experts/${expert.json.id}`, { key: key.read }), 200);
    await take(
      sample('PATCH', `/api/v1/experts/${expert.json.id}`, { key: key.admin, body: { trust_score: 0.5 } }),
      200,
    );
    const feedback = await take(
      sample('POST', '/api/v1/expert-feedback', {
        key: key.ingest,
        body: {
          expert_id: expert.json.id,
          query_text: 'When is the deadline?',
          original_answer: 'In June.',
          improved_answer: 'On 16 June and on 16 December.',
          feedback_type: 'incomplete',
          category: 'caso_mancante',
          confidence_score: 0.9,
          time_spent_seconds: 60,
        },
      }),
      201,
    );
    await take(sample('GET', `/api/v1/expert-feedback/${feedback.json.id}`, { key: key.read }), 200);
    await take(
      sample('POST', '/api/v1/batch', {
        key: key.ingest,
        body: { items: [{ type: 'vote', data: { conversation_id: conversation, vote: 'up' } }] },
      }),
      201,
    );
    const candidate = feedback.json.faq_candidate.id as string;
    await take(sample('POST', `/api/v1/faq-candidates/${candidate}/approve`, { key: key.admin }), 200);

    // 409: a rule, an earlier decision, and the warehouse before its first export
    await take(sample('POST', '/api/v1/interview-sessions', { key: key.ingest, body: session }), 409);
    await take(sample('POST', `/api/v1/faq-candidates/${candidate}/reject`, { key: key.admin }), 409);
    await take(sample('POST', `/api/v1/expert-feedback/${feedback.json.id}/promote`, { key: key.ingest }), 422);
    await take(sample('POST', '/api/v1/query', { key: key.query, body: { sql: 'select 1' } }), 409);

    // 202, then the run it started
    const started = await take(sample('POST', '/api/v1/jobs/export/run', { key: key.admin }), 202);
    let run: TestResponse;
    const deadline = Date.now() + 30_000;
    do {
      run = await app.request('GET', started.headers.get('location')!, { key: key.admin });
    } while (run.json?.status === 'running' && Date.now() < deadline && (await pause(50)));
    samples.push({ method: 'GET', path: started.headers.get('location')!, answer: run });
    expect(run.json.status).toBe('succeeded');
    await take(sample('POST', '/api/v1/query', { key: key.query, body: { sql: 'select count(*) n from votes' } }), 200);
    await take(sample('POST', '/api/v1/query', { key: key.query, body: { sql: 'select 1 a', format: 'csv' } }), 200);

    // 204
    await take(sample('DELETE', `/api/v1/conversations/${conversation}`, { key: key.admin }), 204);
    await take(sample('OPTIONS', '/api/v1/experts/abc'), 204);

    // 400
    await take(sample('POST', '/api/v1/votes', { key: key.ingest, rawBody: '{"vote":' }), 400);
    await take(
      sample('POST', '/api/v1/votes', { key: key.ingest, body: vote, headers: { 'Idempotency-Key': 'k'.repeat(300) } }),
      400,
    );

    // 401, 403
    await take(sample('GET', '/api/v1/faq-entries'), 401);
    await take(sample('GET', '/api/v1/jobs', { key: key.read }), 403);

    // 404
    await take(sample('GET', `/api/v1/experts/${randomUUID()}`, { key: key.read }), 404);
    await take(sample('GET', '/api/v1/experts/not-a-uuid', { key: key.read }), 404);
    await take(sample('DELETE', `/api/v1/conversations/${conversation}`, { key: key.admin }), 404);
    await take(sample('GET', '/no/such/path'), 404);

    // 405
    await take(sample('DELETE', '/api/v1/votes', { key: key.admin }), 405);
    await take(sample('POST', '/healthz'), 405);
    await take(sample('PUT', `/api/v1/experts/${expert.json.id}`, { key: key.admin, body: {} }), 405);

    // 413, 415, 422
    await take(
      sample('POST', '/api/v1/votes', { key: key.ingest, rawBody: JSON.stringify({ x: 'a'.repeat(1 << 20) }) }),
      413,
    );
    await take(
      sample('POST', '/api/v1/votes', {
        key: key.ingest,
        rawBody: 'vote=up',
        headers: { 'content-type': 'text/plain' },
      }),
      415,
    );
    await take(sample('POST', '/api/v1/votes', { key: key.ingest, body: { vote: 'sideways' } }), 422);
    // More failing fields than a problem lists: errors is bounded (errors_truncated, error_count)
    const bad = Array.from({ length: 150 }, () => ({ type: 'vote', data: { vote: 'sideways' } }));
    await take(sample('POST', '/api/v1/batch', { key: key.ingest, body: { items: bad } }), 422);
    await take(sample('GET', '/api/v1/rollups/votes?from=yesterday', { key: key.read }), 422);
    await take(sample('GET', '/api/v1/rollups/interviews?from=2026-02-01&to=2026-01-01', { key: key.read }), 422);
    await take(sample('GET', '/api/v1/faq-entries?limit=0', { key: key.read }), 422);
    await take(
      sample('POST', '/api/v1/query', { key: key.query, body: { sql: "select * from read_text('/etc/passwd')" } }),
      422,
    );
    await take(
      sample('POST', `/api/v1/interview-sessions/${created.json.id}/feedback`, { key: key.ingest, body: {} }),
      422,
    );

    // 429: more slow queries at once than there are slots; the others time out (422)
    const slow = await Promise.all(
      Array.from({ length: 8 }, () => sample('POST', '/api/v1/query', { key: key.query, body: { sql: SLOW } })),
    );
    expect(slow.some((s) => s.answer.status === 429)).toBe(true);
    samples.push(...slow);

    // 503: the database goes away behind a proxy
    proxied = await startProxiedApp();
    const down = new Conformance((await proxied.app.request('GET', '/openapi.json')).json as Doc);
    const ingest = await proxied.app.key('ingest');
    const read = await proxied.app.key('read');
    await proxied.proxy.cut();
    const outage = [
      await sample('POST', '/api/v1/votes', { key: ingest, body: vote }, proxied.app),
      await sample('GET', '/api/v1/rollups/votes', { key: read }, proxied.app),
      await sample('GET', '/readyz', {}, proxied.app),
    ];
    expect(outage.map((s) => s.answer.status)).toEqual([503, 503, 503]);
    await proxied.proxy.restore();

    const failures = [...samples.flatMap((s) => conformance.check(s)), ...outage.flatMap((s) => down.check(s))];
    expect(failures).toEqual([]);
    expect([...new Set([...conformance.statuses, ...down.statuses])].sort()).toEqual([
      200, 201, 202, 204, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 503,
    ]);
  }, 120_000);
});

async function pause(ms: number): Promise<true> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return true;
}
