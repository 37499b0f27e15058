-- title: Interviews with feedback per ISO week
-- page: interviews
-- chart: line
-- x: week
-- y: interviews
select date_trunc('week', created_at)::date as week, count(*) as interviews
from interview_feedbacks
where created_at >= {{from}} and created_at < {{to}} + interval 1 day
group by all
order by week
