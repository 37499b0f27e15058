-- interview_scores, incremental (full version: ../06_interview_scores.sql, the same select): the rows of the sessions
-- in fw_work.interview_feedbacks_changed are deleted and recomputed from their merged feedback.
--
-- Why this is exact: the rows of a session are a function of that session's one feedback row (session_id is
-- unique). Both the old and the new session of every changed feedback are recorded, so every other session's rows
-- are unchanged; a session whose feedback was deleted gets no rows back, as in the full version.
delete from interview_scores where session_id in (select session_id from fw_work.interview_feedbacks_changed);
insert into interview_scores
with feedbacks as (
  select
    session_id,
    make_timestamp(epoch_us(created_at))::date as day,
    technical_accuracy_score::integer as technical_accuracy_score,
    communication_clarity_score::integer as communication_clarity_score,
    problem_solving_score::integer as problem_solving_score,
    relevance_score::integer as relevance_score,
    overall_score::integer as overall_score
  from interview_feedbacks
  where session_id in (select session_id from fw_work.interview_feedbacks_changed)
)
select session_id, dimension::varchar as dimension, day, date_trunc('week', day)::date as period, score
from (
  unpivot feedbacks
  on technical_accuracy_score, communication_clarity_score, problem_solving_score, relevance_score, overall_score
  into name dimension value score
);
