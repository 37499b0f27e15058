import fc from 'fast-check';

/**
 * Generated hostile requests for every endpoint (fast-check, fixed seed): a valid body for the route, then one
 * mutation of it. What each generated request is, as data, so a failure message can say which one broke a rule.
 */

/** Ids created before the run, so routes with path parameters reach their handlers. */
export interface Fixtures {
  readonly expertId: string;
  readonly patchExpertId: string;
  readonly sessionId: string;
  readonly putSessionId: string;
  readonly expertFeedbackId: string;
}

export interface Target {
  readonly name: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: (f: Fixtures, unique: string) => string;
  /** Which key a well-behaved client would send. */
  readonly key: 'app' | 'admin';
  /** A valid body (unique fields derived from `unique`); undefined for routes without one. */
  readonly body?: (f: Fixtures, unique: string) => Record<string, unknown>;
  /** The body's string fields that hold free text (NUL, lone surrogates and invalid UTF-8 go there). */
  readonly texts: readonly string[];
}

const vote = (unique: string) => ({
  conversation_id: `h-${unique}`,
  vote: 'down',
  query: 'How do I pay the F24?',
  response: 'Use the home banking service.',
  reasons: ['outdated'],
  comment: 'Not helpful',
  expert_ids: ['exp-1'],
  email: 'someone@example.com',
  metadata: { app: 'hostile' },
});
const VOTE_TEXTS = ['conversation_id', 'query', 'response', 'comment', 'email'];

const expertFeedback = (f: Fixtures, unique: string) => ({
  expert_id: f.expertId,
  query_text: `Hostile question ${unique}`,
  original_answer: 'An answer.',
  feedback_type: 'incorrect',
  category: 'caso_mancante',
  improved_answer: 'A better answer.',
  confidence_score: 0.7,
  time_spent_seconds: 10,
});
const EXPERT_FEEDBACK_TEXTS = ['query_text', 'original_answer', 'improved_answer'];

const interviewFeedback = () => ({
  technical_accuracy_score: 10,
  communication_clarity_score: 20,
  problem_solving_score: 30,
  relevance_score: 40,
  overall_score: 50,
  technical_feedback: 'ok',
  communication_feedback: 'ok',
  problem_solving_feedback: 'ok',
  relevance_feedback: 'ok',
  overall_comments: 'fine',
  knowledge_gaps: ['iva'],
});
const INTERVIEW_TEXTS = [
  'technical_feedback',
  'communication_feedback',
  'problem_solving_feedback',
  'relevance_feedback',
  'overall_comments',
];

export const TARGETS: readonly Target[] = [
  { name: 'vote', method: 'POST', path: () => '/api/v1/votes', key: 'app', body: (_, u) => vote(u), texts: VOTE_TEXTS },
  {
    name: 'batch',
    method: 'POST',
    path: () => '/api/v1/batch',
    key: 'app',
    body: (f, u) => ({
      items: [
        { type: 'vote', data: vote(`${u}-0`) },
        { type: 'expert_feedback', data: expertFeedback(f, `${u}-1`) },
        { type: 'vote', data: vote(`${u}-2`) },
      ],
    }),
    texts: ['items'],
  },
  {
    name: 'expert',
    method: 'POST',
    path: () => '/api/v1/experts',
    key: 'app',
    body: (_, u) => ({
      user_ref: `hu-${u}`,
      credential_type: 'avvocato',
      registration_number: `r-${u}`,
      trust_score: 0.5,
      is_active: true,
      specializations: ['IVA'],
    }),
    texts: ['user_ref', 'registration_number'],
  },
  {
    name: 'expert-patch',
    method: 'PATCH',
    path: (f) => `/api/v1/experts/${f.patchExpertId}`,
    key: 'admin',
    body: () => ({ trust_score: 0.6, specializations: ['lavoro'] }),
    texts: [],
  },
  {
    name: 'expert-feedback',
    method: 'POST',
    path: () => '/api/v1/expert-feedback',
    key: 'app',
    body: expertFeedback,
    texts: EXPERT_FEEDBACK_TEXTS,
  },
  {
    name: 'session',
    method: 'POST',
    path: () => '/api/v1/interview-sessions',
    key: 'app',
    body: (_, u) => ({ external_ref: `hs-${u}`, title: 'Hostile interview' }),
    texts: ['external_ref', 'title'],
  },
  {
    // The session has feedback already (created by the fixtures): a valid body is a 409.
    name: 'interview-feedback',
    method: 'POST',
    path: (f) => `/api/v1/interview-sessions/${f.sessionId}/feedback`,
    key: 'app',
    body: interviewFeedback,
    texts: INTERVIEW_TEXTS,
  },
  {
    name: 'interview-feedback-put',
    method: 'PUT',
    path: (f) => `/api/v1/interview-sessions/${f.putSessionId}/feedback`,
    key: 'app',
    body: interviewFeedback,
    texts: INTERVIEW_TEXTS,
  },
  {
    name: 'query',
    method: 'POST',
    path: () => '/api/v1/query',
    key: 'app',
    body: () => ({ sql: 'select count(*) as n from votes', format: 'json', limit: 10 }),
    texts: ['sql'],
  },
  // Routes without a body: hostile path segments and query strings.
  { name: 'promote', method: 'POST', path: (_, u) => `/api/v1/expert-feedback/${u}/promote`, key: 'app', texts: [] },
  { name: 'votes-get', method: 'GET', path: (_, u) => `/api/v1/conversations/${u}/votes`, key: 'app', texts: [] },
  { name: 'erase', method: 'DELETE', path: (_, u) => `/api/v1/conversations/${u}`, key: 'app', texts: [] },
  { name: 'expert-get', method: 'GET', path: (_, u) => `/api/v1/experts/${u}`, key: 'app', texts: [] },
  { name: 'faq', method: 'GET', path: (_, u) => `/api/v1/faq-entries?cursor=${u}&limit=${u}`, key: 'app', texts: [] },
  { name: 'candidates', method: 'GET', path: (_, u) => `/api/v1/faq-candidates?status=${u}`, key: 'app', texts: [] },
  {
    name: 'rollups',
    method: 'GET',
    path: (_, u) => `/api/v1/rollups/votes?from=${u}&to=2026-13-45&granularity=${u}&segment=${u}&app=${u}`,
    key: 'app',
    texts: [],
  },
  {
    name: 'rollups-experts',
    method: 'GET',
    path: (_, u) => `/api/v1/rollups/experts?from=${u}`,
    key: 'app',
    texts: [],
  },
  { name: 'jobs-run', method: 'POST', path: (_, u) => `/api/v1/jobs/${u}/run`, key: 'app', texts: [] },
  { name: 'job-run-get', method: 'GET', path: (_, u) => `/api/v1/jobs/export/runs/${u}`, key: 'app', texts: [] },
];

/** A raw JSON text spliced in where a placeholder string was (numbers JSON.stringify cannot write, deep nesting). */
export type Mutation =
  | { readonly kind: 'valid' }
  | { readonly kind: 'value'; readonly field: number; readonly value: unknown }
  | { readonly kind: 'raw-value'; readonly field: number; readonly raw: string }
  | { readonly kind: 'text'; readonly field: number; readonly text: string }
  | { readonly kind: 'invalid-utf8'; readonly field: number; readonly bytes: readonly number[] }
  | { readonly kind: 'huge-string'; readonly field: number; readonly length: number }
  | { readonly kind: 'unknown-field'; readonly name: string; readonly value: unknown }
  | { readonly kind: 'duplicate-key'; readonly field: number; readonly value: unknown }
  | { readonly kind: 'deep'; readonly depth: number; readonly field: number }
  | { readonly kind: 'content-type'; readonly contentType: string }
  | { readonly kind: 'not-json'; readonly text: string }
  | { readonly kind: 'top-level'; readonly value: unknown };

export interface HostileRequest {
  readonly target: number;
  readonly unique: string;
  readonly mutation: Mutation;
  /** undefined: no Idempotency-Key; otherwise its value (some too long). */
  readonly idempotencyKey: string | undefined;
  readonly auth: 'right' | 'none' | 'unknown' | 'other-scope';
}

const strangeText = fc.oneof(
  fc.constantFrom('\u0000', 'a\u0000b', '\ud800', 'x\udfffy', '\ud800\u0000', '\uffff', '\u202e', ''),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ maxLength: 20 }).map((s) => `${s}\u0000${s}`),
  fc.string({ maxLength: 20 }).map((s) => `${s}\ud83d`),
);

const wrongValue = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, -0, 0.5),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  strangeText,
);

const field = fc.nat({ max: 50 });

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: 'valid' as const }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('value' as const), field, value: wrongValue }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('raw-value' as const),
      field,
      raw: fc.constantFrom('1e400', '-1e400', '123456789012345678901234567890', '0.1e-400', '1E+99999', '-0'),
    }),
  },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('text' as const), field, text: strangeText }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('invalid-utf8' as const),
      field,
      bytes: fc.constantFrom(
        [0xff],
        [0xc3, 0x28],
        [0xe2, 0x82],
        [0xed, 0xa0, 0x80],
        [0xf8, 0x88, 0x80, 0x80, 0x80],
        [0xc0, 0xaf],
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('huge-string' as const),
      field,
      length: fc.oneof(
        fc.integer({ min: 190, max: 2_100 }),
        fc.integer({ min: 19_990, max: 20_010 }),
        fc.integer({ min: 100_000, max: 400_000 }),
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('unknown-field' as const),
      name: fc.oneof(
        fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'id', 'created_at'),
        fc.string({ maxLength: 10 }),
      ),
      value: fc.oneof(fc.constant({ admin: true, polluted: 'yes' }), wrongValue),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('duplicate-key' as const), field, value: wrongValue }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('deep' as const),
      field,
      depth: fc.oneof(fc.integer({ min: 10, max: 200 }), fc.integer({ min: 5_000, max: 200_000 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('content-type' as const),
      contentType: fc.constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
        'application/json; charset=utf-16',
        'application/octet-stream',
        'json',
        '',
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('not-json' as const),
      text: fc.oneof(
        fc.constantFrom('', '{', '{"a":', '[1,2', 'nul', 'undefined', "{'a':1}", '\ufeff{}'),
        fc.string({ maxLength: 30 }),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('top-level' as const),
      value: fc.oneof(
        fc.constant(null),
        fc.jsonValue({ maxDepth: 1 }).filter((v) => typeof v !== 'object' || Array.isArray(v)),
      ),
    }),
  },
);

export const hostileRequest: fc.Arbitrary<HostileRequest> = fc.record({
  target: fc.nat({ max: TARGETS.length - 1 }),
  unique: fc.oneof(
    { weight: 8, arbitrary: fc.uuid() },
    {
      weight: 1,
      arbitrary: fc.constantFrom('%00', '%ZZ', '..%2F..%2Fetc', 'a'.repeat(300), '%F0%9F', '%ED%A0%80', '-1'),
    },
  ),
  mutation,
  idempotencyKey: fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: fc.uuid().map((u) => `hk-${u}`) },
    { weight: 1, arbitrary: fc.constantFrom('k'.repeat(256), '', ' ') },
  ),
  auth: fc.oneof(
    { weight: 12, arbitrary: fc.constant('right' as const) },
    { weight: 1, arbitrary: fc.constantFrom('none' as const, 'unknown' as const, 'other-scope' as const) },
  ),
});

export interface BuiltRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array | undefined;
  /** What a JSON parser makes of the body (duplicate keys: the last wins), when it is JSON. */
  readonly parsed: unknown;
}

const RAW = '@@RAW-7f3a@@';

/** Sets `obj[key]` for the nth key of the object (wrapping), returning the key. */
function pick(obj: Record<string, unknown>, n: number): string {
  const keys = Object.keys(obj);
  return keys[n % keys.length]!;
}

export function buildRequest(
  request: HostileRequest,
  fixtures: Fixtures,
  keys: { app: string; admin: string; read: string; ingest: string },
): BuiltRequest {
  const target = TARGETS[request.target]!;
  const headers: Record<string, string> = {};
  const auth = {
    right: keys[target.key],
    none: undefined,
    unknown: 'fw_unknown_key_0000000000000000',
    // A key without the route's scope: GETs need read, the query endpoint query, the other POSTs ingest.
    'other-scope':
      target.key === 'admin' ? keys.app : target.method === 'GET' || target.name === 'query' ? keys.ingest : keys.read,
  }[request.auth];
  if (auth !== undefined) headers.authorization = `Bearer ${auth}`;
  if (request.idempotencyKey !== undefined) headers['idempotency-key'] = request.idempotencyKey;
  const path = target.path(fixtures, request.unique);
  if (!target.body) return { method: target.method, path, headers, body: undefined, parsed: undefined };
  headers['content-type'] = 'application/json';
  const obj = target.body(fixtures, request.unique);
  const m = request.mutation;
  const texts = target.texts.length > 0 ? target.texts : Object.keys(obj);
  let text: string;
  let splice: Uint8Array | null = null;
  switch (m.kind) {
    case 'valid':
      text = JSON.stringify(obj);
      break;
    case 'value':
      text = JSON.stringify({ ...obj, [pick(obj, m.field)]: m.value });
      break;
    case 'raw-value':
      text = JSON.stringify({ ...obj, [pick(obj, m.field)]: RAW }).replace(JSON.stringify(RAW), m.raw);
      break;
    case 'text': {
      const name = texts[m.field % texts.length]!;
      text = JSON.stringify(setText(obj, name, m.text));
      break;
    }
    case 'invalid-utf8': {
      const name = texts[m.field % texts.length]!;
      text = JSON.stringify(setText(obj, name, `a${RAW}b`));
      splice = new Uint8Array(m.bytes);
      break;
    }
    case 'huge-string': {
      const name = texts[m.field % texts.length]!;
      text = JSON.stringify(setText(obj, name, 'x'.repeat(m.length)));
      break;
    }
    case 'unknown-field':
      // As text, so "__proto__" is an own key of the JSON object, as a hostile client would send it.
      text = `{${JSON.stringify(m.name)}:${JSON.stringify(m.value)},${JSON.stringify(obj).slice(1)}`;
      break;
    case 'duplicate-key': {
      const name = pick(obj, m.field);
      text = `${JSON.stringify(obj).slice(0, -1)},${JSON.stringify(name)}:${JSON.stringify(m.value) ?? 'null'}}`;
      break;
    }
    case 'deep': {
      const name = pick(obj, m.field);
      const nested = '['.repeat(m.depth) + ']'.repeat(m.depth);
      text = JSON.stringify({ ...obj, [name]: RAW }).replace(JSON.stringify(RAW), nested);
      break;
    }
    case 'content-type':
      text = JSON.stringify(obj);
      if (m.contentType === '') delete headers['content-type'];
      else headers['content-type'] = m.contentType;
      break;
    case 'not-json':
      text = m.text;
      break;
    case 'top-level':
      text = JSON.stringify(m.value) ?? 'null';
      break;
  }
  let body: Uint8Array;
  if (splice !== null) {
    const [before, after] = text.split(RAW) as [string, string];
    body = Buffer.concat([Buffer.from(before), splice, Buffer.from(after)]);
  } else {
    body = Buffer.from(text);
  }
  let parsed: unknown = undefined;
  if (splice === null) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  return { method: target.method, path, headers, body, parsed };
}

/** Puts a text at a field; for nested bodies (a batch), into every string of its first item. */
function setText(obj: Record<string, unknown>, name: string, value: string): Record<string, unknown> {
  if (name !== 'items') return { ...obj, [name]: value };
  const items = obj.items as { type: string; data: Record<string, unknown> }[];
  return {
    items: items.map((item, i) =>
      i === 0 ? { ...item, data: { ...item.data, comment: value, query: value, response: value } } : item,
    ),
  };
}
