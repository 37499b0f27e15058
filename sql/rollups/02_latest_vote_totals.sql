-- latest_vote_totals: one row, the conversations by their latest vote (from latest_votes): how many there are, how
-- many end up and down, and up_rate = up / conversations (null when there are none). Precomputed so that
-- GET /api/v1/rollups/votes reads one row instead of scanning a row per conversation on every request.
create or replace table latest_vote_totals as
select
  count(*)::bigint as conversations,
  count(*) filter (where vote = 'up')::bigint as up,
  count(*) filter (where vote = 'down')::bigint as down,
  case when count(*) = 0 then null
       else (count(*) filter (where vote = 'up'))::double / count(*)::double end as up_rate
from latest_votes;
