-- title: Conversations with a vote per day
-- page: votes
-- chart: line
-- x: day
-- y: conversations
select day, conversations
from vote_daily
where day between {{from}} and {{to}}
order by day
