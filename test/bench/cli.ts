import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * `npm run bench -- cli`: how long `feedback-warehouse --help` takes to start, against a bare `node --import tsx -e 0`
 * measured in the same run (README "The CLI"). Like hyperfine: one warm-up of each, then BENCH_RUNS (default 10) runs
 * of each, taking turns so a busy moment hits both; prints both medians and the ratio (target: within 2.5x).
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const BIN = fileURLToPath(new URL('../../src/bin.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const commands = {
  bare: [process.execPath, '--import', 'tsx', '-e', '0'],
  help: [process.execPath, BIN, '--help'],
} as const;

function time(argv: readonly string[]): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${argv.join(' ')} exited ${result.status}: ${result.stderr.toString()}`);
  return ms;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export function run(): Promise<void> {
  time(commands.bare);
  time(commands.help);
  const bare: number[] = [];
  const help: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    bare.push(time(commands.bare));
    help.push(time(commands.help));
  }
  const range = (values: readonly number[]) =>
    `median ${median(values).toFixed(0)} ms (min ${Math.min(...values).toFixed(0)}, max ${Math.max(...values).toFixed(0)})`;
  const ratio = median(help) / median(bare);
  process.stdout.write(
    `node --import tsx -e 0          ${range(bare)}\n` +
      `feedback-warehouse --help       ${range(help)}\n` +
      `ratio ${ratio.toFixed(2)}x (target: within 2.5x), ${RUNS} runs each\n`,
  );
  return Promise.resolve();
}
