import type { Pool } from './db/pool.ts';

/**
 * The demo data of `feedback-warehouse demo` (src/cli/demo.ts): realistic feedback posted through a client function,
 * so the command can send it through the real HTTP app; then the rows are spread over the last 60 days, since
 * clients cannot backdate feedback.
 */

const QUESTIONS = [
  ['Come pago il modello F24 online?', "Puoi usare l'home banking o i servizi telematici dell'Agenzia delle Entrate."],
  ["Qual è l'aliquota IVA sui libri?", "L'aliquota è il 4% (Tabella A, parte II, DPR 633/72)."],
  ['Entro quando si presenta il 730?', 'Il 730 precompilato si invia entro il 30 settembre.'],
  ["Chi deve pagare l'IMU sulla prima casa?", "L'abitazione principale non di lusso è esente (categorie A/2-A/7)."],
  [
    'Come funziona il regime forfettario?',
    'Si applica un coefficiente di redditività e una imposta sostitutiva del 15%.',
  ],
  ['Posso detrarre le spese mediche?', 'Sì, il 19% oltre la franchigia di 129,11 euro, con pagamento tracciabile.'],
  ['Cosa è il reverse charge?', "È l'inversione contabile: l'IVA la assolve il cessionario."],
  ['Come richiedo il rimborso IVA?', 'Con la dichiarazione annuale IVA o con istanza trimestrale (modello TR).'],
] as const;
const REASONS = ['outdated', 'wrong', 'too vague', 'missing source', 'too long', 'off topic'];
const COMMENTS = [
  'La normativa è cambiata nel 2024.',
  'Mi serviva un esempio concreto.',
  'Scrivetemi a mario.rossi@example.it',
  'Chiamatemi al +39 347 123 4567 per favore',
  null,
  null,
];
const GAPS = ['reverse charge', 'split payment', 'ravvedimento operoso', 'regime forfettario', 'IMU', 'TFR', 'F24'];
const CREDENTIALS = ['dottore_commercialista', 'revisore_legale', 'consulente_del_lavoro', 'avvocato', 'caf_operator'];
const CATEGORIES = [
  'normativa_obsoleta',
  'interpretazione_errata',
  'caso_mancante',
  'calcolo_sbagliato',
  'troppo_generico',
];

/** A small deterministic generator, so two demos with the same size look alike. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface DemoSummary {
  readonly votes: number;
  readonly experts: number;
  readonly expertFeedback: number;
  readonly interviews: number;
  /** Ids of what was created, by table, so only demo rows are backdated. */
  readonly ids: { votes: number[]; expert_feedback: string[]; interview_feedbacks: string[] };
}

export async function runDemo(
  post: (path: string, body: unknown) => Promise<{ status: number; json: unknown }>,
  conversations: number,
): Promise<DemoSummary> {
  const random = rng(conversations);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const must = async (path: string, body: unknown): Promise<unknown> => {
    const res = await post(path, body);
    if (res.status !== 201) throw new Error(`demo: POST ${path} answered ${res.status}: ${JSON.stringify(res.json)}`);
    return res.json;
  };
  const batch = async <T>(items: { type: string; data: unknown }[]): Promise<T[]> => {
    const ids: T[] = [];
    for (let i = 0; i < items.length; i += 1000) {
      const res = (await must('/api/v1/batch', { items: items.slice(i, i + 1000) })) as { items: { id: T }[] };
      ids.push(...res.items.map((item) => item.id));
    }
    return ids;
  };

  const votes: { type: string; data: unknown }[] = [];
  for (let c = 0; c < conversations; c++) {
    const [query, response] = pick(QUESTIONS);
    const flips = random() < 0.15 ? 2 : 1;
    for (let f = 0; f < flips; f++) {
      const vote = random() < 0.62 ? 'up' : 'down';
      votes.push({
        type: 'vote',
        data: {
          conversation_id: `demo-${c}`,
          vote,
          query,
          response,
          reasons: vote === 'down' ? [pick(REASONS), ...(random() < 0.3 ? [pick(REASONS)] : [])] : [],
          comment: vote === 'down' ? pick(COMMENTS) : null,
          expert_ids: [],
          metadata: { app: 'demo-chat', model: random() < 0.5 ? 'v3' : 'v4' },
        },
      });
    }
  }
  const voteIds = await batch<number>(votes);

  const expertCount = Math.max(3, Math.min(12, Math.round(conversations / 50)));
  const experts: string[] = [];
  for (let e = 0; e < expertCount; e++) {
    const expert = (await must('/api/v1/experts', {
      user_ref: `demo-expert-${conversations}-${e}-${Date.now()}`,
      credential_type: CREDENTIALS[e % CREDENTIALS.length],
      registration_number: `REG-${1000 + e}`,
      trust_score: Math.round((0.55 + random() * 0.45) * 100) / 100,
      specializations: [pick(GAPS)],
    })) as { id: string };
    experts.push(expert.id);
  }
  const feedback: { type: string; data: unknown }[] = [];
  for (let i = 0; i < expertCount * 15; i++) {
    const [query, answer] = pick(QUESTIONS);
    const r = random();
    const type = r < 0.55 ? 'correct' : r < 0.8 ? 'incomplete' : 'incorrect';
    feedback.push({
      type: 'expert_feedback',
      data: {
        expert_id: pick(experts),
        query_text: query,
        original_answer: answer,
        feedback_type: type,
        ...(type === 'correct' ? {} : { category: pick(CATEGORIES), improved_answer: `${answer} (aggiornato)` }),
        confidence_score: Math.round((0.5 + random() * 0.5) * 100) / 100,
        time_spent_seconds: 30 + Math.floor(random() * 600),
      },
    });
  }
  const feedbackIds = await batch<string>(feedback);

  const interviews = Math.max(5, Math.round(conversations / 10));
  const interviewItems: { type: string; data: unknown }[] = [];
  const score = (base: number) => Math.max(0, Math.min(100, Math.round(base + (random() - 0.5) * 40)));
  for (let i = 0; i < interviews; i++) {
    const session = (await must('/api/v1/interview-sessions', { title: `Colloquio fiscale ${i + 1}` })) as {
      id: string;
    };
    const base = 45 + random() * 40;
    interviewItems.push({
      type: 'interview_feedback',
      data: {
        session_id: session.id,
        technical_accuracy_score: score(base),
        communication_clarity_score: score(base + 5),
        problem_solving_score: score(base - 5),
        relevance_score: score(base + 10),
        overall_score: score(base),
        technical_feedback: 'Buona conoscenza della normativa IVA.',
        communication_feedback: 'Esposizione chiara.',
        problem_solving_feedback: 'Approccio metodico ai casi.',
        relevance_feedback: 'Risposte pertinenti.',
        overall_comments: random() < 0.2 ? 'Contattare al 02 1234 5678' : null,
        knowledge_gaps: [pick(GAPS), ...(random() < 0.5 ? [pick(GAPS)] : [])].filter((g, k, a) => a.indexOf(g) === k),
        learning_recommendations: ['Circolare 14/E'],
      },
    });
  }
  const interviewIds = await batch<string>(interviewItems);
  return {
    votes: votes.length,
    experts: expertCount,
    expertFeedback: feedback.length,
    interviews,
    ids: { votes: voteIds, expert_feedback: feedbackIds, interview_feedbacks: interviewIds },
  };
}

/** Spreads the demo rows over the last 60 days (demo data only; the API never lets a client backdate). */
const BACKDATE = {
  votes: `update votes set created_at = now() - random() * interval '60 days' where id = any($1::bigint[])`,
  expert_feedback: `update expert_feedback set created_at = now() - random() * interval '60 days' where id = any($1::uuid[])`,
  interview_feedbacks: `update interview_feedbacks set created_at = now() - random() * interval '60 days' where id = any($1::uuid[])`,
} as const;

/** Backdates exactly the rows a demo created (its summary's ids). */
export async function backdateDemo(pool: Pool, ids: DemoSummary['ids']): Promise<void> {
  await pool.query(BACKDATE.votes, [ids.votes]);
  await pool.query(BACKDATE.expert_feedback, [ids.expert_feedback]);
  await pool.query(BACKDATE.interview_feedbacks, [ids.interview_feedbacks]);
}
