import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/globalSetup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each test file gets its own database cloned from a migrated template, so files can run in parallel.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
