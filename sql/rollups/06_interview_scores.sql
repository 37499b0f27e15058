-- interview_scores: the interview feedback scores in long form, one row per feedback and score dimension, with the
-- UTC day and ISO week (Monday, UTC) of the feedback's created_at. interview_score_stats is built from it, and the
-- interviews API computes exact percentiles over any [from, to] from it (weekly percentiles cannot be combined).
--
-- dimension is the score's column name. A replaced feedback (PUT) keeps its created_at, so it stays in its week.
-- Days are UTC: make_timestamp(epoch_us(ts)) is the UTC wall clock of ts whatever the session TimeZone is.
create or replace table interview_scores as
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
)
select session_id, dimension::varchar as dimension, day, date_trunc('week', day)::date as period, score
from (
  unpivot feedbacks
  on technical_accuracy_score, communication_clarity_score, problem_solving_score, relevance_score, overall_score
  into name dimension value score
)
order by dimension, day;
