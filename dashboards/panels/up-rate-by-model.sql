-- title: Up-rate by model over the range
-- page: votes
-- chart: bars
-- x: model
-- y: up_rate
-- description: Every vote cast in the range, by the model named in its metadata ((none) without one).
select coalesce(json_extract_string(metadata, '$.model'), '(none)') as model,
       round(count(*) filter (where vote = 'up') / count(*), 3) as up_rate,
       count(*) as votes
from votes
where created_at >= {{from}} and created_at < {{to}} + interval 1 day
group by all
order by votes desc
limit 20
