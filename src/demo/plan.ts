import { FEEDBACK_CATEGORIES } from '../feedback/experts/schema.ts';
import type { VoteInput } from '../feedback/votes/schema.ts';
import { seededRandom, type Random } from './random.ts';
import {
  APPS,
  CREDENTIALS,
  DOWN_COMMENTS,
  EMAIL_DOMAINS,
  FEEDBACK_TEXTS,
  FIRST_NAMES,
  GAPS,
  IMPROVEMENTS,
  LAST_NAMES,
  OVERALL_COMMENTS,
  PERSONAL_COMMENTS,
  PROVINCES,
  QUESTIONS,
  REASONS,
  RELEASES,
  ROLES,
  UP_COMMENTS,
  type AppName,
} from './texts.ts';

/**
 * What `feedback-warehouse demo` sends, decided before anything is sent (README "Dashboards and demo data"): every
 * row with the time it is dated to. Each conversation's day is drawn first, and its app, model, release and up-rate
 * follow from that day, so the release halfway through shows on the days the rows are backdated to.
 */

export const DEMO_DAYS = 90;
/** The release falls on this day of the demo's days (0 is the first): halfway. */
export const RELEASE_DAY = 45;
const DAY_MS = 86_400_000;

/** How much of each kind a demo of `conversations` conversations holds: 18,000 (the default) gives the full demo. */
export interface DemoSize {
  readonly conversations: number;
  readonly experts: number;
  /** AI answers the experts review, each by 1 to 5 of them. */
  readonly answers: number;
  readonly interviews: number;
}

export const DEFAULT_CONVERSATIONS = 18_000;

export function demoSize(conversations: number): DemoSize {
  return {
    conversations,
    // Six at least, so every credential type has an expert; 50 at the default size.
    experts: Math.min(50, Math.max(CREDENTIALS.length, Math.round(conversations / 360))),
    answers: Math.max(10, Math.round(conversations / 18)),
    interviews: Math.max(5, Math.round(conversations / 9)),
  };
}

/** A POST /api/v1/votes body, with the metadata keys the segment rollups read (ROLLUP_SEGMENTS). */
export type VoteBody = VoteInput & {
  metadata: { app: AppName; model: string; release: string; channel: string };
};
export interface PlannedVote {
  readonly body: VoteBody;
  readonly at: number;
  /** Indexes into the plan's experts the answer recommended (their ids go in expert_ids once they exist). */
  readonly recommends: readonly number[];
}
export interface PlannedExpert {
  readonly body: {
    user_ref: string;
    credential_type: string;
    registration_number: string;
    trust_score: number;
    specializations: string[];
  };
  readonly at: number;
}
export interface ReviewBody {
  query_text: string;
  original_answer: string;
  feedback_type: 'correct' | 'incomplete' | 'incorrect';
  category?: string;
  improved_answer?: string;
  confidence_score?: number;
  time_spent_seconds?: number;
  answer_ref: string;
}
export interface PlannedReview {
  readonly expert: number;
  readonly body: ReviewBody;
  readonly at: number;
  /** correct feedback: promoted to an FAQ entry. */
  readonly promote: boolean;
  /** incomplete/incorrect with an improved answer: what an admin does with its candidate unless it is auto-approved. */
  readonly decision: 'approve' | 'reject' | 'leave';
}
export interface PlannedInterview {
  readonly session: { external_ref: string; title: string };
  readonly at: number;
  readonly feedback: Record<string, unknown>;
  readonly feedbackAt: number;
}
export interface DemoPlan {
  readonly size: DemoSize;
  /** The first demo day's start and the release's start (UTC midnights), epoch ms. */
  readonly firstDay: number;
  readonly releaseAt: number;
  readonly experts: readonly PlannedExpert[];
  readonly votes: readonly PlannedVote[];
  readonly reviews: readonly PlannedReview[];
  readonly interviews: readonly PlannedInterview[];
}

/** Working hours weigh most; the night a little. */
const HOUR_WEIGHTS = [1, 0.5, 0.3, 0.3, 0.3, 0.5, 1, 2, 4, 6, 7, 7, 5, 5, 6, 7, 7, 6, 5, 4, 3, 3, 2, 1.5];

/** Days and times over the last DEMO_DAYS days up to `end`: weekdays busier than weekends, traffic growing. */
function clockOf(random: Random, end: number) {
  const today = Math.floor(end / DAY_MS) * DAY_MS;
  const firstDay = today - (DEMO_DAYS - 1) * DAY_MS;
  const weights = Array.from({ length: DEMO_DAYS }, (_, k) => {
    const weekday = new Date(firstDay + k * DAY_MS).getUTCDay();
    const weekend = weekday === 0 || weekday === 6 ? 0.55 : 1;
    // The last day has only the hours up to `end`.
    const part = k === DEMO_DAYS - 1 ? (end - today) / DAY_MS : 1;
    return (1 + (0.4 * k) / DEMO_DAYS) * weekend * part;
  });
  return {
    firstDay,
    day: () => random.weighted(weights),
    /** A time on day k, never after `end` minus a minute. */
    timeOn(k: number): number {
      const start = firstDay + k * DAY_MS;
      const t = start + random.weighted(HOUR_WEIGHTS) * 3_600_000 + Math.floor(random.next() * 3_600_000);
      const latest = end - 60_000;
      return t <= latest ? t : start + Math.floor(random.next() * Math.max(0, latest - start));
    },
    /** Later than `t` by `ms`, yet on the same day k and before `end`: a vote changed the day it was cast. */
    sameDay: (k: number, t: number, ms: number) =>
      Math.max(t + 1, Math.min(t + ms, firstDay + (k + 1) * DAY_MS - 1_000, end - 1_000)),
    /** `t` plus `ms`, never after `end`. */
    after: (t: number, ms: number) => Math.min(t + ms, end - 1_000),
  };
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const clamp = (n: number, min: number, max: number) => Math.min(max, Math.max(min, n));

function planExperts(random: Random, size: DemoSize, clock: ReturnType<typeof clockOf>) {
  const shares = CREDENTIALS.map((c) => c.share);
  return Array.from({ length: size.experts }, (_, e) => {
    // The first ones cover every credential type; the rest follow the types' shares.
    const credential = CREDENTIALS[e < CREDENTIALS.length ? e : random.weighted(shares)]!;
    const first = FIRST_NAMES[e % FIRST_NAMES.length]!;
    const last = LAST_NAMES[(e * 7 + Math.floor(e / LAST_NAMES.length)) % LAST_NAMES.length]!;
    // Most experts below the auto-approval threshold (0.9); about one in six above it, the first one always.
    const trust =
      e === 0 ? 0.93 : random.chance(0.16) ? 0.9 + random.next() * 0.08 : clamp(random.normal(0.68, 0.1), 0.35, 0.89);
    return {
      plan: {
        body: {
          user_ref: `esperto.${first}.${last}`,
          credential_type: credential.type,
          registration_number: `${credential.prefix} ${random.pick(PROVINCES)} ${random.int(1000, 99999)}`,
          trust_score: round2(trust),
          specializations: random.chance(0.5) ? [...credential.fields] : [random.pick(credential.fields)],
        },
        at: clock.firstDay - random.int(1, 200) * DAY_MS,
      } satisfies PlannedExpert,
      trust: round2(trust),
      // Some experts review far more than others; some promote much of what they find correct, some little.
      activity: random.logNormal(1, 0.6),
      promoteRate: 0.15 + random.next() * 0.6,
    };
  });
}

/** Three down votes in ten carry a comment, a quarter of those with the writer's own data; few up votes do. */
function commentOn(random: Random, vote: 'up' | 'down'): string | null {
  if (vote === 'up') return random.chance(0.06) ? random.pick(UP_COMMENTS) : null;
  if (!random.chance(0.3)) return null;
  return random.chance(0.25) ? random.pick(PERSONAL_COMMENTS) : random.pick(DOWN_COMMENTS);
}

function planVotes(random: Random, size: DemoSize, tag: string, clock: ReturnType<typeof clockOf>, experts: number) {
  const votes: PlannedVote[] = [];
  const users = Math.max(20, Math.round(size.conversations / 4));
  const shares = APPS.map((a) => a.share);
  for (let c = 0; c < size.conversations; c++) {
    const k = clock.day();
    const app = APPS[random.weighted(shares)]!;
    const released = k >= RELEASE_DAY;
    // A small weekly swing around the app's up-rate of the day.
    const upRate = (released ? app.upAfter : app.upBefore) + 0.02 * Math.sin((2 * Math.PI * k) / 7);
    const [query, response] = random.pick(QUESTIONS[app.name]);
    const user = random.int(0, users - 1);
    const email = random.chance(0.82)
      ? `${FIRST_NAMES[user % FIRST_NAMES.length]}.${LAST_NAMES[Math.floor(user / FIRST_NAMES.length) % LAST_NAMES.length]}${user}@${EMAIL_DOMAINS[user % EMAIL_DOMAINS.length]}`
      : undefined;
    const metadata = {
      app: app.name,
      model: released ? app.after : app.before,
      release: released ? RELEASES.after : RELEASES.before,
      channel: random.chance(0.7) ? 'web' : 'mobile',
    };
    const recommends =
      app.name === 'assistente-fiscale' && random.chance(0.12)
        ? random.distinct(new Array(experts).fill(1), random.int(1, 2))
        : [];
    // The latest vote follows the up-rate; one conversation in eight changed its mind first (a flip), a few twice.
    const latest: 'up' | 'down' = random.chance(upRate) ? 'up' : 'down';
    const changes = random.chance(0.125) ? (random.chance(0.15) ? 2 : 1) : 0;
    let at = clock.timeOn(k);
    for (let v = changes; v >= 0; v--) {
      const vote = v % 2 === 0 ? latest : latest === 'up' ? 'down' : 'up';
      const comment = commentOn(random, vote);
      const reasonWeights = REASONS[app.name].map(([, w]) => w);
      const reasons =
        vote === 'down'
          ? random.distinct(reasonWeights, random.chance(0.3) ? 2 : 1).map((i) => REASONS[app.name][i]![0])
          : [];
      votes.push({
        body: {
          conversation_id: `demo-${tag}-${c}`,
          vote,
          query,
          response,
          reasons,
          comment,
          ...(email ? { email } : {}),
          expert_ids: [],
          metadata,
        },
        at,
        recommends,
      });
      at = clock.sameDay(k, at, Math.round(random.logNormal(15 * 60_000, 1)));
    }
  }
  return votes;
}

const OTHER_VERDICT = {
  correct: [
    ['incomplete', 0.7],
    ['incorrect', 0.3],
  ],
  incomplete: [
    ['correct', 0.55],
    ['incorrect', 0.45],
  ],
  incorrect: [
    ['incomplete', 0.7],
    ['correct', 0.3],
  ],
} as const;

/**
 * Answers with a true verdict, each reviewed by 1 to 5 distinct experts who mostly agree with it (the more trusted,
 * the more often), so the agreement rollup has data by answer_ref.
 */
function planReviews(
  random: Random,
  size: DemoSize,
  tag: string,
  clock: ReturnType<typeof clockOf>,
  experts: ReturnType<typeof planExperts>,
) {
  const reviews: PlannedReview[] = [];
  const activity = experts.map((e) => e.activity);
  for (let a = 0; a < size.answers; a++) {
    const app = random.chance(0.7) ? 'assistente-fiscale' : 'revisione-esperti';
    const k = clock.day();
    const [query, answer] = random.pick(QUESTIONS[app]);
    // The new model answers better: more of its answers are right.
    const correctShare = app === 'assistente-fiscale' && k >= RELEASE_DAY ? 0.68 : 0.52;
    const truth = random.chance(correctShare) ? 'correct' : random.chance(0.62) ? 'incomplete' : 'incorrect';
    const truthCategory = random.weighted([4, 3, 3, 1, 2]);
    const reviewers = random.distinct(activity, 1 + random.weighted([20, 32, 25, 14, 9]));
    const answerRef = `${app}/answer/${tag}-${String(a).padStart(6, '0')}`;
    const answeredAt = clock.timeOn(k);
    let promoted = false;
    for (const e of reviewers) {
      const expert = experts[e]!;
      const agrees = random.chance(0.6 + 0.38 * expert.trust);
      const verdict = agrees
        ? truth
        : OTHER_VERDICT[truth][random.weighted(OTHER_VERDICT[truth].map(([, w]) => w))]![0];
      const wrong = verdict !== 'correct';
      const minutes = random.logNormal(wrong ? 6 : 3, 0.7);
      const body: ReviewBody = {
        query_text: query,
        original_answer: answer,
        feedback_type: verdict,
        answer_ref: answerRef,
        ...(wrong
          ? {
              category:
                FEEDBACK_CATEGORIES[
                  random.chance(0.75) ? truthCategory : random.int(0, FEEDBACK_CATEGORIES.length - 1)
                ]!,
            }
          : {}),
        ...(wrong && random.chance(0.8) ? { improved_answer: `${answer}${random.pick(IMPROVEMENTS)}` } : {}),
        // Not every review tool asks for a confidence or measures the time (both optional).
        ...(random.chance(0.7)
          ? { confidence_score: round2(clamp(random.normal(0.6 + 0.3 * expert.trust, 0.12), 0.1, 1)) }
          : {}),
        ...(random.chance(0.8) ? { time_spent_seconds: Math.round(minutes * 60) } : {}),
      };
      const promote: boolean = verdict === 'correct' && !promoted && random.chance(expert.promoteRate);
      promoted ||= promote;
      const r = random.next();
      reviews.push({
        expert: e,
        body,
        at: clock.after(answeredAt, Math.round(random.logNormal(20, 1) * 3_600_000)),
        promote,
        decision: r < 0.5 ? 'approve' : r < 0.72 ? 'reject' : 'leave',
      });
    }
  }
  return reviews;
}

const score = (n: number) => Math.round(clamp(n, 0, 100));

/** Five scores with their own spreads over one latent skill that grows a little over the days. */
function planInterviews(random: Random, size: DemoSize, tag: string, clock: ReturnType<typeof clockOf>) {
  const gapWeights = GAPS.map((_, i) => 1 / (i + 1));
  return Array.from({ length: size.interviews }, (_, i): PlannedInterview => {
    const k = clock.day();
    const skill = random.normal(0.3 * (k / DEMO_DAYS), 1);
    const technical = score(66 + 12 * skill + random.normal(0, 7));
    const communication = score(73 + 6 * skill + random.normal(0, 9));
    const problemSolving = score(58 + 16 * skill + random.normal(0, 12));
    const relevance = score(78 + 5 * skill + random.normal(0, 6));
    const overall = score(
      0.3 * technical + 0.2 * communication + 0.3 * problemSolving + 0.2 * relevance + random.normal(0, 4),
    );
    const gapCount = technical < 60 ? random.int(2, 3) : technical < 75 ? random.int(1, 2) : random.int(0, 1);
    const gaps = random.distinct(gapWeights, gapCount);
    const band = (s: number) => (s >= 75 ? 0 : s >= 60 ? 1 : 2);
    const at = clock.timeOn(k);
    return {
      session: { external_ref: `demo-${tag}-colloquio-${i}`, title: `Colloquio: ${random.pick(ROLES)}` },
      at,
      feedbackAt: clock.after(at, Math.round(random.logNormal(40, 0.4) * 60_000)),
      feedback: {
        technical_accuracy_score: technical,
        communication_clarity_score: communication,
        problem_solving_score: problemSolving,
        relevance_score: relevance,
        overall_score: overall,
        technical_feedback: FEEDBACK_TEXTS.technical[band(technical)],
        communication_feedback: FEEDBACK_TEXTS.communication[band(communication)],
        problem_solving_feedback: FEEDBACK_TEXTS.problemSolving[band(problemSolving)],
        relevance_feedback: FEEDBACK_TEXTS.relevance[band(relevance)],
        ...(random.chance(0.4) ? { overall_comments: random.pick(OVERALL_COMMENTS) } : {}),
        knowledge_gaps: gaps.map((g) => GAPS[g]![0]),
        learning_recommendations: gaps.map((g) => GAPS[g]![1]),
      },
    };
  });
}

/**
 * The whole demo for `conversations` conversations ending at `end` (epoch ms). `tag` makes its ids its own, so a
 * second demo adds to the first. The same size and tag give the same plan.
 */
export function planDemo(conversations: number, end: number, tag: string): DemoPlan {
  const random = seededRandom(conversations);
  const size = demoSize(conversations);
  const clock = clockOf(random, end);
  const experts = planExperts(random, size, clock);
  return {
    size,
    firstDay: clock.firstDay,
    releaseAt: clock.firstDay + RELEASE_DAY * DAY_MS,
    experts: experts.map((e) => e.plan),
    votes: planVotes(random, size, tag, clock, experts.length),
    reviews: planReviews(random, size, tag, clock, experts),
    interviews: planInterviews(random, size, tag, clock),
  };
}
