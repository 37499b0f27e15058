import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/keys.ts';
import type { Pool } from '../../src/db/pool.ts';
import { runCli } from '../helpers/cli.ts';
import { describeCrashes, startFaultService, watchCrashes, type FaultService } from './harness.ts';
import {
  buildRequest,
  hostileRequest,
  TARGETS,
  type BuiltRequest,
  type Fixtures,
  type HostileRequest,
} from './hostileRequests.ts';
import { createExpert, interviewFeedbackBody, send } from './load.ts';

/** Fixed and printed, so a failure can be replayed: `fc.sample(hostileRequest, { seed, numRuns })`. */
const SEED = Number(process.env.FAULTS_SEED ?? 20261204);
const REQUESTS = Number(process.env.FAULTS_HOSTILE_REQUESTS ?? 10_000);
const CHUNK = 200;
const CONCURRENCY = 8;
const CLIENT_TIMEOUT_MS = 20_000;
/** The service shares this process; vitest, fast-check and the requests' bodies are in the same RSS. */
const RSS_BUDGET_MB = 600;
/**
 * How much the settled RSS may still grow between the first and the last 2,000 requests. The first ones warm the
 * process up (JIT code, the pool's connections, the query processes' pipes, malloc arenas that glibc keeps), so what
 * is kept after them says nothing; a leak shows as growth that goes on with the requests.
 */
const RSS_DRIFT_MB = 100;

/** RSS after a full garbage collection when the suite runs with --expose-gc (vitest.faults.config.ts). */
function settledRss(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
}

/** Tables a client request may write (query_audit and job_runs are written by design and not counted here). */
const COUNTED = [
  'votes',
  'expert_profiles',
  'expert_feedback',
  'expert_faq_candidates',
  'faq_entries',
  'interview_sessions',
  'interview_feedbacks',
  'idempotency_keys',
  'tombstones',
  'api_keys',
] as const;

let service: FaultService;
let fixtures: Fixtures;
let keys: { app: string; admin: string; read: string; ingest: string };
const crashes = watchCrashes();

beforeAll(async () => {
  service = await startFaultService();
  const { url } = service;
  keys = {
    app: service.keys.app,
    admin: service.keys.admin,
    read: (await createApiKey(service.check, 'hostile-read', ['read'])).key,
    ingest: (await createApiKey(service.check, 'hostile-ingest', ['ingest'])).key,
  };
  const session = async () =>
    (await send(url, 'POST', '/api/v1/interview-sessions', { key: keys.app, body: {}, timeoutMs: 10_000 })).json
      .id as string;
  const expertId = await createExpert(url, keys.app);
  const sessionId = await session();
  const withFeedback = await send(url, 'POST', `/api/v1/interview-sessions/${sessionId}/feedback`, {
    key: keys.app,
    body: interviewFeedbackBody(),
    timeoutMs: 10_000,
  });
  expect(withFeedback.status).toBe(201);
  const feedback = await send(url, 'POST', '/api/v1/expert-feedback', {
    key: keys.app,
    body: {
      expert_id: expertId,
      query_text: 'q',
      original_answer: 'a',
      feedback_type: 'correct',
      confidence_score: 0.5,
      time_spent_seconds: 1,
    },
    timeoutMs: 10_000,
  });
  expect(feedback.status).toBe(201);
  fixtures = {
    expertId,
    patchExpertId: await createExpert(url, keys.app),
    sessionId,
    putSessionId: await session(),
    expertFeedbackId: feedback.json.id,
  };
  // The query endpoint needs a published warehouse.
  const exported = await runCli(['export'], service.env);
  expect(exported.code, exported.stderr).toBe(0);
});
afterAll(async () => {
  crashes.stop();
  await service?.close();
});

async function counts(pool: Pool): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  // Names from the closed list above, never from input.
  for (const table of COUNTED)
    out[table] = (await pool.query<{ n: number }>(`select count(*)::int as n from ${table}`)).rows[0]!.n;
  return out;
}

interface Sent {
  readonly request: HostileRequest;
  readonly built: BuiltRequest;
  readonly status: number;
  readonly failure: string | null;
  readonly replayed: boolean;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any;
}

async function sendBuilt(built: BuiltRequest, request: HostileRequest): Promise<Sent> {
  try {
    const res = await fetch(service.url + built.path, {
      method: built.method,
      headers: built.headers,
      body: built.body as Uint8Array<ArrayBuffer> | undefined,
      signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const replayed = res.headers.get('idempotent-replayed') === 'true';
    return { request, built, status: res.status, failure: null, replayed, json };
  } catch (error) {
    return { request, built, status: 0, failure: (error as Error).name, replayed: false, json: undefined };
  }
}

const label = (s: Sent) =>
  `${TARGETS[s.request.target]!.name} ${s.request.mutation.kind} auth=${s.request.auth} key=${
    s.request.idempotencyKey === undefined ? 'none' : s.request.idempotencyKey.length
  } -> ${s.failure ?? s.status}`;

/**
 * A 2xx means the generated body happened to be valid: what was stored must be what was sent (the fields the
 * redactor does not rewrite). Returns what is wrong, or null.
 */
async function storedWrongly(pool: Pool, s: Sent): Promise<string | null> {
  const target = TARGETS[s.request.target]!.name;
  const sent = s.built.parsed as Record<string, unknown> | undefined;
  const one = async (sql: string, id: unknown) => (await pool.query(sql, [String(id)])).rows[0];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  switch (target) {
    case 'vote': {
      const row = await one(`select conversation_id, vote, reasons from votes where id = $1::bigint`, s.json.id);
      if (!row || row.conversation_id !== sent?.conversation_id || row.vote !== sent?.vote)
        return `vote ${s.json.id} stored as ${JSON.stringify(row)}`;
      if (sent?.reasons !== undefined && !same(row.reasons, sent.reasons)) return `vote ${s.json.id} reasons differ`;
      return null;
    }
    case 'batch': {
      for (const item of s.json.items as { index: number; id: string }[]) {
        const data = (sent!.items as { type: string; data: Record<string, unknown> }[])[item.index]!;
        const row =
          data.type === 'vote'
            ? await one(`select conversation_id as v from votes where id = $1::bigint`, item.id)
            : await one(`select expert_id::text as v from expert_feedback where id = $1::uuid`, item.id);
        const expected = data.type === 'vote' ? data.data.conversation_id : data.data.expert_id;
        if (!row || row.v !== expected) return `batch item ${item.index} stored as ${JSON.stringify(row)}`;
      }
      return null;
    }
    case 'expert': {
      const row = await one(
        `select user_ref, credential_type::text from expert_profiles where id = $1::uuid`,
        s.json.id,
      );
      return row && row.user_ref === sent?.user_ref && row.credential_type === sent?.credential_type
        ? null
        : `expert stored as ${JSON.stringify(row)}`;
    }
    case 'expert-feedback': {
      const row = await one(
        `select expert_id::text, feedback_type::text from expert_feedback where id = $1::uuid`,
        s.json.id,
      );
      return row && row.expert_id === sent?.expert_id && row.feedback_type === sent?.feedback_type
        ? null
        : `expert feedback stored as ${JSON.stringify(row)}`;
    }
    case 'session': {
      const row = await one(`select external_ref from interview_sessions where id = $1::uuid`, s.json.id);
      return row && row.external_ref === (sent?.external_ref ?? null)
        ? null
        : `session stored as ${JSON.stringify(row)}`;
    }
    case 'interview-feedback-put': {
      // Concurrent PUTs replace each other: the answer (the row as written) is checked, and that it was stored.
      const row = s.json as { overall_score: number; technical_accuracy_score: number };
      const stored = await one(`select 1 from interview_feedbacks where session_id = $1::uuid`, fixtures.putSessionId);
      if (!stored) return 'interview feedback not stored';
      return row &&
        row.overall_score === sent?.overall_score &&
        row.technical_accuracy_score === sent?.technical_accuracy_score
        ? null
        : `interview feedback stored as ${JSON.stringify(row)}`;
    }
    default:
      return null;
  }
}

/** Rows a 2xx answer says it wrote, by table (a replay writes nothing). */
function expectedWrites(s: Sent): Partial<Record<(typeof COUNTED)[number], number>> {
  if (s.status < 200 || s.status >= 300 || s.replayed) return {};
  const keyed = s.request.idempotencyKey !== undefined && TARGETS[s.request.target]!.method !== 'GET' ? 1 : 0;
  const target = TARGETS[s.request.target]!.name;
  const idem = TARGETS[s.request.target]!.name === 'query' ? 0 : keyed;
  switch (target) {
    case 'vote':
      return { votes: 1, idempotency_keys: idem };
    case 'batch': {
      const items = s.json.items as unknown[];
      return { votes: items.length - 1, expert_feedback: 1, idempotency_keys: idem };
    }
    case 'expert':
      return { expert_profiles: 1, idempotency_keys: idem };
    case 'expert-feedback':
      return { expert_feedback: 1, idempotency_keys: idem };
    case 'session':
      return { interview_sessions: 1, idempotency_keys: idem };
    case 'interview-feedback-put':
      return { interview_feedbacks: s.status === 201 ? 1 : 0, idempotency_keys: idem };
    case 'expert-patch':
      return { idempotency_keys: idem };
    default:
      return {};
  }
}

describe('hostile input', { timeout: 600_000 }, () => {
  it(`${REQUESTS} generated requests across every endpoint (seed ${SEED}): 4xx, or a 2xx that stored what was sent; nothing else written; RSS bounded`, async () => {
    console.log(`hostile input: fast-check seed ${SEED}, ${REQUESTS} requests`);
    const before = await counts(service.check);
    const rssBefore = settledRss();
    let rssPeak = rssBefore;
    const rssTrace: number[] = [];
    const byStatus: Record<string, number> = {};
    const byKind: Record<string, Record<string, number>> = {};
    const violations: string[] = [];
    const delta: Record<string, number> = {};
    let ok2xx = 0;
    for (let chunk = 0; chunk * CHUNK < REQUESTS; chunk++) {
      const requests = fc.sample(hostileRequest, {
        seed: SEED + chunk,
        numRuns: Math.min(CHUNK, REQUESTS - chunk * CHUNK),
      });
      let nextIndex = 0;
      const sent: Sent[] = [];
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (nextIndex < requests.length) {
            const request = requests[nextIndex++]!;
            sent.push(await sendBuilt(buildRequest(request, fixtures, keys), request));
          }
        }),
      );
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      if (chunk % 10 === 9) rssTrace.push(Math.round(settledRss() / 2 ** 20));
      for (const s of sent) {
        const outcome = s.failure ?? String(s.status);
        byStatus[outcome] = (byStatus[outcome] ?? 0) + 1;
        const kind = (byKind[s.request.mutation.kind] ??= {});
        kind[outcome] = (kind[outcome] ?? 0) + 1;
        if (s.status >= 200 && s.status < 300) {
          ok2xx++;
          const wrong = await storedWrongly(service.check, s);
          if (wrong) violations.push(`${label(s)}: ${wrong}`);
          for (const [table, n] of Object.entries(expectedWrites(s))) delta[table] = (delta[table] ?? 0) + n;
        } else if (s.status < 400 || s.status >= 500) {
          violations.push(label(s));
        }
      }
    }
    const after = await counts(service.check);
    const rssGrowthMb = Math.round((rssPeak - rssBefore) / 2 ** 20);
    const rssAfter = settledRss();
    console.log(
      `hostile input: ${JSON.stringify(byStatus)}; ${ok2xx} 2xx checked; RSS ${Math.round(rssBefore / 2 ** 20)} MB -> peak ` +
        `${Math.round(rssPeak / 2 ** 20)} MB, after ${Math.round(rssAfter / 2 ** 20)} MB (every 2,000 requests: ${rssTrace.join(', ')} MB); by mutation ${JSON.stringify(byKind)}`,
    );
    expect(crashes.errors, describeCrashes(crashes.errors)).toEqual([]);
    // Soft, so one run reports every broken rule: these, the row accounting and RSS below.
    expect.soft(violations.slice(0, 30), `${violations.length} requests broke a rule`).toEqual([]);
    // Nothing was written but what the 2xx answers account for (expert feedback may add FAQ candidates: counted
    // apart, as are the FAQ entries they make).
    const {
      expert_faq_candidates: _c,
      faq_entries: _f,
      ...written
    } = Object.fromEntries(COUNTED.map((t) => [t, after[t]! - before[t]!]));
    const expected = Object.fromEntries(
      COUNTED.filter((t) => t !== 'expert_faq_candidates' && t !== 'faq_entries').map((t) => [t, delta[t] ?? 0]),
    );
    expect(written).toEqual(expected);
    expect(rssGrowthMb, 'RSS peak growth (MB)').toBeLessThan(RSS_BUDGET_MB);
    expect(rssTrace.at(-1)! - rssTrace[0]!, `RSS drift after warm-up (MB): ${rssTrace.join(', ')}`).toBeLessThan(
      RSS_DRIFT_MB,
    );
    expect((await send(service.url, 'GET', '/healthz', { timeoutMs: 5_000 })).status).toBe(200);
  });
});
