-- vote_segment_cube: per granularity (day, week, month; UTC, ISO weeks), period and tuple of capped segment values
-- v1..v5 (sql/rollups/segments.sql): the votes cast (up, down, anonymous_votes: those without an email), and the
-- distinct conversations and voters (email pseudonyms) counted exactly under any filter and grouping by the
-- single/multi rows explained in segments.sql (fw_segment_cube). GET /api/v1/rollups/votes answers every figure
-- of its series and segments from it.
--
-- Stored by granularity, then with the voter multi rows last, so that reads that need no voters (segments, daily)
-- skip those row groups by their min/max (`multi_kind is distinct from 'voter'`); measured 120 -> 27 ms for a
-- month series per value under a filter at 5 M votes.
create or replace table vote_segment_cube as
select * from fw_segment_cube(null, null, 'day') order by coalesce(multi_kind = 'voter', false), period;
insert into vote_segment_cube
select * from fw_segment_cube(null, null, 'week') order by coalesce(multi_kind = 'voter', false), period;
insert into vote_segment_cube
select * from fw_segment_cube(null, null, 'month') order by coalesce(multi_kind = 'voter', false), period;
