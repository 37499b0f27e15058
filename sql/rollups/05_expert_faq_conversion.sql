-- expert_faq_conversion: one row per expert profile, experts without any feedback included (zero counts).
--
-- feedback_count: the expert's verdicts on AI answers; correct_count: those of type correct; faq_count: the FAQ
-- entries made from the expert's feedback that still exist (expert_feedback.generated_faq_id is set: by a
-- promotion of correct feedback, or by an approved candidate from incomplete/incorrect feedback; deleting the FAQ
-- nulls it, docs/CONTRACT.md); promoted_faq_count: the part of faq_count promoted from correct feedback.
-- conversion_rate = faq_count / correct_count (docs/CONTRACT.md), null (never NaN or Infinity) when the expert
-- has no correct feedback; it can exceed 1 when approved candidates add FAQs, while
-- promoted_faq_count / correct_count is the share of correct verdicts promoted, always within 0..1.
-- trust_score is the expert's current trust (0..1) as a double. user_ref, credential_type and is_active name the
-- expert as the API shows it (never by uuid alone, README "Rollups").
create or replace table expert_faq_conversion as
with per_expert as (
  select
    expert_id,
    count(*)::bigint as feedback_count,
    count(*) filter (where feedback_type::varchar = 'correct')::bigint as correct_count,
    count(generated_faq_id)::bigint as faq_count,
    count(generated_faq_id) filter (where feedback_type::varchar = 'correct')::bigint as promoted_faq_count
  from expert_feedback
  group by expert_id
)
select
  p.id as expert_id,
  coalesce(f.feedback_count, 0)::bigint as feedback_count,
  coalesce(f.correct_count, 0)::bigint as correct_count,
  coalesce(f.faq_count, 0)::bigint as faq_count,
  case when coalesce(f.correct_count, 0) = 0 then null
       else f.faq_count::double / f.correct_count::double end as conversion_rate,
  p.trust_score::double as trust_score,
  coalesce(f.promoted_faq_count, 0)::bigint as promoted_faq_count,
  p.user_ref::varchar as user_ref,
  p.credential_type::varchar as credential_type,
  p.is_active::boolean as is_active
from expert_profiles p
left join per_expert f on f.expert_id = p.id
order by p.id;
