-- latest_vote_segment_totals: latest_vote_totals per tuple of capped segment values v1..v5 of each conversation's
-- latest vote (latest_votes.segment_values, capped like sql/rollups/segments.sql): the totals of
-- GET /api/v1/rollups/votes under segment filters are summed from it. Recomputed whole (a row per tuple).
create or replace table latest_vote_segment_totals as
select
  fw_capped(1, l.segment_values[1], t1.value) as v1, fw_capped(2, l.segment_values[2], t2.value) as v2,
  fw_capped(3, l.segment_values[3], t3.value) as v3, fw_capped(4, l.segment_values[4], t4.value) as v4,
  fw_capped(5, l.segment_values[5], t5.value) as v5,
  count(*)::bigint as conversations,
  count(*) filter (where l.vote = 'up')::bigint as up,
  count(*) filter (where l.vote = 'down')::bigint as down
from latest_votes l
left join segment_top_values t1 on t1.position = 1 and t1.value = l.segment_values[1]
left join segment_top_values t2 on t2.position = 2 and t2.value = l.segment_values[2]
left join segment_top_values t3 on t3.position = 3 and t3.value = l.segment_values[3]
left join segment_top_values t4 on t4.position = 4 and t4.value = l.segment_values[4]
left join segment_top_values t5 on t5.position = 5 and t5.value = l.segment_values[5]
group by all;
