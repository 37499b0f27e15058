import { describe, expect, it } from 'vitest';
import { serverVersionProblem } from '../../src/db/migrate.ts';

describe('serverVersionProblem', () => {
  it.each([
    [120016, '12.16', true],
    [130000, '13.0', false],
    [170002, '17.2', false],
  ])('server_version_num %i (%s): refused = %s', (num, version, refused) => {
    const problem = serverVersionProblem(num, version);
    expect(problem !== null).toBe(refused);
    if (refused) expect(problem).toMatch(new RegExp(`PostgreSQL ${version} is too old.*13 or later.*DATABASE_URL`));
  });
});
