import { expect } from 'vitest';
import type { Pool } from '../../../src/db/pool.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.ts';
import { compareWarehouse, tempWarehouse } from './compare.ts';
import { seedFeedback } from '../rollups/rollupFixture.ts';

/** What export.test.ts and export.concurrency.pg.test.ts share: a seeded database and a temporary warehouse. */
export interface ExportFixture {
  readonly db: TestDatabase;
  readonly warehouse: { dir: string; remove: () => Promise<void> };
}

export async function openExportFixture(): Promise<ExportFixture> {
  const db = await createTestDatabase();
  const warehouse = await tempWarehouse();
  await seedFeedback(db.pool, { conversations: 60, sessions: 40 });
  return { db, warehouse };
}

export async function closeExportFixture(fixture: ExportFixture | undefined): Promise<void> {
  await fixture?.db.drop();
  await fixture?.warehouse.remove();
}

/** n votes in conversations `${prefix}0`..`${prefix}6`, with the awkward values (quotes, commas, JSON) a copy must keep. */
export const insertVotes = (pool: Pool, n: number, prefix: string) =>
  pool.query(
    `insert into votes (conversation_id, vote, query, response, reasons, comment, expert_ids, metadata)
     select $2::text || (g % 7), case when g % 3 = 0 then 'down' else 'up' end, 'Q ' || g || E',\\n"quoted"',
            case when g % 2 = 0 then '' end, array['a,b', 'c "d"', ''], null, '{}', jsonb_build_object('g', g, 'nested', jsonb_build_object('x', array[1, 2]))
       from generate_series(1, $1::int) g`,
    [n, prefix],
  );

/** The published warehouse equals Postgres, table by table (counts and checksums). */
export async function expectWarehouseEqual(pool: Pool, dir: string, tables?: readonly string[]): Promise<void> {
  const { postgres, warehouse: duck } = await compareWarehouse(pool, dir, tables);
  expect(duck).toEqual(postgres);
}
