import { randomUUID } from 'node:crypto';
import type { Counter } from 'prom-client';
import { NotFound, ValidationFailed } from '../../errors.ts';
import { constraintError } from '../constraints.ts';
import type { Db } from '../../db/pool.ts';
import { redactFields } from '../../privacy/redactFields.ts';
import { redactList } from '../../privacy/redactList.ts';
import { nulErrors } from '../nulErrors.ts';
import {
  TEXT_FIELDS,
  type InterviewFeedback,
  type InterviewFeedbackInput,
  type Session,
  type SessionInput,
} from './schema.ts';

/** An interview feedback as it is written: texts redacted, lists as JSON text, the id chosen here. */
export interface InterviewFeedbackRow {
  readonly id: string;
  readonly session_id: string;
  readonly technical_accuracy_score: number;
  readonly communication_clarity_score: number;
  readonly problem_solving_score: number;
  readonly relevance_score: number;
  readonly overall_score: number;
  readonly technical_feedback: string;
  readonly communication_feedback: string;
  readonly problem_solving_feedback: string;
  readonly relevance_feedback: string;
  readonly overall_comments: string | null;
  readonly knowledge_gaps: string;
  readonly learning_recommendations: string;
}

const COLUMNS = `id, session_id, technical_accuracy_score, communication_clarity_score, problem_solving_score,
  relevance_score, overall_score, technical_feedback, communication_feedback, problem_solving_feedback,
  relevance_feedback, overall_comments, knowledge_gaps, learning_recommendations, created_at, updated_at`;

interface FeedbackDbRow extends Omit<InterviewFeedback, 'created_at' | 'updated_at'> {
  created_at: Date;
  updated_at: Date;
}

function toFeedback(r: FeedbackDbRow): InterviewFeedback {
  return { ...r, created_at: r.created_at.toISOString(), updated_at: r.updated_at.toISOString() };
}

/**
 * Checks what JSON Schema cannot say (no NUL characters) and redacts every free text, including each string of
 * knowledge_gaps and learning_recommendations; throws 422 with the failing paths under pathPrefix.
 */
export function prepareInterviewFeedback(
  input: InterviewFeedbackInput,
  sessionId: string,
  redactions?: Counter<'kind'>,
  pathPrefix = '',
): InterviewFeedbackRow {
  const errors = nulErrors(input, pathPrefix);
  if (errors.length > 0) throw new ValidationFailed(errors);
  const texts = redactFields({ ...input, overall_comments: input.overall_comments ?? null }, TEXT_FIELDS, redactions);
  return {
    id: randomUUID(),
    session_id: sessionId,
    technical_accuracy_score: input.technical_accuracy_score,
    communication_clarity_score: input.communication_clarity_score,
    problem_solving_score: input.problem_solving_score,
    relevance_score: input.relevance_score,
    overall_score: input.overall_score,
    technical_feedback: texts.technical_feedback,
    communication_feedback: texts.communication_feedback,
    problem_solving_feedback: texts.problem_solving_feedback,
    relevance_feedback: texts.relevance_feedback,
    overall_comments: texts.overall_comments,
    knowledge_gaps: JSON.stringify(redactList(input.knowledge_gaps ?? [], redactions)),
    learning_recommendations: JSON.stringify(redactList(input.learning_recommendations ?? [], redactions)),
  };
}

/** Creates an interview session; the title is redacted. 409 when external_ref is taken. */
export async function createSession(db: Db, input: SessionInput, redactions?: Counter<'kind'>): Promise<Session> {
  const { title } = redactFields({ title: input.title ?? null }, ['title'], redactions);
  const errors = nulErrors({ external_ref: input.external_ref, title });
  if (errors.length > 0) throw new ValidationFailed(errors);
  try {
    const { rows } = await db.query<{
      id: string;
      external_ref: string | null;
      title: string | null;
      created_at: Date;
      updated_at: Date;
    }>(
      `insert into interview_sessions (external_ref, title) values ($1::text, $2::text)
       returning id, external_ref, title, created_at, updated_at`,
      [input.external_ref ?? null, title],
    );
    const r = rows[0]!;
    return { ...r, created_at: r.created_at.toISOString(), updated_at: r.updated_at.toISOString() };
  } catch (error) {
    throw constraintError(error, input.external_ref ?? '');
  }
}

/** Inserts many feedbacks in one statement (one unnest per column); returns them in input order. */
export async function insertInterviewFeedbacks(
  db: Db,
  rows: readonly InterviewFeedbackRow[],
): Promise<InterviewFeedback[]> {
  if (rows.length === 0) return [];
  const col = <K extends keyof InterviewFeedbackRow>(k: K) => rows.map((r) => r[k]);
  const { rows: out } = await db.query<FeedbackDbRow>(
    `insert into interview_feedbacks (id, session_id, technical_accuracy_score, communication_clarity_score,
       problem_solving_score, relevance_score, overall_score, technical_feedback, communication_feedback,
       problem_solving_feedback, relevance_feedback, overall_comments, knowledge_gaps, learning_recommendations)
     select * from unnest($1::uuid[], $2::uuid[], $3::int[], $4::int[], $5::int[], $6::int[], $7::int[], $8::text[],
       $9::text[], $10::text[], $11::text[], $12::text[], $13::jsonb[], $14::jsonb[])
     returning ${COLUMNS}`,
    [
      col('id'),
      col('session_id'),
      col('technical_accuracy_score'),
      col('communication_clarity_score'),
      col('problem_solving_score'),
      col('relevance_score'),
      col('overall_score'),
      col('technical_feedback'),
      col('communication_feedback'),
      col('problem_solving_feedback'),
      col('relevance_feedback'),
      col('overall_comments'),
      col('knowledge_gaps'),
      col('learning_recommendations'),
    ],
  );
  const byId = new Map(out.map((r) => [r.id, toFeedback(r)]));
  return rows.map((r) => byId.get(r.id)!);
}

/** POST: the session's first feedback. 404 unknown session; 409 when it already has one (the unique session_id). */
export async function createInterviewFeedback(db: Db, row: InterviewFeedbackRow): Promise<InterviewFeedback> {
  try {
    return (await insertInterviewFeedbacks(db, [row]))[0]!;
  } catch (error) {
    throw constraintError(error, row.session_id);
  }
}

/**
 * PUT: replaces the session's feedback, or creates it. One upsert statement, so two concurrent PUTs cannot both
 * insert; `xmax = 0` is true only for a freshly inserted row version (the PostgreSQL docs, "System Columns").
 */
export async function putInterviewFeedback(
  db: Db,
  row: InterviewFeedbackRow,
): Promise<{ created: boolean; feedback: InterviewFeedback }> {
  try {
    const { rows } = await db.query<FeedbackDbRow & { created: boolean }>(
      `insert into interview_feedbacks (id, session_id, technical_accuracy_score, communication_clarity_score,
         problem_solving_score, relevance_score, overall_score, technical_feedback, communication_feedback,
         problem_solving_feedback, relevance_feedback, overall_comments, knowledge_gaps, learning_recommendations)
       values ($1::uuid, $2::uuid, $3::int, $4::int, $5::int, $6::int, $7::int, $8::text, $9::text, $10::text,
         $11::text, $12::text, $13::jsonb, $14::jsonb)
       on conflict (session_id) do update set
         technical_accuracy_score = excluded.technical_accuracy_score,
         communication_clarity_score = excluded.communication_clarity_score,
         problem_solving_score = excluded.problem_solving_score,
         relevance_score = excluded.relevance_score,
         overall_score = excluded.overall_score,
         technical_feedback = excluded.technical_feedback,
         communication_feedback = excluded.communication_feedback,
         problem_solving_feedback = excluded.problem_solving_feedback,
         relevance_feedback = excluded.relevance_feedback,
         overall_comments = excluded.overall_comments,
         knowledge_gaps = excluded.knowledge_gaps,
         learning_recommendations = excluded.learning_recommendations
       returning ${COLUMNS}, (xmax = 0) as created`,
      [
        row.id,
        row.session_id,
        row.technical_accuracy_score,
        row.communication_clarity_score,
        row.problem_solving_score,
        row.relevance_score,
        row.overall_score,
        row.technical_feedback,
        row.communication_feedback,
        row.problem_solving_feedback,
        row.relevance_feedback,
        row.overall_comments,
        row.knowledge_gaps,
        row.learning_recommendations,
      ],
    );
    const { created, ...feedback } = rows[0]!;
    return { created, feedback: toFeedback(feedback) };
  } catch (error) {
    throw constraintError(error, row.session_id);
  }
}

/** The session's feedback; 404 names whether the session or its feedback is missing. */
export async function getInterviewFeedback(db: Db, sessionId: string): Promise<InterviewFeedback> {
  const { rows } = await db.query<FeedbackDbRow>(
    `select ${COLUMNS} from interview_feedbacks where session_id = $1::uuid`,
    [sessionId],
  );
  if (rows[0]) return toFeedback(rows[0]);
  const session = await db.query('select 1 from interview_sessions where id = $1::uuid', [sessionId]);
  throw new NotFound(
    session.rowCount
      ? `Interview session ${sessionId} has no feedback yet.`
      : `Interview session ${sessionId} does not exist.`,
  );
}

/**
 * For a batch: which of these sessions do not exist, and which already have feedback. Read in the batch's
 * transaction; the unique session_id still settles a race with a concurrent writer (409).
 */
export async function sessionStates(
  db: Db,
  sessionIds: readonly string[],
): Promise<Map<string, { hasFeedback: boolean }>> {
  if (sessionIds.length === 0) return new Map();
  const { rows } = await db.query<{ id: string; has_feedback: boolean }>(
    `select s.id, f.id is not null as has_feedback
       from interview_sessions s left join interview_feedbacks f on f.session_id = s.id
      where s.id = any($1::uuid[])`,
    [[...new Set(sessionIds)]],
  );
  return new Map(rows.map((r) => [r.id, { hasFeedback: r.has_feedback }]));
}
