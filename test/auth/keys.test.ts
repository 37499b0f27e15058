import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore, hashKey } from '../../src/auth/keys.ts';
import { revokeApiKey } from '../../src/auth/keyAdmin.ts';
import { readdir } from 'node:fs/promises';
import { MIGRATIONS_DIR, migrate } from '../../src/db/migrate.ts';
import { quietLogger } from '../helpers/db.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;
let admin: string;

beforeAll(async () => {
  app = await startTestApp();
  admin = await app.key('admin');
});
afterAll(() => app.close());

const post = (path: string, body?: unknown, key = admin, headers: Record<string, string> = {}) =>
  app.request('POST', path, { key, body, headers });

const voteWith = (key: string) =>
  app.request('POST', '/api/v1/votes', { key, body: { conversation_id: 'keys-test', vote: 'up' } });

describe('the keys API', () => {
  it('creates a key shown once, lists keys without their hashes, and the new key works at once', async () => {
    const created = await post('/api/v1/keys', { name: 'chatbot', scopes: ['ingest', 'read'] });
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({ name: 'chatbot', scopes: ['ingest', 'read'], revoked_at: null });
    expect(created.json.key).toMatch(/^fw_[A-Za-z0-9_-]{43}$/);
    expect((await voteWith(created.json.key)).status).toBe(201);

    const list = await app.request('GET', '/api/v1/keys', { key: admin });
    expect(list.status).toBe(200);
    const chatbot = list.json.keys.find((k: { name: string }) => k.name === 'chatbot');
    expect(Object.keys(chatbot).sort()).toEqual(['created_at', 'id', 'last_used_at', 'name', 'revoked_at', 'scopes']);
    expect(chatbot.last_used_at).not.toBeNull();
    expect(list.text).not.toContain(created.json.key);
    expect(list.text).not.toContain(hashKey(created.json.key));
  });

  it('refuses a second active key of the same name (409) and a bad body (422), writing nothing', async () => {
    const before = (await app.db.pool.query('select count(*)::int as n from api_keys')).rows[0].n;
    const taken = await post('/api/v1/keys', { name: 'chatbot', scopes: ['read'] });
    expect(taken.status).toBe(409);
    expect(taken.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(taken.json.detail).toMatch(/already named "chatbot"/);
    for (const body of [
      { name: 'x', scopes: [] },
      { name: 'x', scopes: ['root'] },
      { name: 'has space', scopes: ['read'] },
      { name: 'x', scopes: ['read'], extra: 1 },
      { scopes: ['read'] },
    ]) {
      const res = await post('/api/v1/keys', body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.json.errors.length).toBeGreaterThan(0);
    }
    expect((await app.db.pool.query('select count(*)::int as n from api_keys')).rows[0].n).toBe(before);
  });

  it('revokes a key: it stops working at once on this server; 409 the second time; 404 an unknown name', async () => {
    const { key } = (await post('/api/v1/keys', { name: 'to-revoke', scopes: ['ingest'] })).json;
    expect((await voteWith(key)).status).toBe(201); // cached now
    const revoked = await post('/api/v1/keys/to-revoke/revoke');
    expect(revoked.status, revoked.text).toBe(200);
    expect(revoked.json).toMatchObject({ name: 'to-revoke', scopes: ['ingest'] });
    expect(Date.parse(revoked.json.revoked_at)).not.toBeNaN();
    const refused = await voteWith(key);
    expect(refused.status).toBe(401);
    expect(refused.json.detail).toMatch(/unknown or revoked/);

    const again = await post('/api/v1/keys/to-revoke/revoke');
    expect(again.status).toBe(409);
    expect(again.json.detail).toMatch(/already revoked/);
    expect((await post('/api/v1/keys/no-such-key/revoke')).status).toBe(404);
    expect((await post('/api/v1/keys/no-such-key/rotate')).status).toBe(404);
    expect((await post('/api/v1/keys/to-revoke/rotate')).status).toBe(409);

    // The name is free again once its key is revoked.
    expect((await post('/api/v1/keys', { name: 'to-revoke', scopes: ['read'] })).status).toBe(201);
  });

  it('rotates a key: same name and scopes, the new key shown once, the old one revoked', async () => {
    const old = (await post('/api/v1/keys', { name: 'coach', scopes: ['ingest', 'query'] })).json;
    expect((await voteWith(old.key)).status).toBe(201);
    const rotated = await post('/api/v1/keys/coach/rotate');
    expect(rotated.status, rotated.text).toBe(201);
    expect(rotated.json).toMatchObject({ name: 'coach', scopes: ['ingest', 'query'], revoked_at: null });
    expect(rotated.json.key).toMatch(/^fw_/);
    expect(rotated.json.key).not.toBe(old.key);
    expect(rotated.json.replaced).toMatchObject({ id: old.id, name: 'coach' });
    expect(rotated.json.replaced.revoked_at).not.toBeNull();
    expect((await voteWith(old.key)).status).toBe(401);
    expect((await voteWith(rotated.json.key)).status).toBe(201);
    const { rows } = await app.db.pool.query(
      `select count(*) filter (where revoked_at is null)::int as active, count(*)::int as all from api_keys where name = 'coach'`,
    );
    expect(rows[0]).toEqual({ active: 1, all: 2 });
  });

  it('refuses to revoke the last active admin key (409), and allows it once another admin key exists', async () => {
    const { rows } = await app.db.pool.query(
      `select name from api_keys where revoked_at is null and 'admin' = any (scopes)`,
    );
    expect(rows.map((r) => r.name)).toEqual(['test-admin']);
    const refused = await post('/api/v1/keys/test-admin/revoke');
    expect(refused.status).toBe(409);
    expect(refused.json.detail).toMatch(/last active admin key/);
    expect((await app.request('GET', '/api/v1/keys', { key: admin })).status).toBe(200);

    // Rotating the last admin key is fine: there is an admin key again in the same transaction.
    const rotated = await post('/api/v1/keys/test-admin/rotate');
    expect(rotated.status).toBe(201);
    const newAdmin = rotated.json.key as string;
    expect((await app.request('GET', '/api/v1/keys', { key: admin })).status).toBe(401);
    const second = await post('/api/v1/keys', { name: 'ops', scopes: ['admin'] }, newAdmin);
    expect(second.status).toBe(201);
    expect((await post('/api/v1/keys/test-admin/revoke', undefined, second.json.key)).status).toBe(200);
    expect((await app.request('GET', '/api/v1/keys', { key: newAdmin })).status).toBe(401);
    admin = second.json.key;
  });

  it('two concurrent revocations of the last two admin keys: one succeeds, one is refused', async () => {
    const a = (await post('/api/v1/keys', { name: 'admin-a', scopes: ['admin', 'read'] })).json;
    // Revoke every other admin key first, so that admin-a and ops are the last two.
    const { rows } = await app.db.pool.query(
      `select name from api_keys where revoked_at is null and 'admin' = any (scopes) and name not in ('admin-a', 'ops')`,
    );
    for (const r of rows) expect((await post(`/api/v1/keys/${r.name}/revoke`)).status).toBe(200);
    const results = await Promise.allSettled([revokeApiKey(app.db.pool, 'admin-a'), revokeApiKey(app.db.pool, 'ops')]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const left = await app.db.pool.query(
      `select name from api_keys where revoked_at is null and 'admin' = any (scopes)`,
    );
    expect(left.rows).toHaveLength(1);
    admin = left.rows[0].name === 'ops' ? admin : a.key;
    expect((await app.request('GET', '/api/v1/keys', { key: admin })).status).toBe(200);
  });

  it('replays a create under the same Idempotency-Key without a second key and without the clear key', async () => {
    const headers = { 'Idempotency-Key': 'create-reporting-1' };
    const first = await post('/api/v1/keys', { name: 'reporting', scopes: ['read'] }, admin, headers);
    expect(first.status).toBe(201);
    expect(first.json.key).toMatch(/^fw_/);
    const replay = await post('/api/v1/keys', { name: 'reporting', scopes: ['read'] }, admin, headers);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.json).toEqual({ ...first.json, key: null });
    const { rows } = await app.db.pool.query(`select count(*)::int as n from api_keys where name = 'reporting'`);
    expect(rows[0].n).toBe(1);
    // The clear key is stored nowhere: not in the idempotency store either.
    const stored = await app.db.pool.query(`select response::text as r from idempotency_keys`);
    expect(stored.rows.some((r) => r.r.includes(first.json.key))).toBe(false);

    const rotateHeaders = { 'Idempotency-Key': 'rotate-reporting-1' };
    const rotated = await post('/api/v1/keys/reporting/rotate', undefined, admin, rotateHeaders);
    const rotatedAgain = await post('/api/v1/keys/reporting/rotate', undefined, admin, rotateHeaders);
    expect([rotated.status, rotatedAgain.status]).toEqual([201, 201]);
    expect(rotatedAgain.json).toEqual({ ...rotated.json, key: null });
    expect((await voteWith(rotated.json.key)).status).toBe(403); // read only: but alive, not rotated twice
    const revokeHeaders = { 'Idempotency-Key': 'revoke-reporting-1' };
    const revoked = await post('/api/v1/keys/reporting/revoke', undefined, admin, revokeHeaders);
    const revokedAgain = await post('/api/v1/keys/reporting/revoke', undefined, admin, revokeHeaders);
    expect([revoked.status, revokedAgain.status]).toEqual([200, 200]);
    expect(revokedAgain.json).toEqual(revoked.json);
  });
});

describe('a key revoked on another server', () => {
  it('keeps working here until the cache entry expires (30 s), then is refused', async () => {
    let now = 1_000_000;
    const store = new ApiKeyStore(app.db.pool, 30_000, () => now);
    const { key } = (await post('/api/v1/keys', { name: 'elsewhere', scopes: ['ingest'] })).json;
    expect((await store.find(key))?.name).toBe('elsewhere');
    // Revoked through another server (this store is not told).
    expect((await post('/api/v1/keys/elsewhere/revoke')).status).toBe(200);
    now += 29_999;
    expect((await store.find(key))?.name).toBe('elsewhere');
    now += 2;
    expect(await store.find(key)).toBeNull();
  });

  it('records last use at most once a minute per key, in the lookup', async () => {
    let now = 5_000_000;
    const store = new ApiKeyStore(app.db.pool, 30_000, () => now);
    const { key } = (await post('/api/v1/keys', { name: 'used', scopes: ['read'] })).json;
    const lastUsed = async () =>
      (await app.db.pool.query(`select last_used_at from api_keys where name = 'used'`)).rows[0].last_used_at;
    expect(await lastUsed()).toBeNull();
    await Promise.all([store.find(key), store.find(key), store.find(key)]);
    const first = await lastUsed();
    expect(first).not.toBeNull();
    now += 31_000;
    await store.find(key); // a second lookup within the minute leaves it as it was
    expect(await lastUsed()).toEqual(first);
  });
});

describe('migration 0007', () => {
  it('keeps every active key working when older duplicate names exist: the oldest keeps the name', async () => {
    const db = app.db;
    // Back to just before 0007, whatever later migrations exist.
    const later = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql') && f >= '0007');
    await migrate(db.url, 'down', quietLogger, later.length);
    try {
      await db.pool.query(`delete from idempotency_keys`);
      await db.pool.query(
        `insert into api_keys (name, key_hash, scopes, created_at)
         values ('dup', 'h1', '{read}', now() - interval '2 days'), ('dup', 'h2', '{read}', now() - interval '1 day'),
                ('dup', 'h3', '{read}', now()), ('gone', 'h4', '{read}', now())`,
      );
      await db.pool.query(
        `insert into api_keys (name, key_hash, scopes, revoked_at) values ('gone', 'h5', '{read}', now())`,
      );
    } finally {
      await migrate(db.url, 'up', quietLogger);
    }
    const { rows } = await db.pool.query(
      `select key_hash, name, id::text as id from api_keys where key_hash like 'h_' order by key_hash`,
    );
    expect(rows[0].name).toBe('dup');
    expect(rows[1].name).toBe(`dup-${rows[1].id.slice(0, 8)}`);
    expect(rows[2].name).toBe(`dup-${rows[2].id.slice(0, 8)}`);
    expect(rows.slice(3).map((r) => r.name)).toEqual(['gone', 'gone']);
  });
});
