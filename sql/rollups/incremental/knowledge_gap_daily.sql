-- knowledge_gap_daily, incremental (full version: ../08_knowledge_gap_daily.sql, the same select): the days in
-- fw_work.interview_feedbacks_changed are deleted and recomputed from the merged feedback created on just those days.
--
-- Why this is exact: a row counts the feedbacks of one UTC day alone, and the day of every feedback version that
-- entered or left (old and new) is recorded; every other day's feedbacks are unchanged.
delete from knowledge_gap_daily where day in (select day from fw_work.interview_feedbacks_changed);
insert into knowledge_gap_daily
with gaps as (
  select
    make_timestamp(epoch_us(created_at))::date as day,
    list_distinct(coalesce(from_json(knowledge_gaps::json, '["varchar"]'), []::varchar[])) as gaps
  from interview_feedbacks
  where make_timestamp(epoch_us(created_at))::date in (select day from fw_work.interview_feedbacks_changed)
)
select day, gap, count(*)::bigint as feedbacks
from (select day, unnest(gaps) as gap from gaps)
where gap is not null
group by day, gap;
