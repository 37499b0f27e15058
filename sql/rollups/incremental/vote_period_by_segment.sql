-- vote_period_by_segment, incremental (full version: ../13_vote_period_by_segment.sql, through its view
-- vote_period_by_segment_source): the periods of fw_work.segment_periods (set by incremental/vote_segment_cube.sql)
-- are deleted and recomputed from the maintained vote_segment_cube rows of just those periods; every period when
-- the top values changed (fw_segment_changed; unknown counts as changed).
--
-- Why this is exact: a row is a function of the cube rows of its (granularity, period) alone, and the cube changed
-- only in those periods (or everywhere, when the top values changed).
delete from vote_period_by_segment
where coalesce(getvariable('fw_segment_changed'), true)
   or (granularity, period) in (select (granularity, period) from fw_work.segment_periods);
insert into vote_period_by_segment
select * from vote_period_by_segment_source
where coalesce(getvariable('fw_segment_changed'), true)
   or (granularity, period) in (select (granularity, period) from fw_work.segment_periods);
