/**
 * The exporter as its own process, for `npm run bench -- export`: one export into WAREHOUSE_DIR, then a JSON line on
 * stdout with its timings and the process's peak resident memory (getrusage ru_maxrss), so the benchmark measures
 * the exporter alone, not the benchmark's own heap.
 */
import { createPool } from '../../src/db/pool.ts';
import { createLogger } from '../../src/log.ts';
import { runExport } from '../../src/warehouse/export/exporter.ts';

const [url, warehouseDir, mode] = process.argv.slice(2);
const logger = createLogger('warn');
const pool = createPool({ connectionString: url!, max: 2, idleInTransactionTimeoutMs: 60_000, logger });
try {
  const started = performance.now();
  // ru_maxrss when the rows are loaded (before the rollups), the exporter's own part of the peak.
  let loadRssMb = 0;
  const result = await runExport(pool, warehouseDir!, logger, {
    full: mode === 'full',
    onProgress: (p) => {
      if (p.phase === 'done') loadRssMb = process.resourceUsage().maxRSS / 1024;
    },
  });
  const ms = performance.now() - started;
  process.stdout.write(
    `${JSON.stringify({
      mode: result.mode,
      ms,
      rows: result.rowsChanged,
      phases: result.phasesMs,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
      loadRssMb,
    })}\n`,
  );
} finally {
  await pool.end();
}
