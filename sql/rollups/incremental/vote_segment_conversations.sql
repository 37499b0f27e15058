-- vote_segment_conversations, incremental (full version: ../16_vote_segment_conversations.sql, the same select): the
-- days in fw_work.votes_changed are deleted and recomputed from the merged votes cast on just those days; every day
-- when the top values changed. The variables are set by incremental/vote_segment_cube.sql, which runs before: the
-- flag fw_segment_changed (unknown, e.g. after its out-of-memory retry, counts as changed) and the span of the
-- affected days (null: open, when everything is recomputed), which only lets the scan skip row groups.
--
-- Why this is exact: a row is a function of the votes cast on its UTC day alone (capped by the top values), and the
-- day of every vote version that entered or left (old and new) is in fw_work.votes_changed.
delete from vote_segment_conversations
where coalesce(getvariable('fw_segment_changed'), true) or day in (select day from fw_work.votes_changed);
insert into vote_segment_conversations
select distinct day, conversation_id, v1, v2, v3, v4, v5
from fw_capped_votes(getvariable('fw_segment_days_from'), getvariable('fw_segment_days_until'))
where coalesce(getvariable('fw_segment_changed'), true) or day in (select day from fw_work.votes_changed);
