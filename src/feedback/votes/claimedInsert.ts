import type { PoolClient } from '../../db/pool.ts';
import { IDEMPOTENCY_TTL_HOURS, lockId, type IdempotencyClaim } from '../../idempotency/store.ts';
import type { ClaimOutcome } from '../../idempotency/groupWriter.ts';
import { VOTE_COLUMNS, VOTE_RETURNING, textArrayLiteral, type VoteRow } from './service.ts';

/**
 * A group of votes under Idempotency-Keys in ONE round trip: claim every key, insert the votes of the requests that
 * may write, store their replies, commit. One simple-query batch of four statements:
 *
 * 1. `begin`.
 * 2. `pg_try_advisory_xact_lock` on every key (never waits: a key locked elsewhere is a request still running, 409).
 *    The numbers of the keys this transaction now holds are kept in a transaction-local setting, `fw.claimed`.
 * 3. One statement that, for the claimed keys only, looks up the stored replies, inserts the votes of those with no
 *    fresh reply (a stale one is replaced), stores their replies, and returns every claim's outcome. It takes its
 *    snapshot after statement 2 has taken the locks, so it sees the reply of any request that held a key before
 *    (which is why the locks are not taken inside it: a statement's snapshot precedes its own lock calls).
 * 4. `commit`.
 *
 * Values are escaped by the driver (escapeLiteral); nothing from input becomes an identifier. Replies are read back
 * from the stored jsonb, so a first answer and every replay are byte for byte the same. Ids follow the input order
 * (an identity column numbers rows in insertion order, and the insert selects in input order), which is how votes
 * are matched to their claims. Every key must appear once (the caller judges repeated keys).
 */
export async function claimAndInsertVotes(
  client: PoolClient,
  items: readonly { claim: IdempotencyClaim; row: VoteRow }[],
): Promise<ClaimOutcome[]> {
  const lit = (v: string | null) => (v === null ? 'null' : client.escapeLiteral(v));
  const locks = items.map(({ claim }, i) => `(${i + 1}, ${lockId(claim)}::bigint)`).join(', ');
  const input = items
    .map(({ claim, row: r }, i) =>
      [
        `${i + 1}`,
        `${lit(claim.apiKeyId)}::uuid`,
        lit(claim.key),
        lit(claim.fingerprint),
        lit(r.conversation_id),
        lit(r.vote),
        `${lit(r.query)}::text`,
        `${lit(r.response)}::text`,
        `${lit(textArrayLiteral(r.reasons))}::text[]`,
        `${lit(r.comment)}::text`,
        `${lit(textArrayLiteral(r.expert_ids))}::text[]`,
        `${lit(r.email_hash)}::text`,
        `${lit(r.metadata)}::jsonb`,
      ].join(', '),
    )
    .map((v) => `(${v})`)
    .join(', ');
  const results = (await client.query(
    `begin;
     select set_config('fw.claimed', coalesce(string_agg(l.n::text, ','), ''), true) as claimed
       from (values ${locks}) as l(n, id) where pg_try_advisory_xact_lock(l.id);
     with input (n, api_key_id, key, fingerprint, ${VOTE_COLUMNS}) as (values ${input}),
     claimed as (
       select * from input where n = any (string_to_array(current_setting('fw.claimed'), ',')::int[])
     ), previous as (
       select c.n, k.fingerprint, k.status, k.response,
              k.created_at > now() - make_interval(hours => ${IDEMPOTENCY_TTL_HOURS}) as fresh
         from claimed c join idempotency_keys k on k.api_key_id = c.api_key_id and k.key = c.key
     ), writers as (
       select c.*, row_number() over (order by c.n) as rn from claimed c
        where not exists (select 1 from previous p where p.n = c.n and p.fresh)
     ), v as (
       insert into votes (${VOTE_COLUMNS})
       select ${VOTE_COLUMNS}
         from writers order by n
       returning ${VOTE_RETURNING}
     ), r as (
       select v.*, row_number() over (order by v.id) as rn from v
     ), k as (
       insert into idempotency_keys (api_key_id, key, fingerprint, status, response)
       select w.api_key_id, w.key, w.fingerprint, 201,
              jsonb_build_object('id', r.id, 'conversation_id', r.conversation_id, 'vote', r.vote,
                                 'created_at', to_char(r.created_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
         from r join writers w on w.rn = r.rn
       on conflict (api_key_id, key) do update
          set fingerprint = excluded.fingerprint, status = excluded.status, response = excluded.response,
              created_at = now()
       returning api_key_id, key, response
     )
     select i.n, c.n is not null as claimed, k.response as written,
            p.fingerprint, p.status, p.response as previous, coalesce(p.fresh, false) as fresh
       from input i
       left join claimed c on c.n = i.n
       left join k on k.api_key_id = i.api_key_id and k.key = i.key
       left join previous p on p.n = i.n
      order by i.n;
     commit`,
  )) as unknown as { rows: Record<string, unknown>[] }[];
  const rows = results[2]!.rows as {
    n: number;
    claimed: boolean;
    written: unknown;
    fingerprint: string | null;
    status: number | null;
    previous: unknown;
    fresh: boolean;
  }[];
  if (rows.length !== items.length) throw new Error(`claimed ${rows.length} outcomes for ${items.length} votes`);
  return rows.map((r) => ({
    locked: r.claimed,
    written: r.written === null ? null : { status: 201, body: r.written },
    previous:
      r.fresh && r.fingerprint !== null
        ? { fingerprint: r.fingerprint, status: r.status!, response: r.previous }
        : null,
  }));
}
