import { Type, type Static } from '@sinclair/typebox';
import { NullableString, StringEnum, Timestamp } from '../schemaTypes.ts';

export const VOTE_VALUES = ['up', 'down'] as const;

/** docs/CONTRACT.md "Votes on chatbot answers": metadata is a JSON object of at most 8 KB (its compact JSON, UTF-8). */
export const METADATA_MAX_BYTES = 8 * 1024;

const ShortText = Type.String({ minLength: 1, maxLength: 200 });

/** POST /api/v1/votes. Unknown fields are refused (422), so a typo is never silently dropped. */
export const VoteInput = Type.Object(
  {
    conversation_id: Type.String({ minLength: 1, maxLength: 200, description: 'Your id for the conversation' }),
    vote: StringEnum(VOTE_VALUES, 'up or down'),
    query: Type.Optional(
      NullableString({ maxLength: 20_000, description: 'The question that was answered; PII is redacted' }),
    ),
    response: Type.Optional(
      NullableString({ maxLength: 20_000, description: 'The answer that was rated; PII is redacted' }),
    ),
    reasons: Type.Optional(
      Type.Array(ShortText, { maxItems: 50, description: 'Short reasons, e.g. picked in a downvote sheet' }),
    ),
    comment: Type.Optional(NullableString({ maxLength: 2_000, description: 'Free text; PII is redacted' })),
    expert_ids: Type.Optional(Type.Array(ShortText, { maxItems: 100, description: 'Experts the answer recommended' })),
    email: Type.Optional(
      NullableString({
        maxLength: 320,
        format: 'email',
        description: 'Stored only as an HMAC-SHA256 pseudonym, never raw',
      }),
    ),
    metadata: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'Any JSON object up to 8 KB' })),
  },
  { additionalProperties: false },
);
export type VoteInput = Static<typeof VoteInput>;

export const VoteCreated = Type.Object({
  id: Type.Integer(),
  conversation_id: Type.String(),
  vote: StringEnum(VOTE_VALUES),
  created_at: Timestamp,
});

export const Vote = Type.Object({
  id: Type.Integer(),
  conversation_id: Type.String(),
  vote: StringEnum(VOTE_VALUES),
  query: Type.Union([Type.String(), Type.Null()]),
  response: Type.Union([Type.String(), Type.Null()]),
  reasons: Type.Array(Type.String()),
  comment: Type.Union([Type.String(), Type.Null()]),
  expert_ids: Type.Array(Type.String()),
  has_email: Type.Boolean({ description: 'Whether an email pseudonym was stored' }),
  metadata: Type.Object({}, { additionalProperties: true }),
  created_at: Timestamp,
});
export type Vote = Static<typeof Vote>;

export const ConversationVotes = Type.Object({
  conversation_id: Type.String(),
  latest: Type.Union([Vote, Type.Null()], {
    description: 'The authoritative vote: latest created_at, then highest id',
  }),
  history: Type.Array(Vote, { description: 'Every vote, oldest first' }),
});

export const ConversationParams = Type.Object({ conversation_id: Type.String({ minLength: 1, maxLength: 200 }) });
