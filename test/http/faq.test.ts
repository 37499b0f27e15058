import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;
let ingest: string;
let read: string;
let admin: string;
let trusted: string;
let junior: string;

beforeAll(async () => {
  app = await startTestApp();
  ingest = await app.key('ingest');
  read = await app.key('read');
  admin = await app.key('admin');
  const expert = async (trust: number) =>
    (
      await app.request('POST', '/api/v1/experts', {
        key: ingest,
        body: { user_ref: `u-${randomUUID()}`, credential_type: 'dottore_commercialista', trust_score: trust },
      })
    ).json.id as string;
  trusted = await expert(0.95);
  junior = await expert(0.4);
});
afterAll(() => app.close());

async function feedback(
  expertId: string,
  overrides: Record<string, unknown> = {},
): Promise<{ id: string; candidate: string | null }> {
  const res = await app.request('POST', '/api/v1/expert-feedback', {
    key: ingest,
    body: {
      expert_id: expertId,
      query_text: `Question ${randomUUID()}`,
      original_answer: 'The deadline is 16 June.',
      feedback_type: 'correct',
      confidence_score: 0.9,
      time_spent_seconds: 60,
      ...overrides,
    },
  });
  expect(res.status).toBe(201);
  return { id: res.json.id, candidate: res.json.faq_candidate?.id ?? null };
}

const pendingFrom = (expertId: string) =>
  feedback(expertId, { feedback_type: 'incomplete', category: 'caso_mancante', improved_answer: 'Also 16 December.' });

const faqCount = async (feedbackId: string) =>
  Number(
    (await app.db.pool.query('select count(*) as n from faq_entries where source_feedback_id = $1', [feedbackId]))
      .rows[0].n,
  );

describe('POST /api/v1/expert-feedback/{id}/promote', () => {
  it('turns correct feedback into an FAQ entry and sets generated_faq_id (201)', async () => {
    const { id } = await feedback(junior, { improved_answer: 'The deadline is 16 June (first instalment).' });
    const res = await app.request('POST', `/api/v1/expert-feedback/${id}/promote`, { key: ingest });
    expect(res.status).toBe(201);
    expect(res.json.faq_entry).toMatchObject({
      answer: 'The deadline is 16 June (first instalment).',
      origin: 'promoted',
      source_feedback_id: id,
    });
    expect(res.json.faq_entry.question).toMatch(/^Question /);
    const got = await app.request('GET', `/api/v1/expert-feedback/${id}`, { key: read });
    expect(got.json.generated_faq_id).toBe(res.json.faq_entry.id);
  });

  it('uses the original answer when there is no improved one', async () => {
    const { id } = await feedback(junior);
    const res = await app.request('POST', `/api/v1/expert-feedback/${id}/promote`, { key: ingest });
    expect(res.json.faq_entry.answer).toBe('The deadline is 16 June.');
  });

  it('answers 409 to a second promotion, naming the existing entry', async () => {
    const { id } = await feedback(junior);
    const first = await app.request('POST', `/api/v1/expert-feedback/${id}/promote`, { key: ingest });
    const second = await app.request('POST', `/api/v1/expert-feedback/${id}/promote`, { key: ingest });
    expect(second.status).toBe(409);
    expect(second.json.faq_entry_id).toBe(first.json.faq_entry.id);
    expect(await faqCount(id)).toBe(1);
  });

  it('makes exactly one FAQ entry from concurrent promotions of the same feedback', async () => {
    const { id } = await feedback(junior);
    const replies = await Promise.all(
      Array.from({ length: 6 }, () => app.request('POST', `/api/v1/expert-feedback/${id}/promote`, { key: ingest })),
    );
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409]);
    for (const r of replies.filter((r) => r.status === 409))
      expect(r.json.detail).toBe(`Expert feedback ${id} was already promoted.`);
    expect(await faqCount(id)).toBe(1);
  });

  it('answers 422 for incomplete or incorrect feedback, 404 for unknown feedback', async () => {
    const { id } = await pendingFrom(junior);
    const res = await app.request('POST', `/api/v1/expert-feedback/${id}/promote`, { key: ingest });
    expect(res.status).toBe(422);
    expect(res.json.detail).toMatch(/Only correct feedback/);
    expect(await faqCount(id)).toBe(0);
    expect((await app.request('POST', `/api/v1/expert-feedback/${randomUUID()}/promote`, { key: ingest })).status).toBe(
      404,
    );
  });

  it('needs an ingest key', async () => {
    const { id } = await feedback(junior);
    expect((await app.request('POST', `/api/v1/expert-feedback/${id}/promote`, { key: read })).status).toBe(403);
  });
});

describe('FAQ candidates: approve and reject (admin)', () => {
  it('lists pending candidates', async () => {
    const { candidate } = await pendingFrom(junior);
    const res = await app.request('GET', '/api/v1/faq-candidates?status=pending&limit=500', { key: read });
    expect(res.status).toBe(200);
    const mine = res.json.items.find((c: { id: string }) => c.id === candidate);
    expect(mine).toMatchObject({ status: 'pending', answer: 'Also 16 December.', expert_trust_score: 0.4 });
    expect(res.json.items.every((c: { status: string }) => c.status === 'pending')).toBe(true);
  });

  it('approve makes the FAQ entry and sets generated_faq_id; a second decision is 409', async () => {
    const { id, candidate } = await pendingFrom(junior);
    const res = await app.request('POST', `/api/v1/faq-candidates/${candidate}/approve`, { key: admin });
    expect(res.status).toBe(200);
    expect(res.json.candidate).toMatchObject({ status: 'approved', auto_approved: false, decided_by: 'test-admin' });
    expect(res.json.faq_entry).toMatchObject({
      answer: 'Also 16 December.',
      origin: 'candidate',
      source_feedback_id: id,
    });
    expect(res.json.candidate.faq_entry_id).toBe(res.json.faq_entry.id);
    const got = await app.request('GET', `/api/v1/expert-feedback/${id}`, { key: read });
    expect(got.json.generated_faq_id).toBe(res.json.faq_entry.id);
    expect(got.json.faq_candidate.status).toBe('approved');
    expect((await app.request('POST', `/api/v1/faq-candidates/${candidate}/approve`, { key: admin })).status).toBe(409);
    expect((await app.request('POST', `/api/v1/faq-candidates/${candidate}/reject`, { key: admin })).status).toBe(409);
    expect(await faqCount(id)).toBe(1);
  });

  it('reject makes no FAQ entry; approving afterwards is 409', async () => {
    const { id, candidate } = await pendingFrom(junior);
    const res = await app.request('POST', `/api/v1/faq-candidates/${candidate}/reject`, { key: admin });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ candidate: { status: 'rejected', faq_entry_id: null }, faq_entry: null });
    expect((await app.request('POST', `/api/v1/faq-candidates/${candidate}/approve`, { key: admin })).status).toBe(409);
    expect(await faqCount(id)).toBe(0);
  });

  it('concurrent approvals make one FAQ entry', async () => {
    const { id, candidate } = await pendingFrom(junior);
    const replies = await Promise.all(
      [1, 2, 3].map(() => app.request('POST', `/api/v1/faq-candidates/${candidate}/approve`, { key: admin })),
    );
    expect(replies.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    expect(await faqCount(id)).toBe(1);
  });

  it('an auto-approved candidate cannot be approved again', async () => {
    const { candidate } = await pendingFrom(trusted);
    const res = await app.request('POST', `/api/v1/faq-candidates/${candidate}/approve`, { key: admin });
    expect(res.status).toBe(409);
  });

  it('needs the admin scope, and answers 404 for an unknown candidate', async () => {
    const { candidate } = await pendingFrom(junior);
    expect((await app.request('POST', `/api/v1/faq-candidates/${candidate}/approve`, { key: ingest })).status).toBe(
      403,
    );
    expect((await app.request('POST', `/api/v1/faq-candidates/${candidate}/reject`, { key: read })).status).toBe(403);
    expect((await app.request('POST', `/api/v1/faq-candidates/${randomUUID()}/approve`, { key: admin })).status).toBe(
      404,
    );
  });

  it('pages through candidates with limit and next_cursor, without repeats or gaps', async () => {
    await pendingFrom(junior);
    // One batch: its candidates share created_at (one transaction), so the id breaks the tie.
    const item = {
      type: 'expert_feedback',
      data: {
        expert_id: junior,
        query_text: 'Tied?',
        original_answer: 'No.',
        feedback_type: 'incorrect',
        category: 'troppo_generico',
        improved_answer: 'Yes.',
        confidence_score: 0.5,
        time_spent_seconds: 1,
      },
    };
    const batch = await app.request('POST', '/api/v1/batch', { key: ingest, body: { items: [item, item, item] } });
    expect(batch.status).toBe(201);
    const all = await app.request('GET', '/api/v1/faq-candidates?limit=500', { key: read });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await app.request(
        'GET',
        `/api/v1/faq-candidates?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        { key: read },
      );
      expect(res.status).toBe(200);
      expect(res.json.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.json.items.map((c: { id: string }) => c.id));
      cursor = res.json.next_cursor;
    } while (cursor);
    expect(seen).toEqual(all.json.items.map((c: { id: string }) => c.id));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('answers 422 to a bad status or cursor', async () => {
    expect((await app.request('GET', '/api/v1/faq-candidates?status=maybe', { key: read })).status).toBe(422);
    const bad = await app.request('GET', '/api/v1/faq-candidates?cursor=nope', { key: read });
    expect(bad.status).toBe(422);
    expect(bad.json.errors[0].path).toBe('/query/cursor');
  });
});

describe('FAQ entries', () => {
  it('lists entries, filtered by origin', async () => {
    const { id } = await feedback(junior);
    const promoted = await app.request('POST', `/api/v1/expert-feedback/${id}/promote`, { key: ingest });
    const res = await app.request('GET', '/api/v1/faq-entries?origin=promoted&limit=500', { key: read });
    expect(res.status).toBe(200);
    expect(res.json.items.map((e: { id: string }) => e.id)).toContain(promoted.json.faq_entry.id);
    expect(res.json.items.every((e: { origin: string }) => e.origin === 'promoted')).toBe(true);
    expect((await app.request('GET', '/api/v1/faq-entries', { key: ingest })).status).toBe(403);
  });

  it('deleting an entry keeps the feedback and nulls generated_faq_id; the feedback can be promoted again', async () => {
    const { id } = await feedback(junior);
    const promoted = await app.request('POST', `/api/v1/expert-feedback/${id}/promote`, { key: ingest });
    const faqId = promoted.json.faq_entry.id;
    expect((await app.request('DELETE', `/api/v1/faq-entries/${faqId}`, { key: ingest })).status).toBe(403);
    const del = await app.request('DELETE', `/api/v1/faq-entries/${faqId}`, { key: admin });
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    const got = await app.request('GET', `/api/v1/expert-feedback/${id}`, { key: read });
    expect(got.status).toBe(200);
    expect(got.json.generated_faq_id).toBeNull();
    const tomb = await app.db.pool.query("select 1 from tombstones where table_name = 'faq_entries' and row_id = $1", [
      faqId,
    ]);
    expect(tomb.rowCount).toBe(1);
    expect((await app.request('DELETE', `/api/v1/faq-entries/${faqId}`, { key: admin })).status).toBe(404);
    const again = await app.request('POST', `/api/v1/expert-feedback/${id}/promote`, { key: ingest });
    expect(again.status).toBe(201);
  });

  it('deleting an auto-approved entry keeps the candidate approved with no entry', async () => {
    const { id, candidate } = await pendingFrom(trusted);
    const got = await app.request('GET', `/api/v1/expert-feedback/${id}`, { key: read });
    expect(
      (await app.request('DELETE', `/api/v1/faq-entries/${got.json.generated_faq_id}`, { key: admin })).status,
    ).toBe(204);
    const { rows } = await app.db.pool.query('select status, faq_entry_id from expert_faq_candidates where id = $1', [
      candidate,
    ]);
    expect(rows[0]).toEqual({ status: 'approved', faq_entry_id: null });
    expect((await app.request('GET', `/api/v1/expert-feedback/${id}`, { key: read })).json.generated_faq_id).toBeNull();
  });
});
