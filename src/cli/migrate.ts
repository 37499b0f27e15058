import type { Command } from 'commander';
import { withDatabase } from './context.ts';

/** `migrate up|down|status`: the Postgres schema migrations (sql/migrations/). */
export function migrateCommand(program: Command): void {
  const command = program.command('migrate').description('Apply or inspect the Postgres schema migrations');
  command
    .command('up')
    .description('Apply every pending migration')
    .action(() =>
      withDatabase('migrate', async (db, { logger }) => {
        const { migrate } = await import('../db/migrate.ts');
        const ran = await migrate(db.url, 'up', logger);
        process.stdout.write(ran.length ? ran.map((m) => `applied ${m.name}\n`).join('') : 'nothing to apply\n');
      }),
    );
  command
    .command('down')
    .description('Revert the last migration (or --count N)')
    .option('--count <n>', 'how many to revert', (v) => Number.parseInt(v, 10), 1)
    .action((options: { count: number }) =>
      withDatabase('migrate', async (db, { logger }) => {
        const { migrate } = await import('../db/migrate.ts');
        const ran = await migrate(db.url, 'down', logger, options.count);
        process.stdout.write(ran.length ? ran.map((m) => `reverted ${m.name}\n`).join('') : 'nothing to revert\n');
      }),
    );
  command
    .command('status')
    .description('List migrations and when each was applied')
    .action(() =>
      withDatabase('migrate', async (db) => {
        const { migrationStatus } = await import('../db/migrate.ts');
        for (const m of await migrationStatus((sql) => db.pool.query(sql))) {
          process.stdout.write(
            `${m.appliedAt ? 'applied' : 'pending'}  ${m.name}${m.appliedAt ? `  ${m.appliedAt.toISOString()}` : ''}\n`,
          );
        }
      }),
    );
}
