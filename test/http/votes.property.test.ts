import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;
let ingest: string;

beforeAll(async () => {
  app = await startTestApp();
  ingest = await app.key('ingest');
});
afterAll(() => app.close());

const count = async () => Number((await app.db.pool.query('select count(*) as n from votes')).rows[0].n);

/** Bodies near the schema (so some are valid) and far from it (anything JSON, and not JSON at all). */
const nearVote = fc.record(
  {
    conversation_id: fc.oneof(fc.string({ maxLength: 210 }), fc.integer(), fc.constant('')),
    vote: fc.oneof(fc.constantFrom('up', 'down'), fc.string(), fc.constant(null)),
    query: fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constant(null), fc.integer()),
    reasons: fc.oneof(fc.array(fc.string({ maxLength: 210 }), { maxLength: 60 }), fc.string()),
    comment: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 2100 }), fc.constant(null)),
    expert_ids: fc.array(fc.oneof(fc.string(), fc.integer())),
    email: fc.oneof(fc.emailAddress(), fc.string()),
    metadata: fc.oneof(fc.object(), fc.jsonValue(), fc.dictionary(fc.string(), fc.string({ unit: 'binary' }))),
    extra: fc.anything(),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  nearVote.map((v) => JSON.stringify(v)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary' }),
  fc.string().map((s) => `{"conversation_id":"${s}","vote":"up"}`),
);

describe('POST /api/v1/votes under random bodies', () => {
  it('answers only 201 or 4xx, and the row count grows only on 201', async () => {
    await fc.assert(
      fc.asyncProperty(body, async (raw) => {
        const before = await count();
        const res = await app.request('POST', '/api/v1/votes', { key: ingest, rawBody: raw });
        const after = await count();
        expect(res.status === 201 || (res.status >= 400 && res.status < 500)).toBe(true);
        expect(after - before).toBe(res.status === 201 ? 1 : 0);
      }),
      { numRuns: 300 },
    );
  });
});
