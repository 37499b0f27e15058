import { createHash } from 'node:crypto';
import type { ColumnPlan, TablePlan } from './columns.ts';
import { ident } from '../shared/sqlText.ts';

/**
 * How a warehouse column is written to the lake, so that ClickHouse, Trino and Spark read every file with their
 * default settings (README "At scale", the type table):
 *
 *   UUID -> VARCHAR (canonical text; Spark refuses Parquet's UUID type); UUID[] -> VARCHAR[];
 *   the JSON text lists (TEXT_LIST_JSON) -> VARCHAR[] (LIST<STRING>, like `reasons`);
 *   other JSON -> VARCHAR holding the JSON text, without Parquet's JSON annotation: ClickHouse reads an annotated
 *   column into its JSON type, which refuses valid objects (`{"a.b": 1, "a": {"b": 2}}`: duplicate path) and drops
 *   null members, so one client's metadata could make a whole file unreadable;
 *   TINYINT, SMALLINT, INTEGER and the unsigned integers (the txid stamp) -> BIGINT (INT64);
 *   INTEGER[] and the like -> BIGINT[];
 *   TIMESTAMP WITH TIME ZONE stays: DuckDB writes it as INT64 TIMESTAMP(MICROS, isAdjustedToUTC = true);
 *   VARCHAR (enums included), BOOLEAN, DOUBLE, FLOAT, DECIMAL(p,s), DATE, TIMESTAMP, BLOB stay as they are.
 */

/** JSON columns the Postgres schema constrains to lists of strings (fw_is_text_list, sql/migrations/0002). */
const TEXT_LIST_JSON: Readonly<Record<string, readonly string[]>> = {
  interview_feedbacks: ['knowledge_gaps', 'learning_recommendations'],
};

/** Tables written as one file whatever their timestamps: few rows, changed rarely (expert profiles, FAQs). */
const SINGLE_FILE_TABLES: ReadonlySet<string> = new Set(['expert_profiles', 'expert_faq_candidates', 'faq_entries']);

/** Bumped whenever the mapping or the layout changes: every table is then rewritten whole once. */
const LAKE_MAPPING_VERSION = 1;

const WIDENED_INTEGERS = new Set(['TINYINT', 'SMALLINT', 'INTEGER', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT']);

/** The lake type of a warehouse column, as DuckDB names it. */
export function lakeType(table: string, column: ColumnPlan): string {
  const t = column.duckType;
  if (t === 'UUID') return 'VARCHAR';
  if (t === 'JSON') return TEXT_LIST_JSON[table]?.includes(column.name) ? 'VARCHAR[]' : 'VARCHAR';
  if (WIDENED_INTEGERS.has(t)) return 'BIGINT';
  if (t.endsWith('[]')) {
    const element = t.slice(0, -2);
    if (element === 'UUID') return 'VARCHAR[]';
    if (WIDENED_INTEGERS.has(element)) return 'BIGINT[]';
  }
  return t;
}

/** The select list that turns a warehouse table's rows into lake rows (column names kept). */
export function lakeSelectList(plan: TablePlan): string {
  return plan.columns
    .map((c) => {
      const type = lakeType(plan.table, c);
      return type === c.duckType ? ident(c.name) : `cast(${ident(c.name)} as ${type}) as ${ident(c.name)}`;
    })
    .join(', ');
}

/** The UTC day of the partition column, as a DuckDB DATE expression; null for a table written as one file. */
export function lakeDayExpr(plan: TablePlan): string | null {
  if (!plan.dayColumn || SINGLE_FILE_TABLES.has(plan.table)) return null;
  const column = plan.columns.find((c) => c.name === plan.dayColumn)!;
  // make_timestamp(epoch_us(ts)) is the UTC wall clock of ts whatever the session TimeZone (sql/rollups/03).
  return column.duckType === 'TIMESTAMP WITH TIME ZONE'
    ? `make_timestamp(epoch_us(${ident(column.name)}))::date`
    : `cast(${ident(column.name)} as date)`;
}

/** Changes with the warehouse columns and with the lake mapping: a lake table of another fingerprint is rewritten. */
export function lakeFingerprint(plan: TablePlan): string {
  return createHash('sha256')
    .update(JSON.stringify([LAKE_MAPPING_VERSION, plan.fingerprint, lakeDayExpr(plan) !== null]))
    .digest('hex')
    .slice(0, 16);
}
