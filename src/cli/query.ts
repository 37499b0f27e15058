import { InvalidArgumentError, type Command } from 'commander';
import type { QueryAnswer } from '../warehouse/query/auditedQuery.ts';
import type { QueryFailure } from '../warehouse/query/queryFailure.ts';
import { cliConfig, withMigratedDatabase } from './context.ts';

type Format = 'table' | 'csv' | 'json';

const LABELS: Record<QueryFailure['outcome'], string> = {
  refused: 'query refused',
  error: 'query failed',
  timeout: 'query timed out',
  busy: 'query not run',
  not_exported: 'no warehouse yet',
};

/** DuckDB's first paragraph on one line ("Catalog Error: ... does not exist! Did you mean "votes"?"). */
function oneLine(message: string): string {
  return (message.split(/\n\s*\n/, 1)[0] ?? '').replace(/\s*\n\s*/g, ' ').trim();
}

function format(value: string): Format {
  if (value !== 'table' && value !== 'csv' && value !== 'json') throw new InvalidArgumentError('table, csv or json');
  return value;
}

function positive(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer');
  return n;
}

async function print(answer: QueryAnswer, as: Format, maxRows: number): Promise<void> {
  if (as === 'json') {
    const { columns, rows, rowCount, truncated, truncatedReason, elapsedMs } = answer;
    const body = {
      columns,
      rows,
      row_count: rowCount,
      truncated,
      truncated_reason: truncatedReason,
      elapsed_ms: elapsedMs,
    };
    process.stdout.write(`${JSON.stringify(body)}\n`);
    return;
  }
  const cut = !answer.truncated
    ? ''
    : answer.truncatedReason === 'bytes'
      ? `truncated at ${answer.rowCount} rows by the byte cap (QUERY_MAX_BYTES); select fewer or shorter columns`
      : `truncated at ${maxRows} rows; aggregate, add a LIMIT or raise --limit`;
  if (as === 'csv') {
    const { resultCsv } = await import('../warehouse/query/resultCsv.ts');
    process.stdout.write(resultCsv(answer.columns, answer.rows));
    if (cut) process.stderr.write(`${cut}\n`);
    return;
  }
  const { resultTable } = await import('../warehouse/query/resultTable.ts');
  const rows = `${answer.rowCount} row${answer.rowCount === 1 ? '' : 's'}`;
  process.stdout.write(
    `${resultTable(answer.columns, answer.rows)}(${rows}, ${answer.elapsedMs} ms${cut ? `; ${cut}` : ''})\n`,
  );
}

/**
 * `feedback-warehouse query "SQL" [--format table|csv|json] [--limit N]`: the query endpoint from a shell, with the
 * same sandbox, limits and audit (key name `cli`). Refused, failed and timed-out queries print one line on stderr
 * and exit 1.
 */
export function queryCommand(program: Command): void {
  program
    .command('query')
    .description('Run one read-only SQL statement over the published warehouse (sandboxed and audited like the API)')
    .argument('<sql>', 'one SELECT statement (quote it for the shell)')
    .option('--format <format>', 'table (aligned, for people), csv or json (for scripts)', format, 'table')
    .option('--limit <n>', 'return at most N rows (at most QUERY_MAX_ROWS, the default)', positive)
    .action(async (sql: string, options: { format: Format; limit?: number }) => {
      const config = await cliConfig();
      const maxRows = options.limit ?? config.queryMaxRows;
      if (maxRows > config.queryMaxRows) {
        process.stderr.write(`error: --limit may lower QUERY_MAX_ROWS (${config.queryMaxRows}), not raise it\n`);
        process.exitCode = 2;
        return;
      }
      await withMigratedDatabase('query', async (database, { logger }) => {
        const [{ runAuditedQuery }, { QueryFailure }, { QuerySandbox }] = await Promise.all([
          import('../warehouse/query/auditedQuery.ts'),
          import('../warehouse/query/queryFailure.ts'),
          import('../warehouse/query/querySandbox.ts'),
        ]);
        const sandbox = new QuerySandbox(config.warehouseDir, { logger });
        try {
          let answer: QueryAnswer;
          try {
            answer = await runAuditedQuery({
              pool: database.pool,
              sandbox,
              caller: { apiKeyId: null, apiKeyName: 'cli', source: 'cli' },
              sql,
              limits: { maxRows, maxBytes: config.queryMaxBytes, timeoutMs: config.queryTimeoutMs },
            });
          } catch (error) {
            if (!(error instanceof QueryFailure)) throw error;
            process.stderr.write(`${LABELS[error.outcome]}: ${oneLine(error.message)}\n`);
            process.exitCode = 1;
            return;
          }
          await print(answer, options.format, maxRows);
        } finally {
          await sandbox.close();
        }
      });
    });
}
