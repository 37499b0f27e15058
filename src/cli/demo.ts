import type { Command } from 'commander';
import { withMigratedDatabase } from './context.ts';

/**
 * `feedback-warehouse demo`: realistic demo data (src/demo.ts) sent through the real HTTP app in-process (validation,
 * PII redaction, idempotency, transactions: the same code a client reaches), with a temporary key revoked at the end.
 */
export function demoCommand(program: Command): void {
  program
    .command('demo')
    .description('Load realistic demo data through the service code (then run `export` to see it in the dashboards)')
    .option('--conversations <n>', 'how many chatbot conversations', (v) => Number.parseInt(v, 10), 500)
    .action(async (options: { conversations: number }) => {
      const n = options.conversations;
      if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new Error('--conversations must be 1 to 1,000,000');
      await withMigratedDatabase('demo', async (database, { config, logger }) => {
        const [http, { createApiKey }, { createApp }, { allRoutes }, { buildServices }, { backdateDemo, runDemo }] =
          await Promise.all([
            import('node:http'),
            import('../auth/keys.ts'),
            import('../http/app.ts'),
            import('../http/routes/index.ts'),
            import('../server.ts'),
            import('../demo.ts'),
          ]);
        const services = await buildServices(config, database, logger);
        // Revoked below; a name of its own, as names are unique among active keys, so a demo killed before revoking
        // its key does not stop the next one.
        const { key, apiKey } = await createApiKey(database.pool, `demo-temporary-${Date.now()}`, ['admin']);
        const server = http.createServer(createApp(services, allRoutes()).callback());
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
        try {
          const summary = await runDemo(async (path, body) => {
            const res = await fetch(base + path, {
              method: 'POST',
              headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
              body: JSON.stringify(body),
            });
            return { status: res.status, json: await res.json().catch(() => null) };
          }, n);
          await backdateDemo(database.jobPool, summary.ids);
          process.stdout.write(
            `Loaded ${summary.votes} votes on ${n} conversations, ${summary.experts} experts with ` +
              `${summary.expertFeedback} reviews, and ${summary.interviews} interviews.\n` +
              'Run `feedback-warehouse export` (or wait for the schedule) to see them in the dashboards.\n',
          );
        } finally {
          server.closeAllConnections();
          await new Promise<void>((resolve) => server.close(() => resolve()));
          await database.pool.query('update api_keys set revoked_at = now() where id = $1::uuid', [apiKey.id]);
          await services.jobs?.close?.();
          await services.warehouse?.close?.();
          await services.sandbox?.close?.();
        }
      });
    });
}
