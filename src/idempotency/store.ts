import { createHash } from 'node:crypto';
import { withOwnTransaction, type Pool, type PoolClient } from '../db/pool.ts';
import { Conflict, Unprocessable } from '../errors.ts';

/** What a write returns and, under an Idempotency-Key, what is stored and replayed. */
export interface Reply {
  readonly status: number;
  readonly body: unknown;
}

export interface IdempotencyClaim {
  readonly apiKeyId: string;
  readonly key: string;
  /** sha256 of method, path and the canonical body: "same request" means the same fingerprint. */
  readonly fingerprint: string;
}

/** Another request holds the key's claim right now (409). */
export function keyInFlight(): Conflict {
  return new Conflict('A request with this Idempotency-Key is still being processed; retry after it completes.');
}

/** The key was stored with another request's fingerprint (422). */
export function keyReused(): Unprocessable {
  return new Unprocessable(
    'This Idempotency-Key was already used with a different request; use a new key for a new request.',
  );
}

/** Keys are honoured for 24 hours (docs/decisions/0005). */
export const IDEMPOTENCY_TTL_HOURS = 24;

/** JSON with object keys sorted, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same request. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function fingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${path}\n${canonicalJson(body)}`)
    .digest('hex');
}

/** A signed 64-bit advisory lock id for (api key, idempotency key), as a SQL literal. */
export function lockId(claim: IdempotencyClaim): string {
  return createHash('sha256')
    .update(`idempotency:${claim.apiKeyId}:${claim.key}`)
    .digest()
    .readBigInt64BE(0)
    .toString();
}

/**
 * Runs a write under an Idempotency-Key, following the Stripe idempotency design: the key is claimed in the same
 * transaction as the write, so a committed write always has its stored reply and a rolled-back one leaves no key.
 * - A transaction-scoped advisory lock on the key makes a concurrent duplicate answer 409 at once instead of waiting.
 * - A stored reply under 24 h old with the same fingerprint is replayed and nothing is written; with another
 *   fingerprint the request is 422.
 */
export async function runIdempotent(
  pool: Pool,
  claim: IdempotencyClaim,
  write: (client: PoolClient) => Promise<Reply>,
): Promise<Reply & { replayed: boolean }> {
  return withOwnTransaction(pool, async (client) => {
    // Round trips are the cost of this path, so the claim is sent as one simple-query batch: BEGIN, the
    // transaction-scoped advisory lock (a concurrent duplicate gets 409 at once instead of waiting), and the lookup
    // of a stored reply. Each statement of a batch takes its own snapshot (read committed), so the lookup sees a reply
    // committed by whoever held the lock before us. Values are escaped by the driver (escapeLiteral); the lock id is
    // derived here, never taken from input.
    const key = `api_key_id = ${client.escapeLiteral(claim.apiKeyId)}::uuid and key = ${client.escapeLiteral(claim.key)}`;
    const results = (await client.query(
      `begin;
       select pg_try_advisory_xact_lock(${lockId(claim)}) as locked;
       select fingerprint, status, response,
              created_at > now() - make_interval(hours => ${IDEMPOTENCY_TTL_HOURS}) as fresh
         from idempotency_keys where ${key}`,
    )) as unknown as { rows: Record<string, unknown>[] }[];
    const locked = results[1]?.rows[0]?.locked === true;
    const previous = results[2]?.rows[0] as
      { fingerprint: string; status: number; response: unknown; fresh: boolean } | undefined;
    if (!locked) {
      throw keyInFlight();
    }
    if (previous?.fresh) {
      if (previous.fingerprint !== claim.fingerprint) {
        throw keyReused();
      }
      await client.query('commit');
      return { status: previous.status, body: previous.response, replayed: true };
    }
    if (previous) await client.query(`delete from idempotency_keys where ${key}`);
    const reply = await write(client);
    // The reply is stored and the transaction committed in one more round trip.
    await client.query(
      `insert into idempotency_keys (api_key_id, key, fingerprint, status, response)
       values (${client.escapeLiteral(claim.apiKeyId)}::uuid, ${client.escapeLiteral(claim.key)},
               ${client.escapeLiteral(claim.fingerprint)}, ${Math.trunc(reply.status)},
               ${client.escapeLiteral(JSON.stringify(reply.body ?? null))}::jsonb);
       commit`,
    );
    return { ...reply, replayed: false };
  });
}
