-- knowledge_gap_daily: per UTC day and knowledge gap, the number of interview feedbacks created that day that
-- name the gap.
--
-- knowledge_gaps is a JSON array of strings (Postgres jsonb); a gap repeated inside one feedback counts once, and
-- an empty or missing array contributes nothing. Gaps are compared exactly (no case folding). Summing feedbacks
-- over a range of days is exact, which is how GET /api/v1/rollups/interviews answers "top knowledge gaps".
create or replace table knowledge_gap_daily as
with gaps as (
  select
    make_timestamp(epoch_us(created_at))::date as day,
    list_distinct(coalesce(from_json(knowledge_gaps::json, '["varchar"]'), []::varchar[])) as gaps
  from interview_feedbacks
)
select day, gap, count(*)::bigint as feedbacks
from (select day, unnest(gaps) as gap from gaps)
where gap is not null
group by day, gap
order by day, gap;
