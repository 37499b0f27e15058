import { Command, InvalidArgumentError } from 'commander';
import { keyJson, listApiKeys, revokeApiKey, rotateApiKey, type KeyInfo } from './auth/keyAdmin.ts';
import { checkKeyName, createApiKey, parseScopes } from './auth/keys.ts';
import { configFromEnv, ConfigError, type Config } from './config.ts';
import { migrate, migrationStatus } from './db/migrate.ts';
import { openDatabase, type Database } from './db/open.ts';
import { createLogger, type Logger } from './log.ts';
import { serve } from './server.ts';
import { warehouseCommands } from './warehouse/cli.ts';
import { demoCommands } from './demo.ts';
import { queryCommands } from './warehouse/queryCli.ts';

/** Runs fn with an open, migrated database, and always closes it. */
async function withDatabase<T>(
  config: Config,
  logger: Logger,
  name: string,
  fn: (db: Database) => Promise<T>,
): Promise<T> {
  const database = await openDatabase(config, logger, `feedback-warehouse ${name}`);
  try {
    return await fn(database);
  } finally {
    await database.close();
  }
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('a port is an integer from 0 to 65535');
  return n;
}

/** Runs a parser, turning its error into commander's (printed with the usage). */
function argument<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function keyTable(all: readonly KeyInfo[]): string {
  const time = (d: Date | null) => (d ? d.toISOString().replace(/\.\d+Z$/, 'Z') : '-');
  const rows = [
    ['NAME', 'SCOPES', 'CREATED', 'LAST USED', 'REVOKED'],
    ...all.map((k) => [k.name, k.scopes.join(','), time(k.createdAt), time(k.lastUsedAt), time(k.revokedAt)]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map(
      (r) =>
        `${r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('');
}

/** Extra CLI commands registered by other modules (export, jobs, demo, query). */
export type CommandRegistrar = (program: Command, context: { config: () => Config; logger: () => Logger }) => void;
const registrars: CommandRegistrar[] = [];
export function registerCommands(registrar: CommandRegistrar): void {
  registrars.push(registrar);
}
registerCommands(warehouseCommands);
registerCommands(demoCommands);
registerCommands(queryCommands);

export function buildProgram(): Command {
  let config: Config | undefined;
  let logger: Logger | undefined;
  const getConfig = () => (config ??= configFromEnv(process.env));
  // CLI commands log to stderr so that stdout carries only their answer (e.g. the new key as the last line).
  const getLogger = () =>
    (logger ??= createLogger(getConfig().logLevel === 'info' ? 'warn' : getConfig().logLevel, process.stderr as never));

  const program = new Command('feedback-warehouse')
    .description('Feedback warehouse: Postgres system of record, DuckDB analytics, rollups and dashboards.')
    .showHelpAfterError();

  program
    .command('serve')
    .description('Run the HTTP service (migrates first; creates and prints an admin key on first start)')
    .option('--port <n>', 'port to listen on (default PORT or 8080)', port)
    .option('--no-jobs', 'do not run scheduled jobs in this process')
    .action(async (options: { port?: number; jobs: boolean }) => {
      const cfg = getConfig();
      const log = createLogger(cfg.logLevel);
      const server = await serve(cfg, log, { port: options.port, jobs: options.jobs });
      process.stdout.write(
        `feedback-warehouse listening on ${server.url} (dashboards: ${server.url}/dashboards/, docs: ${server.url}/docs)\n`,
      );
      const stop = (signal: string) => {
        log.info({ signal }, 'draining');
        server.close().then(
          () => process.exit(0),
          (error: unknown) => {
            log.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });

  const migrateCommand = program.command('migrate').description('Apply or inspect the Postgres schema migrations');
  migrateCommand
    .command('up')
    .description('Apply every pending migration')
    .action(() =>
      withDatabase(getConfig(), getLogger(), 'migrate', async (db) => {
        const ran = await migrate(db.url, 'up', getLogger());
        process.stdout.write(ran.length ? ran.map((m) => `applied ${m.name}\n`).join('') : 'nothing to apply\n');
      }),
    );
  migrateCommand
    .command('down')
    .description('Revert the last migration (or --count N)')
    .option('--count <n>', 'how many to revert', (v) => Number.parseInt(v, 10), 1)
    .action((options: { count: number }) =>
      withDatabase(getConfig(), getLogger(), 'migrate', async (db) => {
        const ran = await migrate(db.url, 'down', getLogger(), options.count);
        process.stdout.write(ran.length ? ran.map((m) => `reverted ${m.name}\n`).join('') : 'nothing to revert\n');
      }),
    );
  migrateCommand
    .command('status')
    .description('List migrations and when each was applied')
    .action(() =>
      withDatabase(getConfig(), getLogger(), 'migrate', async (db) => {
        for (const m of await migrationStatus((sql) => db.pool.query(sql))) {
          process.stdout.write(
            `${m.appliedAt ? 'applied' : 'pending'}  ${m.name}${m.appliedAt ? `  ${m.appliedAt.toISOString()}` : ''}\n`,
          );
        }
      }),
    );

  const keys = program.command('keys').description('Manage API keys (README "Key rotation")');
  const withKeys = (fn: (db: Database) => Promise<void>) =>
    withDatabase(getConfig(), getLogger(), 'keys', async (db) => {
      await migrate(db.url, 'up', getLogger());
      await fn(db);
    });
  keys
    .command('create')
    .description('Create an API key; prints it (once) as the last line of stdout')
    .requiredOption('--name <name>', 'a name for the key, unique among active keys, shown in audits', (v) =>
      argument(() => checkKeyName(v)),
    )
    .requiredOption('--scopes <list>', 'comma-separated: ingest, read, query, admin', (v) =>
      argument(() => parseScopes(v)),
    )
    .action((options: { name: string; scopes: ReturnType<typeof parseScopes> }) =>
      withKeys(async (db) => {
        const { key, apiKey } = await createApiKey(db.pool, options.name, options.scopes);
        process.stdout.write(
          `Created key "${apiKey.name}" with scopes ${apiKey.scopes.join(',')} (shown once):\n${key}\n`,
        );
      }),
    );
  keys
    .command('list')
    .description('List the keys (never the keys themselves): active ones by name, then revoked ones')
    .option('--json', 'one JSON object per line')
    .action((options: { json?: boolean }) =>
      withKeys(async (db) => {
        const all = await listApiKeys(db.pool);
        if (options.json) process.stdout.write(all.map((k) => `${JSON.stringify(keyJson(k))}\n`).join(''));
        else process.stdout.write(keyTable(all));
      }),
    );
  keys
    .command('revoke')
    .description('Revoke the active key NAME (refused for the last active admin key)')
    .argument('<name>', 'the key name')
    .action((name: string) =>
      withKeys(async (db) => {
        const revoked = await revokeApiKey(db.pool, name);
        process.stdout.write(
          `Revoked key "${revoked.name}" at ${revoked.revokedAt!.toISOString()}; servers refuse it within 30 seconds.\n`,
        );
      }),
    );
  keys
    .command('rotate')
    .description('Replace the key NAME by a new one with the same scopes; prints the new key as the last line')
    .argument('<name>', 'the key name')
    .action((name: string) =>
      withKeys(async (db) => {
        const { key, created } = await rotateApiKey(db.pool, name);
        process.stdout.write(
          `Rotated key "${created.name}" (scopes ${created.scopes.join(',')}); the old key is revoked, ` +
            `servers refuse it within 30 seconds. New key (shown once):\n${key}\n`,
        );
      }),
    );

  for (const registrar of registrars) registrar(program, { config: getConfig, logger: getLogger });
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`configuration error: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    process.stderr.write(`error: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
