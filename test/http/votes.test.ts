import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pseudonymiseEmail } from '../../src/privacy/pseudonym.ts';
import { PII_SECRET, startTestApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;
let ingest: string;
let read: string;
let admin: string;

beforeAll(async () => {
  app = await startTestApp();
  ingest = await app.key('ingest');
  read = await app.key('read');
  admin = await app.key('admin');
});
afterAll(() => app.close());

const count = async () => Number((await app.db.pool.query('select count(*) as n from votes')).rows[0].n);

describe('POST /api/v1/votes', () => {
  it('answers a body of half a million wrong values with a small 422: 100 errors at most, and how many there were', async () => {
    const reasons = `[${Array.from({ length: 480_000 }, () => '1').join(',')}]`;
    const rawBody = `{"conversation_id":"bounded-errors","vote":"up","reasons":${reasons}}`;
    expect(rawBody.length).toBeLessThan(1024 * 1024);
    const res = await app.request('POST', '/api/v1/votes', { key: ingest, rawBody });
    expect(res.status).toBe(422);
    expect(res.json.errors).toHaveLength(100);
    expect(res.json.errors[0]).toEqual({ path: '/reasons', message: 'must NOT have more than 50 items' });
    expect(res.json.errors_truncated).toBe(true);
    expect(res.json.error_count).toBeGreaterThan(100);
    // It used to be a 26.9 MB answer listing every error.
    expect(res.text.length).toBeLessThan(20_000);
    expect(await count()).toBe(0);
  });

  it('stores a comment at the limit even when redaction makes it longer (short e-mails become [EMAIL])', async () => {
    const comment = 'a@b.it '.repeat(285).trim();
    expect(comment.length).toBeLessThanOrEqual(2000);
    const res = await app.request('POST', '/api/v1/votes', {
      key: ingest,
      body: { conversation_id: 'redaction-grows', vote: 'down', comment },
    });
    expect(res.status).toBe(201);
    const stored = await app.db.pool.query("select comment from votes where conversation_id = 'redaction-grows'");
    expect(stored.rows[0].comment).toBe('[EMAIL] '.repeat(285).trim());
    expect(stored.rows[0].comment.length).toBeGreaterThan(2000);
  });

  it('lists every error of a body with a few, and says nothing of truncation', async () => {
    const res = await app.request('POST', '/api/v1/votes', {
      key: ingest,
      body: { conversation_id: '', vote: 'sideways', reasons: [1, 2] },
    });
    expect(res.status).toBe(422);
    expect(res.json.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      '/conversation_id',
      '/reasons/0',
      '/reasons/1',
      '/vote',
    ]);
    expect(res.json.errors_truncated).toBeUndefined();
  });

  it('stores a vote with every field and returns 201', async () => {
    const res = await app.request('POST', '/api/v1/votes', {
      key: ingest,
      body: {
        conversation_id: 'conv-full',
        vote: 'down',
        query: 'How do I file F24?',
        response: 'Use the online form.',
        reasons: ['wrong', 'too vague'],
        comment: 'Not helpful',
        expert_ids: ['exp-1', 'exp-2'],
        email: 'someone@example.com',
        metadata: { app: 'chat', version: 3 },
      },
    });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ conversation_id: 'conv-full', vote: 'down' });
    expect(typeof res.json.id).toBe('number');
    expect(new Date(res.json.created_at).toString()).not.toBe('Invalid Date');
    const { rows } = await app.db.pool.query('select * from votes where id = $1', [res.json.id]);
    expect(rows[0]).toMatchObject({
      query: 'How do I file F24?',
      reasons: ['wrong', 'too vague'],
      expert_ids: ['exp-1', 'exp-2'],
      metadata: { app: 'chat', version: 3 },
      email_hash: pseudonymiseEmail('someone@example.com', PII_SECRET),
    });
  });

  it('redacts PII in query, response and comment and never stores the raw email', async () => {
    const res = await app.request('POST', '/api/v1/votes', {
      key: ingest,
      body: {
        conversation_id: 'conv-pii',
        vote: 'up',
        query: 'Write to mario.rossi@example.it or call +39 347 123 4567',
        response: 'Card 4111 1111 1111 1111, IBAN IT60 X054 2811 1010 0000 0123 456',
        comment: 'My CF is RSSMRA85T10A562S, from 192.168.1.20',
        email: 'Mario.Rossi@Example.it',
      },
    });
    expect(res.status).toBe(201);
    const { rows } = await app.db.pool.query('select * from votes where id = $1', [res.json.id]);
    const stored = JSON.stringify(rows[0]);
    expect(rows[0].query).toBe('Write to [EMAIL] or call [PHONE]');
    expect(rows[0].response).toBe('Card [CARD], IBAN [IBAN]');
    expect(rows[0].comment).toBe('My CF is [TAX_ID], from [IP]');
    expect(stored).not.toMatch(/mario|rossi|4111|RSSMRA|192\.168/i);
    expect(rows[0].email_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['a missing vote', { conversation_id: 'c' }, '/vote'],
    ['an unknown vote value', { conversation_id: 'c', vote: 'sideways' }, '/vote'],
    ['an unknown field', { conversation_id: 'c', vote: 'up', colour: 'red' }, '/colour'],
    ['an empty conversation id', { conversation_id: '', vote: 'up' }, '/conversation_id'],
    ['a conversation id over 200 chars', { conversation_id: 'x'.repeat(201), vote: 'up' }, '/conversation_id'],
    ['a comment over 2000 chars', { conversation_id: 'c', vote: 'up', comment: 'x'.repeat(2001) }, '/comment'],
    ['a query over 20000 chars', { conversation_id: 'c', vote: 'up', query: 'x'.repeat(20_001) }, '/query'],
    ['reasons that are not an array', { conversation_id: 'c', vote: 'up', reasons: 'bad' }, '/reasons'],
    ['a reason that is not a string', { conversation_id: 'c', vote: 'up', reasons: [1] }, '/reasons/0'],
    ['metadata that is an array', { conversation_id: 'c', vote: 'up', metadata: [1] }, '/metadata'],
    ['metadata over 8 KB', { conversation_id: 'c', vote: 'up', metadata: { x: 'y'.repeat(8200) } }, '/metadata'],
    ['a body that is an array', [{ conversation_id: 'c', vote: 'up' }], '/'],
  ])('answers 422 naming the path for %s, and writes nothing', async (_name, body, path) => {
    const before = await count();
    const res = await app.request('POST', '/api/v1/votes', { key: ingest, body });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.json).toMatchObject({
      status: 422,
      title: expect.any(String),
      type: expect.any(String),
      detail: expect.any(String),
    });
    expect(res.json.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await count()).toBe(before);
  });

  it('accepts metadata of just under 8 KB even when Postgres prints it longer', async () => {
    const metadata = Object.fromEntries(Array.from({ length: 800 }, (_, i) => [`k${String(i).padStart(4, '0')}`, 1]));
    expect(Buffer.byteLength(JSON.stringify(metadata))).toBeLessThanOrEqual(8192);
    const res = await app.request('POST', '/api/v1/votes', {
      key: ingest,
      body: { conversation_id: 'meta-8k', vote: 'up', metadata },
    });
    expect(res.status).toBe(201);
    const { rows } = await app.db.pool.query('select octet_length(metadata::text) as n from votes where id = $1', [
      res.json.id,
    ]);
    expect(rows[0].n).toBeGreaterThan(8192);
  });

  it('answers 400 on malformed JSON', async () => {
    const res = await app.request('POST', '/api/v1/votes', { key: ingest, rawBody: '{"conversation_id": "c", vote' });
    expect(res.status).toBe(400);
    expect(res.json.type).toMatch(/malformed-json/);
  });

  it('answers 400 for a body that is not UTF-8, and accepts one that starts with a byte order mark', async () => {
    const json = Buffer.from('{"conversation_id":"utf8","vote":"up","comment":"caf\u00e9"}', 'utf8');
    const latin1 = Buffer.from(json.toString('utf8'), 'latin1');
    const bad = await app.request('POST', '/api/v1/votes', { key: ingest, rawBody: latin1 });
    expect(bad.status).toBe(400);
    expect(bad.json.detail).toMatch(/UTF-8/);
    const bom = await app.request('POST', '/api/v1/votes', {
      key: ingest,
      rawBody: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json]),
    });
    expect(bom.status).toBe(201);
  });

  it('refuses a lone surrogate anywhere with a 422 naming the field: text, an id, a list item, metadata and its keys', async () => {
    const send = (rawBody: string) => app.request('POST', '/api/v1/votes', { key: ingest, rawBody });
    const paths = async (rawBody: string) => {
      const res = await send(rawBody);
      expect(res.status).toBe(422);
      return res.json.errors.map((e: { path: string }) => e.path).sort();
    };
    expect(await paths('{"conversation_id":"surrogate","vote":"up","comment":"half \\ud800 a pair"}')).toEqual([
      '/comment',
    ]);
    // Two different ids must not become one: Postgres text would store both as U+FFFD.
    expect(await paths('{"conversation_id":"x\\udfffy","vote":"up","reasons":["ok","\\ud800"]}')).toEqual([
      '/conversation_id',
      '/reasons/1',
    ]);
    expect(
      await paths('{"conversation_id":"surrogate-meta","vote":"up","metadata":{"x":"\\ud800","\\udc00k":1}}'),
    ).toEqual(['/metadata/x', '/metadata/\ufffdk']);
    // A well-formed pair is an ordinary character.
    expect((await send('{"conversation_id":"surrogate-pair","vote":"up","comment":"\\ud83d\\udcac"}')).status).toBe(
      201,
    );
    const { rows } = await app.db.pool.query(`select comment from votes where conversation_id = 'surrogate-pair'`);
    expect(rows[0].comment).toBe('\u{1f4ac}');
    const meta = await send('{"conversation_id":"surrogate-meta","vote":"up","metadata":{"x":"\\ud800"}}');
    expect(meta.status).toBe(422);
    const none = await app.db.pool.query(
      `select count(*)::int as n from votes where conversation_id = 'surrogate-meta'`,
    );
    expect(none.rows[0].n).toBe(0);
  });

  it('answers 422, not a crash, for JSON nested deeper than 64 levels', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const res = await app.request('POST', '/api/v1/votes', {
      key: ingest,
      rawBody: `{"conversation_id":"deep","vote":"up","metadata":{"x":${deep}}}`,
    });
    expect(res.status).toBe(422);
    expect(res.json.errors[0].message).toMatch(/nest/);
    const shallow = await app.request('POST', '/api/v1/votes', {
      key: ingest,
      body: { conversation_id: 'deep', vote: 'up', metadata: { x: [[['ok']]], s: '[[[[{{{{' } },
    });
    expect(shallow.status).toBe(201);
  });

  it('answers 413 past 1 MB', async () => {
    const before = await count();
    const res = await app.request('POST', '/api/v1/votes', {
      key: ingest,
      rawBody: JSON.stringify({ conversation_id: 'c', vote: 'up', query: 'x'.repeat(1_100_000) }),
    });
    expect(res.status).toBe(413);
    expect(await count()).toBe(before);
  });

  it('answers 415 on a body that is not JSON', async () => {
    const res = await app.request('POST', '/api/v1/votes', {
      key: ingest,
      rawBody: 'vote=up',
      headers: { 'content-type': 'text/plain' },
    });
    expect(res.status).toBe(415);
  });

  it('answers 401 without a key or with an unknown key, and 403 with the wrong scope', async () => {
    const body = { conversation_id: 'c', vote: 'up' };
    const none = await app.request('POST', '/api/v1/votes', { body });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await app.request('POST', '/api/v1/votes', { body, key: 'fw_nope' })).status).toBe(401);
    const wrong = await app.request('POST', '/api/v1/votes', { body, key: read });
    expect(wrong.status).toBe(403);
    expect(wrong.json.detail).toMatch(/ingest/);
  });

  it('lets an admin key do everything', async () => {
    const res = await app.request('POST', '/api/v1/votes', {
      key: admin,
      body: { conversation_id: 'c-admin', vote: 'up' },
    });
    expect(res.status).toBe(201);
  });
});

describe('GET /api/v1/conversations/{id}/votes', () => {
  it('returns the history oldest first and the latest vote; a changed vote appends', async () => {
    for (const vote of ['up', 'down', 'up', 'down']) {
      expect(
        (await app.request('POST', '/api/v1/votes', { key: ingest, body: { conversation_id: 'conv/flip', vote } }))
          .status,
      ).toBe(201);
    }
    const res = await app.request('GET', `/api/v1/conversations/${encodeURIComponent('conv/flip')}/votes`, {
      key: read,
    });
    expect(res.status).toBe(200);
    expect(res.json.history.map((v: { vote: string }) => v.vote)).toEqual(['up', 'down', 'up', 'down']);
    expect(res.json.latest.vote).toBe('down');
    expect(res.json.latest.id).toBe(res.json.history[3].id);
    expect(res.json.latest).not.toHaveProperty('email_hash');
  });

  it('breaks ties on equal timestamps by the higher id', async () => {
    await app.db.pool.query(
      "insert into votes (conversation_id, vote, created_at) values ('conv-tie', 'up', '2026-01-01T00:00:00Z'), ('conv-tie', 'down', '2026-01-01T00:00:00Z')",
    );
    const res = await app.request('GET', '/api/v1/conversations/conv-tie/votes', { key: read });
    expect(res.json.latest.vote).toBe('down');
  });

  it('answers latest null and an empty history for an unknown conversation', async () => {
    const res = await app.request('GET', '/api/v1/conversations/never-seen/votes', { key: read });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ latest: null, history: [] });
  });

  it('needs the read scope', async () => {
    expect((await app.request('GET', '/api/v1/conversations/x/votes', { key: ingest })).status).toBe(403);
  });
});

describe('DELETE /api/v1/conversations/{id}', () => {
  it('erases every vote of the conversation and leaves a tombstone per row', async () => {
    await app.request('POST', '/api/v1/votes', { key: ingest, body: { conversation_id: 'conv-erase', vote: 'up' } });
    await app.request('POST', '/api/v1/votes', { key: ingest, body: { conversation_id: 'conv-erase', vote: 'down' } });
    expect((await app.request('DELETE', '/api/v1/conversations/conv-erase', { key: ingest })).status).toBe(403);
    const res = await app.request('DELETE', '/api/v1/conversations/conv-erase', { key: admin });
    expect(res.status).toBe(204);
    const after = await app.request('GET', '/api/v1/conversations/conv-erase/votes', { key: read });
    expect(after.json.history).toEqual([]);
    const tombstones = await app.db.pool.query("select count(*)::int as n from tombstones where table_name = 'votes'");
    expect(tombstones.rows[0].n).toBeGreaterThanOrEqual(2);
  });

  it('answers 404 for a conversation with no votes', async () => {
    const res = await app.request('DELETE', '/api/v1/conversations/nothing-here', { key: admin });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
  });
});

describe('routing', () => {
  it('answers 404 problem+json for an unknown route and 405 for a wrong method', async () => {
    const missing = await app.request('GET', '/api/v1/nope');
    expect(missing.status).toBe(404);
    expect(missing.json.status).toBe(404);
    const wrong = await app.request('PUT', '/api/v1/votes', { key: ingest, body: {} });
    expect(wrong.status).toBe(405);
  });
});
