import { type Command, InvalidArgumentError } from 'commander';
import type { KeyInfo } from '../auth/keyAdmin.ts';
// The argument checks run while commander parses, before any action; src/auth/keys.ts loads only node:crypto and
// the SQLSTATE names, so it costs `--help` nothing worth deferring.
import { checkKeyName, parseScopes } from '../auth/keys.ts';
import { withMigratedDatabase } from './context.ts';

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

/** `keys create|list|revoke|rotate` (README "Key rotation"). */
export function keysCommand(program: Command): void {
  const keys = program.command('keys').description('Manage API keys (README "Key rotation")');
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
      withMigratedDatabase('keys', async (db) => {
        const { createApiKey } = await import('../auth/keys.ts');
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
      withMigratedDatabase('keys', async (db) => {
        const { keyJson, listApiKeys } = await import('../auth/keyAdmin.ts');
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
      withMigratedDatabase('keys', async (db) => {
        const { revokeApiKey } = await import('../auth/keyAdmin.ts');
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
      withMigratedDatabase('keys', async (db) => {
        const { rotateApiKey } = await import('../auth/keyAdmin.ts');
        const { key, created } = await rotateApiKey(db.pool, name);
        process.stdout.write(
          `Rotated key "${created.name}" (scopes ${created.scopes.join(',')}); the old key is revoked, ` +
            `servers refuse it within 30 seconds. New key (shown once):\n${key}\n`,
        );
      }),
    );
}
