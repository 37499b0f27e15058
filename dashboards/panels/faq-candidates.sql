-- title: FAQ candidates by status
-- page: experts
-- chart: table
-- description: Candidates made from incomplete or incorrect verdicts with an improved answer, whatever their date.
select status, count(*) as candidates, min(created_at)::date as first, max(created_at)::date as last
from expert_faq_candidates
group by status
order by candidates desc
