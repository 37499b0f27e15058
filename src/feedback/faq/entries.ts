import { randomUUID } from 'node:crypto';
import { Conflict, NotFound, Unprocessable } from '../../errors.ts';
import type { Db } from '../../db/pool.ts';
import { constraintError } from '../constraints.ts';
import { DEFAULT_PAGE_SIZE, decodeCursor, page } from '../cursor.ts';
import type { FeedbackCategory, FeedbackType } from '../experts/schema.ts';
import type { FaqEntriesQuery, FaqEntry } from './schema.ts';

/** An FAQ entry as it is written; question and answer come from already-redacted feedback. */
export interface FaqEntryRow {
  readonly id: string;
  readonly question: string;
  readonly answer: string;
  readonly category: FeedbackCategory | null;
  readonly origin: 'promoted' | 'candidate';
  readonly source_feedback_id: string;
  readonly source_feedback_type: FeedbackType;
}

export const FAQ_COLUMNS = 'id, question, answer, category, origin, source_feedback_id, created_at, updated_at';

export interface FaqDbRow extends Omit<FaqEntry, 'created_at' | 'updated_at'> {
  created_at: Date;
  updated_at: Date;
}

export function toFaqEntry(r: FaqDbRow): FaqEntry {
  return {
    id: r.id,
    question: r.question,
    answer: r.answer,
    category: r.category,
    origin: r.origin,
    source_feedback_id: r.source_feedback_id,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}

/** Inserts FAQ entries in one statement; returns them in input order. */
export async function insertFaqEntries(db: Db, rows: readonly FaqEntryRow[]): Promise<FaqEntry[]> {
  if (rows.length === 0) return [];
  const col = <K extends keyof FaqEntryRow>(k: K) => rows.map((r) => r[k]);
  const { rows: out } = await db.query<FaqDbRow>(
    `insert into faq_entries (id, question, answer, category, origin, source_feedback_id, source_feedback_type)
     select * from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::text[])
     returning ${FAQ_COLUMNS}`,
    [
      col('id'),
      col('question'),
      col('answer'),
      col('category'),
      col('origin'),
      col('source_feedback_id'),
      col('source_feedback_type'),
    ],
  );
  const byId = new Map(out.map((r) => [r.id, toFaqEntry(r)]));
  return rows.map((r) => byId.get(r.id)!);
}

/** Sets expert_feedback.generated_faq_id for each (feedback, faq) pair, in one statement. */
export async function linkGeneratedFaqs(
  db: Db,
  links: readonly { feedbackId: string; faqId: string }[],
): Promise<void> {
  if (links.length === 0) return;
  await db.query(
    `update expert_feedback f set generated_faq_id = l.faq_id
       from unnest($1::uuid[], $2::uuid[]) as l(feedback_id, faq_id)
      where f.id = l.feedback_id`,
    [links.map((l) => l.feedbackId), links.map((l) => l.faqId)],
  );
}

/**
 * Turns `correct` feedback into an FAQ entry and sets its generated_faq_id, in the caller's transaction.
 * `select ... for update` serialises concurrent promotions of the same feedback: the second waits, then sees
 * generated_faq_id set and answers 409, so exactly one FAQ entry is made (the unique source_feedback_id backs this).
 * The answer is the expert's improved_answer when there is one, else the original (correct) answer.
 */
export async function promoteFeedback(db: Db, feedbackId: string): Promise<FaqEntry> {
  const { rows } = await db.query<{
    feedback_type: FeedbackType;
    category: FeedbackCategory | null;
    query_text: string;
    original_answer: string;
    improved_answer: string | null;
    generated_faq_id: string | null;
  }>(
    `select feedback_type, category, query_text, original_answer, improved_answer, generated_faq_id
       from expert_feedback where id = $1::uuid for update`,
    [feedbackId],
  );
  const feedback = rows[0];
  if (!feedback) throw new NotFound(`Expert feedback ${feedbackId} does not exist.`);
  if (feedback.feedback_type !== 'correct') {
    throw new Unprocessable(
      `Only correct feedback can be promoted; this one is ${feedback.feedback_type}. ` +
        'Incomplete and incorrect feedback with an improved answer becomes an FAQ candidate instead.',
    );
  }
  if (feedback.generated_faq_id !== null) {
    throw new Conflict(`Expert feedback ${feedbackId} was already promoted.`, {
      extra: { faq_entry_id: feedback.generated_faq_id },
    });
  }
  try {
    const [entry] = await insertFaqEntries(db, [
      {
        id: randomUUID(),
        question: feedback.query_text,
        answer: feedback.improved_answer ?? feedback.original_answer,
        category: feedback.category,
        origin: 'promoted',
        source_feedback_id: feedbackId,
        source_feedback_type: 'correct',
      },
    ]);
    await linkGeneratedFaqs(db, [{ feedbackId, faqId: entry!.id }]);
    return entry!;
  } catch (error) {
    throw constraintError(error, feedbackId);
  }
}

/** A page of FAQ entries, newest first. */
export async function listFaqEntries(
  db: Db,
  query: FaqEntriesQuery,
): Promise<{ items: FaqEntry[]; next_cursor: string | null }> {
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  const after = decodeCursor(query.cursor);
  const { rows } = await db.query<FaqDbRow & { cursor_ts: string }>(
    `select ${FAQ_COLUMNS}, to_char(created_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_ts
       from faq_entries
      where ($1::text is null or category = $1::text)
        and ($2::text is null or origin = $2::text)
        and ($3::timestamptz is null or (created_at, id) < ($3::timestamptz, $4::uuid))
      order by created_at desc, id desc
      limit $5::int`,
    [query.category ?? null, query.origin ?? null, after?.ts ?? null, after?.id ?? null, limit + 1],
  );
  const result = page(rows, limit);
  return { items: result.items.map(toFaqEntry), next_cursor: result.next_cursor };
}

/** Deletes an FAQ entry; its feedback stays and its generated_faq_id becomes null (ON DELETE SET NULL). */
export async function deleteFaqEntry(db: Db, id: string): Promise<boolean> {
  const { rowCount } = await db.query('delete from faq_entries where id = $1::uuid', [id]);
  return (rowCount ?? 0) > 0;
}
