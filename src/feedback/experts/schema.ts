import { Type, type Static, type TUnsafe } from '@sinclair/typebox';
import { Nullable, NullableString, StringEnum, Timestamp, Uuid } from '../schemaTypes.ts';

/** docs/decisions/0012; the same lists are CHECK constraints in sql/migrations/0002_interviews_experts.sql. */
export const CREDENTIAL_TYPES = [
  'dottore_commercialista',
  'revisore_legale',
  'consulente_del_lavoro',
  'avvocato',
  'caf_operator',
  'other',
] as const;
export const FEEDBACK_TYPES = ['correct', 'incomplete', 'incorrect'] as const;
export const FEEDBACK_CATEGORIES = [
  'normativa_obsoleta',
  'interpretazione_errata',
  'caso_mancante',
  'calcolo_sbagliato',
  'troppo_generico',
] as const;
export type FeedbackType = (typeof FEEDBACK_TYPES)[number];
export type FeedbackCategory = (typeof FEEDBACK_CATEGORIES)[number];

export const TEXT_MAX = 20_000;
/** expert_feedback.answer_ref: an id in the client's system (sql/migrations/0008_expert_answer_ref.sql). */
export const ANSWER_REF_MAX = 200;
/** trust_score of a profile created without one: below the default auto-approval threshold (0.9). */
export const DEFAULT_TRUST_SCORE = 0.5;

function NullableEnum<const T extends readonly string[]>(values: T, description: string): TUnsafe<T[number] | null> {
  return Type.Unsafe<T[number] | null>({ type: ['string', 'null'], enum: [...values, null], description });
}

const Score01 = (description: string) => Type.Number({ minimum: 0, maximum: 1, description });

const profileFields = {
  credential_type: StringEnum(CREDENTIAL_TYPES, 'The professional register the expert belongs to'),
  registration_number: Type.Optional(
    NullableString({ minLength: 1, maxLength: 100, description: 'Unique within its credential_type (409)' }),
  ),
  trust_score: Type.Optional(
    Score01(
      `0..1 (default ${DEFAULT_TRUST_SCORE}); at FAQ_AUTO_APPROVE_TRUST or above, FAQ candidates are auto-approved`,
    ),
  ),
  is_active: Type.Optional(Type.Boolean({ description: 'Inactive experts cannot record feedback (default true)' })),
  specializations: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50, description: 'e.g. "IVA", "lavoro"' }),
  ),
};

/** POST /api/v1/experts. */
export const ExpertInput = Type.Object(
  {
    user_ref: Type.String({ minLength: 1, maxLength: 200, description: 'Your id for the expert user; unique (409)' }),
    ...profileFields,
  },
  { additionalProperties: false },
);
export type ExpertInput = Static<typeof ExpertInput>;

/** PATCH /api/v1/experts/{id}: any of the profile fields but user_ref, at least one. */
export const ExpertPatch = Type.Object(
  {
    credential_type: Type.Optional(profileFields.credential_type),
    registration_number: profileFields.registration_number,
    trust_score: profileFields.trust_score,
    is_active: profileFields.is_active,
    specializations: profileFields.specializations,
  },
  { additionalProperties: false, minProperties: 1 },
);
export type ExpertPatch = Static<typeof ExpertPatch>;

export const Expert = Type.Object({
  id: Uuid,
  user_ref: Type.String(),
  credential_type: StringEnum(CREDENTIAL_TYPES),
  registration_number: Type.Union([Type.String(), Type.Null()]),
  trust_score: Type.Number(),
  is_active: Type.Boolean(),
  specializations: Type.Array(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Expert = Static<typeof Expert>;

/** POST /api/v1/expert-feedback, and a batch item of type expert_feedback. */
export const ExpertFeedbackInput = Type.Object(
  {
    expert_id: Type.String({ format: 'uuid', description: 'An active expert profile' }),
    query_text: Type.String({ minLength: 1, maxLength: TEXT_MAX, description: 'The question; PII is redacted' }),
    original_answer: Type.String({
      minLength: 1,
      maxLength: TEXT_MAX,
      description: 'The AI answer reviewed; PII is redacted',
    }),
    feedback_type: StringEnum(FEEDBACK_TYPES, 'The verdict on the answer'),
    category: Type.Optional(
      NullableEnum(FEEDBACK_CATEGORIES, 'How the answer is wrong; required for incomplete and incorrect'),
    ),
    improved_answer: Type.Optional(
      NullableString({
        minLength: 1,
        maxLength: TEXT_MAX,
        description: 'The expert\u2019s answer; with incomplete/incorrect it makes an FAQ candidate. PII is redacted',
      }),
    ),
    confidence_score: Type.Optional(
      Nullable(Score01("The expert's confidence in the verdict, 0..1; optional (null: not asked)")),
    ),
    time_spent_seconds: Type.Optional(
      Nullable(
        Type.Integer({ minimum: 0, maximum: 2_147_483_647, description: 'Review time; optional (null: not measured)' }),
      ),
    ),
    answer_ref: Type.Optional(
      NullableString({
        minLength: 1,
        maxLength: ANSWER_REF_MAX,
        description:
          "The reviewed AI answer's id in your system: verdicts of several experts on one answer_ref are compared " +
          '(expert agreement). Stored as given (an id, not redacted)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ExpertFeedbackInput = Static<typeof ExpertFeedbackInput>;

export const CANDIDATE_STATUSES = ['pending', 'approved', 'rejected'] as const;
export type CandidateStatus = (typeof CANDIDATE_STATUSES)[number];

export const ExpertFeedback = Type.Object({
  id: Uuid,
  expert_id: Uuid,
  query_text: Type.String(),
  original_answer: Type.String(),
  feedback_type: StringEnum(FEEDBACK_TYPES),
  category: Type.Union([StringEnum(FEEDBACK_CATEGORIES), Type.Null()]),
  improved_answer: Type.Union([Type.String(), Type.Null()]),
  confidence_score: Type.Union([Type.Number(), Type.Null()]),
  time_spent_seconds: Type.Union([Type.Integer(), Type.Null()]),
  answer_ref: Type.Union([Type.String(), Type.Null()]),
  generated_faq_id: Type.Union([Uuid, Type.Null()], { description: 'The FAQ entry made from this feedback' }),
  faq_candidate: Type.Union(
    [
      Type.Object({
        id: Uuid,
        status: StringEnum(CANDIDATE_STATUSES),
        auto_approved: Type.Boolean(),
        faq_entry_id: Type.Union([Uuid, Type.Null()]),
      }),
      Type.Null(),
    ],
    { description: 'The FAQ candidate this feedback made, if any' },
  ),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type ExpertFeedback = Static<typeof ExpertFeedback>;

export const IdParams = Type.Object({ id: Uuid });
