-- segment_top_values: per segment key, its 50 values with the most votes over the whole snapshot (ties: the
-- smaller value first), rank 1..50. Every other value is shown as '(other)' by the segment rollups and the API
-- (README "Rollups"). Small: recomputed whole on every export; when the set changed, the capped segment tables are
-- recomputed whole too (incremental/vote_segment_cube.sql).
create or replace table segment_top_values as
select segment, position, value, sum(votes)::bigint as votes,
       row_number() over (partition by position order by sum(votes) desc, value)::integer as rank
from vote_segment_values_daily
group by segment, position, value
qualify rank <= 50
order by position, rank;
