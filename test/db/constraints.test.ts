import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/**
 * The database alone refuses a bad row written around the API (raw SQL), so the API's validation and the
 * schema agree and no other writer can break the rules.
 */
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const CHECK = '23514';
const UNIQUE = '23505';
const FOREIGN_KEY = '23503';

async function refused(sql: string, params: unknown[], code: string): Promise<void> {
  await expect(db.pool.query(sql, params)).rejects.toMatchObject({ code });
}

const one = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T> =>
  (await db.pool.query(sql, params)).rows[0] as T;

const session = async () =>
  (await one<{ id: string }>('insert into interview_sessions default values returning id')).id;

const INSERT_FEEDBACK = `insert into interview_feedbacks (session_id, technical_accuracy_score, communication_clarity_score,
  problem_solving_score, relevance_score, overall_score, technical_feedback, communication_feedback,
  problem_solving_feedback, relevance_feedback, knowledge_gaps)
  values ($1, $2, 50, 50, 50, 50, 't', 'c', 'p', 'r', $3::jsonb) returning id`;

const expert = async (trust = 0.5) =>
  (
    await one<{ id: string }>(
      `insert into expert_profiles (user_ref, credential_type, trust_score) values ($1, 'avvocato', $2) returning id`,
      [`u-${randomUUID()}`, trust],
    )
  ).id;

const INSERT_EXPERT_FEEDBACK = `insert into expert_feedback (expert_id, query_text, original_answer, feedback_type, category,
  confidence_score, time_spent_seconds) values ($1, 'q', 'a', $2, $3, $4, $5) returning id`;

const feedback = async (type = 'correct', category: string | null = null) =>
  (await one<{ id: string }>(INSERT_EXPERT_FEEDBACK, [await expert(), type, category, 0.5, 10])).id;

describe('interview tables', () => {
  it('refuse scores outside 0..100', async () => {
    await refused(INSERT_FEEDBACK, [await session(), 101, '[]'], CHECK);
    await refused(INSERT_FEEDBACK, [await session(), -1, '[]'], CHECK);
  });

  it('refuse knowledge_gaps that are not an array of non-empty strings', async () => {
    await refused(INSERT_FEEDBACK, [await session(), 50, '{"a":"b"}'], CHECK);
    await refused(INSERT_FEEDBACK, [await session(), 50, '"gap"'], CHECK);
    await refused(INSERT_FEEDBACK, [await session(), 50, '["ok", 3]'], CHECK);
    await refused(INSERT_FEEDBACK, [await session(), 50, '[""]'], CHECK);
    await refused(INSERT_FEEDBACK, [await session(), 50, JSON.stringify(Array(101).fill('x'))], CHECK);
  });

  it('keep one feedback per session and refuse an unknown session', async () => {
    const id = await session();
    await db.pool.query(INSERT_FEEDBACK, [id, 50, '["a"]']);
    await refused(INSERT_FEEDBACK, [id, 60, '[]'], UNIQUE);
    await refused(INSERT_FEEDBACK, [randomUUID(), 60, '[]'], FOREIGN_KEY);
  });

  it('keep updated_at and txid by trigger, and cascade a session delete to its feedback with tombstones', async () => {
    const id = await session();
    const fb = await one<{ id: string }>(INSERT_FEEDBACK, [id, 50, '[]']);
    const before = await one<{ updated_at: Date; txid: string }>(
      'select updated_at, txid::text from interview_feedbacks where id = $1',
      [fb.id],
    );
    await db.pool.query('update interview_feedbacks set overall_score = 99 where id = $1', [fb.id]);
    const after = await one<{ updated_at: Date; txid: string }>(
      'select updated_at, txid::text from interview_feedbacks where id = $1',
      [fb.id],
    );
    expect(after.updated_at.getTime()).toBeGreaterThan(before.updated_at.getTime());
    expect(BigInt(after.txid)).toBeGreaterThan(BigInt(before.txid));
    await db.pool.query('delete from interview_sessions where id = $1', [id]);
    expect((await db.pool.query('select 1 from interview_feedbacks where id = $1', [fb.id])).rowCount).toBe(0);
    const tombs = await db.pool.query('select table_name from tombstones where row_id = any($1) order by table_name', [
      [id, fb.id],
    ]);
    expect(tombs.rows.map((r) => r.table_name)).toEqual(['interview_feedbacks', 'interview_sessions']);
  });
});

describe('expert tables', () => {
  it('refuse an unknown credential type and a trust score outside 0..1 (NaN too)', async () => {
    const sql = 'insert into expert_profiles (user_ref, credential_type, trust_score) values ($1, $2, $3)';
    await refused(sql, ['u-1', 'notaio', 0.5], CHECK);
    await refused(sql, ['u-2', 'avvocato', 1.5], CHECK);
    await refused(sql, ['u-3', 'avvocato', -0.1], CHECK);
    await refused(sql, ['u-4', 'avvocato', 'NaN'], CHECK);
    await refused(
      "insert into expert_profiles (user_ref, credential_type, specializations) values ('u-5', 'other', array[''])",
      [],
      CHECK,
    );
  });

  it('take feedback without confidence or time, and refuse an answer_ref that is empty or over 200 characters', async () => {
    const id = await expert();
    await one(INSERT_EXPERT_FEEDBACK, [id, 'correct', null, null, null]);
    const withRef = `insert into expert_feedback (expert_id, query_text, original_answer, feedback_type, answer_ref)
      values ($1, 'q', 'a', 'correct', $2) returning id`;
    await one(withRef, [id, 'a'.repeat(200)]);
    await refused(withRef, [id, ''], CHECK);
    await refused(withRef, [id, 'a'.repeat(201)], CHECK);
  });

  it('refuse feedback breaking its rules', async () => {
    const id = await expert();
    await refused(INSERT_EXPERT_FEEDBACK, [id, 'wrong', null, 0.5, 10], CHECK);
    await refused(INSERT_EXPERT_FEEDBACK, [id, 'correct', 'altro', 0.5, 10], CHECK);
    await refused(INSERT_EXPERT_FEEDBACK, [id, 'incorrect', null, 0.5, 10], CHECK);
    await refused(INSERT_EXPERT_FEEDBACK, [id, 'correct', null, 1.2, 10], CHECK);
    await refused(INSERT_EXPERT_FEEDBACK, [id, 'correct', null, 0.5, -1], CHECK);
    await refused(INSERT_EXPERT_FEEDBACK, [randomUUID(), 'correct', null, 0.5, 10], FOREIGN_KEY);
  });

  const INSERT_FAQ = `insert into faq_entries (question, answer, origin, source_feedback_id, source_feedback_type)
    values ('q', 'a', $1, $2, $3) returning id`;

  it('let an FAQ be promoted from correct feedback only, once', async () => {
    const wrong = await feedback('incorrect', 'calcolo_sbagliato');
    await refused(INSERT_FAQ, ['promoted', wrong, 'incorrect'], CHECK);
    await refused(INSERT_FAQ, ['promoted', wrong, 'correct'], FOREIGN_KEY); // the type must be the feedback's own
    const right = await feedback('correct');
    await refused(INSERT_FAQ, ['candidate', right, 'correct'], CHECK);
    await db.pool.query(INSERT_FAQ, ['promoted', right, 'correct']);
    await refused(INSERT_FAQ, ['promoted', right, 'correct'], UNIQUE);
  });

  const INSERT_CANDIDATE = `insert into expert_faq_candidates (feedback_id, feedback_type, question, answer,
    expert_trust_score, status, decided_at) values ($1, $2, 'q', 'a', 0.5, $3, $4) returning id`;

  it('make candidates from incomplete or incorrect feedback only, one each, with a decision time once decided', async () => {
    const right = await feedback('correct');
    await refused(INSERT_CANDIDATE, [right, 'correct', 'pending', null], CHECK);
    await refused(INSERT_CANDIDATE, [right, 'incorrect', 'pending', null], FOREIGN_KEY);
    const wrong = await feedback('incomplete', 'caso_mancante');
    await refused(INSERT_CANDIDATE, [wrong, 'incomplete', 'maybe', null], CHECK);
    await refused(INSERT_CANDIDATE, [wrong, 'incomplete', 'approved', null], CHECK);
    await refused(INSERT_CANDIDATE, [wrong, 'incomplete', 'pending', new Date()], CHECK);
    await db.pool.query(INSERT_CANDIDATE, [wrong, 'incomplete', 'pending', null]);
    await refused(INSERT_CANDIDATE, [wrong, 'incomplete', 'pending', null], UNIQUE);
    // A feedback cannot change its type under its candidate.
    await refused("update expert_feedback set feedback_type = 'correct' where id = $1", [wrong], FOREIGN_KEY);
  });

  it('null generated_faq_id and the candidate link when an FAQ entry is deleted, keeping the feedback', async () => {
    const wrong = await feedback('incorrect', 'interpretazione_errata');
    const faq = await one<{ id: string }>(INSERT_FAQ, ['candidate', wrong, 'incorrect']);
    await db.pool.query('update expert_feedback set generated_faq_id = $1 where id = $2', [faq.id, wrong]);
    await db.pool.query(
      `insert into expert_faq_candidates (feedback_id, feedback_type, question, answer, expert_trust_score, status,
         decided_at, faq_entry_id) values ($1, 'incorrect', 'q', 'a', 0.9, 'approved', now(), $2)`,
      [wrong, faq.id],
    );
    await db.pool.query('delete from faq_entries where id = $1', [faq.id]);
    expect(await one('select generated_faq_id from expert_feedback where id = $1', [wrong])).toEqual({
      generated_faq_id: null,
    });
    expect(await one('select status, faq_entry_id from expert_faq_candidates where feedback_id = $1', [wrong])).toEqual(
      {
        status: 'approved',
        faq_entry_id: null,
      },
    );
  });

  it('refuse a generated_faq_id that names no FAQ entry', async () => {
    const right = await feedback('correct');
    await refused('update expert_feedback set generated_faq_id = $1 where id = $2', [randomUUID(), right], FOREIGN_KEY);
  });
});
