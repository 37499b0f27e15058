-- vote_segment_values_daily: per UTC day, segment key (ROLLUP_SEGMENTS, its position) and raw value (sql/rollups/
-- segments.sql), the number of votes cast that day with that value. segment_top_values ranks the values by their
-- volume over all time from it, whatever the top 50 were in earlier exports.
create or replace table vote_segment_values_daily as
select v.day, k.segment, k.position, v.vals[k.position] as value, count(*)::bigint as votes
from (select make_timestamp(epoch_us(created_at))::date as day, fw_segment_values(metadata) as vals from votes) as v
cross join vote_segment_keys k
group by all
order by v.day, k.position, value;
