-- Up Migration

-- Shared machinery for every exported table (docs/decisions/0001):
--  * updated_at is kept by a trigger;
--  * txid is the xid8 of the transaction that last wrote the row, re-stamped on update. The warehouse export reads
--    rows by txid window [previous watermark, xmin of its snapshot), so a row committed late by a long transaction
--    is still picked up by the next export (a timestamp or serial watermark would skip it);
--  * deletes leave a tombstone (table, primary key, txid) so erasures reach the warehouse at the next export.

create function fw_touch() returns trigger
language plpgsql as $$
begin
  new.updated_at := now();
  new.txid := pg_current_xact_id();
  return new;
end;
$$;

-- Tables that are not exported keep updated_at only.
create function fw_touch_plain() returns trigger
language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end;
$$;

create table tombstones (
  id bigint generated always as identity primary key,
  table_name text not null,
  row_id text not null,
  txid xid8 not null default pg_current_xact_id(),
  deleted_at timestamptz not null default now()
);
create index tombstones_txid_idx on tombstones (txid);

create function fw_tombstone() returns trigger
language plpgsql as $$
begin
  insert into tombstones (table_name, row_id) values (tg_table_name, old.id::text);
  return old;
end;
$$;

create table api_keys (
  id uuid primary key default gen_random_uuid(),
  name text not null check (char_length(name) between 1 and 100),
  key_hash text not null unique,
  scopes text[] not null check (scopes <@ array['ingest', 'read', 'query', 'admin']::text[] and cardinality(scopes) > 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  revoked_at timestamptz
);
create trigger api_keys_touch before update on api_keys for each row execute function fw_touch_plain();

create table idempotency_keys (
  api_key_id uuid not null references api_keys (id) on delete cascade,
  key text not null check (char_length(key) between 1 and 255),
  fingerprint text not null,
  status integer not null,
  response jsonb not null,
  created_at timestamptz not null default now(),
  primary key (api_key_id, key)
);
create index idempotency_keys_created_at_idx on idempotency_keys (created_at);

create table votes (
  id bigint generated always as identity primary key,
  conversation_id text not null check (char_length(conversation_id) between 1 and 200),
  vote text not null check (vote in ('up', 'down')),
  query text check (char_length(query) <= 20000),
  response text check (char_length(response) <= 20000),
  reasons text[] not null default '{}' check (cardinality(reasons) <= 50),
  comment text check (char_length(comment) <= 2000),
  expert_ids text[] not null default '{}' check (cardinality(expert_ids) <= 100),
  email_hash text check (email_hash ~ '^[0-9a-f]{64}$'),
  -- The API allows 8 KB of compact JSON; Postgres prints jsonb with a space after every ':' and ',', so the safety net
  -- here is twice that, measured on the jsonb text.
  metadata jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object' and octet_length(metadata::text) <= 16384),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  txid xid8 not null default pg_current_xact_id()
);
create index votes_conversation_idx on votes (conversation_id, created_at desc, id desc);
create index votes_created_at_idx on votes (created_at);
create index votes_txid_idx on votes (txid);
create trigger votes_touch before update on votes for each row execute function fw_touch();
create trigger votes_tombstone after delete on votes for each row execute function fw_tombstone();

-- Down Migration
drop table votes;
drop table idempotency_keys;
drop table api_keys;
drop function fw_touch_plain();
drop function fw_tombstone();
drop table tombstones;
drop function fw_touch();
