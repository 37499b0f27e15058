-- Up Migration

-- API key management (README "Key rotation"): a key is addressed by its name (`keys revoke NAME`,
-- POST /api/v1/keys/{name}/revoke), so a name is unique among active keys. Revoked keys keep their row and name
-- (query_audit and decided_by name them) and may share a name with each other and with the active key that replaced
-- them. Before this migration names were free, so an older duplicate among active keys keeps working under its name
-- with the first eight characters of its id appended; the oldest key keeps the plain name.
update api_keys k
   set name = left(k.name, 91) || '-' || left(k.id::text, 8)
 where k.revoked_at is null
   and exists (
     select 1 from api_keys o
      where o.name = k.name and o.revoked_at is null
        and (o.created_at, o.id) < (k.created_at, k.id)
   );
create unique index api_keys_active_name_idx on api_keys (name) where revoked_at is null;

-- When a key last authenticated a request, to the cache TTL (src/auth/keys.ts ApiKeyStore writes it at most once a
-- minute per key, when a server looks the key up), so operators can see which keys are still in use before revoking.
alter table api_keys add column last_used_at timestamptz;

-- Down Migration
alter table api_keys drop column last_used_at;
drop index api_keys_active_name_idx;
