import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * The lake tests that run ClickHouse in process (test/lake/*.test.ts) need the chdb package, about 550 MB, so it is
 * not among the dependencies `npm install` brings: `.ci/run` installs it with `npm ci --prefix test/lake`
 * (README "At scale"). Without it those tests are left out, and the global setup says so.
 */
export const LAKE_GLOB = 'test/lake/**';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** chdb and its native library for this platform (a package of its own, @chdb/lib-<platform>) are installed. */
export function lakeEngineInstalled(): boolean {
  const modules = path.join(ROOT, 'test/lake/node_modules');
  if (!existsSync(path.join(modules, 'chdb/package.json'))) return false;
  const libs = existsSync(path.join(modules, '@chdb')) ? readdirSync(path.join(modules, '@chdb')) : [];
  return libs.some((name) => name.startsWith('lib-'));
}
