import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, cliEnv } from '../helpers/cli.ts';

const ROOT = pathToFileURL(fileURLToPath(new URL('../../', import.meta.url))).href;
const HOOK = fileURLToPath(new URL('../helpers/moduleLog.mjs', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'fw-cli-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The project files and the packages that `feedback-warehouse ...args` loads. */
function loaded(args: readonly string[]): { files: string[]; packages: string[]; stdout: string; code: number | null } {
  const log = path.join(dir, `${args.join('-').replace(/\W+/g, '_')}.log`);
  const result = spawnSync(process.execPath, ['--import', HOOK, BIN, ...args], {
    env: cliEnv({ MODULE_LOG: log }),
    encoding: 'utf8',
  });
  const urls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  const files = new Set<string>();
  const packages = new Set<string>();
  for (const url of urls) {
    if (!url.startsWith(ROOT)) continue;
    const rel = url.slice(ROOT.length);
    const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(rel);
    if (pkg) packages.add(pkg[1]!);
    else files.add(rel);
  }
  return { files: [...files].sort(), packages: [...packages].sort(), stdout: result.stdout, code: result.status };
}

describe('feedback-warehouse startup (README "The CLI")', () => {
  it('--help and a usage error load commander and the command definitions only', () => {
    for (const args of [['--help'], ['keys', 'create', '--name', 'x y', '--scopes', 'read']]) {
      const { files, packages } = loaded(args);
      expect(packages).toEqual(['commander', 'esbuild', 'tsx']); // esbuild: tsx's compiler
      // src/auth/keys.ts checks `keys create`'s arguments while commander parses them; it loads the SQLSTATE names.
      expect(files.filter((f) => !/^src\/cli\/\w+\.ts$/.test(f))).toEqual([
        'src/auth/keys.ts',
        'src/bin.js',
        'src/db/sqlstate.ts',
      ]);
    }
  });

  it('--help lists every command', () => {
    const { stdout, code } = loaded(['--help']);
    expect(code).toBe(0);
    for (const command of ['serve', 'migrate', 'keys', 'export', 'jobs', 'demo', 'query'])
      expect(stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });
});
