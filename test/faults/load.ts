import { randomUUID } from 'node:crypto';
import type { Pool } from '../../src/db/pool.ts';
import { sleep } from './harness.ts';

/** One answer as a client saw it. `status` is 0 when no answer came: `failure` says why (timeout or network). */
export interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any;
  readonly failure: 'timeout' | 'network' | null;
  readonly sentAt: number;
  readonly doneAt: number;
}

export interface SendOptions {
  readonly key?: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly timeoutMs: number;
}

/** fetch with a hard client timeout; never throws. */
export async function send(base: string, method: string, path: string, options: SendOptions): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const sentAt = Date.now();
  try {
    const res = await fetch(base + path, { method, headers, body, signal: AbortSignal.timeout(options.timeoutMs) });
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      json,
      failure: null,
      sentAt,
      doneAt: Date.now(),
    };
  } catch (error) {
    const name = (error as Error).name;
    const failure = name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network';
    return { status: 0, retryAfter: null, json: undefined, failure, sentAt, doneAt: Date.now() };
  }
}

/** A row an acknowledged write says it made: table and id (as text). */
export interface Written {
  readonly table: 'votes' | 'expert_feedback' | 'interview_sessions' | 'interview_feedbacks';
  readonly id: string;
}

/** One request of a write path and what its 2xx answer says was written. */
export interface Attempt extends Answer {
  readonly path: string;
  readonly written: readonly Written[];
}

export const WRITE_PATHS = ['vote', 'keyed-vote', 'batch', 'expert-feedback', 'interview'] as const;
export type WritePath = (typeof WRITE_PATHS)[number];

export interface WriteContext {
  readonly url: string;
  readonly key: string;
  readonly expertId: string;
  readonly timeoutMs: number;
}

let counter = 0;
const next = () => `${process.pid}-${++counter}`;

export const voteBody = (conversationId: string) => ({
  conversation_id: conversationId,
  vote: counter % 3 === 0 ? 'down' : 'up',
  reasons: ['fault-suite'],
  comment: 'written under a fault',
  metadata: { app: 'faults' },
});

export const expertFeedbackBody = (expertId: string, marker: string) => ({
  expert_id: expertId,
  query_text: `fault suite question ${marker}`,
  original_answer: 'An answer under review.',
  feedback_type: 'correct',
  confidence_score: 0.8,
  time_spent_seconds: 30,
});

export const interviewFeedbackBody = () => ({
  technical_accuracy_score: 70,
  communication_clarity_score: 60,
  problem_solving_score: 50,
  relevance_score: 80,
  overall_score: 65,
  technical_feedback: 'Solid.',
  communication_feedback: 'Clear.',
  problem_solving_feedback: 'Methodical.',
  relevance_feedback: 'On topic.',
});

/** Creates an active expert for the expert-feedback path (while the database is up). */
export async function createExpert(url: string, key: string): Promise<string> {
  const answer = await send(url, 'POST', '/api/v1/experts', {
    key,
    body: { user_ref: `faults-${randomUUID()}`, credential_type: 'other', trust_score: 0.5 },
    timeoutMs: 10_000,
  });
  if (answer.status !== 201) throw new Error(`creating an expert: ${answer.status}`);
  return answer.json.id as string;
}

/**
 * One request (or, for interviews, a session then its feedback) of the given write path, each with fresh data, so
 * every acknowledged write names rows of its own.
 */
export async function writeOnce(ctx: WriteContext, path: WritePath): Promise<Attempt[]> {
  const opts = { key: ctx.key, timeoutMs: ctx.timeoutMs };
  switch (path) {
    case 'vote':
    case 'keyed-vote': {
      const headers: Record<string, string> = path === 'keyed-vote' ? { 'idempotency-key': `fk-${next()}` } : {};
      const a = await send(ctx.url, 'POST', '/api/v1/votes', { ...opts, headers, body: voteBody(`f-${next()}`) });
      return [{ ...a, path, written: ok(a) ? [{ table: 'votes', id: String(a.json.id) }] : [] }];
    }
    case 'batch': {
      // Alternately a small batch (multi-row insert) and a large one (COPY FROM STDIN: 64 votes or more).
      const size = counter % 2 === 0 ? 5 : 70;
      const items = Array.from({ length: size }, () => ({ type: 'vote', data: voteBody(`fb-${next()}`) }));
      const a = await send(ctx.url, 'POST', '/api/v1/batch', { ...opts, body: { items } });
      const written: Written[] = ok(a)
        ? (a.json.items as { id: number }[]).map((item) => ({ table: 'votes', id: String(item.id) }))
        : [];
      return [{ ...a, path, written }];
    }
    case 'expert-feedback': {
      const a = await send(ctx.url, 'POST', '/api/v1/expert-feedback', {
        ...opts,
        body: expertFeedbackBody(ctx.expertId, next()),
      });
      return [{ ...a, path, written: ok(a) ? [{ table: 'expert_feedback', id: String(a.json.id) }] : [] }];
    }
    case 'interview': {
      const s = await send(ctx.url, 'POST', '/api/v1/interview-sessions', {
        ...opts,
        body: { external_ref: `fi-${next()}`, title: 'Fault suite interview' },
      });
      const session: Attempt = {
        ...s,
        path: 'interview-session',
        written: ok(s) ? [{ table: 'interview_sessions', id: String(s.json.id) }] : [],
      };
      if (!ok(s)) return [session];
      const f = await send(ctx.url, 'POST', `/api/v1/interview-sessions/${s.json.id}/feedback`, {
        ...opts,
        body: interviewFeedbackBody(),
      });
      return [
        session,
        {
          ...f,
          path: 'interview-feedback',
          written: ok(f) ? [{ table: 'interview_feedbacks', id: String(f.json.id) }] : [],
        },
      ];
    }
  }
}

export const ok = (a: Answer) => a.status >= 200 && a.status < 300;

/**
 * Runs `workers` loops of `step` until `stop()` says so, each bounded by `maxSteps` and by `deadline` (epoch ms).
 * Resolves with every result once all loops have finished.
 */
export async function steadyLoad<T>(options: {
  readonly workers: number;
  readonly step: (worker: number) => Promise<T[]>;
  readonly stopped: () => boolean;
  readonly maxSteps: number;
  readonly deadline: number;
  readonly pauseMs?: number;
}): Promise<T[]> {
  const results: T[] = [];
  await Promise.all(
    Array.from({ length: options.workers }, async (_, worker) => {
      for (let i = 0; i < options.maxSteps && !options.stopped() && Date.now() < options.deadline; i++) {
        results.push(...(await options.step(worker)));
        if (options.pauseMs) await sleep(options.pauseMs);
      }
    }),
  );
  return results;
}

/** The acknowledged rows that Postgres does not hold (should be none). */
export async function missingRows(pool: Pool, written: readonly Written[]): Promise<Written[]> {
  const missing: Written[] = [];
  const byTable = new Map<Written['table'], string[]>();
  for (const w of written) byTable.set(w.table, [...(byTable.get(w.table) ?? []), w.id]);
  for (const [table, ids] of byTable) {
    // The table name comes from the Written type's closed list, never from input.
    const { rows } = await pool.query<{ id: string }>(
      `select id::text as id from ${table} where id::text = any($1::text[])`,
      [ids],
    );
    const found = new Set(rows.map((r) => r.id));
    for (const id of ids) if (!found.has(id)) missing.push({ table, id });
  }
  return missing;
}

/** Counts by outcome, for failure messages and the report: `{ "vote 201": 812, "vote 503": 40, ... }`. */
export function tally(attempts: readonly Attempt[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of attempts) {
    const label = `${a.path} ${a.failure ?? a.status}`;
    out[label] = (out[label] ?? 0) + 1;
  }
  return out;
}
