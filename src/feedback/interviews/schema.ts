import { Type, type Static } from '@sinclair/typebox';
import { NullableString, Timestamp, Uuid } from '../schemaTypes.ts';

/** The five score dimensions, in the order docs/CONTRACT.md lists them (also the rollups' `dimension` values). */
export const SCORE_FIELDS = [
  'technical_accuracy_score',
  'communication_clarity_score',
  'problem_solving_score',
  'relevance_score',
  'overall_score',
] as const;

/** The free-text fields; each is PII-redacted before it is written. */
export const TEXT_FIELDS = [
  'technical_feedback',
  'communication_feedback',
  'problem_solving_feedback',
  'relevance_feedback',
  'overall_comments',
] as const;

/** Limits shared with the CHECK constraints of sql/migrations/0002_interviews_experts.sql. */
export const TEXT_MAX = 20_000;
export const LIST_MAX_ITEMS = 100;
export const LIST_ITEM_MAX = 500;

const Score = (description: string) => Type.Integer({ minimum: 0, maximum: 100, description });
const Text = (description: string) => Type.String({ minLength: 1, maxLength: TEXT_MAX, description });
const TextList = (description: string) =>
  Type.Array(Type.String({ minLength: 1, maxLength: LIST_ITEM_MAX }), { maxItems: LIST_MAX_ITEMS, description });

/** POST /api/v1/interview-sessions. */
export const SessionInput = Type.Object(
  {
    external_ref: Type.Optional(
      NullableString({ minLength: 1, maxLength: 200, description: 'Your id for the interview; unique (409)' }),
    ),
    title: Type.Optional(NullableString({ minLength: 1, maxLength: 500, description: 'PII is redacted' })),
  },
  { additionalProperties: false },
);
export type SessionInput = Static<typeof SessionInput>;

export const Session = Type.Object({
  id: Uuid,
  external_ref: Type.Union([Type.String(), Type.Null()]),
  title: Type.Union([Type.String(), Type.Null()]),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Session = Static<typeof Session>;

const feedbackFields = {
  technical_accuracy_score: Score('0-100'),
  communication_clarity_score: Score('0-100'),
  problem_solving_score: Score('0-100'),
  relevance_score: Score('0-100'),
  overall_score: Score('0-100'),
  technical_feedback: Text('PII is redacted'),
  communication_feedback: Text('PII is redacted'),
  problem_solving_feedback: Text('PII is redacted'),
  relevance_feedback: Text('PII is redacted'),
  overall_comments: Type.Optional(
    NullableString({ minLength: 1, maxLength: TEXT_MAX, description: 'PII is redacted' }),
  ),
  knowledge_gaps: Type.Optional(TextList('Short strings; PII is redacted in each')),
  learning_recommendations: Type.Optional(TextList('Short strings; PII is redacted in each')),
};

/** POST and PUT /api/v1/interview-sessions/{id}/feedback. PUT replaces the whole record. */
export const InterviewFeedbackInput = Type.Object(feedbackFields, { additionalProperties: false });
export type InterviewFeedbackInput = Static<typeof InterviewFeedbackInput>;

/** A batch item of type interview_feedback: the feedback body plus the session it belongs to. */
export const InterviewFeedbackBatchInput = Type.Object(
  { session_id: Type.String({ format: 'uuid', description: 'An existing interview session' }), ...feedbackFields },
  { additionalProperties: false },
);
export type InterviewFeedbackBatchInput = Static<typeof InterviewFeedbackBatchInput>;

export const InterviewFeedback = Type.Object({
  id: Uuid,
  session_id: Uuid,
  technical_accuracy_score: Type.Integer(),
  communication_clarity_score: Type.Integer(),
  problem_solving_score: Type.Integer(),
  relevance_score: Type.Integer(),
  overall_score: Type.Integer(),
  technical_feedback: Type.String(),
  communication_feedback: Type.String(),
  problem_solving_feedback: Type.String(),
  relevance_feedback: Type.String(),
  overall_comments: Type.Union([Type.String(), Type.Null()]),
  knowledge_gaps: Type.Array(Type.String()),
  learning_recommendations: Type.Array(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type InterviewFeedback = Static<typeof InterviewFeedback>;

export const SessionParams = Type.Object({ id: Uuid });
