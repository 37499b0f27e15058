import { randomUUID } from 'node:crypto';
import { Conflict, NotFound } from '../../errors.ts';
import type { Db } from '../../db/pool.ts';
import { DEFAULT_PAGE_SIZE, decodeCursor, page } from '../cursor.ts';
import type { CandidateStatus, FeedbackCategory } from '../experts/schema.ts';
import { insertFaqEntries, linkGeneratedFaqs } from './entries.ts';
import type { FaqCandidate, FaqCandidatesQuery, FaqEntry } from './schema.ts';

/** A candidate as it is written. An auto-approved one arrives with the FAQ entry already made (faq_entry_id). */
export interface CandidateRow {
  readonly id: string;
  readonly feedback_id: string;
  readonly feedback_type: 'incomplete' | 'incorrect';
  readonly question: string;
  readonly answer: string;
  readonly category: FeedbackCategory | null;
  readonly expert_trust_score: number;
  readonly auto_approved: boolean;
  readonly faq_entry_id: string | null;
}

const COLUMNS = `id, feedback_id, feedback_type, question, answer, category, expert_trust_score, status, auto_approved,
  faq_entry_id, decided_at, decided_by, created_at, updated_at`;

interface CandidateDbRow extends Omit<FaqCandidate, 'created_at' | 'updated_at' | 'decided_at'> {
  decided_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

function toCandidate(r: CandidateDbRow): FaqCandidate {
  return {
    id: r.id,
    feedback_id: r.feedback_id,
    feedback_type: r.feedback_type,
    question: r.question,
    answer: r.answer,
    category: r.category,
    expert_trust_score: r.expert_trust_score,
    status: r.status,
    auto_approved: r.auto_approved,
    faq_entry_id: r.faq_entry_id,
    decided_at: r.decided_at?.toISOString() ?? null,
    decided_by: r.decided_by,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}

/** Inserts candidates in one statement: auto-approved ones as approved (decided now, by nobody), others pending. */
export async function insertCandidates(db: Db, rows: readonly CandidateRow[]): Promise<void> {
  if (rows.length === 0) return;
  const col = <K extends keyof CandidateRow>(k: K) => rows.map((r) => r[k]);
  await db.query(
    `insert into expert_faq_candidates (id, feedback_id, feedback_type, question, answer, category, expert_trust_score,
       auto_approved, faq_entry_id, status, decided_at)
     select id, feedback_id, feedback_type, question, answer, category, trust, auto, faq,
            case when auto then 'approved' else 'pending' end, case when auto then now() end
       from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::numeric[], $8::boolean[],
                   $9::uuid[]) as t(id, feedback_id, feedback_type, question, answer, category, trust, auto, faq)`,
    [
      col('id'),
      col('feedback_id'),
      col('feedback_type'),
      col('question'),
      col('answer'),
      col('category'),
      col('expert_trust_score'),
      col('auto_approved'),
      col('faq_entry_id'),
    ],
  );
}

/** A page of candidates, newest first, optionally of one status. */
export async function listCandidates(
  db: Db,
  query: FaqCandidatesQuery,
): Promise<{ items: FaqCandidate[]; next_cursor: string | null }> {
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  const after = decodeCursor(query.cursor);
  const { rows } = await db.query<CandidateDbRow & { cursor_ts: string }>(
    `select ${COLUMNS}, to_char(created_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_ts
       from expert_faq_candidates
      where ($1::text is null or status = $1::text)
        and ($2::timestamptz is null or (created_at, id) < ($2::timestamptz, $3::uuid))
      order by created_at desc, id desc
      limit $4::int`,
    [query.status ?? null, after?.ts ?? null, after?.id ?? null, limit + 1],
  );
  const result = page(rows, limit);
  return { items: result.items.map(toCandidate), next_cursor: result.next_cursor };
}

/**
 * Approves (making the FAQ entry and setting the feedback's generated_faq_id) or rejects a pending candidate, in
 * the caller's transaction. The row is locked first, so two concurrent decisions serialise: the second sees the
 * first's outcome and answers 409. decidedBy is the deciding API key's name.
 */
export async function decideCandidate(
  db: Db,
  id: string,
  decision: Exclude<CandidateStatus, 'pending'>,
  decidedBy: string,
): Promise<{ candidate: FaqCandidate; faq_entry: FaqEntry | null }> {
  const { rows } = await db.query<CandidateDbRow>(
    `select ${COLUMNS} from expert_faq_candidates where id = $1::uuid for update`,
    [id],
  );
  const candidate = rows[0];
  if (!candidate) throw new NotFound(`FAQ candidate ${id} does not exist.`);
  if (candidate.status !== 'pending') {
    // Not `status`: in a problem that member is the HTTP status code (RFC 9457 section 3.1.2).
    throw new Conflict(`FAQ candidate ${id} was already ${candidate.status}.`, {
      extra: { candidate_status: candidate.status },
    });
  }
  let faqEntry: FaqEntry | null = null;
  if (decision === 'approved') {
    [faqEntry] = (await insertFaqEntries(db, [
      {
        id: randomUUID(),
        question: candidate.question,
        answer: candidate.answer,
        category: candidate.category,
        origin: 'candidate',
        source_feedback_id: candidate.feedback_id,
        source_feedback_type: candidate.feedback_type,
      },
    ])) as [FaqEntry];
    await linkGeneratedFaqs(db, [{ feedbackId: candidate.feedback_id, faqId: faqEntry.id }]);
  }
  const updated = await db.query<CandidateDbRow>(
    `update expert_faq_candidates
        set status = $2::text, decided_at = now(), decided_by = $3::text, faq_entry_id = $4::uuid
      where id = $1::uuid
      returning ${COLUMNS}`,
    [id, decision, decidedBy, faqEntry?.id ?? null],
  );
  return { candidate: toCandidate(updated.rows[0]!), faq_entry: faqEntry };
}

/** A new candidate's id and the FAQ entry id an auto-approval will use. */
export function newCandidateIds(autoApproved: boolean): { id: string; faqEntryId: string | null } {
  return { id: randomUUID(), faqEntryId: autoApproved ? randomUUID() : null };
}
