import { hostname } from 'node:os';
import path from 'node:path';
import type { Pool } from '../../db/pool.ts';
import type { ExportMode } from './exportTypes.ts';

/** A warehouse is a directory on a host; two servers with their own WAREHOUSE_DIR are two warehouses. */
export function warehouseKey(warehouseDir: string): string {
  return `${hostname()}:${path.resolve(warehouseDir)}`;
}

export interface ExportStateRow {
  readonly warehouse: string;
  readonly watermark: string;
  readonly asOf: Date;
  readonly mode: ExportMode;
  readonly systemIdentifier: string | null;
  readonly lastRunId: number | null;
  readonly updatedAt: Date;
}

/**
 * Records, after the publication, what this warehouse now holds. The warehouse file stays authoritative (its
 * export_runs carries the watermark atomically with the data): if this write is lost, the next export simply starts
 * from the file's watermark again.
 */
export async function recordExportState(
  pool: Pool,
  warehouseDir: string,
  state: { watermark: string; asOf: Date; mode: ExportMode; systemIdentifier: string | null; runId: number | null },
): Promise<void> {
  await pool.query({
    text: `insert into export_state (warehouse, watermark, as_of, mode, system_identifier, last_run_id, updated_at)
           values ($1::text, $2::xid8, $3::timestamptz, $4::text, $5::text, $6::bigint, now())
           on conflict (warehouse) do update
              set watermark = excluded.watermark, as_of = excluded.as_of, mode = excluded.mode,
                  system_identifier = excluded.system_identifier, last_run_id = excluded.last_run_id, updated_at = now()`,
    values: [warehouseKey(warehouseDir), state.watermark, state.asOf, state.mode, state.systemIdentifier, state.runId],
  });
}

/** Every warehouse that ever published from this database, most recent first. */
export async function readExportStates(pool: Pool): Promise<ExportStateRow[]> {
  const { rows } = await pool.query<{
    warehouse: string;
    watermark: string;
    as_of: Date;
    mode: ExportMode;
    system_identifier: string | null;
    last_run_id: number | null;
    updated_at: Date;
  }>(
    `select warehouse, watermark::text as watermark, as_of, mode, system_identifier, last_run_id, updated_at
       from export_state order by updated_at desc`,
  );
  return rows.map((r) => ({
    warehouse: r.warehouse,
    watermark: r.watermark,
    asOf: r.as_of,
    mode: r.mode,
    systemIdentifier: r.system_identifier,
    lastRunId: r.last_run_id,
    updatedAt: r.updated_at,
  }));
}
