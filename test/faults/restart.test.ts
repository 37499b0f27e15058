import { afterEach, describe, expect, it } from 'vitest';
import { describeCrashes, sleep, startFaultService, watchCrashes, type FaultService } from './harness.ts';
import {
  createExpert,
  missingRows,
  ok,
  send,
  steadyLoad,
  tally,
  writeOnce,
  WRITE_PATHS,
  type Attempt,
} from './load.ts';

/** Every client gives up after this long; no request may take longer, through any fault. */
const CLIENT_TIMEOUT_MS = 10_000;
/** README "Operations": the service recovers by itself; the suite holds it to a first 2xx within 5 s. */
const RECOVERY_MS = 5_000;

let service: FaultService | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

describe.each(['fast', 'immediate'] as const)('a Postgres restart (pg_ctl stop -m %s) under load', (mode) => {
  it('loses no acknowledged write on any write path, answers 503 with Retry-After meanwhile, and recovers within 5 s', async () => {
    const crashes = watchCrashes();
    try {
      service = await startFaultService();
      const { url, keys, cluster, check } = service;
      const ctx = { url, key: keys.app, expertId: await createExpert(url, keys.app), timeoutMs: CLIENT_TIMEOUT_MS };
      let stopped = false;
      // Two clients per write path, each sending its next request as soon as the last one was answered.
      const load = steadyLoad<Attempt>({
        workers: WRITE_PATHS.length * 2,
        step: (worker) => writeOnce(ctx, WRITE_PATHS[worker % WRITE_PATHS.length]!),
        stopped: () => stopped,
        maxSteps: 20_000,
        deadline: Date.now() + 60_000,
        pauseMs: 5,
      });
      await sleep(1_500);
      const downAt = Date.now();
      await cluster.stop(mode);
      await sleep(2_000);
      await cluster.start();
      const backAt = Date.now();
      await sleep(RECOVERY_MS + 1_500);
      stopped = true;
      const attempts = await load;
      const counts = tally(attempts);
      const summary = JSON.stringify(counts);
      const written = attempts.flatMap((a) => a.written);
      const refused = attempts.filter((a) => !ok(a));
      const PATHS = ['vote', 'keyed-vote', 'batch', 'expert-feedback', 'interview-session', 'interview-feedback'];
      const recovery: Record<string, number> = {};
      for (const path of PATHS) {
        const after = attempts.filter((a) => a.path === path && ok(a) && a.doneAt >= backAt);
        recovery[path] = after.length === 0 ? Infinity : Math.min(...after.map((a) => a.doneAt)) - backAt;
      }
      console.log(
        `restart -m ${mode}: ${attempts.length} requests, ${written.length} rows acknowledged, ` +
          `${refused.length} not 2xx; Postgres down for ${backAt - downAt} ms; ${crashes.errors.length} crashes; ` +
          `first 2xx after Postgres was back (ms) ${JSON.stringify(recovery)}; ${summary}`,
      );

      expect(crashes.errors, describeCrashes(crashes.errors)).toEqual([]);
      // Nothing hung past the client timeout, and no connection was refused or reset: the process stayed up.
      expect(attempts.filter((a) => a.failure !== null).length, summary).toBe(0);
      // Every answer that is not a success is a 503 with Retry-After.
      expect(
        refused.filter((a) => a.status !== 503 || a.retryAfter === null).map((a) => `${a.path} ${a.status}`),
        summary,
      ).toEqual([]);
      // The restart was felt (some requests were refused while Postgres was down) ...
      expect(refused.length, summary).toBeGreaterThan(0);
      // ... and every acknowledged write is in Postgres.
      expect(written.length).toBeGreaterThan(0);
      expect(await missingRows(check, written)).toEqual([]);
      // Every write path succeeds again within RECOVERY_MS of Postgres being back.
      for (const path of [
        'vote',
        'keyed-vote',
        'batch',
        'expert-feedback',
        'interview-session',
        'interview-feedback',
      ]) {
        const after = attempts.filter((a) => a.path === path && ok(a) && a.doneAt >= backAt);
        expect(after.length, `${path}: no 2xx after Postgres was back (${summary})`).toBeGreaterThan(0);
        const first = Math.min(...after.map((a) => a.doneAt)) - backAt;
        expect(first, `${path}: first 2xx ${first} ms after Postgres was back`).toBeLessThanOrEqual(RECOVERY_MS);
      }
      expect((await send(url, 'GET', '/readyz', { timeoutMs: CLIENT_TIMEOUT_MS })).status).toBe(200);
    } finally {
      crashes.stop();
    }
  });
});
