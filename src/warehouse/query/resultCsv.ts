import type { JsonValue } from './jsonValue.ts';
import type { QueryColumn } from './sandbox.ts';

/** One field (RFC 4180): quoted when it holds a quote, comma or line break; NULL is an empty field, '' is `""`. */
function field(value: JsonValue): string {
  if (value === null) return '';
  const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return text === '' || /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * A query result as CSV (RFC 4180, `text/csv`): a header line of column names, then one line per row, each line
 * ending in CRLF. Values are the JSON values of the query endpoint (LIST, STRUCT and MAP as their JSON text).
 * Example: `resultCsv([{ name: 'a', type: 'VARCHAR' }], [['x,y']]) === 'a\r\n"x,y"\r\n'`.
 */
export function resultCsv(columns: readonly QueryColumn[], rows: readonly JsonValue[][]): string {
  const lines = [columns.map((c) => field(c.name)).join(',')];
  for (const row of rows) lines.push(row.map(field).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
