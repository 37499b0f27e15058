import { FOREIGN_KEY_VIOLATION, UNIQUE_VIOLATION, sqlState } from '../db/sqlstate.ts';
import { Conflict, NotFound, type DomainError } from '../errors.ts';

interface ConstraintAnswer {
  /** The SQLSTATE the constraint fails with (src/db/sqlstate.ts). */
  readonly code: string;
  /** The domain error a client gets; `subject` is what the request named (an id, an external_ref). */
  readonly error: (subject: string) => DomainError;
}

const promotedAlready = (feedbackId: string) => new Conflict(`Expert feedback ${feedbackId} was already promoted.`);

/**
 * The feedback tables' constraints that a client's request can break, by the name Postgres gives them
 * (sql/migrations/0002_interviews_experts.sql), and the answer each one means. This is the one place feedback code
 * reads constraint names; any other violation is left to the generic SQLSTATE mapping of src/http/problem.ts.
 */
const ANSWERS: Readonly<Record<string, ConstraintAnswer>> = {
  expert_profiles_user_ref_key: {
    code: UNIQUE_VIOLATION,
    error: () => new Conflict('An expert with this user_ref exists.'),
  },
  expert_profiles_registration_idx: {
    code: UNIQUE_VIOLATION,
    error: () => new Conflict('An expert with this registration_number exists for this credential_type.'),
  },
  interview_sessions_external_ref_key: {
    code: UNIQUE_VIOLATION,
    error: (externalRef) => new Conflict(`An interview session with external_ref "${externalRef}" already exists.`),
  },
  interview_feedbacks_session_id_fkey: {
    code: FOREIGN_KEY_VIOLATION,
    error: (sessionId) => new NotFound(`Interview session ${sessionId} does not exist.`),
  },
  interview_feedbacks_session_id_key: {
    code: UNIQUE_VIOLATION,
    error: (sessionId) => new Conflict(`Interview session ${sessionId} already has feedback; PUT replaces it.`),
  },
  // Promotion writes the entry (one per source feedback) and links it (one entry per feedback).
  faq_entries_source_feedback_id_key: { code: UNIQUE_VIOLATION, error: promotedAlready },
  expert_feedback_generated_faq_id_key: { code: UNIQUE_VIOLATION, error: promotedAlready },
};

/** The domain error a known constraint violation means for the request that named `subject`, else the error itself. */
export function constraintError(error: unknown, subject = ''): unknown {
  const constraint = (error as { constraint?: unknown } | null)?.constraint;
  const answer = typeof constraint === 'string' ? ANSWERS[constraint] : undefined;
  return answer && sqlState(error) === answer.code ? answer.error(subject) : error;
}
