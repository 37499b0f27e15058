-- Up Migration

-- Expert agreement (README "Rollups"): verdicts of several experts on the same AI answer are compared by the id the
-- client gives that answer. An id, not a text: stored as given (not redacted), at most 200 characters as in the API.
alter table expert_feedback add column answer_ref text
  constraint expert_feedback_answer_ref_length check (char_length(answer_ref) between 1 and 200);
create index expert_feedback_answer_ref_idx on expert_feedback (answer_ref) where answer_ref is not null;

-- An expert tool may not ask for a confidence or time the review: both become optional (null: not given), and the
-- statistics that need them leave those rows out.
alter table expert_feedback alter column confidence_score drop not null;
alter table expert_feedback alter column time_spent_seconds drop not null;

-- Down Migration
-- Refuses (a not-null violation) while a feedback without confidence or time exists: the older schema cannot hold it.
alter table expert_feedback alter column time_spent_seconds set not null;
alter table expert_feedback alter column confidence_score set not null;
drop index expert_feedback_answer_ref_idx;
alter table expert_feedback drop column answer_ref;
