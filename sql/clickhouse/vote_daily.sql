-- vote_daily on ClickHouse, from the Parquet lake: the same rows as sql/rollups/03_vote_daily.sql. {lake} and the
-- manifest filter as in latest_votes.sql.
--
-- Every vote counts on its UTC day (created_at is read as DateTime64(6, 'UTC')); conversations is the number of
-- distinct conversations voting that day; up_rate = up / (up + down), a Float64 division as in DuckDB.
with lake_files as (
  select arrayJoin(JSONExtract(raw_blob, 'tables', 'votes', 'files', 'Array(Tuple(path String))')).1 as path
  from file('{lake}/_manifest.json', RawBLOB)
)
-- (The inner columns have names of their own: ClickHouse resolves a name to a select alias first.)
select
  vote_day as day,
  sum(ups) as up,
  sum(downs) as down,
  count() as conversations,
  sum(ups) / (sum(ups) + sum(downs)) as up_rate
from (
  select toDate(created_at, 'UTC') as vote_day, conversation_id, countIf(vote = 'up') as ups, countIf(vote = 'down') as downs
  from file('{lake}/votes/**/*.parquet', Parquet, 'conversation_id String, vote String, created_at DateTime64(6, \'UTC\')')
  where replaceRegexpOne(replaceRegexpAll(_path, '/+', '/'), '^.*/(votes/)', '\\1') in (select path from lake_files)
  group by vote_day, conversation_id
)
group by vote_day
order by vote_day
