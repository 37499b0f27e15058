-- expert_faq_conversion on ClickHouse, from the Parquet lake: the same rows as sql/rollups/05_expert_faq_conversion.sql.
-- {lake} and the manifest filter as in latest_votes.sql (expert_profiles is one file, expert_feedback partitioned
-- by day).
--
-- One row per expert profile, experts without feedback included (a LEFT JOIN fills their counts with 0);
-- conversion_rate = faq_count / correct_count, NULL when the expert has no correct feedback.
with
  lake_files as (
    select arrayJoin(arrayConcat(
             JSONExtract(raw_blob, 'tables', 'expert_profiles', 'files', 'Array(Tuple(path String))'),
             JSONExtract(raw_blob, 'tables', 'expert_feedback', 'files', 'Array(Tuple(path String))'))).1 as path
    from file('{lake}/_manifest.json', RawBLOB)
  ),
  per_expert as (
    select
      expert_id,
      count() as feedback_count,
      countIf(feedback_type = 'correct') as correct_count,
      count(generated_faq_id) as faq_count,
      countIf(generated_faq_id is not null and feedback_type = 'correct') as promoted_faq_count
    from file('{lake}/expert_feedback/**/*.parquet', Parquet, 'expert_id String, feedback_type String, generated_faq_id Nullable(String)')
    where replaceRegexpOne(replaceRegexpAll(_path, '/+', '/'), '^.*/(expert_feedback/)', '\\1') in (select path from lake_files)
    group by expert_id
  ),
  profiles as (
    select id, trust_score
    from file('{lake}/expert_profiles/*.parquet', Parquet, 'id String, trust_score Float64')
    where replaceRegexpOne(replaceRegexpAll(_path, '/+', '/'), '^.*/(expert_profiles/)', '\\1') in (select path from lake_files)
  )
select
  p.id as expert_id,
  f.feedback_count as feedback_count,
  f.correct_count as correct_count,
  f.faq_count as faq_count,
  if(f.correct_count = 0, null, f.faq_count / f.correct_count) as conversion_rate,
  p.trust_score as trust_score,
  f.promoted_faq_count as promoted_faq_count
from profiles p
left join per_expert f on f.expert_id = p.id
order by expert_id
