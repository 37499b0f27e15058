import { withTransaction, type Pool, type PoolClient } from '../../db/pool.ts';

/**
 * Warehouses that have not published for this long no longer hold tombstones back: if one comes back, its watermark
 * is below the horizon and its next export is full (see sql/migrations/0005_tombstone_horizon.sql).
 */
export const TOMBSTONE_RETENTION_DAYS = 30;

export interface PruneResult {
  /** Tombstones deleted. */
  readonly deleted: number;
  /** The new horizon (xid8, decimal text), or null when no warehouse has published recently (nothing pruned). */
  readonly prunedBelow: string | null;
}

/**
 * Deletes the tombstones below the watermark of every warehouse that published in the last TOMBSTONE_RETENTION_DAYS
 * (export_state), and raises the horizon to that watermark in the same transaction. Never lowers the horizon.
 */
export async function pruneTombstones(pool: Pool, retentionDays = TOMBSTONE_RETENTION_DAYS): Promise<PruneResult> {
  return withTransaction(pool, async (client) => {
    // One prune at a time; an export reading tombstones is unaffected (its snapshot still sees them).
    await client.query(`select pg_advisory_xact_lock(hashtext('feedback-warehouse:prune-tombstones'))`);
    const { rows } = await client.query<{ horizon: string | null }>(
      `select min(watermark)::text as horizon from export_state
        where updated_at > now() - make_interval(days => $1::int)`,
      [retentionDays],
    );
    const horizon = rows[0]?.horizon ?? null;
    if (horizon === null) return { deleted: 0, prunedBelow: null };
    const { rowCount } = await client.query('delete from tombstones where txid < $1::xid8', [horizon]);
    await client.query(
      `insert into tombstone_horizon (pruned_below) values ($1::xid8)
       on conflict (singleton) do update
          set pruned_below = greatest(tombstone_horizon.pruned_below, excluded.pruned_below), pruned_at = now()`,
      [horizon],
    );
    return { deleted: rowCount ?? 0, prunedBelow: horizon };
  });
}

/** The horizon below which tombstones were pruned (null: never), read in the export's snapshot. */
export async function tombstoneHorizon(client: PoolClient): Promise<string | null> {
  // A database not yet migrated this far has never pruned (and an error would abort the export's transaction).
  const exists = await client.query<{ ok: boolean }>(`select to_regclass('tombstone_horizon') is not null as ok`);
  if (!exists.rows[0]?.ok) return null;
  const { rows } = await client.query<{ pruned_below: string }>(
    'select pruned_below::text as pruned_below from tombstone_horizon',
  );
  return rows[0]?.pruned_below ?? null;
}
