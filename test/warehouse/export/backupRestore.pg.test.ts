import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.ts';
import { exportNow, onPublished, duckRows } from './compare.ts';
import {
  closeExportFixture,
  expectWarehouseEqual,
  insertVotes,
  openExportFixture,
  type ExportFixture,
} from './exportFixture.ts';

// README "Backups": Postgres is restored from a pg_dump into a fresh database, and the warehouse that was exporting
// from the old one notices the new source at its next export and rebuilds itself in full from what was restored.
// pg_dump and pg_restore need a real server, hence a .pg.test.ts file.

const run = promisify(execFile);

let fixture: ExportFixture | undefined;
let restored: TestDatabase | undefined;
let dumpDir: string | undefined;

beforeAll(async () => {
  fixture = await openExportFixture();
  dumpDir = await mkdtemp(path.join(tmpdir(), 'fw-dump-'));
});
afterAll(async () => {
  await restored?.drop();
  await closeExportFixture(fixture);
  if (dumpDir) await rm(dumpDir, { recursive: true, force: true });
});

const votesIn = (dir: string, prefix: string) =>
  onPublished(dir, async (conn) =>
    Number((await duckRows(conn, `select count(*) as n from votes where conversation_id like '${prefix}%'`))[0]!.n),
  );

describe('backup and restore', () => {
  it('a pg_dump restored into a fresh database: the next export notices the new source, runs in full and equals it', async () => {
    const { db, warehouse } = fixture!;
    expect((await exportNow(db.pool, warehouse.dir)).mode).toBe('full');
    await insertVotes(db.pool, 20, 'before-dump-');
    expect((await exportNow(db.pool, warehouse.dir)).mode).toBe('incremental');

    // The nightly backup.
    const dump = path.join(dumpDir!, 'feedback.dump');
    await run('pg_dump', ['--format=custom', '--file', dump, '--dbname', db.url]);

    // After the backup: more writes, an erasure, and an export that publishes them.
    await insertVotes(db.pool, 30, 'after-dump-');
    await db.pool.query(`delete from votes where conversation_id = 'before-dump-1'`);
    expect((await exportNow(db.pool, warehouse.dir)).mode).toBe('incremental');
    expect(await votesIn(warehouse.dir, 'after-dump-')).toBe(30);

    // The database is lost; the dump is restored into a new one, and the service pointed at it.
    restored = await createTestDatabase({ migrated: false });
    await run('pg_restore', ['--no-owner', '--exit-on-error', '--dbname', restored.url, dump]);

    const rebuilt = await exportNow(restored.pool, warehouse.dir);
    expect(rebuilt.mode).toBe('full');
    expect(rebuilt.reason).toMatch(/source database changed/);
    // The warehouse is what was restored: the writes after the backup are gone, the erased conversation is back
    // (as it is in the restored Postgres: erasures after a backup must be applied again after restoring it).
    await expectWarehouseEqual(restored.pool, warehouse.dir);
    expect(await votesIn(warehouse.dir, 'after-dump-')).toBe(0);
    expect(await votesIn(warehouse.dir, 'before-dump-1')).toBeGreaterThan(0);

    // From then on it exports incrementally from the restored database.
    await insertVotes(restored.pool, 5, 'after-restore-');
    const next = await exportNow(restored.pool, warehouse.dir);
    expect(next.mode).toBe('incremental');
    await expectWarehouseEqual(restored.pool, warehouse.dir);
    expect(await votesIn(warehouse.dir, 'after-restore-')).toBe(5);
  });
});
