import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/pool.ts';
import { copyVotes, insertVotes, type VoteRow } from '../../src/feedback/votes/service.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

// COPY FROM STDIN: a real Postgres server only (embedded PGlite behind pglite-socket has no COPY IN; the batch
// endpoint uses the multi-row insert there).

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

describe('vote COPY', () => {
  it('COPY (large batches) stores exactly what the multi-row insert stores, ids in input order', async () => {
    const awkward = [
      'tab\there',
      'new\nline',
      'carriage\rreturn',
      'back\\slash \\N \\t',
      '\\.',
      'a,b {braces} "quotes"',
      'NULL',
      '',
      'àèìòù 💬',
      'lone \ud800',
    ];
    const rows: VoteRow[] = awkward.map((text, i) => ({
      conversation_id: `copy-${i}-${text}`,
      vote: i % 2 === 0 ? 'up' : 'down',
      query: text,
      response: i % 3 === 0 ? null : `${text}\n${text}`,
      reasons: [text, 'plain'],
      comment: text,
      expert_ids: i % 2 === 0 ? [] : [text],
      email_hash: i % 2 === 0 ? null : 'a'.repeat(64),
      // (jsonb refuses an escaped lone surrogate on every path: the API answers 422 for it)
      metadata: JSON.stringify({ text: text.toWellFormed(), nested: { list: [text.toWellFormed(), 1, null] } }),
    }));
    const copied = await withTransaction(db.pool, (client) => copyVotes(client, rows));
    const inserted = await insertVotes(db.pool, rows);
    const fields = 'conversation_id, vote, query, response, reasons, comment, expert_ids, email_hash, metadata';
    const read = async (ids: readonly number[]) =>
      (await db.pool.query(`select ${fields} from votes where id = any ($1::bigint[]) order by id`, [ids])).rows;
    expect(copied).toEqual([...copied].sort((a, b) => a - b));
    const viaCopy = await read(copied);
    expect(viaCopy.map((r) => r.conversation_id)).toEqual(rows.map((r) => r.conversation_id.toWellFormed()));
    expect(viaCopy).toEqual(await read(inserted.map((v) => v.id)));
    expect(viaCopy[0]!.reasons).toEqual([awkward[0], 'plain']);
  });
});
