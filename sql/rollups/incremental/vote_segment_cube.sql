-- vote_segment_cube, incremental (full version: ../11_vote_segment_cube.sql, the same macro fw_segment_cube of
-- ../segments.sql): the (granularity, period) pairs that hold a day of fw_work.votes_changed are deleted and
-- recomputed from the merged votes of their whole periods; every period when the top values changed (the variable
-- fw_segment_changed, set here from fw_work.segment_top_before, the set before this export: rollupMaintenance.ts),
-- since the capped values of any row may have. The later segment files of the refresh read it too.
--
-- Why this is exact: a row is a function of the votes cast in its period alone (and of the top values), and the
-- day of every vote version that entered or left (old and new) is in fw_work.votes_changed, so every other
-- period's votes are unchanged. fw_segment_cube is exact for every period whose votes all lie in the interval it
-- reads: from the first affected period's start to the end of the last affected month (a week ending in the next
-- month: its Sunday), which covers each affected period whole.
set variable fw_segment_changed = (
  select count(*) > 0 from (
    (select position, value from fw_work.segment_top_before except select position, value from segment_top_values)
    union all
    (select position, value from segment_top_values except select position, value from fw_work.segment_top_before)
  )
);
set variable fw_segment_days_from = case when getvariable('fw_segment_changed') then null else
  (select to_timestamp(epoch(min(day)::timestamp)) from fw_work.votes_changed) end;
set variable fw_segment_days_until = case when getvariable('fw_segment_changed') then null else
  (select to_timestamp(epoch(max(day)::timestamp + interval 1 day)) from fw_work.votes_changed) end;
create or replace table fw_work.segment_periods as
select distinct g.granularity, date_trunc(g.granularity, c.day)::date as period
from fw_work.votes_changed c cross join (values ('day'), ('week'), ('month')) as g(granularity);
set variable fw_segment_from = case when getvariable('fw_segment_changed') then null else
  (select to_timestamp(epoch(min(period)::timestamp)) from fw_work.segment_periods) end;
set variable fw_segment_until = case when getvariable('fw_segment_changed') then null else
  (select to_timestamp(epoch(greatest(max(period) filter (where granularity = 'month') + interval 1 month,
                                      max(period) filter (where granularity = 'week') + interval 7 day)))
     from fw_work.segment_periods) end;
delete from vote_segment_cube
where getvariable('fw_segment_changed')
   or (granularity, period) in (select (granularity, period) from fw_work.segment_periods);
-- One granularity at a time (the memory of one aggregation); days read only the affected days' span.
insert into vote_segment_cube
select * from fw_segment_cube(getvariable('fw_segment_days_from'), getvariable('fw_segment_days_until'), 'day')
where getvariable('fw_segment_changed')
   or (granularity, period) in (select (granularity, period) from fw_work.segment_periods);
insert into vote_segment_cube
select * from fw_segment_cube(getvariable('fw_segment_from'), getvariable('fw_segment_until'), 'week')
where getvariable('fw_segment_changed')
   or (granularity, period) in (select (granularity, period) from fw_work.segment_periods);
insert into vote_segment_cube
select * from fw_segment_cube(getvariable('fw_segment_from'), getvariable('fw_segment_until'), 'month')
where getvariable('fw_segment_changed')
   or (granularity, period) in (select (granularity, period) from fw_work.segment_periods);
