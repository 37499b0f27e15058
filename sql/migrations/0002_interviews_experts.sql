-- Up Migration

-- Interview feedback and expert review with FAQ promotion (docs/CONTRACT.md "The data and its rules").
-- Every table follows the votes model of 0001: primary key `id` (the tombstone trigger records old.id), created_at
-- and updated_at, a txid xid8 stamp with an index (the export's watermark), fw_touch() before update and
-- fw_tombstone() after delete. Every rule the API checks is also a constraint here, so a row written around the API
-- is refused by the database alone.

-- A JSONB array of at most max_items non-empty strings of at most max_len characters (knowledge_gaps,
-- learning_recommendations). CHECK constraints cannot hold subqueries, a function may; it is immutable because its
-- result depends on its arguments only.
create function fw_is_text_list(items jsonb, max_items integer, max_len integer) returns boolean
language sql immutable parallel safe as $$
  select case
    when items is null then true
    when jsonb_typeof(items) <> 'array' then false
    when jsonb_array_length(items) > max_items then false
    else coalesce(
      (select bool_and(jsonb_typeof(e) = 'string' and char_length(e #>> '{}') between 1 and max_len)
         from jsonb_array_elements(items) as e),
      true)
  end
$$;

-- A one-dimensional text[] of at most max_items non-null, non-empty strings of at most max_len characters.
create function fw_is_short_text_array(items text[], max_items integer, max_len integer) returns boolean
language sql immutable parallel safe as $$
  select items is null or (
    coalesce(array_ndims(items), 1) = 1
    and cardinality(items) <= max_items
    and coalesce((select bool_and(e is not null and char_length(e) between 1 and max_len) from unnest(items) as e), true))
$$;

-- 2. Interviews ---------------------------------------------------------------------------------------------------

create table interview_sessions (
  id uuid primary key default gen_random_uuid(),
  external_ref text unique check (char_length(external_ref) between 1 and 200),
  title text check (char_length(title) between 1 and 500),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  txid xid8 not null default pg_current_xact_id()
);
create index interview_sessions_created_at_idx on interview_sessions (created_at);
create index interview_sessions_txid_idx on interview_sessions (txid);
create trigger interview_sessions_touch before update on interview_sessions
  for each row execute function fw_touch();
create trigger interview_sessions_tombstone after delete on interview_sessions
  for each row execute function fw_tombstone();

-- At most one feedback per session (unique session_id); deleting a session deletes its feedback.
create table interview_feedbacks (
  id uuid primary key default gen_random_uuid(),
  session_id uuid not null unique references interview_sessions (id) on delete cascade,
  technical_accuracy_score integer not null check (technical_accuracy_score between 0 and 100),
  communication_clarity_score integer not null check (communication_clarity_score between 0 and 100),
  problem_solving_score integer not null check (problem_solving_score between 0 and 100),
  relevance_score integer not null check (relevance_score between 0 and 100),
  overall_score integer not null check (overall_score between 0 and 100),
  technical_feedback text not null check (char_length(technical_feedback) between 1 and 20000),
  communication_feedback text not null check (char_length(communication_feedback) between 1 and 20000),
  problem_solving_feedback text not null check (char_length(problem_solving_feedback) between 1 and 20000),
  relevance_feedback text not null check (char_length(relevance_feedback) between 1 and 20000),
  overall_comments text check (char_length(overall_comments) between 1 and 20000),
  knowledge_gaps jsonb not null default '[]'
    check (jsonb_typeof(knowledge_gaps) = 'array' and fw_is_text_list(knowledge_gaps, 100, 500)),
  learning_recommendations jsonb not null default '[]'
    check (jsonb_typeof(learning_recommendations) = 'array' and fw_is_text_list(learning_recommendations, 100, 500)),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  txid xid8 not null default pg_current_xact_id()
);
create index interview_feedbacks_created_at_idx on interview_feedbacks (created_at);
create index interview_feedbacks_overall_score_idx on interview_feedbacks (overall_score);
create index interview_feedbacks_txid_idx on interview_feedbacks (txid);
create trigger interview_feedbacks_touch before update on interview_feedbacks
  for each row execute function fw_touch();
create trigger interview_feedbacks_tombstone after delete on interview_feedbacks
  for each row execute function fw_tombstone();

-- 3. Expert review ------------------------------------------------------------------------------------------------

create table expert_profiles (
  id uuid primary key default gen_random_uuid(),
  user_ref text not null unique check (char_length(user_ref) between 1 and 200),
  credential_type text not null check (credential_type in (
    'dottore_commercialista', 'revisore_legale', 'consulente_del_lavoro', 'avvocato', 'caf_operator', 'other')),
  registration_number text check (char_length(registration_number) between 1 and 100),
  trust_score numeric not null default 0.5 check (trust_score between 0 and 1),
  is_active boolean not null default true,
  specializations text[] not null default '{}' check (fw_is_short_text_array(specializations, 50, 100)),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  txid xid8 not null default pg_current_xact_id()
);
-- One registration number per register (a professional order's number is unique within it).
create unique index expert_profiles_registration_idx on expert_profiles (credential_type, registration_number)
  where registration_number is not null;
create index expert_profiles_specializations_idx on expert_profiles using gin (specializations);
create index expert_profiles_created_at_idx on expert_profiles (created_at);
create index expert_profiles_txid_idx on expert_profiles (txid);
create trigger expert_profiles_touch before update on expert_profiles
  for each row execute function fw_touch();
create trigger expert_profiles_tombstone after delete on expert_profiles
  for each row execute function fw_tombstone();

create table expert_feedback (
  id uuid primary key default gen_random_uuid(),
  expert_id uuid not null references expert_profiles (id),
  query_text text not null check (char_length(query_text) between 1 and 20000),
  original_answer text not null check (char_length(original_answer) between 1 and 20000),
  feedback_type text not null check (feedback_type in ('correct', 'incomplete', 'incorrect')),
  category text check (category in (
    'normativa_obsoleta', 'interpretazione_errata', 'caso_mancante', 'calcolo_sbagliato', 'troppo_generico')),
  improved_answer text check (char_length(improved_answer) between 1 and 20000),
  confidence_score numeric not null check (confidence_score between 0 and 1),
  time_spent_seconds integer not null check (time_spent_seconds >= 0),
  -- The FAQ entry made from this feedback (promotion, or an approved candidate); one FAQ per feedback.
  -- Its foreign key is added below, once faq_entries exists.
  generated_faq_id uuid unique,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  txid xid8 not null default pg_current_xact_id(),
  -- A wrong answer says how it is wrong; a correct one needs no category.
  constraint expert_feedback_category_required check (feedback_type = 'correct' or category is not null),
  -- The target of the (feedback id, feedback type) foreign keys below, which let the database check that a
  -- promoted FAQ comes from correct feedback and a candidate from incomplete or incorrect feedback.
  constraint expert_feedback_id_type_key unique (id, feedback_type)
);
create index expert_feedback_expert_idx on expert_feedback (expert_id, created_at);
create index expert_feedback_type_idx on expert_feedback (feedback_type, created_at);
create index expert_feedback_category_idx on expert_feedback (category, created_at);
create index expert_feedback_created_at_idx on expert_feedback (created_at);
create index expert_feedback_txid_idx on expert_feedback (txid);
create trigger expert_feedback_touch before update on expert_feedback
  for each row execute function fw_touch();
create trigger expert_feedback_tombstone after delete on expert_feedback
  for each row execute function fw_tombstone();

-- origin: 'promoted' (POST /expert-feedback/{id}/promote, from correct feedback) or 'candidate' (an approved FAQ
-- candidate, from incomplete or incorrect feedback). Deleting the source feedback keeps the FAQ.
create table faq_entries (
  id uuid primary key default gen_random_uuid(),
  question text not null check (char_length(question) between 1 and 20000),
  answer text not null check (char_length(answer) between 1 and 20000),
  category text check (category in (
    'normativa_obsoleta', 'interpretazione_errata', 'caso_mancante', 'calcolo_sbagliato', 'troppo_generico')),
  origin text not null check (origin in ('promoted', 'candidate')),
  source_feedback_id uuid unique,
  source_feedback_type text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  txid xid8 not null default pg_current_xact_id(),
  constraint faq_entries_source_fkey foreign key (source_feedback_id, source_feedback_type)
    references expert_feedback (id, feedback_type) on delete set null,
  constraint faq_entries_source_pair check ((source_feedback_id is null) = (source_feedback_type is null)),
  constraint faq_entries_origin_matches_type
    check (source_feedback_type is null or (origin = 'promoted') = (source_feedback_type = 'correct'))
);
create index faq_entries_category_idx on faq_entries (category, created_at);
create index faq_entries_created_at_idx on faq_entries (created_at);
create index faq_entries_txid_idx on faq_entries (txid);
create trigger faq_entries_touch before update on faq_entries
  for each row execute function fw_touch();
create trigger faq_entries_tombstone after delete on faq_entries
  for each row execute function fw_tombstone();

-- docs/CONTRACT.md "Expert review of AI answers": deleting an FAQ keeps the feedback and nulls generated_faq_id.
alter table expert_feedback add constraint expert_feedback_generated_faq_id_fkey
  foreign key (generated_faq_id) references faq_entries (id) on delete set null;

-- One candidate per incomplete/incorrect feedback that has an improved answer. Auto-approved (auto_approved, with
-- the trust score that decided it) or pending until an admin approves or rejects it.
create table expert_faq_candidates (
  id uuid primary key default gen_random_uuid(),
  feedback_id uuid not null unique,
  feedback_type text not null check (feedback_type in ('incomplete', 'incorrect')),
  question text not null check (char_length(question) between 1 and 20000),
  answer text not null check (char_length(answer) between 1 and 20000),
  category text check (category in (
    'normativa_obsoleta', 'interpretazione_errata', 'caso_mancante', 'calcolo_sbagliato', 'troppo_generico')),
  expert_trust_score numeric not null check (expert_trust_score between 0 and 1),
  status text not null default 'pending' check (status in ('pending', 'approved', 'rejected')),
  auto_approved boolean not null default false,
  faq_entry_id uuid references faq_entries (id) on delete set null,
  decided_at timestamptz,
  decided_by text check (char_length(decided_by) between 1 and 100),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  txid xid8 not null default pg_current_xact_id(),
  constraint expert_faq_candidates_feedback_fkey foreign key (feedback_id, feedback_type)
    references expert_feedback (id, feedback_type) on delete cascade,
  constraint expert_faq_candidates_decided check ((status = 'pending') = (decided_at is null)),
  constraint expert_faq_candidates_auto check (not auto_approved or status = 'approved'),
  constraint expert_faq_candidates_faq_if_approved check (status = 'approved' or faq_entry_id is null)
);
create index expert_faq_candidates_status_idx on expert_faq_candidates (status, created_at);
create index expert_faq_candidates_faq_entry_idx on expert_faq_candidates (faq_entry_id);
create index expert_faq_candidates_created_at_idx on expert_faq_candidates (created_at);
create index expert_faq_candidates_txid_idx on expert_faq_candidates (txid);
create trigger expert_faq_candidates_touch before update on expert_faq_candidates
  for each row execute function fw_touch();
create trigger expert_faq_candidates_tombstone after delete on expert_faq_candidates
  for each row execute function fw_tombstone();

-- Down Migration
delete from tombstones where table_name in (
  'expert_faq_candidates', 'faq_entries', 'expert_feedback', 'expert_profiles', 'interview_feedbacks',
  'interview_sessions');
drop table expert_faq_candidates;
alter table expert_feedback drop constraint expert_feedback_generated_faq_id_fkey;
drop table faq_entries;
drop table expert_feedback;
drop table expert_profiles;
drop table interview_feedbacks;
drop table interview_sessions;
drop function fw_is_short_text_array(text[], integer, integer);
drop function fw_is_text_list(jsonb, integer, integer);
