import { InvalidArgumentError, type Command } from 'commander';
import { withMigratedDatabase } from './context.ts';

const number = (n: number) => n.toLocaleString('en-US');

/**
 * `feedback-warehouse demo`: realistic demo data (src/demo.ts) sent through the real HTTP app in-process (validation,
 * PII redaction, idempotency, transactions: the same code a client reaches), with a temporary key revoked at the end;
 * then its rows are dated over the last 90 days and an export publishes them, recorded in job_runs like
 * `feedback-warehouse export` (README "Dashboards and demo data").
 */
export function demoCommand(program: Command): void {
  program
    .command('demo')
    .description('Load realistic demo data through the service code, then export it so the dashboards are full')
    .option(
      '--conversations <n>',
      // The default is src/demo/plan.ts's DEFAULT_CONVERSATIONS, written out: `--help` loads the command definitions
      // alone (README "The CLI"); test/cli/demo.test.ts checks the two agree.
      'chatbot conversations; experts, reviews and interviews scale with it (default: 18,000)',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 1_000_000)
          throw new InvalidArgumentError('a whole number from 1 to 1,000,000');
        return n;
      },
    )
    .action(async (options: { conversations?: number }) => {
      const { DEFAULT_CONVERSATIONS } = await import('../demo/plan.ts');
      const n = options.conversations ?? DEFAULT_CONVERSATIONS;
      const started = Date.now();
      await withMigratedDatabase('demo', async (database, { config, logger }) => {
        const [
          http,
          { createApiKey },
          { createApp },
          { allRoutes },
          { buildServices },
          { backdateDemo, demoFaqCounts, runDemo },
        ] = await Promise.all([
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
              body: body === undefined ? undefined : JSON.stringify(body),
            });
            return { status: res.status, json: await res.json().catch(() => null) };
          }, n);
          await backdateDemo(database.jobPool, summary.ids);
          const c = await demoFaqCounts(database.pool, summary.ids);
          process.stdout.write(
            `Loaded ${number(summary.votes)} votes on ${number(n)} conversations from 3 apps (release on ` +
              `${summary.releaseDay}), ${summary.experts} experts with ${number(summary.expertFeedback)} reviews ` +
              `(${number(summary.sharedAnswers)} answers reviewed by 2 or more), ${number(c.faq_entries)} FAQ ` +
              `entries, FAQ candidates ${number(c.pending)} pending, ${number(c.approved)} approved, ` +
              `${number(c.rejected)} rejected, and ${number(summary.interviews)} interviews, over the last 90 days.\n`,
          );
          const { JobAlreadyRunning } = await import('../../jobs/runner.ts');
          try {
            const run = await services.jobs.run('export', 'cli', { full: false, parquetDir: null });
            if (run.status !== 'succeeded') throw new Error(`export run ${run.id} ${run.status}: ${run.error}`);
            const d = run.detail as { rows_changed?: number; published?: string };
            process.stdout.write(
              `Exported ${number(d.rows_changed ?? 0)} rows (export run ${run.id}), published ${d.published}.\n` +
                `The dashboards are ready at /dashboards/ (http://localhost:${config.port}/dashboards/ under ` +
                '`feedback-warehouse serve`, with a read key).\n' +
                `Done in ${((Date.now() - started) / 1000).toFixed(1)} s.\n`,
            );
          } catch (error) {
            if (!(error instanceof JobAlreadyRunning)) throw error;
            process.stderr.write(`${error.message}: the demo is loaded and the next export will publish it\n`);
          }
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
