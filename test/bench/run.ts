/**
 * `npm run bench -- NAME`: runs test/bench/NAME.ts. Benchmarks print figures and ratios against a baseline measured
 * in the same run; they never gate CI on a wall-clock number (docs/STYLE.md "Tests").
 */
const name = process.argv[2];
if (!name || !/^[a-z-]+$/.test(name)) {
  process.stderr.write('usage: npm run bench -- <ingest|batch|export|lake|rollups|redact|query|cli>\n');
  process.exit(2);
}
const bench = (await import(`./${name}.ts`)) as { run: () => Promise<void> };
await bench.run();
