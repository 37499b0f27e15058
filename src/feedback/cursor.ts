import { ValidationFailed } from '../errors.ts';

/**
 * Keyset pagination over (created_at desc, id desc), so a page never skips or repeats a row while rows are added.
 * The cursor is the last row's position, base64url JSON: created_at as UTC ISO 8601 text with microseconds,
 * formatted by Postgres (a JavaScript Date would round them away; to_char does not depend on DateStyle), and the id.
 */
export interface Position {
  readonly ts: string;
  readonly id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export const DEFAULT_PAGE_SIZE = 100;

export function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify([position.ts, position.id])).toString('base64url');
}

/** null when absent; 422 naming /query/cursor when it is not one this API handed out. */
export function decodeCursor(cursor: string | undefined): Position | null {
  if (cursor === undefined) return null;
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 2 && TS.test(String(value[0])) && UUID.test(String(value[1]))) {
      return { ts: String(value[0]), id: String(value[1]) };
    }
  } catch {
    // fall through: not base64url JSON
  }
  throw new ValidationFailed(
    [{ path: '/query/cursor', message: 'is not a cursor returned by this API' }],
    'A query parameter is invalid.',
  );
}

/** Splits a page fetched with limit + 1 rows into the page and the cursor of the next one. */
export function page<T extends { cursor_ts: string; id: string }>(
  rows: readonly T[],
  limit: number,
): { items: Omit<T, 'cursor_ts'>[]; next_cursor: string | null } {
  const more = rows.length > limit;
  const kept = rows.slice(0, limit);
  const last = kept.at(-1);
  return {
    items: kept.map(({ cursor_ts: _ts, ...rest }) => rest),
    next_cursor: more && last ? encodeCursor({ ts: last.cursor_ts, id: last.id }) : null,
  };
}
