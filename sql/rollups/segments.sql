-- segments: run on the build connection before any rollup file (src/warehouse/rollups/rollupMaintenance.ts), with
-- the variable fw_segment_keys set to the configured ROLLUP_SEGMENTS keys (README "Rollups", at most 5). It records
-- the keys in the snapshot (vote_segment_keys: their position and name, for the reads) and defines the temporary
-- macros the vote segment rollups share.
--
-- A vote's value for a key is metadata->>key as Postgres would give it: a string as it is, a number or boolean as
-- its JSON text; a vote without the key (or with JSON null) has the value '(none)'. Columns v1..v5 of the segment
-- tables hold the values of keys 1..5, null for positions beyond the configured keys.
-- Set by incremental/vote_segment_cube.sql for the incremental segment files after it; unknown (null) until then,
-- which they take as "recompute everything", so nothing of an earlier refresh on this connection is reused.
set variable fw_segment_changed = null::boolean;
set variable fw_segment_days_from = null::timestamptz;
set variable fw_segment_days_until = null::timestamptz;

-- fw_capped_votes below reads its table by name (query_table) only when called: a snapshot without votes fails
-- here, naming this file, as it did when the macro read votes directly.
select count(*) from (select id from votes limit 0);

create or replace table vote_segment_keys as
select unnest(getvariable('fw_segment_keys')) as segment,
       generate_subscripts(getvariable('fw_segment_keys'), 1)::integer as position;

create or replace temp macro fw_segment_value(metadata, i) as
  case when i <= len(getvariable('fw_segment_keys'))
       then coalesce(json_extract_string(metadata, '$."' || getvariable('fw_segment_keys')[i] || '"'), '(none)') end;

-- The raw values of a vote, in key order (latest_votes keeps those of each conversation's latest vote).
create or replace temp macro fw_segment_values(metadata) as
  list_transform(getvariable('fw_segment_keys'), k -> coalesce(json_extract_string(metadata, '$."' || k || '"'), '(none)'));

-- A raw value as the segment rollups store it: itself when it is among the top 50 of its key (segment_top_values),
-- else '(other)'; null beyond the configured keys. `top` is the segment_top_values row joined on (position, value).
create or replace temp macro fw_capped(i, raw, top) as
  case when i > len(getvariable('fw_segment_keys')) then null when top is null then '(other)' else raw end;

-- The votes cast in [from_ts, until_ts) (null: open) with their UTC day and capped values v1..v5; `src` names the
-- table of votes (by default votes itself; incremental/vote_segment_cube.sql passes work tables of the same columns).
create or replace temp macro fw_capped_votes(from_ts, until_ts, src := 'votes') as table
with v as (
  select
    make_timestamp(epoch_us(created_at))::date as day, conversation_id, email_hash as voter, vote::varchar as vote,
    reasons, fw_segment_value(metadata, 1) as r1, fw_segment_value(metadata, 2) as r2,
    fw_segment_value(metadata, 3) as r3, fw_segment_value(metadata, 4) as r4, fw_segment_value(metadata, 5) as r5
  from query_table(src)
  where (from_ts is null or created_at >= from_ts) and (until_ts is null or created_at < until_ts)
)
select
  v.day, v.conversation_id, v.voter, v.vote, v.reasons,
  fw_capped(1, v.r1, t1.value) as v1, fw_capped(2, v.r2, t2.value) as v2, fw_capped(3, v.r3, t3.value) as v3,
  fw_capped(4, v.r4, t4.value) as v4, fw_capped(5, v.r5, t5.value) as v5
from v
left join segment_top_values t1 on t1.position = 1 and t1.value = v.r1
left join segment_top_values t2 on t2.position = 2 and t2.value = v.r2
left join segment_top_values t3 on t3.position = 3 and t3.value = v.r3
left join segment_top_values t4 on t4.position = 4 and t4.value = v.r4
left join segment_top_values t5 on t5.position = 5 and t5.value = v.r5;

-- vote_segment_cube rows for the votes cast in [from_ts, until_ts) (null: open), every period of one granularity
-- `part` ('day', 'week' or 'month'; UTC; date_trunc('week') is the ISO week's Monday); one granularity at a time keeps
-- the aggregation's memory to one copy of the votes. Exact for every period whose votes all lie in the interval.
--
-- Distinct conversations and voters per period cannot be summed over tuples when one conversation (or voter) has
-- votes of several value tuples in a period. So each conversation and voter is counted where it is single: a
-- tuple row (multi_kind null) counts in `conversations`/`voters` those whose votes of the period all have that tuple;
-- one whose votes have several tuples gets instead one row per tuple with multi_kind 'conversation' or 'voter' and
-- its id in multi_id (zero counts). Any filter and grouping over the values then counts exactly:
--   sum(conversations) + count(distinct multi_id) filter (where multi_kind = 'conversation')
-- since a single conversation falls in exactly one tuple, and a multi one is counted once per group it touches.
--
-- A row is thus a sum of contributions: each conversation's (its votes' up, down and anonymous_votes, its single
-- count or its multi rows) and each voter's (its single count or multi rows); the vote sums are on the conversation
-- side only. `src` (see fw_capped_votes) and the two sides (conversation_side, voter_side: false leaves that side's
-- rows out) let incremental/vote_segment_cube.sql compute the contribution of just some conversations or voters.
create or replace temp macro fw_segment_cube(from_ts, until_ts, part, src := 'votes', conversation_side := true,
                                             voter_side := true) as table
with votes_by_period as (
  select part as granularity, date_trunc(part, c.day)::date as period, c.*
  from fw_capped_votes(from_ts, until_ts, src := src) c
),
per_conversation as (
  select
    granularity, period, conversation_id, v1, v2, v3, v4, v5,
    count(*) filter (where vote = 'up') as up, count(*) filter (where vote = 'down') as down,
    count(*) filter (where voter is null) as anonymous_votes,
    count(*) over (partition by granularity, period, conversation_id) as tuples
  from votes_by_period
  group by granularity, period, conversation_id, v1, v2, v3, v4, v5
),
per_voter as (
  select
    granularity, period, voter, v1, v2, v3, v4, v5,
    count(*) over (partition by granularity, period, voter) as tuples
  from votes_by_period
  where voter is not null
  group by granularity, period, voter, v1, v2, v3, v4, v5
),
counted as (
  select granularity, period, v1, v2, v3, v4, v5, up, down, anonymous_votes,
         (tuples = 1)::integer as conversations, 0 as voters, null as multi_kind, null as multi_id
  from per_conversation where conversation_side
  union all
  select granularity, period, v1, v2, v3, v4, v5, 0, 0, 0, 0, (tuples = 1)::integer, null, null
  from per_voter where voter_side
  union all
  select granularity, period, v1, v2, v3, v4, v5, 0, 0, 0, 0, 0, 'conversation', conversation_id
  from per_conversation where conversation_side and tuples > 1
  union all
  select granularity, period, v1, v2, v3, v4, v5, 0, 0, 0, 0, 0, 'voter', voter
  from per_voter where voter_side and tuples > 1
)
select
  granularity::varchar as granularity, period, v1, v2, v3, v4, v5,
  sum(up)::bigint as up, sum(down)::bigint as down, sum(anonymous_votes)::bigint as anonymous_votes,
  sum(conversations)::bigint as conversations, sum(voters)::bigint as voters,
  multi_kind::varchar as multi_kind, multi_id::varchar as multi_id
from counted
group by granularity, period, v1, v2, v3, v4, v5, multi_kind, multi_id;

