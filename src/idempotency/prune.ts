import type { Pool } from '../db/pool.ts';
import { IDEMPOTENCY_TTL_HOURS } from './store.ts';

/** Deletes replies older than the 24 h window; run by the scheduled maintenance job. */
export async function pruneIdempotencyKeys(pool: Pool): Promise<number> {
  const { rowCount } = await pool.query(
    'delete from idempotency_keys where created_at < now() - make_interval(hours => $1::int)',
    [IDEMPOTENCY_TTL_HOURS],
  );
  return rowCount ?? 0;
}
