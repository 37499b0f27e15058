import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEFAULT_CONVERSATIONS, demoSize } from '../../src/demo/plan.ts';
import { CREDENTIAL_TYPES } from '../../src/feedback/experts/schema.ts';
import { runCli } from '../helpers/cli.ts';
import { openEmbeddedDatabase } from '../../src/db/embedded.ts';
import { createPool, type Pool } from '../../src/db/pool.ts';
import { createTestDatabase, quietLogger } from '../helpers/db.ts';

// `feedback-warehouse demo` run as a user would (the real binary, through the service's own HTTP app), then what
// the user sees of it in Postgres and in the published warehouse (README "Dashboards and demo data").

/** A demo's database as the test reads it: a pool, and what to close. */
interface DemoDatabase {
  readonly pool: Pool;
  close(): Promise<void>;
}
const opened: DemoDatabase[] = [];
const dirs: string[] = [];

/**
 * Runs `feedback-warehouse demo ...args` on a fresh database: a clone of the test template on a Postgres server;
 * on an embedded test run, the command's own embedded PGlite under a fresh DATA_DIR (DATABASE_URL unset), as a user
 * runs it (a test's in-memory PGlite is one session, while with DATABASE_URL the command uses a pool and COPY).
 */
async function runDemo(args: string[]) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'fw-demo-'));
  dirs.push(dataDir);
  const server = inject('serverUrl') !== null ? await createTestDatabase() : null;
  const env: Record<string, string> = server ? { DATABASE_URL: server.url, DATA_DIR: dataDir } : { DATA_DIR: dataDir };
  const res = await runCli(['demo', ...args], env, 170_000);
  let db: DemoDatabase;
  if (server) db = { pool: server.pool, close: () => server.drop() };
  else {
    const embedded = await openEmbeddedDatabase(dataDir, quietLogger);
    const pool = createPool({
      connectionString: embedded.url,
      max: 1,
      idleInTransactionTimeoutMs: 60_000,
      logger: quietLogger,
    });
    db = { pool, close: async () => (await pool.end(), await embedded.close()) };
  }
  opened.push(db);
  expect(res.code, res.stderr).toBe(0);
  return { db, env, stdout: res.stdout };
}

async function one<T = Record<string, unknown>>(db: DemoDatabase, sql: string, params: unknown[] = []): Promise<T> {
  return (await db.pool.query(sql, params)).rows[0] as T;
}

/** The latest vote of each conversation, as the rollups count them. */
const LATEST = `select distinct on (conversation_id) conversation_id, vote, metadata, created_at
                  from votes order by conversation_id, created_at desc, id desc`;

/**
 * Each app's latest-vote up-rate from the release day on minus before it, the release day read from the votes'
 * metadata: what a product manager asks of the demo.
 */
async function releaseLift(db: DemoDatabase): Promise<Record<string, number>> {
  const { rows } = await db.pool.query<{ app: string; before: number; after: number }>(
    `with latest as (${LATEST}),
          release as (select min(created_at)::date as day from votes where metadata->>'release' = '2026.10')
     select metadata->>'app' as app,
            avg((vote = 'up')::int) filter (where created_at::date < (select day from release))::float as before,
            avg((vote = 'up')::int) filter (where created_at::date >= (select day from release))::float as after
       from latest group by 1 order by 1`,
  );
  return Object.fromEntries(rows.map((r) => [r.app, r.after - r.before]));
}

afterAll(async () => {
  for (const db of opened) await db.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('feedback-warehouse demo --conversations 2000', () => {
  let run: Awaited<ReturnType<typeof runDemo>>;
  const size = demoSize(2000);
  beforeAll(async () => {
    run = await runDemo(['--conversations', '2000']);
  }, 180_000);

  it('prints what it loaded, exports it and says the dashboards are ready', async () => {
    expect(run.stdout).toMatch(
      /^Loaded [\d,]+ votes on 2,000 conversations from 3 apps \(release on \d{4}-\d{2}-\d{2}\)/,
    );
    expect(run.stdout).toMatch(/and 222 interviews, over the last 90 days\./);
    expect(run.stdout).toMatch(/^Exported [\d,]+ rows \(export run \d+\), published .*warehouse\.duckdb\.$/m);
    expect(run.stdout).toMatch(/The dashboards are ready at \/dashboards\//);
    const job = await one(run.db, `select trigger, status from job_runs where job_name = 'export'`);
    expect(job).toEqual({ trigger: 'cli', status: 'succeeded' });
    // The warehouse holds what Postgres holds.
    const query = await runCli(['query', 'select count(*) as n from votes', '--format', 'csv'], run.env);
    const { n } = await one<{ n: number }>(run.db, 'select count(*)::int as n from votes');
    expect(query.stdout.trim().split('\n')[1]).toBe(String(n));
  });

  it('spreads 2,000 conversations of three apps over 90 days, with flips, reasons, redacted comments and pseudonyms', async () => {
    const v = await one(
      run.db,
      `select count(*)::int as votes, count(distinct conversation_id)::int as conversations,
              array_agg(distinct metadata->>'app' order by metadata->>'app') as apps,
              (max(created_at) - min(created_at)) > interval '85 days' as spread,
              min(created_at) > now() - interval '90 days' and max(created_at) < now() as in_range,
              count(*) filter (where vote = 'down' and cardinality(reasons) = 0)::int as down_without_reason,
              count(*) filter (where comment ~ '\\[(EMAIL|PHONE|TAX_ID|IBAN)\\]')::int as redacted,
              count(*) filter (where comment ~ '@|347 123')::int as raw_pii,
              avg((email_hash is not null)::int)::float as with_email
         from votes`,
    );
    expect(v).toMatchObject({
      conversations: 2000,
      apps: ['assistente-fiscale', 'coach-colloqui', 'revisione-esperti'],
    });
    expect(v).toMatchObject({ spread: true, in_range: true, down_without_reason: 0, raw_pii: 0 });
    expect(v.votes as number).toBeGreaterThan(2150);
    expect(v.redacted as number).toBeGreaterThan(10);
    expect(v.with_email as number).toBeGreaterThan(0.7);
    expect(v.with_email as number).toBeLessThan(0.95);
    const flips = await one(
      run.db,
      `select count(*)::int as n from (select conversation_id from votes group by 1 having count(distinct vote) = 2) f`,
    );
    expect(flips.n as number).toBeGreaterThan(100);
    // Every vote row of a day on one side of the release carries that side's release; the fiscal assistant's model too.
    const sides = await run.db.pool.query(
      `select metadata->>'app' as app, metadata->>'model' as model, metadata->>'release' as release,
              min(created_at)::date as first, max(created_at)::date as last
         from votes group by 1, 2, 3 order by 1, 4`,
    );
    const fiscal = sides.rows.filter((r) => r.app === 'assistente-fiscale');
    expect(fiscal.map((r) => [r.model, r.release])).toEqual([
      ['v2', '2026.09'],
      ['v3', '2026.10'],
    ]);
    expect(fiscal[0].last < fiscal[1].first).toBe(true);
  });

  it('shows the release lifting the fiscal assistant up-rate, by metadata and day', async () => {
    const lift = await releaseLift(run.db);
    expect(lift['assistente-fiscale']).toBeGreaterThan(0.1);
  });

  it('has named experts of every credential, answers reviewed by several of them, promotions and candidates', async () => {
    const experts = await run.db.pool.query(
      `select user_ref, credential_type, trust_score::float as trust from expert_profiles`,
    );
    expect(experts.rows).toHaveLength(size.experts);
    for (const e of experts.rows) expect(e.user_ref).toMatch(/^esperto\.[a-z]+\.[a-z]+$/);
    expect(new Set(experts.rows.map((e) => e.credential_type))).toEqual(new Set(CREDENTIAL_TYPES));
    expect(experts.rows.some((e) => e.trust >= 0.9)).toBe(true);
    expect(experts.rows.filter((e) => e.trust < 0.9).length).toBeGreaterThan(experts.rows.length / 2);
    const shared = await one(
      run.db,
      `select count(*)::int as answers,
              count(*) filter (where verdicts > 1)::int as disagreed,
              max(experts)::int as most
         from (select answer_ref, count(distinct expert_id) as experts, count(distinct feedback_type) as verdicts
                 from expert_feedback group by answer_ref having count(distinct expert_id) >= 2) a`,
    );
    expect(shared.answers as number).toBeGreaterThan(30);
    expect(shared.most).toBe(5);
    // Mostly agreeing, sometimes not.
    expect(shared.disagreed as number).toBeGreaterThan(0);
    expect(shared.disagreed as number).toBeLessThan((shared.answers as number) * 0.6);
    const f = await one(
      run.db,
      `select count(*)::int as n, count(confidence_score)::int as confidence, count(time_spent_seconds)::int as timed,
              count(*) filter (where feedback_type <> 'correct' and category is null)::int as uncategorised
         from expert_feedback`,
    );
    expect(f.uncategorised).toBe(0);
    expect(f.confidence as number).toBeLessThan(f.n as number);
    expect(f.confidence as number).toBeGreaterThan((f.n as number) / 2);
    expect(f.timed as number).toBeLessThan(f.n as number);
    const candidates = await run.db.pool.query(
      `select status, auto_approved, count(*)::int as n from expert_faq_candidates group by 1, 2 order by 1, 2`,
    );
    expect(candidates.rows.map((r) => [r.status, r.auto_approved])).toEqual([
      ['approved', false],
      ['approved', true],
      ['pending', false],
      ['rejected', false],
    ]);
    const faq = await one(
      run.db,
      `select count(*) filter (where origin = 'promoted')::int as promoted, count(*)::int as n,
              count(*) filter (where e.created_at < f.created_at)::int as before_review
         from faq_entries e join expert_feedback f on f.id = e.source_feedback_id`,
    );
    expect(faq.promoted as number).toBeGreaterThan(0);
    expect(faq.before_review).toBe(0);
    // FAQ conversion (faq_count / correct_count) is not 0 for most experts.
    const conversion = await one(
      run.db,
      `select count(*) filter (where faqs > 0)::int as converting, count(*)::int as with_correct
         from (select expert_id, count(generated_faq_id) as faqs from expert_feedback
                group by 1 having count(*) filter (where feedback_type = 'correct') > 0) c`,
    );
    expect(conversion.converting as number).toBeGreaterThan((conversion.with_correct as number) / 2);
  });

  it('holds interviews with five differently spread scores, knowledge gaps and recommendations', async () => {
    const i = await one(
      run.db,
      `select count(*)::int as n, count(*) filter (where jsonb_array_length(knowledge_gaps) > 0)::int as with_gaps,
              count(*) filter (where jsonb_array_length(learning_recommendations) > 0)::int as with_recommendations,
              count(*) filter (where f.created_at < s.created_at)::int as before_session,
              array[avg(technical_accuracy_score), avg(communication_clarity_score), avg(problem_solving_score),
                    avg(relevance_score)]::float[] as means,
              array[stddev(technical_accuracy_score), stddev(communication_clarity_score),
                    stddev(problem_solving_score), stddev(relevance_score)]::float[] as sds
         from interview_feedbacks f join interview_sessions s on s.id = f.session_id`,
    );
    expect(i).toMatchObject({ n: size.interviews, before_session: 0 });
    expect(i.with_gaps as number).toBeGreaterThan((i.n as number) / 2);
    expect(i.with_recommendations).toBe(i.with_gaps);
    const means = i.means as number[];
    const sds = i.sds as number[];
    // Relevance highest and narrowest, problem solving lowest and widest.
    expect(Math.max(...means)).toBe(means[3]);
    expect(Math.min(...means)).toBe(means[2]);
    expect(Math.min(...sds)).toBe(sds[3]);
    expect(Math.max(...sds)).toBe(sds[2]);
  });
});

describe('feedback-warehouse demo at its default size', () => {
  it('says its default in --help, and refuses a size it cannot load', async () => {
    const help = await runCli(['demo', '--help'], {});
    expect(help.stdout.replace(/\s+/g, ' ')).toContain(`(default: ${DEFAULT_CONVERSATIONS.toLocaleString('en-US')})`);
    const bad = await runCli(['demo', '--conversations', '0'], {});
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/argument '0' is invalid. a whole number from 1 to 1,000,000/);
  });

  it('loads at least 20,000 votes, 50 experts and 2,000 interviews, exports them, and the release lifts one app', async () => {
    const { db, stdout } = await runDemo([]);
    expect(stdout).toMatch(/^Loaded [\d,]+ votes on 18,000 conversations/);
    const counts = await one(
      db,
      `select (select count(*)::int from votes) as votes, (select count(*)::int from expert_profiles) as experts,
              (select count(*)::int from interview_feedbacks) as interviews,
              (select count(*)::int from faq_entries) as faq_entries`,
    );
    expect(counts.votes as number).toBeGreaterThanOrEqual(20_000);
    expect(counts).toMatchObject({ experts: 50, interviews: 2_000 });
    expect(counts.faq_entries as number).toBeGreaterThan(500);
    expect(stdout).toMatch(/^Exported [\d,]+ rows/m);
    // At this size the lift stands far out of the noise: one app lifted by about 20 points, the others flat.
    const lift = await releaseLift(db);
    expect(lift['assistente-fiscale']).toBeGreaterThan(0.15);
    expect(Math.abs(lift['coach-colloqui']!)).toBeLessThan(0.06);
    expect(Math.abs(lift['revisione-esperti']!)).toBeLessThan(0.06);
  }, 180_000);
});
