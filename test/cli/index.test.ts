import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { runCli, startServe } from '../helpers/cli.ts';

let db: TestDatabase;
let dataDir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), 'fw-cli-'));
});
afterAll(async () => {
  await db.drop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('feedback-warehouse CLI', () => {
  it('keys create prints the new key as the last line of stdout, and the key works', async () => {
    const env = { DATABASE_URL: db.url, DATA_DIR: dataDir };
    const created = await runCli(['keys', 'create', '--name', 'app', '--scopes', 'ingest,read'], env);
    expect(created.code).toBe(0);
    const key = created.stdout.trim().split('\n').at(-1)!;
    expect(key).toMatch(/^fw_[A-Za-z0-9_-]{43}$/);
    const { rows } = await db.pool.query("select name, scopes, key_hash from api_keys where name = 'app'");
    expect(rows[0].scopes).toEqual(['ingest', 'read']);
    expect(rows[0].key_hash).not.toContain(key);

    const server = await startServe(['--port', '0', '--no-jobs'], env);
    try {
      const res = await fetch(`${server.url}/api/v1/votes`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ conversation_id: 'cli', vote: 'up' }),
      });
      expect(res.status).toBe(201);
    } finally {
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    }
  });

  it('serve drains a request in flight on SIGTERM before it exits', async () => {
    const env = { DATABASE_URL: db.url, DATA_DIR: dataDir };
    const key = (await runCli(['keys', 'create', '--name', 'drain', '--scopes', 'ingest'], env)).stdout
      .trim()
      .split('\n')
      .at(-1)!;
    const server = await startServe(['--port', '0', '--no-jobs'], env);
    const body = JSON.stringify({ conversation_id: 'drain', vote: 'up' });
    const { port } = new URL(server.url);
    // A slow client: headers and half the body now, the rest after SIGTERM.
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let response = '';
    socket.on('data', (d: Buffer) => (response += d.toString()));
    const ended = new Promise((resolve) => socket.once('end', resolve));
    socket.write(
      `POST /api/v1/votes HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${key}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 10)}`,
    );
    await new Promise((r) => setTimeout(r, 200));
    server.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    socket.write(body.slice(10));
    await ended;
    expect(response).toMatch(/^HTTP\/1.1 201/);
    expect(await server.exited).toBe(0);
    const { rows } = await db.pool.query("select count(*)::int as n from votes where conversation_id = 'drain'");
    expect(rows[0].n).toBe(1);
  });

  it('keys create refuses unknown scopes with a clear message', async () => {
    const res = await runCli(['keys', 'create', '--name', 'x', '--scopes', 'ingest,superuser'], {
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
    });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/superuser/);
  });

  it('migrate status lists every migration as applied', async () => {
    const res = await runCli(['migrate', 'status'], { DATABASE_URL: db.url, DATA_DIR: dataDir });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^applied\s+0001_foundation/m);
  });

  it('fails fast with an actionable message on bad configuration', async () => {
    const res = await runCli(['migrate', 'status'], { DATABASE_URL: 'mysql://nope', DATA_DIR: dataDir });
    expect(res.code).toBe(78);
    expect(res.stderr).toMatch(/DATABASE_URL must be a postgres/);
  });
});

describe('serve on embedded defaults', () => {
  it('starts with no DATABASE_URL, prints an admin key once, answers /healthz, drains on SIGTERM, and keeps data', async () => {
    const home = await mkdtemp(path.join(tmpdir(), 'fw-embedded-'));
    try {
      const env = { DATA_DIR: home };
      const first = await startServe(['--port', '0', '--no-jobs'], env);
      let adminKey: string;
      try {
        expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
        adminKey = /admin API key[^\n]*\n(fw_\S+)/.exec(first.output())![1]!;
        const vote = await fetch(`${first.url}/api/v1/votes`, {
          method: 'POST',
          headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ conversation_id: 'embedded', vote: 'down' }),
        });
        expect(vote.status).toBe(201);
      } finally {
        first.child.kill('SIGTERM');
      }
      expect(await first.exited).toBe(0);

      const second = await startServe(['--port', '0', '--no-jobs'], env);
      try {
        expect(second.output()).not.toMatch(/admin API key/);
        const res = await fetch(`${second.url}/api/v1/conversations/embedded/votes`, {
          headers: { authorization: `Bearer ${adminKey}` },
        });
        expect((await res.json()).latest.vote).toBe('down');
      } finally {
        second.child.kill('SIGTERM');
      }
      expect(await second.exited).toBe(0);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
