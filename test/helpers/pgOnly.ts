import { readdir } from 'node:fs/promises';

/**
 * Test files that need a multi-session Postgres server: a transaction held open while another session works, two
 * servers contending for an advisory lock, concurrent writers. Embedded PGlite is one session (pglite-socket runs
 * one connection's transaction at a time and shares locks between connections), so they run only on a real server.
 */
export const PG_ONLY_SUFFIX = '.pg.test.ts';
export const PG_ONLY_GLOB = `**/*${PG_ONLY_SUFFIX}`;

/** The pg-only test files under dir (the tests' directory, not the project: no node_modules), relative, sorted. */
export async function pgOnlyTestFiles(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).filter((f) => f.endsWith(PG_ONLY_SUFFIX)).sort();
}
