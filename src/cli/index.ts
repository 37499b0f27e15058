import { Command } from 'commander';
import { demoCommand } from './demo.ts';
import { jobsCommands } from './jobs.ts';
import { keysCommand } from './keys.ts';
import { migrateCommand } from './migrate.ts';
import { queryCommand } from './query.ts';
import { serveCommand } from './serve.ts';

/**
 * The `feedback-warehouse` program (README "The CLI"). Building it loads commander and the command definitions only:
 * each action imports what it needs when it runs, so `--help` or a usage error starts as fast as Node and tsx do.
 */
export function buildProgram(): Command {
  const program = new Command('feedback-warehouse')
    .description('Feedback warehouse: Postgres system of record, DuckDB analytics, rollups and dashboards.')
    .showHelpAfterError();
  serveCommand(program);
  migrateCommand(program);
  keysCommand(program);
  jobsCommands(program);
  demoCommand(program);
  queryCommand(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (error) {
    // A ConfigError can only come from an action that read the configuration, so src/config.ts is loaded already.
    const { ConfigError } = await import('../config.ts');
    if (error instanceof ConfigError) {
      process.stderr.write(`configuration error: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    process.stderr.write(`error: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
