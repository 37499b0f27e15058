/**
 * Quoting for the few identifiers and literals the exporter must write into SQL text: table and column names read
 * from the Postgres catalog (never from a request), file paths from the configuration, and xid8 watermarks that were
 * checked to be digits. COPY and DuckDB table functions take no bind parameters, hence text. The same quoting is
 * valid in Postgres and DuckDB.
 */

/** `votes` -> `"votes"`; an embedded double quote is doubled. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `/tmp/it's` -> `'/tmp/it''s'`. */
export function literal(text: string): string {
  if (text.includes('\u0000')) throw new Error('a SQL literal cannot contain NUL');
  return `'${text.replace(/'/g, "''")}'`;
}

/** An xid8 as a SQL literal, refusing anything but a decimal 64-bit integer. Example: `xid8('743')` -> `'743'::xid8`. */
export function xid8(value: string): string {
  if (!/^\d{1,20}$/.test(value) || BigInt(value) > 0xffff_ffff_ffff_ffffn) throw new Error(`not an xid8: ${value}`);
  return `'${value}'::xid8`;
}
