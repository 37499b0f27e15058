import { Type, type Static } from '@sinclair/typebox';
import { StringEnum } from '../schemaTypes.ts';

export const BATCH_TYPES = ['vote', 'expert_feedback', 'interview_feedback'] as const;
export type BatchType = (typeof BATCH_TYPES)[number];

/** docs/CONTRACT.md: at most 1,000 items; more is 413 (checked by the handler, so the limit is never a 422). */
export const BATCH_MAX_ITEMS = 1_000;

/**
 * The envelope only: each item's data is validated against its type's schema by the handler, so a 422 can name
 * every failing index (`/items/3/data/vote`) and an oversized batch is 413 before any item is looked at.
 */
export const BatchItem = Type.Object(
  {
    type: StringEnum(BATCH_TYPES, 'What data is'),
    data: Type.Object(
      {},
      {
        additionalProperties: true,
        description:
          'vote: the POST /api/v1/votes body. expert_feedback: the POST /api/v1/expert-feedback body. ' +
          'interview_feedback: the POST /api/v1/interview-sessions/{id}/feedback body plus "session_id".',
      },
    ),
  },
  { additionalProperties: false },
);

export const BatchInput = Type.Object(
  {
    items: Type.Array(BatchItem, {
      minItems: 1,
      description: `1 to ${BATCH_MAX_ITEMS} items (more: 413), written in one transaction: all or nothing`,
    }),
  },
  { additionalProperties: false },
);
export type BatchInput = Static<typeof BatchInput>;

export const BatchCreated = Type.Object({
  items: Type.Array(
    Type.Object({
      index: Type.Integer({ description: 'Position in the request' }),
      id: Type.Union([Type.Integer(), Type.String()], { description: 'A vote id (integer) or a uuid' }),
    }),
  ),
});
