import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

/** A private DuckDB instance and the one connection its user runs everything on. */
export interface DuckDBSession {
  readonly instance: DuckDBInstance;
  readonly conn: DuckDBConnection;
}

/**
 * Opens `file` with the DuckDB `settings` and one connection on it, in UTC (days are UTC days everywhere in the
 * product); whatever was opened is closed again when a step fails. The caller closes it with closeSession in finally.
 */
export async function openSession(file: string, settings: Record<string, string>): Promise<DuckDBSession> {
  const instance = await DuckDBInstance.create(file, settings);
  try {
    const conn = await instance.connect();
    try {
      await conn.run(`set TimeZone = 'UTC'`);
      return { instance, conn };
    } catch (error) {
      conn.closeSync();
      throw error;
    }
  } catch (error) {
    instance.closeSync();
    throw error;
  }
}

/** Closes the connection and the instance (each exactly once); null is a no-op. */
export function closeSession(session: DuckDBSession | null): void {
  if (!session) return;
  try {
    session.conn.closeSync();
  } finally {
    session.instance.closeSync();
  }
}
