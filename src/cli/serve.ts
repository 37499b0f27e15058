import { type Command, InvalidArgumentError } from 'commander';
import { cliConfig } from './context.ts';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('a port is an integer from 0 to 65535');
  return n;
}

/** `serve [--port N] [--no-jobs]`: the HTTP service, until SIGTERM or SIGINT drains it. */
export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('Run the HTTP service (migrates first; creates and prints an admin key on first start)')
    .option('--port <n>', 'port to listen on (default PORT or 8080)', port)
    .option('--no-jobs', 'do not run scheduled jobs in this process')
    .action(async (options: { port?: number; jobs: boolean }) => {
      const cfg = await cliConfig();
      const [{ createLogger }, { serve }] = await Promise.all([import('../log.ts'), import('../server.ts')]);
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
}
