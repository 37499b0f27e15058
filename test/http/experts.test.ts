import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;
let ingest: string;
let read: string;
let admin: string;

beforeAll(async () => {
  app = await startTestApp();
  ingest = await app.key('ingest');
  read = await app.key('read');
  admin = await app.key('admin');
});
afterAll(() => app.close());

async function newExpert(overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await app.request('POST', '/api/v1/experts', {
    key: ingest,
    body: { user_ref: `user-${randomUUID()}`, credential_type: 'dottore_commercialista', ...overrides },
  });
  expect(res.status).toBe(201);
  return res.json.id as string;
}

const review = (expertId: string, overrides: Record<string, unknown> = {}) => ({
  expert_id: expertId,
  query_text: 'What is the VAT rate on books?',
  original_answer: 'Books are taxed at 22%.',
  feedback_type: 'incorrect',
  category: 'normativa_obsoleta',
  improved_answer: 'Books are taxed at 4% (Tabella A, parte II).',
  confidence_score: 0.95,
  time_spent_seconds: 120,
  ...overrides,
});

describe('POST /api/v1/experts', () => {
  it('creates a profile with defaults: trust 0.5, active, no specializations', async () => {
    const res = await app.request('POST', '/api/v1/experts', {
      key: ingest,
      body: { user_ref: 'u-defaults', credential_type: 'avvocato' },
    });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      user_ref: 'u-defaults',
      credential_type: 'avvocato',
      registration_number: null,
      trust_score: 0.5,
      is_active: true,
      specializations: [],
    });
  });

  it('stores every field', async () => {
    const res = await app.request('POST', '/api/v1/experts', {
      key: ingest,
      body: {
        user_ref: 'u-full',
        credential_type: 'revisore_legale',
        registration_number: 'RL-12345',
        trust_score: 0.87,
        is_active: false,
        specializations: ['IVA', 'bilancio'],
      },
    });
    expect(res.status).toBe(201);
    const got = await app.request('GET', `/api/v1/experts/${res.json.id}`, { key: read });
    expect(got.status).toBe(200);
    expect(got.json).toEqual(res.json);
    expect(got.json).toMatchObject({ trust_score: 0.87, is_active: false, specializations: ['IVA', 'bilancio'] });
  });

  it('answers 409 for a taken user_ref and for a taken registration number in the same register', async () => {
    await newExpert({ user_ref: 'u-taken', credential_type: 'avvocato', registration_number: 'AV-1' });
    const sameUser = await app.request('POST', '/api/v1/experts', {
      key: ingest,
      body: { user_ref: 'u-taken', credential_type: 'other' },
    });
    expect(sameUser.status).toBe(409);
    expect(sameUser.json.detail).toBe('An expert with this user_ref exists.');
    const sameNumber = await app.request('POST', '/api/v1/experts', {
      key: ingest,
      body: { user_ref: 'u-other', credential_type: 'avvocato', registration_number: 'AV-1' },
    });
    expect(sameNumber.status).toBe(409);
    expect(sameNumber.json.detail).toBe('An expert with this registration_number exists for this credential_type.');
    // The same number in another register is another registration.
    await newExpert({ credential_type: 'caf_operator', registration_number: 'AV-1' });
  });

  it.each([
    ['an unknown credential type', { credential_type: 'notaio' }, '/credential_type'],
    ['a trust score over 1', { trust_score: 1.5 }, '/trust_score'],
    ['a negative trust score', { trust_score: -0.1 }, '/trust_score'],
    ['specializations that are not strings', { specializations: [1] }, '/specializations/0'],
    ['an unknown field', { nickname: 'x' }, '/nickname'],
  ])('answers 422 for %s', async (_label, overrides, path) => {
    const res = await app.request('POST', '/api/v1/experts', {
      key: ingest,
      body: { user_ref: `u-${randomUUID()}`, credential_type: 'other', ...overrides },
    });
    expect(res.status).toBe(422);
    expect(res.json.errors.map((e: { path: string }) => e.path)).toContain(path);
  });
});

describe('GET and PATCH /api/v1/experts/{id}', () => {
  it('answers 404 for an unknown expert', async () => {
    expect((await app.request('GET', `/api/v1/experts/${randomUUID()}`, { key: read })).status).toBe(404);
    expect(
      (await app.request('PATCH', `/api/v1/experts/${randomUUID()}`, { key: admin, body: { trust_score: 0.1 } }))
        .status,
    ).toBe(404);
  });

  it('changes only the fields sent (admin)', async () => {
    const id = await newExpert({ registration_number: 'DC-9', specializations: ['IVA'], trust_score: 0.6 });
    const res = await app.request('PATCH', `/api/v1/experts/${id}`, {
      key: admin,
      body: { trust_score: 0.95, registration_number: null },
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      trust_score: 0.95,
      registration_number: null,
      specializations: ['IVA'],
      is_active: true,
      credential_type: 'dottore_commercialista',
    });
    const again = await app.request('PATCH', `/api/v1/experts/${id}`, {
      key: admin,
      body: { is_active: false, specializations: ['lavoro', 'INPS'], credential_type: 'consulente_del_lavoro' },
    });
    expect(again.json).toMatchObject({
      trust_score: 0.95,
      is_active: false,
      specializations: ['lavoro', 'INPS'],
      credential_type: 'consulente_del_lavoro',
    });
    expect((await app.request('GET', `/api/v1/experts/${id}`, { key: read })).json).toEqual(again.json);
  });

  it('needs the admin scope: 403 with an ingest key', async () => {
    const id = await newExpert();
    const res = await app.request('PATCH', `/api/v1/experts/${id}`, { key: ingest, body: { trust_score: 1 } });
    expect(res.status).toBe(403);
  });

  it.each([
    ['an empty patch', {}],
    ['a trust score of 2', { trust_score: 2 }],
    ['user_ref, which cannot change', { user_ref: 'new' }],
    ['a null trust score', { trust_score: null }],
  ])('answers 422 for %s', async (_label, body) => {
    const id = await newExpert();
    expect((await app.request('PATCH', `/api/v1/experts/${id}`, { key: admin, body })).status).toBe(422);
  });

  it('answers 409 when the patch takes a registration number in use', async () => {
    await newExpert({ credential_type: 'avvocato', registration_number: 'AV-77' });
    const id = await newExpert({ credential_type: 'avvocato' });
    const res = await app.request('PATCH', `/api/v1/experts/${id}`, {
      key: admin,
      body: { registration_number: 'AV-77' },
    });
    expect(res.status).toBe(409);
  });
});

describe('POST /api/v1/expert-feedback', () => {
  it('records correct feedback without a candidate', async () => {
    const expert = await newExpert();
    const res = await app.request('POST', '/api/v1/expert-feedback', {
      key: ingest,
      body: review(expert, { feedback_type: 'correct', category: null, improved_answer: null, confidence_score: 0.8 }),
    });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      expert_id: expert,
      feedback_type: 'correct',
      category: null,
      confidence_score: 0.8,
      time_spent_seconds: 120,
      generated_faq_id: null,
      faq_candidate: null,
    });
    const got = await app.request('GET', `/api/v1/expert-feedback/${res.json.id}`, { key: read });
    expect(got.status).toBe(200);
    expect(got.json).toEqual(res.json);
  });

  it('accepts feedback without confidence or time (stored as null) and keeps answer_ref as given', async () => {
    const expert = await newExpert();
    const res = await app.request('POST', '/api/v1/expert-feedback', {
      key: ingest,
      body: review(expert, {
        feedback_type: 'correct',
        category: null,
        improved_answer: null,
        confidence_score: undefined,
        time_spent_seconds: null,
        answer_ref: 'answer-42/mario.rossi@example.it',
      }),
    });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      confidence_score: null,
      time_spent_seconds: null,
      answer_ref: 'answer-42/mario.rossi@example.it',
    });
    const got = await app.request('GET', `/api/v1/expert-feedback/${res.json.id}`, { key: read });
    expect(got.json).toEqual(res.json);
    const stored = await app.db.pool.query(
      'select confidence_score, time_spent_seconds, answer_ref from expert_feedback where id = $1',
      [res.json.id],
    );
    expect(stored.rows).toEqual([
      { confidence_score: null, time_spent_seconds: null, answer_ref: 'answer-42/mario.rossi@example.it' },
    ]);
  });

  it('redacts PII in query_text, original_answer and improved_answer (and so in the candidate)', async () => {
    const expert = await newExpert();
    const res = await app.request('POST', '/api/v1/expert-feedback', {
      key: ingest,
      body: review(expert, {
        query_text: 'I am RSSMRA85T10A562S, write to mario.rossi@example.it',
        original_answer: 'Pay to IT60 X054 2811 1010 0000 0123 456',
        improved_answer: 'Call +39 347 123 4567 or use card 4111 1111 1111 1111',
      }),
    });
    expect(res.status).toBe(201);
    const { rows } = await app.db.pool.query('select * from expert_feedback where id = $1', [res.json.id]);
    expect(rows[0]).toMatchObject({
      query_text: 'I am [TAX_ID], write to [EMAIL]',
      original_answer: 'Pay to [IBAN]',
      improved_answer: 'Call [PHONE] or use card [CARD]',
    });
    const candidate = await app.db.pool.query(
      'select question, answer from expert_faq_candidates where feedback_id = $1',
      [res.json.id],
    );
    expect(candidate.rows[0]).toEqual({
      question: 'I am [TAX_ID], write to [EMAIL]',
      answer: 'Call [PHONE] or use card [CARD]',
    });
    expect(JSON.stringify([rows, candidate.rows])).not.toMatch(/RSSMRA|mario|IT60|347|4111/);
  });

  it('makes a pending candidate from incomplete feedback of an expert under the trust threshold', async () => {
    const expert = await newExpert({ trust_score: 0.5 });
    const res = await app.request('POST', '/api/v1/expert-feedback', {
      key: ingest,
      body: review(expert, { feedback_type: 'incomplete', category: 'caso_mancante' }),
    });
    expect(res.status).toBe(201);
    expect(res.json.faq_candidate).toMatchObject({ status: 'pending', auto_approved: false, faq_entry_id: null });
    expect(res.json.generated_faq_id).toBeNull();
    const { rows } = await app.db.pool.query('select count(*) as n from faq_entries where source_feedback_id = $1', [
      res.json.id,
    ]);
    expect(Number(rows[0].n)).toBe(0);
  });

  it('auto-approves the candidate of an expert at the threshold (0.9): FAQ entry made, generated_faq_id set', async () => {
    const expert = await newExpert({ trust_score: 0.9 });
    const res = await app.request('POST', '/api/v1/expert-feedback', { key: ingest, body: review(expert) });
    expect(res.status).toBe(201);
    expect(res.json.faq_candidate).toMatchObject({ status: 'approved', auto_approved: true });
    expect(res.json.generated_faq_id).toBe(res.json.faq_candidate.faq_entry_id);
    const faq = await app.db.pool.query('select * from faq_entries where id = $1', [res.json.generated_faq_id]);
    expect(faq.rows[0]).toMatchObject({
      question: 'What is the VAT rate on books?',
      answer: 'Books are taxed at 4% (Tabella A, parte II).',
      category: 'normativa_obsoleta',
      origin: 'candidate',
      source_feedback_id: res.json.id,
    });
    const candidate = await app.db.pool.query('select * from expert_faq_candidates where feedback_id = $1', [
      res.json.id,
    ]);
    expect(candidate.rows[0]).toMatchObject({ status: 'approved', expert_trust_score: 0.9, decided_by: null });
    expect(candidate.rows[0].decided_at).toBeInstanceOf(Date);
    const got = await app.request('GET', `/api/v1/expert-feedback/${res.json.id}`, { key: read });
    expect(got.json.generated_faq_id).toBe(res.json.generated_faq_id);
  });

  it('makes no candidate from incorrect feedback without an improved answer', async () => {
    const expert = await newExpert({ trust_score: 1 });
    const res = await app.request('POST', '/api/v1/expert-feedback', {
      key: ingest,
      body: review(expert, { improved_answer: null }),
    });
    expect(res.status).toBe(201);
    expect(res.json.faq_candidate).toBeNull();
    expect(res.json.generated_faq_id).toBeNull();
  });

  it('answers 422 naming /expert_id for an unknown or an inactive expert', async () => {
    const unknown = await app.request('POST', '/api/v1/expert-feedback', { key: ingest, body: review(randomUUID()) });
    expect(unknown.status).toBe(422);
    expect(unknown.json.errors[0].path).toBe('/expert_id');
    const inactive = await newExpert({ is_active: false });
    const res = await app.request('POST', '/api/v1/expert-feedback', { key: ingest, body: review(inactive) });
    expect(res.status).toBe(422);
    expect(res.json.errors).toEqual([{ path: '/expert_id', message: 'the expert profile is not active' }]);
  });

  it.each([
    ['an unknown feedback type', { feedback_type: 'wrong' }, '/feedback_type'],
    ['an unknown category', { category: 'altro' }, '/category'],
    ['no category on incorrect feedback', { category: null }, '/category'],
    ['a confidence over 1', { confidence_score: 1.01 }, '/confidence_score'],
    ['a negative time spent', { time_spent_seconds: -5 }, '/time_spent_seconds'],
    ['a fractional time spent', { time_spent_seconds: 1.5 }, '/time_spent_seconds'],
    ['a missing query_text', { query_text: undefined }, '/query_text'],
    ['an unknown field', { score: 3 }, '/score'],
    ['an empty answer_ref', { answer_ref: '' }, '/answer_ref'],
    ['an answer_ref over 200 characters', { answer_ref: 'a'.repeat(201) }, '/answer_ref'],
  ])('answers 422 for %s', async (_label, overrides, path) => {
    const expert = await newExpert();
    const res = await app.request('POST', '/api/v1/expert-feedback', { key: ingest, body: review(expert, overrides) });
    expect(res.status).toBe(422);
    expect(res.json.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it('answers 404 to GET of unknown feedback', async () => {
    expect((await app.request('GET', `/api/v1/expert-feedback/${randomUUID()}`, { key: read })).status).toBe(404);
  });
});

describe('FAQ_AUTO_APPROVE_TRUST', () => {
  it('is the threshold: with 0.5, an expert at 0.6 is auto-approved', async () => {
    const other = await startTestApp({ FAQ_AUTO_APPROVE_TRUST: '0.5' });
    try {
      const key = await other.key('ingest');
      const expert = await other.request('POST', '/api/v1/experts', {
        key,
        body: { user_ref: 'u-threshold', credential_type: 'other', trust_score: 0.6 },
      });
      const res = await other.request('POST', '/api/v1/expert-feedback', { key, body: review(expert.json.id) });
      expect(res.status).toBe(201);
      expect(res.json.faq_candidate).toMatchObject({ status: 'approved', auto_approved: true });
    } finally {
      await other.close();
    }
  });
});
