-- interview_score_stats, incremental (full version: ../07_interview_score_stats.sql, the same select); runs after
-- interview_scores is maintained. The ISO weeks of the days in fw_work.interview_feedbacks_changed are deleted and
-- recomputed from interview_scores of just those weeks.
--
-- Why this is exact: a row is a function of the scores of one (dimension, week) alone. The week of every feedback
-- version that entered or left (old and new) is recomputed, so the scores of every other week are unchanged. A week
-- left without feedback is deleted and not re-inserted, as the full version would leave it out.
delete from interview_score_stats
where period in (select date_trunc('week', day)::date from fw_work.interview_feedbacks_changed);
insert into interview_score_stats
select
  dimension,
  period,
  count(score)::bigint as n,
  avg(score)::double as mean,
  quantile_cont(score::double, 0.1) as p10,
  quantile_cont(score::double, 0.5) as p50,
  quantile_cont(score::double, 0.9) as p90,
  min(score)::integer as min,
  max(score)::integer as max
from interview_scores
where period in (select date_trunc('week', day)::date from fw_work.interview_feedbacks_changed)
group by dimension, period;
