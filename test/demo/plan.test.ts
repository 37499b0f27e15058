import { describe, expect, it } from 'vitest';
import { DEMO_DAYS, RELEASE_DAY, demoSize, planDemo } from '../../src/demo/plan.ts';

// The demo's plan (src/demo/plan.ts) decides every row's time before anything is sent; backdateDemo then dates the
// rows to it. These are the promises the dashboards rely on, for a demo started at any time of any day.

const DAY_MS = 86_400_000;
const ENDS = [
  Date.parse('2026-12-07T23:05:00Z'),
  Date.parse('2026-12-08T00:00:30Z'), // just after midnight: the last day is nearly empty
  Date.parse('2027-03-14T12:00:00Z'),
];

describe('the demo plan', () => {
  for (const end of ENDS) {
    it(`dates everything within its 90 days up to ${new Date(end).toISOString()}, the release by day`, () => {
      const plan = planDemo(3000, end, 'test');
      const day = (t: number) => Math.floor((t - plan.firstDay) / DAY_MS);
      expect(day(end)).toBe(DEMO_DAYS - 1);
      expect(plan.releaseAt).toBe(plan.firstDay + RELEASE_DAY * DAY_MS);
      const all = [
        ...plan.votes.map((v) => v.at),
        ...plan.reviews.map((r) => r.at),
        ...plan.interviews.flatMap((i) => [i.at, i.feedbackAt]),
      ];
      expect(Math.min(...all)).toBeGreaterThanOrEqual(plan.firstDay);
      expect(Math.max(...all)).toBeLessThan(end);
      // A conversation's votes fall on one day, each later than the one before; its release follows that day.
      const byConversation = new Map<string, { at: number; release: string; model: string; app: string }[]>();
      for (const v of plan.votes) {
        const list = byConversation.get(v.body.conversation_id) ?? [];
        list.push({ at: v.at, ...v.body.metadata });
        byConversation.set(v.body.conversation_id, list);
      }
      expect(byConversation.size).toBe(3000);
      for (const votes of byConversation.values()) {
        expect(new Set(votes.map((v) => day(v.at))).size).toBe(1);
        for (let i = 1; i < votes.length; i++) expect(votes[i]!.at).toBeGreaterThan(votes[i - 1]!.at);
        const after = day(votes[0]!.at) >= RELEASE_DAY;
        expect(votes[0]!.release).toBe(after ? '2026.10' : '2026.09');
        if (votes[0]!.app === 'assistente-fiscale') expect(votes[0]!.model).toBe(after ? 'v3' : 'v2');
      }
      for (const i of plan.interviews) expect(i.feedbackAt).toBeGreaterThan(i.at);
    });
  }

  it('grows with --conversations up to 50 experts and 2,000 interviews at the default 18,000', () => {
    expect(demoSize(18_000)).toEqual({ conversations: 18_000, experts: 50, answers: 1000, interviews: 2000 });
    expect(demoSize(120).experts).toBe(6);
    expect(planDemo(18_000, ENDS[0]!, 'x').votes.length).toBeGreaterThanOrEqual(20_000);
  });
});
