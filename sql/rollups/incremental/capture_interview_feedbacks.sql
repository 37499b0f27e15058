-- capture_interview_feedbacks: runs on the snapshot being built BEFORE the staged changes of interview_feedbacks are
-- merged into it (fw_new_rows: the new versions; fw_gone_ids: the deleted ids). It records in
-- fw_work.interview_feedbacks_changed the session and UTC day of every feedback version that enters or leaves the
-- interview rollups: the old version (still in interview_feedbacks now) of an updated or deleted feedback, and the
-- new version of an inserted or updated one.
--
-- Why this is exact: interview_scores is a function of one feedback row per session (session_id is unique), and
-- interview_score_stats and knowledge_gap_daily group by ISO week and by day of created_at; all three read only
-- session_id, created_at, the five scores and knowledge_gaps. Both versions of every changed feedback are recorded,
-- so every session, week and day whose inputs changed is recomputed. A version pair whose rollup columns are all equal
-- (only a text feedback changed) contributes the same before and after, so it is skipped.
create or replace table fw_work.interview_feedbacks_changed as
with old_rowids as materialized (
  -- Two steps, for speed: the scan of the whole table reads the id column only; the few matching rows are then
  -- fetched by rowid (a scan projecting every rollup column would decompress them all).
  select rowid as row_id from interview_feedbacks
  where id in (select id from fw_new_rows union all select id from fw_gone_ids)
),
old_rows as (
  select
    id, session_id, created_at, technical_accuracy_score, communication_clarity_score, problem_solving_score,
    relevance_score, overall_score, knowledge_gaps
  from interview_feedbacks
  where rowid in (select row_id from old_rowids)
),
new_rows as (
  select
    id, session_id, created_at, technical_accuracy_score, communication_clarity_score, problem_solving_score,
    relevance_score, overall_score, knowledge_gaps
  from fw_new_rows
),
pairs as materialized (
  select
    o.id as old_id, o.session_id as old_session_id, o.created_at as old_created_at,
    n.id as new_id, n.session_id as new_session_id, n.created_at as new_created_at
  from old_rows o
  full join new_rows n on o.id = n.id
  where o.id is null or n.id is null
     or (o.session_id, o.created_at, o.technical_accuracy_score, o.communication_clarity_score,
         o.problem_solving_score, o.relevance_score, o.overall_score, o.knowledge_gaps::varchar)
        is distinct from
        (n.session_id, n.created_at, n.technical_accuracy_score, n.communication_clarity_score,
         n.problem_solving_score, n.relevance_score, n.overall_score, n.knowledge_gaps::varchar)
)
select old_session_id as session_id, make_timestamp(epoch_us(old_created_at))::date as day
from pairs where old_id is not null
union all
select new_session_id, make_timestamp(epoch_us(new_created_at))::date
from pairs where new_id is not null;
