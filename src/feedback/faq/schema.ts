import { Type, type Static } from '@sinclair/typebox';
import { CANDIDATE_STATUSES, FEEDBACK_CATEGORIES } from '../experts/schema.ts';
import { StringEnum, Timestamp, Uuid } from '../schemaTypes.ts';

export const FAQ_ORIGINS = ['promoted', 'candidate'] as const;

const Category = Type.Union([StringEnum(FEEDBACK_CATEGORIES), Type.Null()]);

export const FaqEntry = Type.Object({
  id: Uuid,
  question: Type.String(),
  answer: Type.String(),
  category: Category,
  origin: StringEnum(FAQ_ORIGINS, 'promoted: from correct feedback; candidate: an approved FAQ candidate'),
  source_feedback_id: Type.Union([Uuid, Type.Null()], { description: 'null once the source feedback is deleted' }),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type FaqEntry = Static<typeof FaqEntry>;

export const FaqCandidate = Type.Object({
  id: Uuid,
  feedback_id: Uuid,
  feedback_type: StringEnum(['incomplete', 'incorrect'] as const),
  question: Type.String(),
  answer: Type.String(),
  category: Category,
  expert_trust_score: Type.Number({ description: "The expert's trust_score when the candidate was made" }),
  status: StringEnum(CANDIDATE_STATUSES),
  auto_approved: Type.Boolean(),
  faq_entry_id: Type.Union([Uuid, Type.Null()]),
  decided_at: Type.Union([Timestamp, Type.Null()]),
  decided_by: Type.Union([Type.String(), Type.Null()], { description: 'The API key name that decided; null if auto' }),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type FaqCandidate = Static<typeof FaqCandidate>;

const Limit = Type.Integer({ minimum: 1, maximum: 500, description: 'Page size (default 100)' });
const Cursor = Type.String({ minLength: 1, maxLength: 200, description: 'next_cursor of the previous page' });

export const FaqEntriesQuery = Type.Object(
  {
    category: Type.Optional(StringEnum(FEEDBACK_CATEGORIES)),
    origin: Type.Optional(StringEnum(FAQ_ORIGINS)),
    limit: Type.Optional(Limit),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);
export type FaqEntriesQuery = Static<typeof FaqEntriesQuery>;

export const FaqCandidatesQuery = Type.Object(
  {
    status: Type.Optional(StringEnum(CANDIDATE_STATUSES)),
    limit: Type.Optional(Limit),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);
export type FaqCandidatesQuery = Static<typeof FaqCandidatesQuery>;

const NextCursor = Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page' });

export const FaqEntryPage = Type.Object({ items: Type.Array(FaqEntry), next_cursor: NextCursor });
export const FaqCandidatePage = Type.Object({ items: Type.Array(FaqCandidate), next_cursor: NextCursor });

export const Promoted = Type.Object({ faq_entry: FaqEntry });
export const CandidateDecision = Type.Object({
  candidate: FaqCandidate,
  faq_entry: Type.Union([FaqEntry, Type.Null()], { description: 'The FAQ entry an approval made; null on reject' }),
});
