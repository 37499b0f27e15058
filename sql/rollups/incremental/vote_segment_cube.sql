-- vote_segment_cube, incremental (full version: ../11_vote_segment_cube.sql, the same macro fw_segment_cube of
-- ../segments.sql), maintained by delta: in proportion to the changed votes, not to the votes of their periods.
-- When the top values changed (the variable fw_segment_changed, set here from fw_work.segment_top_before, the set
-- before this export: rollupMaintenance.ts), every row is recomputed instead, since the capped values of any row may
-- have. The later segment files of the refresh read these variables and fw_work.segment_periods too.
--
-- Why the delta is exact: a cube row of (granularity, period, tuple) is a sum of contributions of conversations and
-- voters (segments.sql, fw_segment_cube): a conversation's is a function of its own votes in the period, a voter's
-- of its own. The affected conversations and voters are those of a changed vote version, old or new
-- (fw_work.votes_changed), and their periods those of its day (fw_work.segment_periods); every other conversation's
-- and voter's votes in every period are unchanged, and so is their contribution. capture_votes.sql kept the old
-- versions of all the votes of the affected conversations and voters in those periods (fw_work.segment_votes_before,
-- over fw_work.segment_span, which covers each affected period whole); their new votes are in votes now. So each
-- affected single row is its old counts minus the old contributions plus the new ones (a row left without votes,
-- up + down = 0, is deleted, as the full version has no row for it), and the multi rows of the affected
-- conversations and voters in the affected periods are replaced by their new ones. The vote sums (up, down,
-- anonymous_votes) are on the conversation side only, so each vote is counted once.
set variable fw_segment_changed = (
  select count(*) > 0 from (
    (select position, value from fw_work.segment_top_before except select position, value from segment_top_values)
    union all
    (select position, value from segment_top_values except select position, value from fw_work.segment_top_before)
  )
);
set variable fw_segment_days_from = case when getvariable('fw_segment_changed') then null else
  (select to_timestamp(epoch(min(day)::timestamp)) from fw_work.votes_changed) end;
set variable fw_segment_days_until = case when getvariable('fw_segment_changed') then null else
  (select to_timestamp(epoch(max(day)::timestamp + interval 1 day)) from fw_work.votes_changed) end;
create or replace table fw_work.segment_periods as
select distinct g.granularity, date_trunc(g.granularity, c.day)::date as period
from fw_work.votes_changed c cross join (values ('day'), ('week'), ('month')) as g(granularity);

-- The top values changed: every row, recomputed one granularity at a time (the memory of one aggregation).
delete from vote_segment_cube where getvariable('fw_segment_changed');
insert into vote_segment_cube
select * from fw_segment_cube(null, null, 'day') where getvariable('fw_segment_changed')
order by coalesce(multi_kind = 'voter', false), period;
insert into vote_segment_cube
select * from fw_segment_cube(null, null, 'week') where getvariable('fw_segment_changed')
order by coalesce(multi_kind = 'voter', false), period;
insert into vote_segment_cube
select * from fw_segment_cube(null, null, 'month') where getvariable('fw_segment_changed')
order by coalesce(multi_kind = 'voter', false), period;

-- Else the delta. The old and new votes of the affected conversations (one side) and voters (the other side).
set variable fw_segment_from = (select from_ts from fw_work.segment_span);
set variable fw_segment_until = (select until_ts from fw_work.segment_span);
create or replace table fw_work.segment_conversations as select distinct conversation_id from fw_work.votes_changed;
create or replace table fw_work.segment_voters as
select distinct voter from fw_work.votes_changed where voter is not null;
create or replace table fw_work.segment_conversation_votes_before as
select * from fw_work.segment_votes_before
where not getvariable('fw_segment_changed')
  and conversation_id in (select conversation_id from fw_work.segment_conversations);
create or replace table fw_work.segment_voter_votes_before as
select * from fw_work.segment_votes_before
where not getvariable('fw_segment_changed') and email_hash in (select voter from fw_work.segment_voters);
create or replace table fw_work.segment_votes_after as
select id, conversation_id, vote, created_at, reasons, email_hash, metadata
from votes
where not getvariable('fw_segment_changed')
  and created_at >= getvariable('fw_segment_from') and created_at < getvariable('fw_segment_until')
  and (conversation_id in (select conversation_id from fw_work.segment_conversations)
       or email_hash in (select voter from fw_work.segment_voters));
create or replace table fw_work.segment_conversation_votes_after as
select * from fw_work.segment_votes_after
where conversation_id in (select conversation_id from fw_work.segment_conversations);
create or replace table fw_work.segment_voter_votes_after as
select * from fw_work.segment_votes_after where email_hash in (select voter from fw_work.segment_voters);

-- Their contributions (sign -1: old, 1: new) to the affected periods of one granularity `part`.
create or replace temp macro fw_segment_contributions(part) as table
select -1 as sign, * from fw_segment_cube(null, null, part, src := 'fw_work.segment_conversation_votes_before',
                                          voter_side := false)
union all
select -1, * from fw_segment_cube(null, null, part, src := 'fw_work.segment_voter_votes_before',
                                  conversation_side := false)
union all
select 1, * from fw_segment_cube(null, null, part, src := 'fw_work.segment_conversation_votes_after',
                                 voter_side := false)
union all
select 1, * from fw_segment_cube(null, null, part, src := 'fw_work.segment_voter_votes_after',
                                 conversation_side := false);
create or replace table fw_work.segment_contributions as
select * from (
  select * from fw_segment_contributions('day')
  union all
  select * from fw_segment_contributions('week')
  union all
  select * from fw_segment_contributions('month')
)
where (granularity, period) in (select (granularity, period) from fw_work.segment_periods);

-- The affected single rows: old counts (0 for a new tuple) plus the summed signed contributions.
create or replace table fw_work.segment_singles as
with delta as (
  select granularity, period, v1, v2, v3, v4, v5,
         sum(sign * up) as up, sum(sign * down) as down, sum(sign * anonymous_votes) as anonymous_votes,
         sum(sign * conversations) as conversations, sum(sign * voters) as voters
  from fw_work.segment_contributions
  where multi_kind is null
  group by granularity, period, v1, v2, v3, v4, v5
)
select
  d.granularity, d.period, d.v1, d.v2, d.v3, d.v4, d.v5,
  (coalesce(c.up, 0) + d.up)::bigint as up, (coalesce(c.down, 0) + d.down)::bigint as down,
  (coalesce(c.anonymous_votes, 0) + d.anonymous_votes)::bigint as anonymous_votes,
  (coalesce(c.conversations, 0) + d.conversations)::bigint as conversations,
  (coalesce(c.voters, 0) + d.voters)::bigint as voters
from delta d
left join vote_segment_cube c
  on c.multi_kind is null and c.granularity = d.granularity and c.period = d.period and c.v1 is not distinct from d.v1
 and c.v2 is not distinct from d.v2 and c.v3 is not distinct from d.v3 and c.v4 is not distinct from d.v4
 and c.v5 is not distinct from d.v5;

delete from vote_segment_cube c using fw_work.segment_singles s
where c.multi_kind is null and c.granularity = s.granularity and c.period = s.period
  and c.v1 is not distinct from s.v1 and c.v2 is not distinct from s.v2 and c.v3 is not distinct from s.v3
  and c.v4 is not distinct from s.v4 and c.v5 is not distinct from s.v5;
delete from vote_segment_cube
where not getvariable('fw_segment_changed')
  and (granularity, period) in (select (granularity, period) from fw_work.segment_periods)
  and ((multi_kind = 'conversation' and multi_id in (select conversation_id from fw_work.segment_conversations))
    or (multi_kind = 'voter' and multi_id in (select voter from fw_work.segment_voters)));
-- Inserted with the voter multi rows last (the stored order the reads rely on: ../11_vote_segment_cube.sql).
insert into vote_segment_cube
select * from (
  select granularity, period, v1, v2, v3, v4, v5, up, down, anonymous_votes, conversations, voters,
         null::varchar as multi_kind, null::varchar as multi_id
  from fw_work.segment_singles
  where up + down > 0
  union all
  select granularity, period, v1, v2, v3, v4, v5, up, down, anonymous_votes, conversations, voters, multi_kind,
         multi_id
  from fw_work.segment_contributions
  where sign = 1 and multi_kind is not null
)
order by coalesce(multi_kind = 'voter', false), period;
