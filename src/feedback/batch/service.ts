import type { TSchema } from '@sinclair/typebox';
import {
  Conflict,
  MAX_PROBLEM_ERRORS,
  TooLarge,
  Unprocessable,
  ValidationFailed,
  type FieldError,
} from '../../errors.ts';
import type { Db } from '../../db/pool.ts';
import { checkBody } from '../../validation/body.ts';
import {
  expertErrors,
  insertExpertFeedbacks,
  prepareExpertFeedback,
  type ExpertFeedbackRow,
} from '../experts/feedback.ts';
import { ExpertFeedbackInput } from '../experts/schema.ts';
import { InterviewFeedbackBatchInput } from '../interviews/schema.ts';
import {
  insertInterviewFeedbacks,
  prepareInterviewFeedback,
  sessionStates,
  type InterviewFeedbackRow,
} from '../interviews/service.ts';
import { VoteInput } from '../votes/schema.ts';
import { copyVotes, insertVotes, prepareVote, type PrivacyContext, type VoteRow } from '../votes/service.ts';
import { BATCH_MAX_ITEMS, type BatchInput, type BatchType } from './schema.ts';

/** Votes in a batch from which COPY is used instead of a multi-row insert. */
const COPY_MIN_VOTES = 64;

const DATA_SCHEMAS: Record<BatchType, TSchema> = {
  vote: VoteInput,
  expert_feedback: ExpertFeedbackInput,
  interview_feedback: InterviewFeedbackBatchInput,
};

interface Item<R> {
  readonly index: number;
  readonly prefix: string;
  readonly row: R;
}

/** A batch whose every item passed validation and privacy, ready to be written. */
export interface PreparedBatch {
  readonly size: number;
  readonly votes: readonly Item<VoteRow>[];
  readonly interviews: readonly Item<InterviewFeedbackRow>[];
  readonly experts: readonly Item<ExpertFeedbackRow>[];
}

/** The indexes named by errors' paths (`/items/3/data/vote` -> 3), ascending. */
function failedIndexes(errors: readonly FieldError[]): number[] {
  const indexes = new Set<number>();
  for (const e of errors) {
    const m = /^\/items\/(\d+)(\/|$)/.exec(e.path);
    if (m) indexes.add(Number(m[1]));
  }
  return [...indexes].sort((a, b) => a - b);
}

/** 422 (or 409) naming every failing item: `errors` with their paths and `failed_indexes`. */
function batchProblem(status: 409 | 422, errors: readonly FieldError[], what: string): ValidationFailed | Conflict {
  const indexes = failedIndexes(errors);
  const detail = `${indexes.length} item${indexes.length === 1 ? '' : 's'} ${what}; nothing was written.`;
  const extra = { failed_indexes: indexes };
  return status === 422 ? new ValidationFailed(errors, detail, { extra }) : new Conflict(detail, { errors, extra });
}

/**
 * Validates every item against its type's schema and applies privacy (redaction, pseudonyms), collecting the
 * errors of all items before refusing, so one 422 lists each failing index. 413 past BATCH_MAX_ITEMS.
 */
export function prepareBatch(input: BatchInput, privacy: PrivacyContext): PreparedBatch {
  if (input.items.length > BATCH_MAX_ITEMS) {
    throw new TooLarge(`A batch holds at most ${BATCH_MAX_ITEMS} items; this one has ${input.items.length}.`);
  }
  const errors: FieldError[] = [];
  const votes: Item<VoteRow>[] = [];
  const interviews: Item<InterviewFeedbackRow>[] = [];
  const experts: Item<ExpertFeedbackRow>[] = [];
  input.items.forEach(({ type, data }, index) => {
    const prefix = `/items/${index}/data`;
    // Every failing item is named, but only the first ones in detail: the answer lists 100 errors at most.
    const invalid = checkBody(DATA_SCHEMAS[type], data, prefix, errors.length < MAX_PROBLEM_ERRORS);
    if (invalid.length > 0) {
      errors.push(...invalid);
      return;
    }
    try {
      if (type === 'vote') {
        votes.push({ index, prefix, row: prepareVote(data as VoteInput, privacy, prefix) });
      } else if (type === 'expert_feedback') {
        experts.push({
          index,
          prefix,
          row: prepareExpertFeedback(data as ExpertFeedbackInput, privacy.redactions, prefix),
        });
      } else {
        const d = data as InterviewFeedbackBatchInput;
        const { session_id: sessionId, ...feedback } = d;
        interviews.push({
          index,
          prefix,
          row: prepareInterviewFeedback(feedback, sessionId, privacy.redactions, prefix),
        });
      }
    } catch (error) {
      if ((error instanceof ValidationFailed || error instanceof Unprocessable) && error.errors)
        errors.push(...error.errors);
      else throw error;
    }
  });
  if (errors.length > 0) throw batchProblem(422, errors, 'are invalid');
  return { size: input.items.length, votes, interviews, experts };
}

/**
 * Checks what needs the database (experts exist and are active; sessions exist, appear once and have no feedback
 * yet), then writes each type with one multi-row statement, in the caller's transaction. Returns `{index, id}` in
 * request order.
 */
export async function writeBatch(
  db: Db,
  batch: PreparedBatch,
  autoApproveTrust: number,
  copyIn = false,
): Promise<{ index: number; id: number | string }[]> {
  const invalid: FieldError[] = [];
  const conflicts: FieldError[] = [];

  const { errors: expertProblems, trust } = await expertErrors(db, batch.experts);
  invalid.push(...expertProblems);

  const sessions = await sessionStates(
    db,
    batch.interviews.map((i) => i.row.session_id),
  );
  const firstItemOf = new Map<string, number>();
  for (const { index, prefix, row } of batch.interviews) {
    const path = `${prefix}/session_id`;
    const state = sessions.get(row.session_id);
    const earlier = firstItemOf.get(row.session_id);
    if (!state) invalid.push({ path, message: `no interview session has id ${row.session_id}` });
    else if (earlier !== undefined)
      invalid.push({ path, message: `item ${earlier} already gives this session's feedback` });
    else if (state.hasFeedback) conflicts.push({ path, message: 'the session already has feedback; PUT replaces it' });
    if (earlier === undefined) firstItemOf.set(row.session_id, index);
  }
  if (invalid.length > 0) throw batchProblem(422, invalid, 'are invalid');
  if (conflicts.length > 0) throw batchProblem(409, conflicts, 'conflict with existing records');

  const out: { index: number; id: number | string }[] = new Array(batch.size);
  const voteRows = batch.votes.map((v) => v.row);
  // Large vote batches go through COPY where the database takes it (the transaction's client; no votes inserted
  // before in it), small ones through one multi-row insert, which saves COPY's second round trip.
  const voteIds =
    copyIn && voteRows.length >= COPY_MIN_VOTES && 'release' in db
      ? await copyVotes(db, voteRows)
      : (await insertVotes(db, voteRows)).map((v) => v.id);
  batch.votes.forEach((v, i) => (out[v.index] = { index: v.index, id: voteIds[i]! }));
  const interviews = await insertInterviewFeedbacks(
    db,
    batch.interviews.map((i) => i.row),
  );
  batch.interviews.forEach((v, i) => (out[v.index] = { index: v.index, id: interviews[i]!.id }));
  const experts = await insertExpertFeedbacks(
    db,
    batch.experts.map((e) => e.row),
    trust,
    autoApproveTrust,
  );
  batch.experts.forEach((v, i) => (out[v.index] = { index: v.index, id: experts[i]!.id }));
  return out;
}
