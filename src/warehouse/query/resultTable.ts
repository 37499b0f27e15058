import type { JsonValue } from './jsonValue.ts';
import type { QueryColumn } from './sandbox.ts';

function text(value: JsonValue): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** A cell's lines, tabs and carriage returns made spaces so the columns stay aligned (EXPLAIN plans span lines). */
const linesOf = (value: JsonValue) => text(value).replace(/\r\n?/g, '\n').replace(/\t/g, '  ').split('\n');

/**
 * A query result as an aligned text table for a terminal, as psql prints one: a header, a rule, then the rows;
 * numbers right-aligned, NULL empty, a multi-line value on several lines.
 *
 *    n | name
 *   ---+------
 *    1 | a
 */
export function resultTable(columns: readonly QueryColumn[], rows: readonly JsonValue[][]): string {
  const cells = rows.map((row) => row.map(linesOf));
  // Loops rather than Math.max(...spread): a result may have millions of rows (QUERY_MAX_ROWS).
  const widths = columns.map((column) => column.name.length);
  for (const row of cells) {
    row.forEach((lines, c) => {
      for (const line of lines) widths[c] = Math.max(widths[c]!, line.length);
    });
  }
  const numeric = columns.map(
    (_, c) => rows.length > 0 && rows.every((row) => row[c] === null || typeof row[c] === 'number'),
  );
  const out = [
    columns
      .map((column, c) => ` ${column.name.padEnd(widths[c]!)} `)
      .join('|')
      .trimEnd(),
    widths.map((w) => '-'.repeat(w + 2)).join('+'),
  ];
  for (const row of cells) {
    const height = Math.max(1, ...row.map((lines) => lines.length));
    for (let i = 0; i < height; i++) {
      const line = row.map((lines, c) => {
        const part = lines[i] ?? '';
        return ` ${numeric[c] ? part.padStart(widths[c]!) : part.padEnd(widths[c]!)} `;
      });
      out.push(line.join('|').trimEnd());
    }
  }
  return `${out.join('\n')}\n`;
}
