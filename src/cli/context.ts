import type { Config } from '../config.ts';
import type { Database } from '../db/open.ts';
import type { Logger } from '../log.ts';

// Everything here is imported only when a command runs, so that building the program and `--help` load commander and
// the command definitions alone (README "The CLI").

let config: Promise<Config> | undefined;
let logger: Promise<Logger> | undefined;

/** The configuration from the environment, read once; a bad value throws ConfigError (exit 78 in main). */
export function cliConfig(): Promise<Config> {
  return (config ??= import('../config.ts').then(({ configFromEnv }) => configFromEnv(process.env)));
}

/** CLI commands log to stderr so that stdout carries only their answer (e.g. the new key as the last line). */
export function cliLogger(): Promise<Logger> {
  return (logger ??= Promise.all([cliConfig(), import('../log.ts')]).then(([cfg, { createLogger }]) =>
    createLogger(cfg.logLevel === 'info' ? 'warn' : cfg.logLevel, process.stderr as never),
  ));
}

/** Runs fn with the open database, and always closes it. */
export async function withDatabase<T>(
  name: string,
  fn: (db: Database, context: { config: Config; logger: Logger }) => Promise<T>,
): Promise<T> {
  const [cfg, log, { openDatabase }] = await Promise.all([cliConfig(), cliLogger(), import('../db/open.ts')]);
  const database = await openDatabase(cfg, log, `feedback-warehouse ${name}`);
  try {
    return await fn(database, { config: cfg, logger: log });
  } finally {
    await database.close();
  }
}

/** Runs withDatabase after applying every pending migration. */
export function withMigratedDatabase<T>(
  name: string,
  fn: (db: Database, context: { config: Config; logger: Logger }) => Promise<T>,
): Promise<T> {
  return withDatabase(name, async (db, context) => {
    const { migrate } = await import('../db/migrate.ts');
    await migrate(db.url, 'up', context.logger);
    return fn(db, context);
  });
}
