import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertVotes, type VoteRow } from '../../src/feedback/votes/service.ts';
import { VoteWriter } from '../../src/feedback/votes/writer.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const row = (conversation: string, reasons: string[], expertIds: string[] = []): VoteRow => ({
  conversation_id: conversation,
  vote: 'down',
  query: null,
  response: null,
  reasons,
  comment: null,
  expert_ids: expertIds,
  email_hash: null,
  metadata: '{}',
});

describe('multi-row vote inserts', () => {
  it('keep every text array value exactly, whatever characters it holds, and return ids in input order', async () => {
    const awkward = [
      'a,b',
      '{braces}',
      'quote "inside"',
      'back\\slash',
      'NULL',
      '',
      ' spaced ',
      'àèìòù 💬',
      "it's",
      'lone \ud800',
    ];
    const rows = awkward.map((r, i) => row(`arr-${i}`, [r, 'plain'], [r]));
    rows.push(row('arr-empty', []));
    const created = await insertVotes(db.pool, rows);
    expect(created.map((c) => c.conversation_id)).toEqual(rows.map((r) => r.conversation_id));
    const { rows: stored } = await db.pool.query(
      "select conversation_id, reasons, expert_ids from votes where conversation_id like 'arr-%' order by id",
    );
    // A lone surrogate is stored as U+FFFD, as a text parameter would store it.
    const wellFormed = (xs: readonly string[]) => xs.map((x) => x.toWellFormed());
    expect(stored.map((s) => s.reasons)).toEqual(rows.map((r) => wellFormed(r.reasons)));
    expect(stored.map((s) => s.expert_ids)).toEqual(rows.map((r) => wellFormed(r.expert_ids)));
  });

  it('group commit answers each concurrent vote with its own row, and one bad row fails alone', async () => {
    const writer = new VoteWriter(db.pool, 1);
    const good = Array.from({ length: 50 }, (_, i) => writer.write(row(`gc-${i}`, ['r'])));
    // 'sideways' passes no schema here and breaks the database's CHECK: only its own request may fail.
    const bad = writer.write({ ...row('gc-bad', []), vote: 'sideways' as 'up' });
    const results = await Promise.allSettled([...good, bad]);
    expect(results.slice(0, 50).every((r) => r.status === 'fulfilled')).toBe(true);
    expect(results[50]!.status).toBe('rejected');
    const ids = results
      .slice(0, 50)
      .map((r) => (r as PromiseFulfilledResult<{ id: number; conversation_id: string }>).value);
    expect(new Set(ids.map((r) => r.id)).size).toBe(50);
    expect(ids.map((r) => r.conversation_id)).toEqual(Array.from({ length: 50 }, (_, i) => `gc-${i}`));
    const { rows: stored } = await db.pool.query(
      "select count(*)::int as n from votes where conversation_id like 'gc-%'",
    );
    expect(stored[0].n).toBe(50);
  });
});
