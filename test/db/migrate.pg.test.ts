import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, migrationStatus } from '../../src/db/migrate.ts';
import { createTestDatabase, quietLogger, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase({ migrated: false });
});
afterAll(() => db.drop());

describe('migrate', () => {
  it('four servers starting at once on an empty database all start: one migrates, the others wait and find nothing to do', async () => {
    const runs = await Promise.all([1, 2, 3, 4].map(() => migrate(db.url, 'up', quietLogger)));
    const applied = runs.flat().map((m) => m.name);
    const status = await migrationStatus((sql) => db.pool.query(sql));
    expect(status.every((m) => m.appliedAt !== null)).toBe(true);
    expect(applied.sort()).toEqual(status.map((m) => m.name).sort());
  });
});
