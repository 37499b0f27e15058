import type { DuckDBConnection } from '@duckdb/node-api';
import type { PoolClient } from '../../db/pool.ts';
import { duckCreateTable, type TablePlan } from './columns.ts';
import { copyIntoDuckDB, type RowPipe } from './copyStream.ts';
import type { WarehouseState } from './exportRuns.ts';
import { changesSince, deletesCopySql, rowsCopySql } from './pgSnapshot.ts';
import { ident } from '../shared/sqlText.ts';
import type { ExportMode, ExportOptions } from './exportTypes.ts';

/** An incremental table's staged changes, merged once the Postgres snapshot is released. */
export interface PendingMerge {
  readonly plan: TablePlan;
  readonly stage: string | null;
  readonly gone: string | null;
}

/** Rows in a warehouse table. */
export async function tableCount(conn: DuckDBConnection, table: string): Promise<number> {
  const reader = await conn.runAndReadAll(`select count(*)::varchar as n from ${ident(table)}`);
  return Number(reader.getRowObjects()[0]!.n);
}

export async function tableExists(conn: DuckDBConnection, table: string): Promise<boolean> {
  const reader = await conn.runAndReadAll(
    `select count(*)::int as n from duckdb_tables() where schema_name = 'main' and table_name = $name`,
    { name: table },
  );
  return Number(reader.getRowObjects()[0]!.n) > 0;
}

/** `insert into target (...) select <casts> from <source>`. */
export function loadStatement(plan: TablePlan, target: string): (source: string) => string {
  const names = plan.columns.map((c) => ident(c.name)).join(', ');
  const casts = plan.columns.map((c, i) => `${c.duckExpr(ident(`c${i}`))} as ${ident(c.name)}`).join(', ');
  return (source) => `insert into ${target} (${names}) select ${casts} from ${source}`;
}

const fieldsOf = (plan: TablePlan) => plan.columns.map((_, i) => `c${i}`);

/**
 * Copies one table's changes inside the Postgres snapshot. Full: the table is recreated and loaded directly.
 * Incremental: the changed rows and the deleted ids go to temporary stage tables, merged after the Postgres
 * transaction ends (so it is never idle while DuckDB works).
 */
export async function copyTable(
  client: PoolClient,
  conn: DuckDBConnection,
  plan: TablePlan,
  state: WarehouseState | null,
  pipe: RowPipe,
  options: ExportOptions,
  merges: PendingMerge[],
): Promise<{ mode: ExportMode; copied: number }> {
  const started = Date.now();
  const report = options.onProgress;
  const progress = (phase: 'rows' | 'deletes') =>
    report ? (rows: number) => report({ table: plan.table, phase, rows, elapsedMs: Date.now() - started }) : undefined;
  const incremental =
    state !== null &&
    plan.incremental &&
    state.tableColumns.get(plan.table) === plan.fingerprint &&
    (await tableExists(conn, plan.table));
  if (!incremental) {
    await conn.run(`drop table if exists ${ident(plan.table)}`);
    await conn.run(duckCreateTable(plan));
    const { rows, duckRows } = await copyIntoDuckDB({
      client,
      copySql: rowsCopySql(plan, null),
      duck: conn,
      fields: fieldsOf(plan),
      statement: loadStatement(plan, ident(plan.table)),
      pipe,
      onRows: progress('rows'),
      signal: options.signal,
    });
    if (rows !== duckRows)
      throw new Error(`table "${plan.table}": Postgres sent ${rows} rows, DuckDB loaded ${duckRows}`);
    progress('rows')?.(rows);
    return { mode: 'full', copied: rows };
  }
  const changes = await changesSince(client, plan, state);
  let stage: string | null = null;
  let gone: string | null = null;
  if (changes.rows) {
    stage = ident(`fw_stage_${merges.length}`);
    await conn.run(`create or replace temp table ${stage} as select * from ${ident(plan.table)} limit 0`);
    const { rows, duckRows } = await copyIntoDuckDB({
      client,
      copySql: rowsCopySql(plan, state),
      duck: conn,
      fields: fieldsOf(plan),
      statement: loadStatement(plan, stage),
      pipe,
      onRows: progress('rows'),
      signal: options.signal,
    });
    if (rows !== duckRows)
      throw new Error(`table "${plan.table}": Postgres sent ${rows} rows, DuckDB loaded ${duckRows}`);
  }
  if (changes.deletes) {
    const pk = plan.columns.find((c) => c.name === plan.primaryKey!.name)!;
    gone = ident(`fw_gone_${merges.length}`);
    await conn.run(`create or replace temp table ${gone} (id ${pk.duckType})`);
    await copyIntoDuckDB({
      client,
      copySql: deletesCopySql(plan, state),
      duck: conn,
      fields: ['row_id'],
      statement: (source) => `insert into ${gone} select ${pk.duckExpr(ident('row_id'))} from ${source}`,
      pipe,
      onRows: progress('deletes'),
      signal: options.signal,
    });
  }
  merges.push({ plan, stage, gone });
  return { mode: 'incremental', copied: 0 };
}

/**
 * Upsert by primary key (delete the old versions, insert the new), then apply the deletes. `replaced` counts the old
 * versions the upsert removed: like the deleted rows, their bytes stay in the file until it is rebuilt (compaction.ts).
 */
export async function applyMerge(
  conn: DuckDBConnection,
  merge: PendingMerge,
): Promise<{ changed: number; deleted: number; replaced: number }> {
  const table = ident(merge.plan.table);
  const pk = ident(merge.plan.primaryKey!.name);
  let changed = 0;
  let deleted = 0;
  let replaced = 0;
  if (merge.gone) {
    const result = await conn.run(`delete from ${table} where ${pk} in (select id from ${merge.gone})`);
    deleted = Number(result.rowsChanged);
    await conn.run(`drop table ${merge.gone}`);
  }
  if (merge.stage) {
    const removed = await conn.run(`delete from ${table} where ${pk} in (select ${pk} from ${merge.stage})`);
    replaced = Number(removed.rowsChanged);
    const result = await conn.run(`insert into ${table} select * from ${merge.stage}`);
    changed = Number(result.rowsChanged);
    await conn.run(`drop table ${merge.stage}`);
  }
  return { changed, deleted, replaced };
}
