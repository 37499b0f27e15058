import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;
let ingest: string;
let read: string;

beforeAll(async () => {
  app = await startTestApp();
  ingest = await app.key('ingest');
  read = await app.key('read');
});
afterAll(() => app.close());

const feedback = (overrides: Record<string, unknown> = {}) => ({
  technical_accuracy_score: 80,
  communication_clarity_score: 70,
  problem_solving_score: 65,
  relevance_score: 90,
  overall_score: 75,
  technical_feedback: 'Solid grasp of IVA rules.',
  communication_feedback: 'Clear, a bit fast.',
  problem_solving_feedback: 'Broke the case down well.',
  relevance_feedback: 'Answers stayed on topic.',
  overall_comments: 'Recommended for the next round.',
  knowledge_gaps: ['reverse charge', 'split payment'],
  learning_recommendations: ['Read circolare 14/E'],
  ...overrides,
});

async function newSession(body: Record<string, unknown> = {}): Promise<string> {
  const res = await app.request('POST', '/api/v1/interview-sessions', { key: ingest, body });
  expect(res.status).toBe(201);
  return res.json.id as string;
}

const feedbackRows = async (sessionId: string) =>
  Number(
    (await app.db.pool.query('select count(*) as n from interview_feedbacks where session_id = $1', [sessionId]))
      .rows[0].n,
  );

describe('POST /api/v1/interview-sessions', () => {
  it('creates a session and returns it with its uuid', async () => {
    const res = await app.request('POST', '/api/v1/interview-sessions', {
      key: ingest,
      body: { external_ref: 'ats-1001', title: 'Backend interview' },
    });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ external_ref: 'ats-1001', title: 'Backend interview' });
    expect(res.json.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Date(res.json.created_at).toString()).not.toBe('Invalid Date');
  });

  it('accepts an empty body: every field is optional', async () => {
    const res = await app.request('POST', '/api/v1/interview-sessions', { key: ingest, body: {} });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ external_ref: null, title: null });
  });

  it('answers 409 when external_ref is taken', async () => {
    await newSession({ external_ref: 'ats-dup' });
    const res = await app.request('POST', '/api/v1/interview-sessions', {
      key: ingest,
      body: { external_ref: 'ats-dup' },
    });
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(res.json.detail).toBe('An interview session with external_ref "ats-dup" already exists.');
  });

  it('redacts PII in the title', async () => {
    const res = await app.request('POST', '/api/v1/interview-sessions', {
      key: ingest,
      body: { title: 'Call with mario.rossi@example.it' },
    });
    expect(res.json.title).toBe('Call with [EMAIL]');
    const { rows } = await app.db.pool.query('select title from interview_sessions where id = $1', [res.json.id]);
    expect(rows[0].title).toBe('Call with [EMAIL]');
  });

  it('needs an ingest key: 401 without one, 403 with a read key', async () => {
    expect((await app.request('POST', '/api/v1/interview-sessions', { body: {} })).status).toBe(401);
    expect((await app.request('POST', '/api/v1/interview-sessions', { key: read, body: {} })).status).toBe(403);
  });

  it('makes exactly one session from 20 concurrent identical requests with one Idempotency-Key', async () => {
    const title = `idem-${randomUUID()}`;
    const headers = { 'Idempotency-Key': `sessions-${title}` };
    const replies = await Promise.all(
      Array.from({ length: 20 }, () =>
        app.request('POST', '/api/v1/interview-sessions', { key: ingest, body: { title }, headers }),
      ),
    );
    const statuses = replies.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    expect(statuses).toContain(201);
    const ids = new Set(replies.filter((r) => r.status === 201).map((r) => r.json.id));
    expect(ids.size).toBe(1);
    const { rows } = await app.db.pool.query('select count(*) as n from interview_sessions where title = $1', [title]);
    expect(Number(rows[0].n)).toBe(1);
    const replay = await app.request('POST', '/api/v1/interview-sessions', { key: ingest, body: { title }, headers });
    expect(replay.status).toBe(201);
    expect(replay.json.id).toBe([...ids][0]);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
  });
});

describe('POST /api/v1/interview-sessions/{id}/feedback', () => {
  it('attaches the feedback (201) and GET returns it', async () => {
    const id = await newSession();
    const res = await app.request('POST', `/api/v1/interview-sessions/${id}/feedback`, {
      key: ingest,
      body: feedback(),
    });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ session_id: id, ...feedback() });
    const got = await app.request('GET', `/api/v1/interview-sessions/${id}/feedback`, { key: read });
    expect(got.status).toBe(200);
    expect(got.json).toEqual(res.json);
  });

  it('defaults the optional fields: no comments, empty lists', async () => {
    const id = await newSession();
    const body = feedback();
    delete (body as Record<string, unknown>).overall_comments;
    delete (body as Record<string, unknown>).knowledge_gaps;
    delete (body as Record<string, unknown>).learning_recommendations;
    const res = await app.request('POST', `/api/v1/interview-sessions/${id}/feedback`, { key: ingest, body });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ overall_comments: null, knowledge_gaps: [], learning_recommendations: [] });
  });

  it('answers 409 to a second POST and keeps the first feedback', async () => {
    const id = await newSession();
    await app.request('POST', `/api/v1/interview-sessions/${id}/feedback`, { key: ingest, body: feedback() });
    const res = await app.request('POST', `/api/v1/interview-sessions/${id}/feedback`, {
      key: ingest,
      body: feedback({ overall_score: 10 }),
    });
    expect(res.status).toBe(409);
    expect(res.json.detail).toMatch(/already has feedback/);
    const got = await app.request('GET', `/api/v1/interview-sessions/${id}/feedback`, { key: read });
    expect(got.json.overall_score).toBe(75);
  });

  it('answers one 201 and one 409 to two concurrent POSTs, storing one row', async () => {
    const id = await newSession();
    const replies = await Promise.all(
      [1, 2].map((n) =>
        app.request('POST', `/api/v1/interview-sessions/${id}/feedback`, {
          key: ingest,
          body: feedback({ overall_score: n }),
        }),
      ),
    );
    expect(replies.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(await feedbackRows(id)).toBe(1);
  });

  it('answers 404 for an unknown session, and for an id that is not a uuid', async () => {
    const unknown = await app.request('POST', `/api/v1/interview-sessions/${randomUUID()}/feedback`, {
      key: ingest,
      body: feedback(),
    });
    expect(unknown.status).toBe(404);
    expect(unknown.json.detail).toMatch(/does not exist/);
    const bad = await app.request('POST', '/api/v1/interview-sessions/not-a-uuid/feedback', {
      key: ingest,
      body: feedback(),
    });
    expect(bad.status).toBe(404);
  });

  it('stores texts at their limits even when redaction makes them longer', async () => {
    const emails = (n: number) => 'a@b.it '.repeat(n).trim();
    const id = await newSession({ title: emails(71) });
    const res = await app.request('POST', `/api/v1/interview-sessions/${id}/feedback`, {
      key: ingest,
      body: feedback({ technical_feedback: emails(2857), knowledge_gaps: [emails(71)] }),
    });
    expect(res.status).toBe(201);
    const { rows } = await app.db.pool.query(
      'select f.technical_feedback, f.knowledge_gaps, s.title from interview_feedbacks f join interview_sessions s on s.id = f.session_id where s.id = $1',
      [id],
    );
    expect(rows[0].technical_feedback.length).toBeGreaterThan(20_000);
    expect(rows[0].knowledge_gaps[0].length).toBeGreaterThan(500);
    expect(rows[0].title.length).toBeGreaterThan(500);
  });

  it('redacts PII in every free-text field and in each list item', async () => {
    const id = await newSession();
    const res = await app.request('POST', `/api/v1/interview-sessions/${id}/feedback`, {
      key: ingest,
      body: feedback({
        technical_feedback: 'Sent notes to mario.rossi@example.it',
        communication_feedback: 'Called back on +39 347 123 4567',
        problem_solving_feedback: 'Used card 4111 1111 1111 1111 as the example',
        relevance_feedback: 'Quoted IBAN IT60 X054 2811 1010 0000 0123 456',
        overall_comments: 'Candidate CF RSSMRA85T10A562S, connected from 192.168.1.20',
        knowledge_gaps: ['write to anna@example.com', 'no PII here'],
        learning_recommendations: ['ask 02 1234 5678'],
      }),
    });
    expect(res.status).toBe(201);
    const { rows } = await app.db.pool.query('select * from interview_feedbacks where session_id = $1', [id]);
    const row = rows[0];
    expect(row.technical_feedback).toBe('Sent notes to [EMAIL]');
    expect(row.communication_feedback).toBe('Called back on [PHONE]');
    expect(row.problem_solving_feedback).toBe('Used card [CARD] as the example');
    expect(row.relevance_feedback).toBe('Quoted IBAN [IBAN]');
    expect(row.overall_comments).toBe('Candidate CF [TAX_ID], connected from [IP]');
    expect(row.knowledge_gaps).toEqual(['write to [EMAIL]', 'no PII here']);
    expect(row.learning_recommendations).toEqual(['ask [PHONE]']);
    expect(JSON.stringify(row)).not.toMatch(/mario|anna@|4111|RSSMRA|192\.168|IT60|347 123/i);
    expect(res.json.technical_feedback).toBe('Sent notes to [EMAIL]');
  });

  it.each([
    ['a score over 100', { overall_score: 101 }, '/overall_score'],
    ['a negative score', { relevance_score: -1 }, '/relevance_score'],
    ['a non-integer score', { problem_solving_score: 50.5 }, '/problem_solving_score'],
    ['a score sent as a string', { technical_accuracy_score: '80' }, '/technical_accuracy_score'],
    ['knowledge_gaps that is not an array', { knowledge_gaps: 'reverse charge' }, '/knowledge_gaps'],
    ['a knowledge gap that is not a string', { knowledge_gaps: ['ok', 3] }, '/knowledge_gaps/1'],
    ['learning_recommendations that is an object', { learning_recommendations: { a: 1 } }, '/learning_recommendations'],
    ['an unknown field', { mood: 'happy' }, '/mood'],
    ['an empty text', { technical_feedback: '' }, '/technical_feedback'],
    ['a NUL character', { relevance_feedback: 'a\u0000b' }, '/relevance_feedback'],
  ])('answers 422 naming the path for %s', async (_label, overrides, path) => {
    const id = await newSession();
    const res = await app.request('POST', `/api/v1/interview-sessions/${id}/feedback`, {
      key: ingest,
      body: feedback(overrides),
    });
    expect(res.status).toBe(422);
    expect(res.json.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await feedbackRows(id)).toBe(0);
  });

  it('answers 422 naming a missing required field', async () => {
    const id = await newSession();
    const body = feedback();
    delete (body as Record<string, unknown>).overall_score;
    const res = await app.request('POST', `/api/v1/interview-sessions/${id}/feedback`, { key: ingest, body });
    expect(res.status).toBe(422);
    expect(res.json.errors).toContainEqual({ path: '/overall_score', message: 'is required' });
  });

  it('answers 400 to malformed JSON', async () => {
    const id = await newSession();
    const res = await app.request('POST', `/api/v1/interview-sessions/${id}/feedback`, {
      key: ingest,
      rawBody: '{"a":',
    });
    expect(res.status).toBe(400);
  });
});

describe('PUT /api/v1/interview-sessions/{id}/feedback', () => {
  it('creates (201), then replaces (200) every field, keeping created_at', async () => {
    const id = await newSession();
    const created = await app.request('PUT', `/api/v1/interview-sessions/${id}/feedback`, {
      key: ingest,
      body: feedback(),
    });
    expect(created.status).toBe(201);
    const body = feedback({ overall_score: 40, knowledge_gaps: ['F24'] });
    delete (body as Record<string, unknown>).overall_comments;
    delete (body as Record<string, unknown>).learning_recommendations;
    const replaced = await app.request('PUT', `/api/v1/interview-sessions/${id}/feedback`, { key: ingest, body });
    expect(replaced.status).toBe(200);
    expect(replaced.json).toMatchObject({
      id: created.json.id,
      overall_score: 40,
      knowledge_gaps: ['F24'],
      overall_comments: null,
      learning_recommendations: [],
      created_at: created.json.created_at,
    });
    expect(new Date(replaced.json.updated_at).getTime()).toBeGreaterThan(new Date(created.json.updated_at).getTime());
    const got = await app.request('GET', `/api/v1/interview-sessions/${id}/feedback`, { key: read });
    expect(got.json).toEqual(replaced.json);
    expect(await feedbackRows(id)).toBe(1);
  });

  it('redacts PII like POST', async () => {
    const id = await newSession();
    const res = await app.request('PUT', `/api/v1/interview-sessions/${id}/feedback`, {
      key: ingest,
      body: feedback({ overall_comments: 'reach me at luca@example.org' }),
    });
    expect(res.json.overall_comments).toBe('reach me at [EMAIL]');
  });

  it('answers 404 for an unknown session and 422 for a bad score', async () => {
    expect(
      (
        await app.request('PUT', `/api/v1/interview-sessions/${randomUUID()}/feedback`, {
          key: ingest,
          body: feedback(),
        })
      ).status,
    ).toBe(404);
    const id = await newSession();
    const bad = await app.request('PUT', `/api/v1/interview-sessions/${id}/feedback`, {
      key: ingest,
      body: feedback({ overall_score: 1000 }),
    });
    expect(bad.status).toBe(422);
    expect(bad.json.errors[0].path).toBe('/overall_score');
  });
});

describe('GET /api/v1/interview-sessions/{id}/feedback', () => {
  it('answers 404 for an unknown session and for a session with no feedback', async () => {
    const unknown = await app.request('GET', `/api/v1/interview-sessions/${randomUUID()}/feedback`, { key: read });
    expect(unknown.status).toBe(404);
    const id = await newSession();
    const empty = await app.request('GET', `/api/v1/interview-sessions/${id}/feedback`, { key: read });
    expect(empty.status).toBe(404);
    expect(empty.json.detail).toMatch(/no feedback/);
  });

  it('needs a read key', async () => {
    const id = await newSession();
    expect((await app.request('GET', `/api/v1/interview-sessions/${id}/feedback`)).status).toBe(401);
  });
});
