import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { describeCrashes, sleep, startFaultService, watchCrashes, type FaultService } from './harness.ts';
import { createExpert, expertFeedbackBody, ok, send, steadyLoad, voteBody, type Answer } from './load.ts';

/** Through a freeze the service must answer (503) before a client gives up: docs/CONTRACT.md "Configuration". */
const CLIENT_TIMEOUT_MS = 8_000;
/** Longer than the client timeout: without pool timeouts every request would hang through it. */
const FREEZE_MS = 10_000;
/** Short pool timeouts, so a frozen database is noticed well within the client timeout. */
const TIMEOUTS = { PG_CONNECT_TIMEOUT_MS: '1500', PG_STATEMENT_TIMEOUT_MS: '2000' };

let service: FaultService | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

const KINDS = ['vote', 'batch', 'expert-feedback', 'interview-session'] as const;
type Kind = (typeof KINDS)[number];

/** One logical write: a fixed Idempotency-Key and body, retried until a 2xx (or the attempts run out). */
interface LogicalWrite {
  readonly kind: Kind;
  readonly marker: string;
  readonly answers: Answer[];
  /** The ids the 2xx answer named. */
  ids: string[];
}

function request(kind: Kind, marker: string, expertId: string): { path: string; body: unknown } {
  switch (kind) {
    case 'vote':
      return { path: '/api/v1/votes', body: voteBody(marker) };
    case 'batch':
      return {
        path: '/api/v1/batch',
        body: { items: [0, 1, 2].map((i) => ({ type: 'vote', data: voteBody(`${marker}-${i}`) })) },
      };
    case 'expert-feedback':
      return { path: '/api/v1/expert-feedback', body: expertFeedbackBody(expertId, marker) };
    case 'interview-session':
      return { path: '/api/v1/interview-sessions', body: { external_ref: marker, title: 'Retried interview' } };
  }
}

const idsOf = (kind: Kind, json: { id?: unknown; items?: { id: unknown }[] }): string[] =>
  kind === 'batch' ? json.items!.map((i) => String(i.id)) : [String(json.id)];

/** What Postgres holds for a logical write: the ids of the rows its marker names. */
async function rowsFor(service: FaultService, write: LogicalWrite): Promise<string[]> {
  const q = (sql: string, params: unknown[]) =>
    service.check.query<{ id: string }>(sql, params).then((r) => r.rows.map((row) => row.id).sort());
  switch (write.kind) {
    case 'vote':
      return q(`select id::text as id from votes where conversation_id = $1::text`, [write.marker]);
    case 'batch':
      return q(`select id::text as id from votes where conversation_id like $1::text`, [`${write.marker}-%`]);
    case 'expert-feedback':
      return q(`select id::text as id from expert_feedback where query_text = $1::text`, [
        `fault suite question ${write.marker}`,
      ]);
    case 'interview-session':
      return q(`select id::text as id from interview_sessions where external_ref = $1::text`, [write.marker]);
  }
}

/** The fault returns when it began and ended; `answeredDuring` asks for a 503 inside that window. */
async function retriedWrites(
  fault: (service: FaultService) => Promise<{ from: number; to: number }>,
  label: string,
  answeredDuring: boolean,
): Promise<void> {
  const crashes = watchCrashes();
  try {
    service = await startFaultService(TIMEOUTS);
    const svc = service;
    const expertId = await createExpert(svc.url, svc.keys.app);
    let stopped = false;
    const writes = steadyLoad<LogicalWrite>({
      workers: KINDS.length * 2,
      stopped: () => stopped,
      maxSteps: 5_000,
      deadline: Date.now() + 90_000,
      pauseMs: 10,
      step: async (worker) => {
        const kind = KINDS[worker % KINDS.length]!;
        const marker = `retry-${randomUUID()}`;
        const { path, body } = request(kind, marker, expertId);
        const write: LogicalWrite = { kind, marker, answers: [], ids: [] };
        const key = `idem-${marker}`;
        // A client as the README asks for: the same key and body until a 2xx; 503 and 409 (the first attempt is
        // still running) wait and retry; so does a timeout. Bounded in attempts and time.
        const giveUpAt = Date.now() + 45_000;
        for (let attempt = 0; attempt < 100 && Date.now() < giveUpAt; attempt++) {
          const answer = await send(svc.url, 'POST', path, {
            key: svc.keys.app,
            body,
            headers: { 'idempotency-key': key },
            timeoutMs: CLIENT_TIMEOUT_MS,
          });
          write.answers.push(answer);
          if (ok(answer)) {
            write.ids = idsOf(kind, answer.json);
            break;
          }
          if (answer.status !== 503 && answer.status !== 409 && answer.failure === null) break;
          await sleep(250);
        }
        return [write];
      },
    });
    await sleep(1_500);
    const window = await fault(svc);
    await sleep(3_000);
    stopped = true;
    const done = await writes;
    const answers = done.flatMap((w) => w.answers);
    const byOutcome: Record<string, number> = {};
    for (const a of answers) byOutcome[a.failure ?? a.status] = (byOutcome[a.failure ?? a.status] ?? 0) + 1;
    const summary = `${done.length} logical writes, ${answers.length} requests ${JSON.stringify(byOutcome)}`;
    console.log(`${label}: ${summary}; ${crashes.errors.length} crashes`);

    expect(crashes.errors, describeCrashes(crashes.errors)).toEqual([]);
    // The fault was felt: some attempts were refused and retried.
    expect(answers.length, summary).toBeGreaterThan(done.length);
    // Nothing hung past the client timeout.
    expect(
      answers.filter((a) => a.failure !== null),
      summary,
    ).toEqual([]);
    // Every attempt that was not a 2xx was a 503 with Retry-After, or a 409 while an earlier attempt still ran.
    expect(
      answers
        .filter((a) => !ok(a) && !(a.status === 503 && a.retryAfter !== null) && a.status !== 409)
        .map((a) => a.status),
      summary,
    ).toEqual([]);
    if (answeredDuring) {
      const during = answers.filter((a) => a.status === 503 && a.doneAt >= window.from && a.doneAt < window.to);
      expect(during.length, `no 503 while the database was frozen (${summary})`).toBeGreaterThan(0);
    }
    // Every logical write ended in a 2xx, and Postgres holds exactly its rows: one per logical write (three for a
    // batch of three), with the ids the 2xx answer named, however many attempts it took.
    expect(
      done
        .filter((w) => w.ids.length === 0)
        .map((w) => `${w.kind}: ${w.answers.map((a) => a.failure ?? a.status).join(',')}`),
    ).toEqual([]);
    const wrong: string[] = [];
    for (const write of done) {
      const rows = await rowsFor(svc, write);
      if (JSON.stringify(rows) !== JSON.stringify([...write.ids].sort()))
        wrong.push(
          `${write.kind} after ${write.answers.length} attempts: rows ${rows.length}, answered ${write.ids.join(',')}`,
        );
    }
    expect(wrong, summary).toEqual([]);
  } finally {
    crashes.stop();
  }
}

describe('clients retrying with the same Idempotency-Key', () => {
  it('end with exactly one row per logical write through a Postgres restart', () =>
    retriedWrites(
      async ({ cluster }) => {
        const from = Date.now();
        await cluster.stop('fast');
        await sleep(2_000);
        await cluster.start();
        return { from, to: Date.now() };
      },
      'retries through a restart',
      false,
    ));

  it(`end with exactly one row per logical write through a ${FREEZE_MS / 1000} s freeze, answered 503 before any client gives up`, () =>
    retriedWrites(
      async ({ cluster }) => {
        const from = Date.now();
        cluster.freeze();
        try {
          await sleep(FREEZE_MS);
        } finally {
          cluster.thaw();
        }
        return { from, to: Date.now() };
      },
      'retries through a freeze',
      true,
    ));
});
