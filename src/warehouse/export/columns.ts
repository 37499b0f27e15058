import { createHash } from 'node:crypto';
import type { PoolClient } from '../../db/pool.ts';
import { ident } from '../shared/sqlText.ts';

/**
 * How one Postgres column travels into DuckDB: the expression Postgres COPYs out as CSV text, the DuckDB type it
 * becomes, and the DuckDB expression that turns the CSV field (read as VARCHAR) into that type.
 *
 * The mapping (the column names are kept exactly):
 *   uuid -> UUID; text, varchar, char, name, enums -> VARCHAR; boolean -> BOOLEAN; smallint, integer, bigint ->
 *   SMALLINT, INTEGER, BIGINT; real, double precision -> FLOAT, DOUBLE; numeric(p,s) with p <= 38 -> DECIMAL(p,s);
 *   unconstrained numeric -> DOUBLE (the scores here are 0..1; DuckDB's DECIMAL needs a declared precision);
 *   json, jsonb -> JSON; timestamptz -> TIMESTAMPTZ; timestamp, date, time -> TIMESTAMP, DATE, TIME;
 *   one-dimensional arrays of those -> LIST (e.g. text[] -> VARCHAR[]), carried as JSON; bytea -> BLOB (base64);
 *   xid8 (the `txid` stamp) -> UBIGINT, kept so an analyst can see which transaction last wrote a row;
 *   anything else -> VARCHAR, Postgres's own text form.
 */
export interface ColumnPlan {
  readonly name: string;
  /** `format_type()` of the Postgres column, for messages. */
  readonly pgType: string;
  /** The DuckDB type, spelled as DuckDB's information_schema reports it. */
  readonly duckType: string;
  /** The Postgres select-list expression (already quoted). */
  readonly pgExpr: string;
  /** The DuckDB expression reading the VARCHAR CSV field `field` (already quoted). */
  duckExpr(field: string): string;
}

export interface TablePlan {
  readonly table: string;
  readonly columns: readonly ColumnPlan[];
  /** The single-column primary key (null: none, or composite); its Postgres type for casting tombstone ids. */
  readonly primaryKey: { readonly name: string; readonly pgType: string } | null;
  /** True when the table can be exported incrementally: an `id`-like single-column primary key and a txid column. */
  readonly incremental: boolean;
  /** Changes whenever a column, its type or the mapping changes: a changed table is reloaded in full. */
  readonly fingerprint: string;
  /** The timestamp column Parquet partitions by (created_at), or null. */
  readonly dayColumn: string | null;
}

/** Bumped when the mapping rules change, so every table is rebuilt once with the new types. */
const MAPPING_VERSION = 1;

interface CatalogRow {
  table_name: string;
  column_name: string;
  formatted: string;
  type_name: string;
  type_type: string;
  typmod: number;
  elem_name: string | null;
  elem_type: string | null;
  is_pk: boolean;
  pk_count: number;
}

const CATALOG = `
  select c.relname as table_name, a.attname as column_name, format_type(a.atttypid, a.atttypmod) as formatted,
         bt.typname as type_name, bt.typtype as type_type, a.atttypmod as typmod,
         et.typname as elem_name, et.typtype as elem_type,
         coalesce(a.attnum = any (pk.indkey::int2[]), false) as is_pk,
         coalesce(pk.indnatts, 0)::int as pk_count
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    join pg_type t on t.oid = a.atttypid
    join pg_type bt on bt.oid = case when t.typtype = 'd' then t.typbasetype else t.oid end
    left join pg_type et on et.oid = bt.typelem and bt.typcategory = 'A'
    left join pg_index pk on pk.indrelid = c.oid and pk.indisprimary
   where n.nspname = current_schema() and c.relname = any ($1::text[]) and c.relkind in ('r', 'p')
   order by c.relname, a.attnum`;

interface Scalar {
  readonly duckType: string;
  /** Postgres expression around the quoted column (default: the column itself). */
  readonly pg?: (col: string) => string;
  /** DuckDB expression around the VARCHAR field (default: a cast to duckType). */
  readonly duck?: (field: string) => string;
}

const SIMPLE: Readonly<Record<string, string>> = {
  bool: 'BOOLEAN',
  int2: 'SMALLINT',
  int4: 'INTEGER',
  int8: 'BIGINT',
  float4: 'FLOAT',
  float8: 'DOUBLE',
  text: 'VARCHAR',
  varchar: 'VARCHAR',
  bpchar: 'VARCHAR',
  name: 'VARCHAR',
  citext: 'VARCHAR',
  uuid: 'UUID',
  timestamptz: 'TIMESTAMP WITH TIME ZONE',
  timestamp: 'TIMESTAMP',
  date: 'DATE',
  time: 'TIME',
  xid8: 'UBIGINT',
  xid: 'UBIGINT',
};

function numericType(typmod: number): string {
  if (typmod < 4) return 'DOUBLE';
  const precision = ((typmod - 4) >> 16) & 0xffff;
  const scale = (typmod - 4) & 0xffff;
  return precision >= 1 && precision <= 38 && scale <= precision ? `DECIMAL(${precision},${scale})` : 'DOUBLE';
}

function scalar(typeName: string, typeType: string, typmod: number): Scalar | null {
  if (typeType === 'e') return { duckType: 'VARCHAR' };
  if (typeName === 'numeric') return { duckType: numericType(typmod) };
  if (typeName === 'json' || typeName === 'jsonb') return { duckType: 'JSON' };
  if (typeName === 'bytea') {
    // Postgres wraps base64 every 76 characters; the newlines are dropped so DuckDB can decode it.
    return {
      duckType: 'BLOB',
      pg: (col) => `translate(encode(${col}, 'base64'), E'\\n', '')`,
      duck: (f) => `from_base64(${f})`,
    };
  }
  const simple = SIMPLE[typeName];
  return simple ? { duckType: simple } : null;
}

function planColumn(row: CatalogRow): ColumnPlan {
  const col = ident(row.column_name);
  const base = { name: row.column_name, pgType: row.formatted };
  if (row.elem_name !== null) {
    const element = scalar(row.elem_name, row.elem_type ?? 'b', -1);
    if (element && element.duckType !== 'BLOB' && element.duckType !== 'JSON') {
      const duckType = `${element.duckType}[]`;
      // array_to_json keeps nulls and types; a multi-dimensional array fails the DuckDB cast loudly, never silently.
      return {
        ...base,
        duckType,
        pgExpr: `array_to_json(${col})::text`,
        duckExpr: (f) => `cast(cast(${f} as JSON) as ${duckType})`,
      };
    }
    return { ...base, duckType: 'VARCHAR', pgExpr: `${col}::text`, duckExpr: (f) => f };
  }
  const s = scalar(row.type_name, row.type_type, row.typmod);
  if (!s) return { ...base, duckType: 'VARCHAR', pgExpr: `${col}::text`, duckExpr: (f) => f };
  return {
    ...base,
    duckType: s.duckType,
    pgExpr: s.pg ? s.pg(col) : col,
    duckExpr: s.duck ?? (s.duckType === 'VARCHAR' ? (f) => f : (f) => `cast(${f} as ${s.duckType})`),
  };
}

/**
 * Reads the columns of the given tables from the Postgres catalog, inside the export's snapshot, so the column set
 * is the one the rows are read with. Tables that do not exist are absent from the result.
 */
export async function planTables(client: PoolClient, tables: readonly string[]): Promise<TablePlan[]> {
  const { rows } = await client.query<CatalogRow>({ text: CATALOG, values: [tables] });
  const byTable = new Map<string, CatalogRow[]>();
  for (const row of rows) byTable.set(row.table_name, [...(byTable.get(row.table_name) ?? []), row]);
  return tables.flatMap((table) => {
    const columnRows = byTable.get(table);
    if (!columnRows) return [];
    const columns = columnRows.map(planColumn);
    const pkRows = columnRows.filter((r) => r.is_pk);
    const primaryKey =
      pkRows.length === 1 && pkRows[0]!.pk_count === 1
        ? { name: pkRows[0]!.column_name, pgType: pkRows[0]!.formatted }
        : null;
    const hasTxid = columnRows.some((r) => r.column_name === 'txid' && r.type_name === 'xid8');
    const created = columnRows.find(
      (r) => r.column_name === 'created_at' && ['timestamptz', 'timestamp', 'date'].includes(r.type_name),
    );
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([MAPPING_VERSION, columns.map((c) => [c.name, c.duckType, c.pgType])]))
      .digest('hex')
      .slice(0, 16);
    return [
      {
        table,
        columns,
        primaryKey,
        incremental: primaryKey !== null && hasTxid,
        fingerprint,
        dayColumn: created && !columnRows.some((r) => r.column_name === 'day') ? created.column_name : null,
      },
    ];
  });
}

/** `create table` for a plan, in DuckDB. No primary key: upserts are delete-then-insert, cheaper than an ART index. */
export function duckCreateTable(plan: TablePlan, name = plan.table): string {
  return `create table ${ident(name)} (${plan.columns.map((c) => `${ident(c.name)} ${c.duckType}`).join(', ')})`;
}
