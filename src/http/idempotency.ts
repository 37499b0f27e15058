import { createHash } from 'node:crypto';
import { withTransaction, type Pool, type PoolClient } from '../db/pool.ts';
import { problems } from './problem.ts';

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

/** Keys are honoured for 24 hours (PRODUCT.md "Idempotency"). */
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
function lockId(claim: IdempotencyClaim): string {
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
  return withTransaction(pool, async (client) => {
    // The lock id is derived here, never taken from input, so it is safe as a literal.
    const lock = await client.query<{ locked: boolean }>(
      `select pg_try_advisory_xact_lock(${lockId(claim)}) as locked`,
    );
    if (!lock.rows[0]?.locked) {
      throw problems.conflict(
        'A request with this Idempotency-Key is still being processed; retry after it completes.',
      );
    }
    // A new statement, so (read committed) it sees a reply committed by a request that held the lock before us.
    const stored = await client.query<{ fingerprint: string; status: number; response: unknown; fresh: boolean }>(
      `select fingerprint, status, response, created_at > now() - make_interval(hours => $3::int) as fresh
         from idempotency_keys where api_key_id = $1::uuid and key = $2::text`,
      [claim.apiKeyId, claim.key, IDEMPOTENCY_TTL_HOURS],
    );
    const previous = stored.rows[0];
    if (previous?.fresh) {
      if (previous.fingerprint !== claim.fingerprint) {
        throw problems.unprocessable(
          'This Idempotency-Key was already used with a different request; use a new key for a new request.',
        );
      }
      return { status: previous.status, body: previous.response, replayed: true };
    }
    if (previous) {
      await client.query('delete from idempotency_keys where api_key_id = $1::uuid and key = $2::text', [
        claim.apiKeyId,
        claim.key,
      ]);
    }
    const reply = await write(client);
    await client.query(
      `insert into idempotency_keys (api_key_id, key, fingerprint, status, response)
       values ($1::uuid, $2::text, $3::text, $4::int, $5::jsonb)`,
      [claim.apiKeyId, claim.key, claim.fingerprint, reply.status, JSON.stringify(reply.body)],
    );
    return { ...reply, replayed: false };
  });
}

/** Deletes replies older than the 24 h window; run by the scheduled maintenance job. */
export async function pruneIdempotencyKeys(pool: Pool): Promise<number> {
  const { rowCount } = await pool.query(
    'delete from idempotency_keys where created_at < now() - make_interval(hours => $1::int)',
    [IDEMPOTENCY_TTL_HOURS],
  );
  return rowCount ?? 0;
}
