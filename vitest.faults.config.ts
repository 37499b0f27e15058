import { defineConfig } from 'vitest/config';

/**
 * The fault suite (`npm run test:faults`): each test starts a throwaway Postgres cluster of its own
 * (test/helpers/pgCluster.ts) and the real service over it, then stops, crashes or freezes that cluster. One file at
 * a time: the faults are timed, and the machine has two cores.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 240_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    // RSS checks collect garbage first (globalThis.gc), so they measure what is kept, not what is not yet freed.
    execArgv: ['--expose-gc'],
    reporters: ['default'],
  },
});
