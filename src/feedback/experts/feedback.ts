import { randomUUID } from 'node:crypto';
import type { Counter } from 'prom-client';
import { NotFound, ValidationFailed, type FieldError } from '../../errors.ts';
import type { Db } from '../../db/pool.ts';
import { redactFields } from '../../privacy/redactFields.ts';
import { insertCandidates, newCandidateIds, type CandidateRow } from '../faq/candidates.ts';
import { insertFaqEntries, linkGeneratedFaqs, type FaqEntryRow } from '../faq/entries.ts';
import { nulErrors } from '../nulErrors.ts';
import { expertStates } from './profiles.ts';
import type { ExpertFeedback, ExpertFeedbackInput, FeedbackCategory, FeedbackType } from './schema.ts';

/** Expert feedback as it is written: the three free texts redacted, the id chosen here. */
export interface ExpertFeedbackRow {
  readonly id: string;
  readonly expert_id: string;
  readonly query_text: string;
  readonly original_answer: string;
  readonly feedback_type: FeedbackType;
  readonly category: FeedbackCategory | null;
  readonly improved_answer: string | null;
  readonly confidence_score: number | null;
  readonly time_spent_seconds: number | null;
  readonly answer_ref: string | null;
}

/**
 * Checks the rules JSON Schema cannot say (a wrong answer needs a category; no NUL characters) and redacts
 * query_text, original_answer and improved_answer; throws 422 with the failing paths under pathPrefix.
 */
export function prepareExpertFeedback(
  input: ExpertFeedbackInput,
  redactions?: Counter<'kind'>,
  pathPrefix = '',
): ExpertFeedbackRow {
  const errors = nulErrors(input, pathPrefix);
  if (input.feedback_type !== 'correct' && (input.category ?? null) === null) {
    errors.push({
      path: `${pathPrefix}/category`,
      message: 'is required when feedback_type is incomplete or incorrect',
    });
  }
  if (errors.length > 0) throw new ValidationFailed(errors);
  const texts = redactFields(
    {
      query_text: input.query_text,
      original_answer: input.original_answer,
      improved_answer: input.improved_answer ?? null,
    },
    ['query_text', 'original_answer', 'improved_answer'],
    redactions,
  );
  return {
    id: randomUUID(),
    expert_id: input.expert_id,
    ...texts,
    feedback_type: input.feedback_type,
    category: input.category ?? null,
    confidence_score: input.confidence_score ?? null,
    time_spent_seconds: input.time_spent_seconds ?? null,
    answer_ref: input.answer_ref ?? null,
  };
}

/** The expert of each row must exist and be active; errors name `<prefix>/expert_id` of each failing row. */
export async function expertErrors(
  db: Db,
  rows: readonly { row: ExpertFeedbackRow; prefix: string }[],
): Promise<{ errors: FieldError[]; trust: Map<string, number> }> {
  const states = await expertStates(
    db,
    rows.map((r) => r.row.expert_id),
  );
  const errors: FieldError[] = [];
  for (const { row, prefix } of rows) {
    const state = states.get(row.expert_id);
    if (!state) errors.push({ path: `${prefix}/expert_id`, message: `no expert profile has id ${row.expert_id}` });
    else if (!state.isActive) errors.push({ path: `${prefix}/expert_id`, message: 'the expert profile is not active' });
  }
  return { errors, trust: new Map([...states].map(([id, s]) => [id, s.trustScore])) };
}

interface FeedbackDbRow {
  id: string;
  created_at: Date;
  updated_at: Date;
}

/**
 * Inserts expert feedback rows (one statement), then their FAQ candidates: incomplete or incorrect feedback with an
 * improved answer makes one, auto-approved (FAQ entry made, generated_faq_id set) when the expert's trust score is
 * at least autoApproveTrust (FAQ_AUTO_APPROVE_TRUST), else pending. Every step is one multi-row statement, so a
 * batch of 1,000 costs a handful of round trips. The experts must have been checked (expertErrors) in this
 * transaction; trust maps expert id to trust score. Returns the feedback in input order.
 */
export async function insertExpertFeedbacks(
  db: Db,
  rows: readonly ExpertFeedbackRow[],
  trust: ReadonlyMap<string, number>,
  autoApproveTrust: number,
): Promise<ExpertFeedback[]> {
  if (rows.length === 0) return [];
  const col = <K extends keyof ExpertFeedbackRow>(k: K) => rows.map((r) => r[k]);
  const { rows: inserted } = await db.query<FeedbackDbRow>(
    `insert into expert_feedback (id, expert_id, query_text, original_answer, feedback_type, category, improved_answer,
       confidence_score, time_spent_seconds, answer_ref)
     select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
       $8::numeric[], $9::int[], $10::text[])
     returning id, created_at, updated_at`,
    [
      col('id'),
      col('expert_id'),
      col('query_text'),
      col('original_answer'),
      col('feedback_type'),
      col('category'),
      col('improved_answer'),
      col('confidence_score'),
      col('time_spent_seconds'),
      col('answer_ref'),
    ],
  );
  const times = new Map(inserted.map((r) => [r.id, r]));

  const candidates: CandidateRow[] = [];
  const faqs: FaqEntryRow[] = [];
  for (const row of rows) {
    if (row.feedback_type === 'correct' || row.improved_answer === null) continue;
    const trustScore = trust.get(row.expert_id);
    if (trustScore === undefined) throw new Error(`expert ${row.expert_id} was not checked before the insert`);
    const auto = trustScore >= autoApproveTrust;
    const ids = newCandidateIds(auto);
    candidates.push({
      id: ids.id,
      feedback_id: row.id,
      feedback_type: row.feedback_type,
      question: row.query_text,
      answer: row.improved_answer,
      category: row.category,
      expert_trust_score: trustScore,
      auto_approved: auto,
      faq_entry_id: ids.faqEntryId,
    });
    if (ids.faqEntryId !== null) {
      faqs.push({
        id: ids.faqEntryId,
        question: row.query_text,
        answer: row.improved_answer,
        category: row.category,
        origin: 'candidate',
        source_feedback_id: row.id,
        source_feedback_type: row.feedback_type,
      });
    }
  }
  // FAQ entries first: the approved candidates reference them.
  await insertFaqEntries(db, faqs);
  await insertCandidates(db, candidates);
  await linkGeneratedFaqs(
    db,
    faqs.map((f) => ({ feedbackId: f.source_feedback_id, faqId: f.id })),
  );

  const candidateOf = new Map(candidates.map((c) => [c.feedback_id, c]));
  return rows.map((row) => {
    const t = times.get(row.id)!;
    const c = candidateOf.get(row.id);
    return {
      ...row,
      generated_faq_id: c?.faq_entry_id ?? null,
      faq_candidate: c
        ? {
            id: c.id,
            status: c.auto_approved ? 'approved' : 'pending',
            auto_approved: c.auto_approved,
            faq_entry_id: c.faq_entry_id,
          }
        : null,
      // now() is the transaction's start, so the generated_faq_id update leaves updated_at as inserted.
      created_at: t.created_at.toISOString(),
      updated_at: t.updated_at.toISOString(),
    };
  });
}

/** POST /api/v1/expert-feedback in the caller's transaction: 422 naming /expert_id for an unknown or inactive expert. */
export async function recordExpertFeedback(
  db: Db,
  row: ExpertFeedbackRow,
  autoApproveTrust: number,
): Promise<ExpertFeedback> {
  const { errors, trust } = await expertErrors(db, [{ row, prefix: '' }]);
  if (errors.length > 0) throw new ValidationFailed(errors, 'The expert cannot record feedback.');
  return (await insertExpertFeedbacks(db, [row], trust, autoApproveTrust))[0]!;
}

/** One feedback with its candidate, if any. */
export async function getExpertFeedback(db: Db, id: string): Promise<ExpertFeedback> {
  const { rows } = await db.query<
    Omit<ExpertFeedback, 'created_at' | 'updated_at' | 'faq_candidate'> & {
      created_at: Date;
      updated_at: Date;
      candidate_id: string | null;
      candidate_status: 'pending' | 'approved' | 'rejected' | null;
      candidate_auto: boolean | null;
      candidate_faq: string | null;
    }
  >(
    `select f.id, f.expert_id, f.query_text, f.original_answer, f.feedback_type, f.category, f.improved_answer,
            f.confidence_score, f.time_spent_seconds, f.answer_ref, f.generated_faq_id, f.created_at, f.updated_at,
            c.id as candidate_id, c.status as candidate_status, c.auto_approved as candidate_auto,
            c.faq_entry_id as candidate_faq
       from expert_feedback f left join expert_faq_candidates c on c.feedback_id = f.id
      where f.id = $1::uuid`,
    [id],
  );
  const r = rows[0];
  if (!r) throw new NotFound(`Expert feedback ${id} does not exist.`);
  const { candidate_id, candidate_status, candidate_auto, candidate_faq, ...feedback } = r;
  return {
    ...feedback,
    faq_candidate:
      candidate_id !== null
        ? { id: candidate_id, status: candidate_status!, auto_approved: candidate_auto!, faq_entry_id: candidate_faq }
        : null,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}
