-- interview_score_stats on ClickHouse, from the Parquet lake: the same rows as sql/rollups/07_interview_score_stats.sql
-- (over interview_scores, sql/rollups/06). {lake} and the manifest filter as in latest_votes.sql.
--
-- One row per score dimension and ISO week (period: the Monday, UTC, of the feedback's created_at). The percentiles
-- are interpolated like DuckDB's quantile_cont and Postgres's percentile_cont: with h = q * (n - 1), between the
-- floor(h)-th and ceil(h)-th smallest scores. In ClickHouse that is quantileExactInclusive (quantile, quantileExact
-- and the others sample or pick a neighbour instead).
with lake_files as (
  select arrayJoin(JSONExtract(raw_blob, 'tables', 'interview_feedbacks', 'files', 'Array(Tuple(path String))')).1 as path
  from file('{lake}/_manifest.json', RawBLOB)
)
select
  dimension,
  week as period,
  count(score) as n,
  avg(score) as mean,
  quantileExactInclusive(0.1)(toFloat64(score)) as p10,
  quantileExactInclusive(0.5)(toFloat64(score)) as p50,
  quantileExactInclusive(0.9)(toFloat64(score)) as p90,
  min(score) as min,
  max(score) as max
from (
  select toMonday(toDate(created_at, 'UTC')) as week, pair.1 as dimension, pair.2 as score
  from file(
    '{lake}/interview_feedbacks/**/*.parquet', Parquet,
    'created_at DateTime64(6, \'UTC\'), technical_accuracy_score Int64, communication_clarity_score Int64, problem_solving_score Int64, relevance_score Int64, overall_score Int64'
  )
  array join [
    ('technical_accuracy_score', technical_accuracy_score),
    ('communication_clarity_score', communication_clarity_score),
    ('problem_solving_score', problem_solving_score),
    ('relevance_score', relevance_score),
    ('overall_score', overall_score)
  ] as pair
  where replaceRegexpOne(replaceRegexpAll(_path, '/+', '/'), '^.*/(interview_feedbacks/)', '\\1') in (select path from lake_files)
)
group by dimension, week
order by dimension, period
