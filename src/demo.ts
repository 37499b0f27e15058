import type { Pool } from './db/pool.ts';
import { planDemo, type DemoPlan, type ReviewBody } from './demo/plan.ts';

/**
 * The demo data of `feedback-warehouse demo` (src/cli/demo.ts, README "Dashboards and demo data"): three apps'
 * votes over 90 days with a release halfway through, named experts reviewing shared answers, FAQ promotions and
 * candidates, interviews. Everything is posted through a client function, so the command sends it through the real
 * HTTP app (validation, redaction, pseudonyms); then backdateDemo dates each row to the day its plan chose
 * (src/demo/plan.ts), since clients cannot backdate feedback.
 */

/** POSTs a JSON body (undefined: none) and answers the status and the parsed reply. */
export type DemoPost = (path: string, body: unknown) => Promise<{ status: number; json: unknown }>;

/** The rows a demo created, by table, and the time (epoch ms) each is dated to, index for index. */
export interface DemoRows {
  readonly votes: number[];
  readonly expert_feedback: string[];
  readonly interview_feedbacks: string[];
  readonly expert_profiles: string[];
  readonly interview_sessions: string[];
  readonly at: {
    readonly votes: number[];
    readonly expert_feedback: number[];
    readonly interview_feedbacks: number[];
    readonly expert_profiles: number[];
    readonly interview_sessions: number[];
  };
}

export interface DemoSummary {
  readonly votes: number;
  readonly conversations: number;
  readonly experts: number;
  readonly expertFeedback: number;
  /** Answers (answer_ref) reviewed by two experts or more. */
  readonly sharedAnswers: number;
  /** Correct reviews promoted to FAQ entries, and candidates an admin approved or rejected. */
  readonly promoted: number;
  readonly decided: number;
  readonly interviews: number;
  /** The UTC day the release ships on (YYYY-MM-DD): the lifted app's model and up-rate change from it. */
  readonly releaseDay: string;
  /** Ids of what was created, by table, so only demo rows are backdated. */
  readonly ids: DemoRows;
}

/**
 * Requests in flight at once: on a real server, one review or session is a commit (a WAL flush), so eight at a time
 * halve the demo's time against four (README "Dashboards and demo data"); the embedded database queues them.
 */
const IN_FLIGHT = 8;
const BATCH_ITEMS = 1_000;
/** Batches of 1,000 in flight at once: each keeps a core busy with validation and redaction. */
const BATCHES_IN_FLIGHT = 3;

/** fn over every item, `limit` at a time; results in the items' order. */
async function eachLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>) {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Sends a demo of `conversations` conversations (src/demo/plan.ts sizes the rest) through `post`, which needs an
 * admin key (candidates are approved and rejected); then `backdateDemo(pool, summary.ids)` dates it.
 * Example: `const summary = await runDemo(post, 2000)`.
 */
export async function runDemo(post: DemoPost, conversations: number): Promise<DemoSummary> {
  const now = Date.now();
  const plan = planDemo(conversations, now, now.toString(36));
  const send = async (path: string, body: unknown, expected = 201): Promise<unknown> => {
    const res = await post(path, body);
    if (res.status !== expected)
      throw new Error(`demo: POST ${path} answered ${res.status}: ${JSON.stringify(res.json)}`);
    return res.json;
  };
  const batch = async <T>(type: string, items: readonly unknown[]): Promise<T[]> =>
    (
      await eachLimit(chunks(items, BATCH_ITEMS), BATCHES_IN_FLIGHT, async (part) => {
        const res = (await send('/api/v1/batch', { items: part.map((data) => ({ type, data })) })) as {
          items: { id: T }[];
        };
        return res.items.map((item) => item.id);
      })
    ).flat();

  const expertIds = await eachLimit(plan.experts, IN_FLIGHT, (expert) => createExpert(post, expert.body));
  const votes = plan.votes.map((v) => ({ ...v.body, expert_ids: v.recommends.map((e) => expertIds[e]!) }));
  const voteIds = await batch<number>('vote', votes);
  const reviews = await sendReviews(plan, expertIds, send, batch);
  const sessionIds = await eachLimit(
    plan.interviews,
    IN_FLIGHT,
    async (i) => ((await send('/api/v1/interview-sessions', i.session)) as { id: string }).id,
  );
  const interviewIds = await batch<string>(
    'interview_feedback',
    plan.interviews.map((i, n) => ({ session_id: sessionIds[n], ...i.feedback })),
  );
  const perAnswer = new Map<string, number>();
  for (const r of plan.reviews) perAnswer.set(r.body.answer_ref, (perAnswer.get(r.body.answer_ref) ?? 0) + 1);
  return {
    votes: votes.length,
    conversations,
    experts: expertIds.length,
    expertFeedback: plan.reviews.length,
    sharedAnswers: [...perAnswer.values()].filter((n) => n >= 2).length,
    promoted: reviews.promoted,
    decided: reviews.decided,
    interviews: plan.interviews.length,
    releaseDay: new Date(plan.releaseAt).toISOString().slice(0, 10),
    ids: {
      votes: voteIds,
      expert_feedback: reviews.ids,
      interview_feedbacks: interviewIds,
      expert_profiles: expertIds,
      interview_sessions: sessionIds,
      at: {
        votes: plan.votes.map((v) => v.at),
        expert_feedback: plan.reviews.map((r) => r.at),
        interview_feedbacks: plan.interviews.map((i) => i.feedbackAt),
        expert_profiles: plan.experts.map((e) => e.at),
        interview_sessions: plan.interviews.map((i) => i.at),
      },
    },
  };
}

/**
 * Creates an expert; a user_ref or registration number already taken (an earlier demo's expert) gets a suffix, so
 * demos add up.
 */
async function createExpert(post: DemoPost, body: PlanExpertBody): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const suffix = attempt === 1 ? '' : `.${attempt}`;
    const res = await post('/api/v1/experts', {
      ...body,
      user_ref: body.user_ref + suffix,
      registration_number: body.registration_number + suffix,
    });
    if (res.status === 201) return (res.json as { id: string }).id;
    if (res.status !== 409 || attempt >= 50)
      throw new Error(`demo: POST /api/v1/experts answered ${res.status}: ${JSON.stringify(res.json)}`);
  }
}
type PlanExpertBody = DemoPlan['experts'][number]['body'];

/**
 * The reviews in batches, but for those whose FAQ candidate an admin decides: one by one, as only that answer names
 * the candidate. Then the promotions of correct feedback and the decisions on the candidates left pending (those of
 * trusted experts were auto-approved).
 */
async function sendReviews(
  plan: DemoPlan,
  expertIds: readonly string[],
  send: (path: string, body: unknown, expected?: number) => Promise<unknown>,
  batch: <T>(type: string, items: readonly unknown[]) => Promise<T[]>,
) {
  const bodies: (ReviewBody & { expert_id: string })[] = plan.reviews.map((r) => ({
    expert_id: expertIds[r.expert]!,
    ...r.body,
  }));
  const decided = (i: number) => bodies[i]!.improved_answer !== undefined && plan.reviews[i]!.decision !== 'leave';
  const single = bodies.flatMap((_, i) => (decided(i) ? [i] : []));
  const batched = bodies.flatMap((_, i) => (decided(i) ? [] : [i]));
  const ids: string[] = new Array(bodies.length);
  const batchedIds = await batch<string>(
    'expert_feedback',
    batched.map((i) => bodies[i]),
  );
  batched.forEach((i, n) => (ids[i] = batchedIds[n]!));
  const pending: { candidate: string; decision: 'approve' | 'reject' }[] = [];
  await eachLimit(single, IN_FLIGHT, async (i) => {
    const res = (await send('/api/v1/expert-feedback', bodies[i])) as {
      id: string;
      faq_candidate: { id: string; status: string } | null;
    };
    ids[i] = res.id;
    if (res.faq_candidate?.status === 'pending')
      // decided(i): the decision is not 'leave'.
      pending.push({ candidate: res.faq_candidate.id, decision: plan.reviews[i]!.decision as 'approve' | 'reject' });
  });
  const promoted = plan.reviews.flatMap((r, i) => (r.promote ? [ids[i]!] : []));
  await eachLimit(promoted, IN_FLIGHT, (id) => send(`/api/v1/expert-feedback/${id}/promote`, undefined));
  await eachLimit(pending, IN_FLIGHT, ({ candidate, decision }) =>
    send(`/api/v1/faq-candidates/${candidate}/${decision}`, undefined, 200),
  );
  return { ids, promoted: promoted.length, decided: pending.length };
}

/** What the demo's reviews made, read back from Postgres: FAQ entries, and FAQ candidates by status. */
export async function demoFaqCounts(pool: Pool, ids: DemoSummary['ids']) {
  const { rows } = await pool.query<{ faq_entries: number; pending: number; approved: number; rejected: number }>(
    `select (select count(*)::int from faq_entries where source_feedback_id = any($1::uuid[])) as faq_entries,
            count(*) filter (where status = 'pending')::int as pending,
            count(*) filter (where status = 'approved')::int as approved,
            count(*) filter (where status = 'rejected')::int as rejected
       from expert_faq_candidates where feedback_id = any($1::uuid[])`,
    [ids.expert_feedback],
  );
  return rows[0]!;
}

/**
 * Dates every demo row to its planned time (the API never lets a client backdate): votes, reviews, experts, sessions
 * and interview feedback by id; the FAQ candidates and entries made from demo reviews follow their review (decided
 * and promoted some hours later). Only rows the demo created change. The update triggers stamp updated_at with now
 * and a new txid, so the next export copies the new dates.
 */
export async function backdateDemo(pool: Pool, ids: DemoSummary['ids']): Promise<void> {
  const tables = [
    ['votes', 'bigint'],
    ['expert_profiles', 'uuid'],
    ['expert_feedback', 'uuid'],
    ['interview_sessions', 'uuid'],
    ['interview_feedbacks', 'uuid'],
  ] as const;
  for (const [table, type] of tables) {
    await pool.query(
      `update ${table} t set created_at = to_timestamp(d.at / 1000)
         from unnest($1::${type}[], $2::float8[]) as d(id, at) where t.id = d.id`,
      [ids[table], ids.at[table]],
    );
  }
  // A candidate is made with its review; an admin decides it, or the review is promoted, within two days.
  await pool.query(
    `update expert_faq_candidates c
        set created_at = f.created_at,
            decided_at = case when c.decided_at is null then null
                              when c.auto_approved then f.created_at
                              else least(f.created_at + (1 + random() * 47) * interval '1 hour', now()) end
       from expert_feedback f
      where c.feedback_id = f.id and f.id = any($1::uuid[])`,
    [ids.expert_feedback],
  );
  await pool.query(
    `update faq_entries e
        set created_at = coalesce(c.decided_at, least(f.created_at + (1 + random() * 47) * interval '1 hour', now()))
       from expert_feedback f
       left join expert_faq_candidates c on c.feedback_id = f.id
      where e.source_feedback_id = f.id and f.id = any($1::uuid[])`,
    [ids.expert_feedback],
  );
}
