import { configDefaults, defineConfig } from 'vitest/config';
import { LAKE_GLOB, lakeEngineInstalled } from './test/helpers/lakeEngine.ts';
import { PG_ONLY_GLOB } from './test/helpers/pgOnly.ts';

/** The fault suite runs on its own (npm run test:faults, vitest.faults.config.ts): it starts Postgres clusters. */
const FAULTS_GLOB = 'test/faults/**';

/** With neither set, tests run on embedded PGlite (test/helpers/globalSetup.ts). */
const realServer = Boolean(process.env.TEST_DATABASE_URL || process.env.DATABASE_URL);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Embedded PGlite is one session: the tests of multi-session behaviour run on a real server only (the global
    // setup says how many were left out).
    // The lake's ClickHouse tests need chdb, installed apart (`npm ci --prefix test/lake`): left out without it.
    exclude: [
      ...configDefaults.exclude,
      FAULTS_GLOB,
      ...(realServer ? [] : [PG_ONLY_GLOB]),
      ...(lakeEngineInstalled() ? [] : [LAKE_GLOB]),
    ],
    globalSetup: ['test/helpers/globalSetup.ts'],
    setupFiles: ['test/helpers/fastCheckSeed.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each test file gets its own database cloned from a migrated template, so files can run in parallel.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
