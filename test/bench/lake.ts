import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPool } from '../../src/db/pool.ts';
import { createLogger } from '../../src/log.ts';
import { runExport } from '../../src/warehouse/export/exporter.ts';
import type { ExportResult } from '../../src/warehouse/export/exportTypes.ts';
import { withScratchDatabase } from './scratch.ts';

/**
 * `npm run bench -- lake` (README "At scale"): 2 million votes over 90 days in a scratch database; a full export
 * that writes the Parquet lake, then an incremental one after 10,000 changed rows spread over 3 days (updated
 * comments and votes). The incremental export rewrites only those 3 days' partitions: its lake time against the full
 * export's lake time (target <= 10%), and the bytes it writes against the lake's size (target <= 10%). Figures,
 * never a gate.
 */
const ROWS = Number(process.env.BENCH_ROWS ?? 2_000_000);
const DAYS = 90;
const CHANGED = 10_000;
const CHANGED_DAYS = 3;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const pct = (n: number) => `${(n * 100).toFixed(1)}%`;
const check = (ok: boolean) => (ok ? 'meets the target' : 'MISSES the target');

export async function run(): Promise<void> {
  await withScratchDatabase(async (url) => {
    const logger = createLogger('warn');
    const pool = createPool({ connectionString: url, max: 2, idleInTransactionTimeoutMs: 120_000, logger });
    const dir = await mkdtemp(path.join(tmpdir(), 'fw-bench-lake-'));
    const lakeDir = path.join(dir, 'lake');
    try {
      process.stderr.write(`seeding ${fmt(ROWS)} votes over ${DAYS} days...\n`);
      await pool.query(
        `insert into votes (conversation_id, vote, query, response, reasons, comment, expert_ids, metadata, created_at)
         select 'conv-' || (g % 400000), case when g % 3 = 0 then 'down' else 'up' end,
                case when g % 2 = 0 then 'How do I file form F24 for ' || g || '?' end,
                case when g % 2 = 0 then 'You can file it online, step ' || g || '.' end,
                case when g % 3 = 0 then array['wrong', 'too vague'] else '{}' end,
                case when g % 10 = 0 then 'comment ' || g end,
                case when g % 5 = 0 then array['exp-' || (g % 100)] else '{}' end,
                jsonb_build_object('app', 'chat', 'v', g % 7),
                timestamptz '2025-01-01' + (g % $2::int) * interval '1 day' + (g % 86400) * interval '1 second'
           from generate_series(1, $1::int) g`,
        [ROWS, DAYS],
      );
      await pool.query('vacuum (analyze) votes');
      const exportLake = (full: boolean): Promise<ExportResult> =>
        runExport(pool, path.join(dir, 'warehouse'), logger, { full, parquetDir: lakeDir });
      const full = await exportLake(true);
      // 10,000 changed rows on 3 days (40, 41 and 42 of the 90): comments rewritten, votes flipped.
      const { rowCount } = await pool.query(
        `update votes set comment = 'changed', vote = case when vote = 'up' then 'down' else 'up' end
          where id in (select id from votes
                        where created_at >= timestamptz '2025-01-01' + interval '40 days'
                          and created_at < timestamptz '2025-01-01' + make_interval(days => 40 + $2::int)
                        order by id limit $1::int)`,
        [CHANGED, CHANGED_DAYS],
      );
      const incremental = await exportLake(false);
      const fullLake = full.lake!;
      const incLake = incremental.lake!;
      const timeRatio = incLake.ms / fullLake.ms;
      const bytesRatio = incLake.bytesWritten / incLake.lakeBytes;
      const out = [
        `lake benchmark: ${fmt(ROWS)} votes over ${DAYS} days, then ${fmt(rowCount ?? 0)} changed rows on ${CHANGED_DAYS} days`,
        `full export:        ${fmt(full.finishedAt.getTime() - full.startedAt.getTime())} ms in all; lake ${fmt(fullLake.ms)} ms, ${fmt(fullLake.filesWritten)} files, ${mb(fullLake.bytesWritten)} written (${fmt(fullLake.partitionsRewritten)} partitions)`,
        `incremental export: ${fmt(incremental.finishedAt.getTime() - incremental.startedAt.getTime())} ms in all; lake ${fmt(incLake.ms)} ms, ${fmt(incLake.filesWritten)} files, ${mb(incLake.bytesWritten)} written (${fmt(incLake.partitionsRewritten)} partitions), ${fmt(incLake.filesDeleted)} deleted at once, ${fmt(incLake.filesRetained)} kept for readers`,
        `  rewritten whole: ${JSON.stringify(incLake.rewrittenWhole)}`,
        '',
        `incremental lake time vs full lake time: ${pct(timeRatio)} (target <= 10%): ${check(timeRatio <= 0.1)}`,
        `bytes written vs the lake's size (${mb(incLake.lakeBytes)}, ${fmt(fullLake.filesWritten)} files): ${pct(bytesRatio)} (target <= 10%): ${check(bytesRatio <= 0.1)}`,
      ];
      process.stdout.write(`${out.join('\n')}\n`);
    } finally {
      await pool.end();
      await rm(dir, { recursive: true, force: true });
    }
  });
}
