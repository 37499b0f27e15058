import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '../../src/auth/keys.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { runCli } from '../helpers/cli.ts';

let db: TestDatabase;
let dataDir: string;
let env: Record<string, string>;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), 'fw-keys-cli-'));
  env = { DATABASE_URL: db.url, DATA_DIR: dataDir };
});
afterAll(async () => {
  await db.drop();
  await rm(dataDir, { recursive: true, force: true });
});

const lastLine = (stdout: string) => stdout.trim().split('\n').at(-1)!;

// Each CLI run is a fresh Node process with tsx that migrates first: a few seconds each on an idle machine.
describe('feedback-warehouse keys list | revoke | rotate', { timeout: 180_000 }, () => {
  it('lists, rotates (new key last on stdout) and revokes keys; a revoked key stops authenticating', async () => {
    const admin = await runCli(['keys', 'create', '--name', 'root', '--scopes', 'admin'], env);
    expect(admin.code, admin.stderr).toBe(0);
    const created = await runCli(['keys', 'create', '--name', 'chatbot', '--scopes', 'ingest,read'], env);
    const oldKey = lastLine(created.stdout);

    const list = await runCli(['keys', 'list'], env);
    expect(list.code, list.stderr).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+SCOPES\s+CREATED\s+LAST USED\s+REVOKED$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([
      ['chatbot', 'ingest,read'],
      ['root', 'admin'],
    ]);
    expect(list.stdout).not.toContain(oldKey);

    const rotated = await runCli(['keys', 'rotate', 'chatbot'], env);
    expect(rotated.code, rotated.stderr).toBe(0);
    const newKey = lastLine(rotated.stdout);
    expect(newKey).toMatch(/^fw_[A-Za-z0-9_-]{43}$/);
    expect(newKey).not.toBe(oldKey);
    const store = new ApiKeyStore(db.pool);
    expect(await store.find(oldKey)).toBeNull();
    expect(await store.find(newKey)).toMatchObject({ name: 'chatbot', scopes: ['ingest', 'read'] });

    const revoked = await runCli(['keys', 'revoke', 'chatbot'], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/^Revoked key "chatbot"/);
    expect(await new ApiKeyStore(db.pool).find(newKey)).toBeNull();

    const json = await runCli(['keys', 'list', '--json'], env);
    const keys = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(keys.map((k) => [k.name, k.revoked_at === null])).toEqual([
      ['root', true],
      ['chatbot', false],
      ['chatbot', false],
    ]);
    expect(json.stdout).not.toMatch(/fw_|key_hash/);
  });

  it('answers an unknown name, a revoked one, a taken name and the last admin key with a clear error and exit 1', async () => {
    const cases: [string[], RegExp][] = [
      [['keys', 'revoke', 'nobody'], /No key is named "nobody"/],
      [['keys', 'revoke', 'chatbot'], /already revoked/],
      [['keys', 'revoke', 'root'], /last active admin key/],
      [['keys', 'create', '--name', 'root', '--scopes', 'read'], /already named "root"/],
    ];
    for (const [args, message] of cases) {
      const res = await runCli(args, env);
      expect(res.code, args.join(' ')).toBe(1);
      expect(res.stderr).toMatch(message);
      expect(res.stdout).toBe('');
    }
    const badName = await runCli(['keys', 'create', '--name', 'two words', '--scopes', 'read'], env);
    expect(badName.code).not.toBe(0);
    expect(badName.stderr).toMatch(/key name is 1 to 100 letters/);
    const { rows } = await db.pool.query(
      `select count(*)::int as n from api_keys where revoked_at is null and name = 'root'`,
    );
    expect(rows[0].n).toBe(1);
  });
});
