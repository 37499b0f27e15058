import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;
let ingest: string;
let read: string;
let trusted: string;
let junior: string;

beforeAll(async () => {
  app = await startTestApp();
  ingest = await app.key('ingest');
  read = await app.key('read');
  const expert = async (trust: number, active = true) =>
    (
      await app.request('POST', '/api/v1/experts', {
        key: ingest,
        body: { user_ref: `u-${randomUUID()}`, credential_type: 'caf_operator', trust_score: trust, is_active: active },
      })
    ).json.id as string;
  trusted = await expert(0.95);
  junior = await expert(0.3);
});
afterAll(() => app.close());

async function newSession(): Promise<string> {
  return (await app.request('POST', '/api/v1/interview-sessions', { key: ingest, body: {} })).json.id as string;
}

const vote = (conversation: string, overrides: Record<string, unknown> = {}) => ({
  type: 'vote',
  data: { conversation_id: conversation, vote: 'up', ...overrides },
});

const expertFeedback = (expertId: string, overrides: Record<string, unknown> = {}) => ({
  type: 'expert_feedback',
  data: {
    expert_id: expertId,
    query_text: 'When is IMU due?',
    original_answer: 'On 16 June.',
    feedback_type: 'incomplete',
    category: 'caso_mancante',
    improved_answer: 'On 16 June and 16 December.',
    confidence_score: 0.9,
    time_spent_seconds: 30,
    ...overrides,
  },
});

const interview = (sessionId: string, overrides: Record<string, unknown> = {}) => ({
  type: 'interview_feedback',
  data: {
    session_id: sessionId,
    technical_accuracy_score: 70,
    communication_clarity_score: 60,
    problem_solving_score: 80,
    relevance_score: 90,
    overall_score: 75,
    technical_feedback: 'Good.',
    communication_feedback: 'Clear.',
    problem_solving_feedback: 'Methodical.',
    relevance_feedback: 'Relevant.',
    knowledge_gaps: ['TFR'],
    ...overrides,
  },
});

const count = async (table: string, where = 'true', params: unknown[] = []) =>
  Number((await app.db.pool.query(`select count(*) as n from ${table} where ${where}`, params)).rows[0].n);

const counts = async () => ({
  votes: await count('votes'),
  interviews: await count('interview_feedbacks'),
  experts: await count('expert_feedback'),
  candidates: await count('expert_faq_candidates'),
  faqs: await count('faq_entries'),
});

describe('POST /api/v1/batch', () => {
  it('writes mixed items in one go and returns their ids in request order (201)', async () => {
    const session = await newSession();
    const conv = `batch-${randomUUID()}`;
    const res = await app.request('POST', '/api/v1/batch', {
      key: ingest,
      body: {
        items: [
          vote(conv, { comment: 'mail me at anna@example.com' }),
          expertFeedback(trusted),
          interview(session, { technical_feedback: 'Gave his number +39 347 123 4567' }),
          vote(conv, { vote: 'down' }),
          expertFeedback(junior, { feedback_type: 'correct', category: null, improved_answer: null }),
          expertFeedback(junior),
        ],
      },
    });
    expect(res.status).toBe(201);
    expect(res.json.items.map((i: { index: number }) => i.index)).toEqual([0, 1, 2, 3, 4, 5]);
    const ids = res.json.items.map((i: { id: number | string }) => i.id);
    expect(typeof ids[0]).toBe('number');
    expect(ids[3]).toBeGreaterThan(ids[0]);
    const votes = await app.db.pool.query(
      'select id, vote, comment from votes where conversation_id = $1 order by id',
      [conv],
    );
    expect(votes.rows).toEqual([
      { id: ids[0], vote: 'up', comment: 'mail me at [EMAIL]' },
      { id: ids[3], vote: 'down', comment: null },
    ]);
    const fb = await app.db.pool.query(
      'select technical_feedback, knowledge_gaps from interview_feedbacks where id = $1',
      [ids[2]],
    );
    expect(fb.rows[0]).toEqual({ technical_feedback: 'Gave his number [PHONE]', knowledge_gaps: ['TFR'] });
    // The same FAQ rules as one by one: auto-approved for the trusted expert, pending for the junior, none for correct.
    const trustedFb = await app.request('GET', `/api/v1/expert-feedback/${ids[1]}`, { key: read });
    expect(trustedFb.json.faq_candidate).toMatchObject({ status: 'approved', auto_approved: true });
    expect(trustedFb.json.generated_faq_id).not.toBeNull();
    const correct = await app.request('GET', `/api/v1/expert-feedback/${ids[4]}`, { key: read });
    expect(correct.json).toMatchObject({ feedback_type: 'correct', faq_candidate: null });
    const pending = await app.request('GET', `/api/v1/expert-feedback/${ids[5]}`, { key: read });
    expect(pending.json.faq_candidate.status).toBe('pending');
  });

  it('writes nothing when one item is invalid, and names it (422)', async () => {
    const before = await counts();
    const res = await app.request('POST', '/api/v1/batch', {
      key: ingest,
      body: { items: [vote('ok-1'), expertFeedback(trusted), vote('bad', { vote: 'sideways' }), vote('ok-2')] },
    });
    expect(res.status).toBe(422);
    expect(res.json.failed_indexes).toEqual([2]);
    expect(res.json.errors.map((e: { path: string }) => e.path)).toEqual(['/items/2/data/vote']);
    expect(await counts()).toEqual(before);
  });

  it('names every failing index of a 1,000-item batch, with at most 100 errors in detail', async () => {
    const items = Array.from({ length: 1000 }, (_, i) => ({
      type: 'vote',
      data: { conversation_id: `bounded-${i}`, vote: 'sideways', reasons: [1, 2, 3] },
    }));
    const res = await app.request('POST', '/api/v1/batch', { key: ingest, body: { items } });
    expect(res.status).toBe(422);
    expect(res.json.failed_indexes).toEqual(items.map((_, i) => i));
    expect(res.json.errors).toHaveLength(100);
    expect(res.json.errors_truncated).toBe(true);
    expect(res.json.error_count).toBeGreaterThanOrEqual(1000);
  });

  it('lists every failing index, of every type, in one 422', async () => {
    const session = await newSession();
    const before = await counts();
    const res = await app.request('POST', '/api/v1/batch', {
      key: ingest,
      body: {
        items: [
          vote('fine'),
          vote('', { colour: 'red' }),
          interview(session, { overall_score: 101 }),
          expertFeedback(trusted, { confidence_score: 2 }),
          expertFeedback(trusted, { category: null }),
          vote('fine-too', { metadata: { blob: 'x'.repeat(9000) } }),
        ],
      },
    });
    expect(res.status).toBe(422);
    expect(res.json.failed_indexes).toEqual([1, 2, 3, 4, 5]);
    const paths = res.json.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/items/1/data/conversation_id',
        '/items/1/data/colour',
        '/items/2/data/overall_score',
        '/items/3/data/confidence_score',
        '/items/4/data/category',
        '/items/5/data/metadata',
      ]),
    );
    expect(await counts()).toEqual(before);
  });

  it('answers 422 for references the database refuses: unknown expert, inactive expert, unknown or repeated session', async () => {
    const inactive = (
      await app.request('POST', '/api/v1/experts', {
        key: ingest,
        body: { user_ref: `u-${randomUUID()}`, credential_type: 'other', is_active: false },
      })
    ).json.id;
    const session = await newSession();
    const before = await counts();
    const res = await app.request('POST', '/api/v1/batch', {
      key: ingest,
      body: {
        items: [
          vote('fine'),
          expertFeedback(randomUUID()),
          expertFeedback(inactive),
          interview(randomUUID()),
          interview(session),
          interview(session),
        ],
      },
    });
    expect(res.status).toBe(422);
    expect(res.json.failed_indexes).toEqual([1, 2, 3, 5]);
    expect(res.json.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: '/items/1/data/expert_id' }),
        { path: '/items/2/data/expert_id', message: 'the expert profile is not active' },
        expect.objectContaining({ path: '/items/3/data/session_id' }),
        { path: '/items/5/data/session_id', message: "item 4 already gives this session's feedback" },
      ]),
    );
    expect(await counts()).toEqual(before);
  });

  it('answers 409, writing nothing, when a session already has feedback', async () => {
    const session = await newSession();
    await app.request('POST', '/api/v1/batch', { key: ingest, body: { items: [interview(session)] } });
    const before = await counts();
    const res = await app.request('POST', '/api/v1/batch', {
      key: ingest,
      body: { items: [vote('fine'), interview(session, { overall_score: 1 })] },
    });
    expect(res.status).toBe(409);
    expect(res.json.failed_indexes).toEqual([1]);
    expect(res.json.errors[0].path).toBe('/items/1/data/session_id');
    expect(await counts()).toEqual(before);
  });

  it('takes 1,000 items and refuses 1,001 with 413', async () => {
    const conv = `big-${randomUUID()}`;
    const items = Array.from({ length: 1000 }, (_, i) => vote(conv, { vote: i % 2 ? 'up' : 'down' }));
    const ok = await app.request('POST', '/api/v1/batch', { key: ingest, body: { items } });
    expect(ok.status).toBe(201);
    expect(ok.json.items).toHaveLength(1000);
    expect(await count('votes', 'conversation_id = $1', [conv])).toBe(1000);
    const tooMany = await app.request('POST', '/api/v1/batch', {
      key: ingest,
      body: { items: [...items, vote(conv)] },
    });
    expect(tooMany.status).toBe(413);
    expect(tooMany.json.detail).toMatch(/at most 1000 items/);
    expect(await count('votes', 'conversation_id = $1', [conv])).toBe(1000);
  });

  it.each([
    ['no items', { items: [] }, '/items'],
    ['an unknown item type', { items: [{ type: 'survey', data: {} }] }, '/items/0/type'],
    ['an item without data', { items: [{ type: 'vote' }] }, '/items/0/data'],
    ['an unknown top-level field', { items: [vote('x')], atomic: true }, '/atomic'],
  ])('answers 422 for %s', async (_label, body, path) => {
    const res = await app.request('POST', '/api/v1/batch', { key: ingest, body });
    expect(res.status).toBe(422);
    expect(res.json.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it('a large batch (COPY on a real server) keeps awkward text exactly, and writes nothing when the database refuses one value', async () => {
    const awkward = 'tab\there, new\nline, back\\slash \\N, "quotes", {braces}, àè 💬';
    const items = Array.from({ length: 100 }, (_, i) =>
      vote(`large-${i}`, { comment: awkward, reasons: [awkward, 'x'], metadata: { note: awkward } }),
    );
    const ok = await app.request('POST', '/api/v1/batch', { key: ingest, body: { items } });
    expect(ok.status).toBe(201);
    const ids = ok.json.items.map((item: { id: number }) => item.id);
    expect(ids).toEqual([...ids].sort((a: number, b: number) => a - b));
    const { rows } = await app.db.pool.query(
      `select conversation_id, comment, reasons, metadata from votes where id = any ($1::bigint[]) order by id`,
      [ids],
    );
    expect(rows.map((r) => r.conversation_id)).toEqual(items.map((item) => item.data.conversation_id));
    expect(rows.every((r) => r.comment === awkward && r.reasons[0] === awkward && r.metadata.note === awkward)).toBe(
      true,
    );

    // A NUL character passes JSON but no Postgres text column takes it: 4xx, and none of the 100 votes is written.
    const before = await count('votes');
    const bad = items.map((item, i) => (i === 70 ? vote('large-nul', { comment: 'nul \u0000 here' }) : item));
    const refused = await app.request('POST', '/api/v1/batch', { key: ingest, body: { items: bad } });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.status).toBeLessThan(500);
    expect(refused.text).not.toContain('nul ');
    expect(await count('votes')).toBe(before);
  });

  it('needs an ingest key', async () => {
    expect((await app.request('POST', '/api/v1/batch', { body: { items: [vote('x')] } })).status).toBe(401);
    expect((await app.request('POST', '/api/v1/batch', { key: read, body: { items: [vote('x')] } })).status).toBe(403);
  });

  it('is idempotent: 20 concurrent identical requests with one key write the batch once', async () => {
    const conv = `idem-${randomUUID()}`;
    const body = { items: [vote(conv), vote(conv, { vote: 'down' }), expertFeedback(junior)] };
    const headers = { 'Idempotency-Key': `batch-${conv}` };
    const replies = await Promise.all(
      Array.from({ length: 20 }, () => app.request('POST', '/api/v1/batch', { key: ingest, body, headers })),
    );
    const statuses = replies.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    expect(statuses).toContain(201);
    expect(await count('votes', 'conversation_id = $1', [conv])).toBe(2);
    const replay = await app.request('POST', '/api/v1/batch', { key: ingest, body, headers });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.json).toEqual(replies.find((r) => r.status === 201)!.json);
    expect(await count('votes', 'conversation_id = $1', [conv])).toBe(2);
    const changed = await app.request('POST', '/api/v1/batch', { key: ingest, body: { items: [vote(conv)] }, headers });
    expect(changed.status).toBe(422);
  });
});

describe('OpenAPI document', () => {
  it('lists every endpoint of the batch, interview, expert and FAQ APIs with its scope', async () => {
    const res = await app.request('GET', '/openapi.json');
    expect(res.status).toBe(200);
    const ops = Object.entries(res.json.paths as Record<string, Record<string, { 'x-scope'?: string }>>).flatMap(
      ([path, methods]) =>
        Object.entries(methods).map(([method, op]) => `${method.toUpperCase()} ${path} ${op['x-scope']}`),
    );
    expect(ops).toEqual(
      expect.arrayContaining([
        'POST /api/v1/interview-sessions ingest',
        'POST /api/v1/interview-sessions/{id}/feedback ingest',
        'PUT /api/v1/interview-sessions/{id}/feedback ingest',
        'GET /api/v1/interview-sessions/{id}/feedback read',
        'POST /api/v1/experts ingest',
        'GET /api/v1/experts/{id} read',
        'PATCH /api/v1/experts/{id} admin',
        'POST /api/v1/expert-feedback ingest',
        'POST /api/v1/expert-feedback/{id}/promote ingest',
        'GET /api/v1/faq-entries read',
        'DELETE /api/v1/faq-entries/{id} admin',
        'GET /api/v1/faq-candidates read',
        'POST /api/v1/faq-candidates/{id}/approve admin',
        'POST /api/v1/faq-candidates/{id}/reject admin',
        'POST /api/v1/batch ingest',
      ]),
    );
    const batch = res.json.paths['/api/v1/batch'].post;
    expect(Object.keys(batch.responses)).toEqual(expect.arrayContaining(['201', '409', '413', '422']));
  });
});
