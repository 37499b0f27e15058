-- vote_reasons_by_segment, incremental (full version: ../12_vote_reasons_by_segment.sql, the same select): the days
-- in fw_work.votes_changed are deleted and recomputed from the merged down votes cast on just those days; every day
-- when the top values changed. The variables are set by incremental/vote_segment_cube.sql, which runs before: the
-- flag fw_segment_changed (unknown, e.g. after its out-of-memory retry, counts as changed) and the span of the
-- affected days (null: open, when everything is recomputed), which only lets the scan skip row groups.
--
-- Why this is exact: a row counts the down votes of one UTC day alone (capped by the top values), and the day of
-- every vote version that entered or left (old and new) is in fw_work.votes_changed; every other day's votes are
-- unchanged while the top values are.
delete from vote_reasons_by_segment
where coalesce(getvariable('fw_segment_changed'), true) or day in (select day from fw_work.votes_changed);
insert into vote_reasons_by_segment
select day, v1, v2, v3, v4, v5, reason, count(*)::bigint as down_votes
from (
  select day, v1, v2, v3, v4, v5, unnest(list_distinct(coalesce(reasons::varchar[], []::varchar[]))) as reason
  from fw_capped_votes(getvariable('fw_segment_days_from'), getvariable('fw_segment_days_until'))
  where vote = 'down' and (coalesce(getvariable('fw_segment_changed'), true) or day in (select day from fw_work.votes_changed))
)
where reason is not null
group by all;
