-- interview_score_stats: one row per score dimension and ISO week (period = the Monday the week starts on, UTC),
-- over the interview feedback created in that week: n, mean, min, max and the interpolated percentiles p10, p50,
-- p90.
--
-- quantile_cont is the same interpolation as Postgres percentile_cont: with h = q * (n - 1), the value between the
-- floor(h)-th and ceil(h)-th smallest scores at fraction h - floor(h). (DuckDB evaluates it as lo * (1 - d) + hi * d,
-- Postgres as lo + d * (hi - lo), so the two can differ in the last bit of a double.) The score is cast to double so
-- the result is a double whatever numeric type the column arrives as (on DECIMAL, quantile_cont would round to its
-- scale). mean averages the integers exactly (hugeint sum) before the one division.
create or replace table interview_score_stats as
select
  dimension,
  period,
  count(score)::bigint as n,
  avg(score)::double as mean,
  quantile_cont(score::double, 0.1) as p10,
  quantile_cont(score::double, 0.5) as p50,
  quantile_cont(score::double, 0.9) as p90,
  min(score)::integer as min,
  max(score)::integer as max
from interview_scores
group by dimension, period
order by dimension, period;
