import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction, type PoolClient } from '../../../src/db/pool.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.ts';
import { compareWarehouse, exportNow, tempWarehouse } from './compare.ts';
import { prng } from '../rollups/rollupFixture.ts';

let db: TestDatabase;
let warehouse: { dir: string; remove: () => Promise<void> };

beforeAll(async () => {
  db = await createTestDatabase();
  warehouse = await tempWarehouse();
});
afterAll(async () => {
  await db.drop();
  await warehouse.remove();
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One writer transaction: a random mix of inserts, updates, deletes and erasures, sometimes kept open a while. */
async function writeOnce(client: PoolClient, rand: () => number, writer: number, n: number): Promise<void> {
  const ops = 1 + Math.floor(rand() * 4);
  for (let op = 0; op < ops; op++) {
    const r = rand();
    if (r < 0.35) {
      await client.query(
        `insert into votes (conversation_id, vote, reasons, comment, metadata)
         values ($1::text, $2::text, $3::text[], $4::text, $5::jsonb)`,
        [
          `w${writer}-c${Math.floor(rand() * 20)}`,
          rand() < 0.5 ? 'up' : 'down',
          rand() < 0.5 ? ['slow', 'x,y'] : [],
          `n${n}`,
          JSON.stringify({ w: writer, n }),
        ],
      );
    } else if (r < 0.55) {
      await client.query(
        `update votes set comment = $1::text where id = (select id from votes where conversation_id like $2::text order by id desc offset $3::int limit 1)`,
        [`edited ${n}`, `w${writer}-%`, Math.floor(rand() * 10)],
      );
    } else if (r < 0.65) {
      await client.query(
        `delete from votes where id = (select min(id) from votes where conversation_id like $1::text)`,
        [`w${writer}-%`],
      );
    } else if (r < 0.7) {
      await client.query(`delete from votes where conversation_id = $1::text`, [
        `w${writer}-c${Math.floor(rand() * 20)}`,
      ]);
    } else if (r < 0.85) {
      await client.query(`insert into interview_sessions (external_ref, title) values ($1::text, $2::text)`, [
        `w${writer}-s${n}-${op}`,
        `t ${n}`,
      ]);
    } else if (r < 0.95) {
      await client.query(
        `update interview_sessions set title = $1::text where id = (select id from interview_sessions where external_ref like $2::text order by created_at desc limit 1)`,
        [`retitled ${n}`, `w${writer}-%`],
      );
    } else {
      await client.query(
        `delete from interview_sessions where id = (select id from interview_sessions where external_ref like $1::text limit 1)`,
        [`w${writer}-%`],
      );
    }
    // Some transactions stay open across an export.
    if (rand() < 0.2) await pause(Math.floor(rand() * 40));
  }
  if (rand() < 0.1) throw new Error('rollback on purpose');
}

describe('many writers during repeated exports', () => {
  it('the warehouse ends equal to Postgres, table by table (counts and checksums of all columns)', async () => {
    let stop = false;
    const writers = Array.from({ length: 6 }, async (_, writer) => {
      const rand = prng(1000 + writer);
      for (let n = 0; !stop; n++) {
        await withTransaction(db.pool, (client) => writeOnce(client, rand, writer, n)).catch((error: Error) => {
          if (error.message !== 'rollback on purpose') throw error;
        });
      }
    });
    const modes: string[] = [];
    let changed = 0;
    try {
      for (let i = 0; i < 6; i++) {
        const result = await exportNow(db.pool, warehouse.dir);
        modes.push(result.mode);
        changed += result.rowsChanged;
        await pause(30);
      }
    } finally {
      stop = true;
      await Promise.all(writers);
    }
    expect(modes[0]).toBe('full');
    expect(modes.slice(1).every((m) => m === 'incremental')).toBe(true);
    expect(changed).toBeGreaterThan(0);
    const last = await exportNow(db.pool, warehouse.dir);
    expect(last.mode).toBe('incremental');
    const { postgres, warehouse: duck } = await compareWarehouse(db.pool, warehouse.dir);
    expect(postgres.votes!.count).toBeGreaterThan(50);
    expect(duck).toEqual(postgres);
  });
});
