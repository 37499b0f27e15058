import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;
let ingest: string;

beforeAll(async () => {
  app = await startTestApp();
  ingest = await app.key('ingest');
});
afterAll(() => app.close());

const votes = async (conversation: string) =>
  Number(
    (await app.db.pool.query('select count(*) as n from votes where conversation_id = $1', [conversation])).rows[0].n,
  );

describe('Idempotency-Key', () => {
  it('replays the stored reply for the same key and body, writing nothing new', async () => {
    const body = { conversation_id: 'idem-1', vote: 'up' };
    const headers = { 'Idempotency-Key': 'key-1' };
    const first = await app.request('POST', '/api/v1/votes', { key: ingest, body, headers });
    const second = await app.request('POST', '/api/v1/votes', {
      key: ingest,
      body: { vote: 'up', conversation_id: 'idem-1' },
      headers,
    });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.json).toEqual(first.json);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    // The same shape as without a key, with the row's own id and timestamp.
    expect(first.json).toEqual({
      id: expect.any(Number),
      conversation_id: 'idem-1',
      vote: 'up',
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    const stored = await app.db.pool.query('select created_at from votes where id = $1', [first.json.id]);
    expect(stored.rows[0].created_at.toISOString()).toBe(first.json.created_at);
    expect(await votes('idem-1')).toBe(1);
  });

  it('answers 422 for the same key with a different body', async () => {
    const headers = { 'Idempotency-Key': 'key-2' };
    await app.request('POST', '/api/v1/votes', {
      key: ingest,
      body: { conversation_id: 'idem-2', vote: 'up' },
      headers,
    });
    const res = await app.request('POST', '/api/v1/votes', {
      key: ingest,
      body: { conversation_id: 'idem-2', vote: 'down' },
      headers,
    });
    expect(res.status).toBe(422);
    expect(res.json.detail).toMatch(/Idempotency-Key/);
    expect(await votes('idem-2')).toBe(1);
  });

  it('scopes keys by API key: another client may use the same key', async () => {
    const other = await app.key('ingest');
    const headers = { 'Idempotency-Key': 'shared' };
    await app.request('POST', '/api/v1/votes', {
      key: ingest,
      body: { conversation_id: 'idem-3', vote: 'up' },
      headers,
    });
    const res = await app.request('POST', '/api/v1/votes', {
      key: other,
      body: { conversation_id: 'idem-3', vote: 'up' },
      headers,
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('idempotent-replayed')).toBeNull();
    expect(await votes('idem-3')).toBe(2);
  });

  it('answers 409 while the first request with the key is still running', async () => {
    const body = { conversation_id: 'idem-4', vote: 'up' };
    const headers = { 'Idempotency-Key': 'in-flight' };
    if (!app.db.real) {
      // Embedded PGlite is one session that runs one transaction at a time: a duplicate waits and is replayed.
      const [a, b] = await Promise.all(
        [1, 2].map(() => app.request('POST', '/api/v1/votes', { key: ingest, body, headers })),
      );
      expect([a!.status, b!.status]).toEqual([201, 201]);
      expect(b!.json).toEqual(a!.json);
      expect(await votes('idem-4')).toBe(1);
      return;
    }
    const apiKeyId = (await app.db.pool.query("select id from api_keys where name = 'test-ingest' limit 1")).rows[0].id;
    // Hold the key's advisory lock in another session, as an in-flight request would.
    const lock = createHash('sha256').update(`idempotency:${apiKeyId}:in-flight`).digest().readBigInt64BE(0).toString();
    const holder = await app.db.pool.connect();
    try {
      await holder.query('begin');
      await holder.query(`select pg_advisory_xact_lock(${lock})`);
      const res = await app.request('POST', '/api/v1/votes', { key: ingest, body, headers });
      expect(res.status).toBe(409);
      expect(res.headers.get('content-type')).toMatch(/problem\+json/);
      expect(await votes('idem-4')).toBe(0);
    } finally {
      await holder.query('rollback');
      holder.release();
    }
    // Once the first finishes (here: gave up), the key is free again.
    expect((await app.request('POST', '/api/v1/votes', { key: ingest, body, headers })).status).toBe(201);
  });

  it('writes exactly one row under 20 concurrent identical requests', async () => {
    const body = { conversation_id: 'idem-5', vote: 'down' };
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        app.request('POST', '/api/v1/votes', { key: ingest, body, headers: { 'Idempotency-Key': 'burst' } }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    expect(statuses).toContain(201);
    const ids = new Set(results.filter((r) => r.status === 201).map((r) => r.json.id));
    expect(ids.size).toBe(1);
    expect(await votes('idem-5')).toBe(1);
  });

  it('keeps every rule when many keyed requests are served together', async () => {
    const send = (i: number, vote = 'up') =>
      app.request('POST', '/api/v1/votes', {
        key: ingest,
        body: { conversation_id: `idem-group-${i}`, vote },
        headers: { 'Idempotency-Key': `group-${i}` },
      });
    const first = await Promise.all(Array.from({ length: 10 }, (_, i) => send(i)));
    expect(first.map((r) => r.status)).toEqual(Array(10).fill(201));
    expect(new Set(first.map((r) => r.json.id)).size).toBe(10);
    const again = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => send(i)),
      ...Array.from({ length: 5 }, (_, i) => send(i, 'down')),
    ]);
    // Served concurrently, a request may meet another with its key "still running" (409); nothing else is allowed.
    again.slice(0, 10).forEach((r, i) => {
      expect([201, 409]).toContain(r.status);
      if (r.status === 201) {
        expect(r.headers.get('idempotent-replayed')).toBe('true');
        expect(r.json).toEqual(first[i]!.json);
      }
    });
    again.slice(10).forEach((r) => expect([422, 409]).toContain(r.status));
    expect(again.filter((r) => r.status === 201).length).toBeGreaterThan(0);
    // Once settled, each key replays its reply and refuses another body.
    for (let i = 0; i < 5; i++) {
      const replay = await send(i);
      expect(replay.status).toBe(201);
      expect(replay.json).toEqual(first[i]!.json);
      expect((await send(i, 'down')).status).toBe(422);
    }
    const { rows } = await app.db.pool.query(
      "select count(*)::int as n from votes where conversation_id like 'idem-group-%'",
    );
    expect(rows[0].n).toBe(10);
  });

  it('a keyed request the database refuses fails alone, served together with others', async () => {
    const send = (i: number, metadata: string) =>
      app.request('POST', '/api/v1/votes', {
        key: ingest,
        rawBody: `{"conversation_id":"idem-bad-${i}","vote":"up","metadata":${metadata}}`,
        headers: { 'Idempotency-Key': `bad-group-${i}` },
      });
    // jsonb refuses an escaped lone surrogate: that vote's statement fails, and with it its group's transaction.
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => send(i, i === 5 ? '{"x":"\\ud800"}' : `{"i":${i}}`)),
    );
    expect(results.map((r) => r.status)).toEqual(results.map((_, i) => (i === 5 ? 422 : 201)));
    const { rows } = await app.db.pool.query(
      "select count(*)::int as n from votes where conversation_id like 'idem-bad-%'",
    );
    expect(rows[0].n).toBe(11);
    // The refused key stored nothing: it can be used again.
    expect((await send(5, '{}')).status).toBe(201);
  });

  it('a NUL in one keyed vote is a 422 naming its field; the keyed votes sent with it are written', async () => {
    const send = (i: number) =>
      app.request('POST', '/api/v1/votes', {
        key: ingest,
        body: { conversation_id: `idem-nul-${i}`, vote: 'up', comment: i === 3 ? 'a\u0000b' : 'fine' },
        headers: { 'Idempotency-Key': `nul-burst-${i}` },
      });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => send(i)));
    expect(results.map((r) => r.status)).toEqual(results.map((_, i) => (i === 3 ? 422 : 201)));
    expect(results[3]!.json.errors).toEqual([{ path: '/comment', message: 'must not contain the NUL character' }]);
    const { rows } = await app.db.pool.query(
      "select count(*)::int as n from votes where conversation_id like 'idem-nul-%'",
    );
    expect(rows[0].n).toBe(9);
  });

  it('stores nothing for a refused request, so the key can be used again', async () => {
    const headers = { 'Idempotency-Key': 'after-422' };
    expect(
      (await app.request('POST', '/api/v1/votes', { key: ingest, body: { conversation_id: 'idem-6' }, headers }))
        .status,
    ).toBe(422);
    expect(
      (
        await app.request('POST', '/api/v1/votes', {
          key: ingest,
          body: { conversation_id: 'idem-6', vote: 'up' },
          headers,
        })
      ).status,
    ).toBe(201);
  });

  it('honours a key for 24 hours only', async () => {
    const headers = { 'Idempotency-Key': 'old' };
    await app.request('POST', '/api/v1/votes', {
      key: ingest,
      body: { conversation_id: 'idem-7', vote: 'up' },
      headers,
    });
    await app.db.pool.query("update idempotency_keys set created_at = now() - interval '25 hours' where key = 'old'");
    const res = await app.request('POST', '/api/v1/votes', {
      key: ingest,
      body: { conversation_id: 'idem-7', vote: 'up' },
      headers,
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('idempotent-replayed')).toBeNull();
    expect(await votes('idem-7')).toBe(2);
  });

  it('answers 400 for a key over 255 characters', async () => {
    const res = await app.request('POST', '/api/v1/votes', {
      key: ingest,
      body: { conversation_id: 'idem-8', vote: 'up' },
      headers: { 'Idempotency-Key': 'k'.repeat(256) },
    });
    expect(res.status).toBe(400);
  });
});
