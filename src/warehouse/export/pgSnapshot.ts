import type { Pool, PoolClient } from '../../db/pool.ts';
import type { TablePlan } from './columns.ts';
import { ident, xid8 } from '../shared/sqlText.ts';

/** What the export's Postgres snapshot is. */
export interface SourceSnapshot {
  /** pg_snapshot_xmin of the snapshot: the next watermark (xid8 as decimal text). */
  readonly xmin: string;
  /** The whole snapshot (`pg_snapshot` text `xmin:xmax:xip,...`): the next export reads what it could not see. */
  readonly snapshot: string;
  /** statement_timestamp() of the statement that took the snapshot: the time the data reflects. */
  readonly asOf: Date;
  /** Identifies the database inside its cluster (`name/oid`): a warehouse follows one database. */
  readonly database: string;
  /** Age in seconds of the oldest open write transaction (it holds the watermark back); null when none is seen. */
  readonly lagSeconds: number | null;
}

/**
 * The cluster's identity (pg_control_system().system_identifier), which changes when the warehouse's source is
 * restored from a base backup onto a new cluster, or pointed at another one: then xids mean something else and the
 * export must be full. Null when it cannot be read (PGlite builds or roles without access); the database oid and the
 * watermark check still catch most such changes.
 */
export async function readSystemIdentifier(pool: Pool): Promise<string | null> {
  try {
    const { rows } = await pool.query<{ id: string }>('select system_identifier::text as id from pg_control_system()');
    return rows[0]?.id ?? null;
  } catch {
    return null;
  }
}

/**
 * Prepares the export's transaction (REPEATABLE READ READ ONLY, opened by the caller) and takes its snapshot: every
 * later statement in it sees exactly this snapshot. Session settings make the CSV text unambiguous for DuckDB:
 * timestamps in UTC ISO form, floats with round-trip precision.
 */
export async function takeSnapshot(client: PoolClient): Promise<SourceSnapshot> {
  await client.query(`set local timezone = 'UTC'`);
  await client.query(`set local datestyle = 'ISO, YMD'`);
  await client.query(`set local extra_float_digits = 3`);
  await client.query(`set local client_encoding = 'UTF8'`);
  // The snapshot is taken by this statement (the first that needs one), so as_of and xmin describe the same instant.
  const { rows } = await client.query<{ xmin: string; snapshot: string; as_of: Date; database: string }>(
    `select pg_snapshot_xmin(pg_current_snapshot())::text as xmin, pg_current_snapshot()::text as snapshot,
            statement_timestamp() as as_of,
            current_database() || '/' || (select oid::text from pg_database where datname = current_database()) as database`,
  );
  const { xmin, snapshot, as_of: asOf, database } = rows[0]!;
  // Transactions with an xid hold the watermark back; pg_stat_activity shows other roles' xact_start only to
  // privileged roles (pg_read_all_stats), so the lag may be null where it cannot be seen.
  const lag = await client.query<{ lag: number | null }>(
    `select extract(epoch from (statement_timestamp() - min(xact_start)))::float8 as lag
       from pg_stat_activity where backend_xid is not null and pid <> pg_backend_pid()`,
  );
  const lagSeconds = lag.rows[0]?.lag ?? null;
  return { xmin, snapshot, asOf, database, lagSeconds: lagSeconds === null ? null : Math.max(0, lagSeconds) };
}

/** Where an incremental export starts: the previous export's watermark and, when recorded, its whole snapshot. */
export interface ChangeWindow {
  readonly watermark: string;
  readonly snapshot: string | null;
}

/**
 * The rows written (or deleted) since the previous export: by a transaction at or after its watermark (an index
 * range on txid) that its snapshot could not see. Without the snapshot test every row written after the oldest
 * transaction open anywhere in the cluster at that time would be read again (an idempotent but needless upsert);
 * with it, a busy cluster's long transactions cost nothing. A transaction still open now is invisible to this
 * export's own snapshot too, and is read once it has committed: nothing is missed.
 */
function changedSince(column: string, since: ChangeWindow): string {
  const range = `${column} >= ${xid8(since.watermark)}`;
  if (since.snapshot === null) return range;
  return `${range} and not pg_visible_in_snapshot(${column}, ${pgSnapshot(since.snapshot)})`;
}

/** A pg_snapshot as a SQL literal, refusing anything but `xmin:xmax:xip,...` digits. */
function pgSnapshot(value: string): string {
  if (!/^\d{1,20}:\d{1,20}:(\d{1,20}(,\d{1,20})*)?$/.test(value)) throw new Error(`not a pg_snapshot: ${value}`);
  return `'${value}'::pg_snapshot`;
}

/** The rows of a table to copy: all of them (full), or those changed since the previous export. */
export function rowsCopySql(plan: TablePlan, since: ChangeWindow | null): string {
  const select = plan.columns.map((c) => c.pgExpr).join(', ');
  const where = since === null ? '' : ` where ${changedSince(ident('txid'), since)}`;
  return `copy (select ${select} from ${ident(plan.table)}${where}) to stdout with (format csv)`;
}

/**
 * Ids deleted since the previous export that are not in the snapshot (a delete then re-insert of the same key keeps
 * the row). Each id once.
 */
export function deletesCopySql(plan: TablePlan, since: ChangeWindow): string {
  const pk = plan.primaryKey!;
  return `copy (select distinct tb.row_id from tombstones tb
                 where tb.table_name = '${plan.table.replace(/'/g, "''")}' and ${changedSince('tb.txid', since)}
                   and not exists (select 1 from ${ident(plan.table)} t where t.${ident(pk.name)} = tb.row_id::${pk.pgType}))
          to stdout with (format csv)`;
}

/** Whether a table has rows written, and rows deleted, since the previous export (index lookups on txid). */
export async function changesSince(
  client: PoolClient,
  plan: TablePlan,
  since: ChangeWindow,
): Promise<{ rows: boolean; deletes: boolean }> {
  const { rows } = await client.query<{ rows: boolean; deletes: boolean }>({
    text: `select exists (select 1 from ${ident(plan.table)} where ${changedSince(ident('txid'), since)}) as rows,
                  exists (select 1 from tombstones where table_name = $1::text and ${changedSince('txid', since)}) as deletes`,
    values: [plan.table],
  });
  return rows[0]!;
}
