/**
 * The words of the demo data (src/demo.ts): three applications with their questions, answers and downvote reasons,
 * comments (some with personal data, which the redactor replaces, README "Privacy"), the experts' names and fields,
 * and the interview coach's vocabulary. Italian, as the product's users are.
 */

/** The applications, their share of the conversations and the models they run (README "Dashboards and demo data"). */
export const APPS = [
  { name: 'assistente-fiscale', share: 0.5, before: 'v2', after: 'v3', upBefore: 0.55, upAfter: 0.75 },
  { name: 'coach-colloqui', share: 0.3, before: 'v2-mini', after: 'v2-mini', upBefore: 0.64, upAfter: 0.65 },
  { name: 'revisione-esperti', share: 0.2, before: 'v2', after: 'v2', upBefore: 0.6, upAfter: 0.59 },
] as const;
export type AppName = (typeof APPS)[number]['name'];

/** The release every app ships halfway through the demo's days; only the fiscal assistant changes model with it. */
export const RELEASES = { before: '2026.09', after: '2026.10' } as const;

export const QUESTIONS: Record<AppName, readonly (readonly [string, string])[]> = {
  'assistente-fiscale': [
    [
      'Come pago il modello F24 online?',
      "Puoi usare l'home banking o i servizi telematici dell'Agenzia delle Entrate.",
    ],
    ["Qual è l'aliquota IVA sui libri?", "L'aliquota è il 4% (Tabella A, parte II, DPR 633/72)."],
    ['Entro quando si presenta il 730?', 'Il 730 precompilato si invia entro il 30 settembre.'],
    ["Chi deve pagare l'IMU sulla prima casa?", "L'abitazione principale non di lusso è esente (categorie A/2-A/7)."],
    [
      'Come funziona il regime forfettario?',
      'Si applica un coefficiente di redditività e un’imposta sostitutiva del 15%.',
    ],
    ['Posso detrarre le spese mediche?', 'Sì, il 19% oltre la franchigia di 129,11 euro, con pagamento tracciabile.'],
    ['Cosa è il reverse charge?', "È l'inversione contabile: l'IVA la assolve il cessionario."],
    ['Come richiedo il rimborso IVA?', 'Con la dichiarazione annuale IVA o con istanza trimestrale (modello TR).'],
    [
      'Come funziona il ravvedimento operoso?',
      'Versi imposta, interessi legali e sanzione ridotta in base al ritardo.',
    ],
    ['Lo split payment vale per i professionisti?', 'No, dal 2019 i compensi soggetti a ritenuta ne sono esclusi.'],
  ],
  'coach-colloqui': [
    [
      'Come mi preparo a un colloquio per praticante commercialista?',
      'Ripassa IVA e bilancio e prepara due casi reali.',
    ],
    ['Cosa rispondo se mi chiedono i miei difetti?', 'Scegli un difetto reale e racconta come lo stai correggendo.'],
    ['Come spiego un buco nel curriculum?', 'Dillo con franchezza e collega il periodo a ciò che hai imparato.'],
    ['Quanto deve durare la mia presentazione?', 'Due minuti: percorso, competenze chiave, perché questo ruolo.'],
    ['Come negozio la retribuzione?', 'Informati sulle fasce del CCNL e proponi un intervallo motivato.'],
    [
      'Che domande faccio alla fine del colloquio?',
      'Chiedi del team, degli obiettivi dei primi mesi e della formazione.',
    ],
    ['Come affronto un caso pratico sul TFR?', 'Parti dalla retribuzione utile, poi rivalutazione e accantonamento.'],
  ],
  'revisione-esperti': [
    ['Riassumi la circolare sul superbonus', 'La detrazione scende al 70% nel 2024 e al 65% nel 2025 per i condomini.'],
    [
      'Quali controlli per una fattura elettronica scartata?',
      'Verifica codice destinatario, partita IVA e natura IVA.',
    ],
    [
      'Come si calcola il TFR di un part-time?',
      'Si divide la retribuzione annua utile per 13,5, come per il tempo pieno.',
    ],
    ['Quando scatta la tassazione separata?', 'Per TFR, arretrati di anni precedenti e indennità di fine rapporto.'],
    ['Serve il visto di conformità per il credito IVA?', 'Sì, sopra 5.000 euro annui di compensazione.'],
    ['Come si applica la cedolare secca?', "Sull'affitto abitativo: 21%, o 10% a canone concordato."],
  ],
};

export const REASONS: Record<AppName, readonly (readonly [string, number])[]> = {
  'assistente-fiscale': [
    ['outdated', 5],
    ['wrong', 4],
    ['missing source', 3],
    ['too vague', 3],
    ['too long', 1],
  ],
  'coach-colloqui': [
    ['too generic', 5],
    ['not my sector', 3],
    ['too long', 2],
    ['wrong', 1],
  ],
  'revisione-esperti': [
    ['missing source', 4],
    ['wrong', 4],
    ['outdated', 3],
    ['incomplete', 3],
  ],
};

export const DOWN_COMMENTS = [
  'La normativa è cambiata nel 2024.',
  'Mi serviva un esempio concreto.',
  'Manca il riferimento alla circolare.',
  'Risposta troppo lunga, non ho trovato il punto.',
  "Non vale per chi ha la partita IVA da quest'anno.",
  'Ho dovuto chiedere al mio commercialista.',
] as const;
/** Comments as people write them, with their own data in: the redactor turns it into placeholders. */
export const PERSONAL_COMMENTS = [
  'Scrivetemi a mario.rossi@example.it per chiarire',
  'Chiamatemi al +39 347 123 4567 per favore',
  'Il mio codice fiscale è RSSMRA85T10A562S, controllate',
  'Ho pagato da IT60X0542811101000000123456 ma risulta non versato',
  'Rispondete a giulia.verdi@example.com, grazie',
] as const;
export const UP_COMMENTS = ['Chiarissimo, grazie!', 'Esattamente quello che cercavo.', 'Utile anche il link.'];

export const EMAIL_DOMAINS = ['example.it', 'example.com', 'posta.example.it', 'studio.example.net'] as const;
export const FIRST_NAMES = [
  'giulia',
  'marco',
  'francesca',
  'luca',
  'chiara',
  'alessandro',
  'sara',
  'matteo',
  'elena',
  'davide',
  'martina',
  'simone',
  'valentina',
  'andrea',
  'federica',
  'lorenzo',
  'silvia',
  'stefano',
  'paola',
  'roberto',
  'anna',
  'giovanni',
  'laura',
  'fabio',
  'elisa',
] as const;
export const LAST_NAMES = [
  'bianchi',
  'rossi',
  'russo',
  'ferrari',
  'esposito',
  'romano',
  'colombo',
  'ricci',
  'marino',
  'greco',
  'bruno',
  'gallo',
  'conti',
  'deluca',
  'mancini',
  'costa',
  'giordano',
  'rizzo',
  'lombardi',
  'moretti',
  'barbieri',
  'fontana',
  'santoro',
  'mariani',
  'rinaldi',
] as const;

/** Credential types, their share of the experts, and the fields they review (docs/CONTRACT.md "expert_profiles"). */
export const CREDENTIALS = [
  { type: 'dottore_commercialista', share: 14, prefix: 'ODCEC', fields: ['IVA', 'redditi', 'regime forfettario'] },
  { type: 'revisore_legale', share: 8, prefix: 'RL', fields: ['bilancio', 'revisione', 'crediti d’imposta'] },
  { type: 'consulente_del_lavoro', share: 9, prefix: 'CDL', fields: ['lavoro', 'TFR', 'contributi'] },
  { type: 'avvocato', share: 9, prefix: 'AVV', fields: ['contenzioso tributario', 'successioni', 'locazioni'] },
  { type: 'caf_operator', share: 7, prefix: 'CAF', fields: ['730', 'ISEE', 'IMU'] },
  { type: 'other', share: 3, prefix: 'ALT', fields: ['previdenza', 'agevolazioni'] },
] as const;

/** Where the experts' registers are kept (their registration numbers start with it). */
export const PROVINCES = ['MI', 'RM', 'TO', 'NA', 'BO', 'FI', 'PD', 'BA'] as const;

export const IMPROVEMENTS = [
  ' Dal 2024 la regola è cambiata: verificare la circolare più recente.',
  ' Va aggiunto il caso dei contribuenti in regime forfettario.',
  ' Il calcolo corretto include gli interessi legali al tasso vigente.',
  ' Specificare le eccezioni previste per i soggetti non residenti.',
] as const;

/** Interview roles (session titles) and what the coach finds missing, with what it recommends for each. */
export const ROLES = [
  'Praticante dottore commercialista',
  'Addetto paghe e contributi',
  'Operatore CAF',
  'Junior auditor',
  'Consulente fiscale junior',
  'Impiegato amministrativo',
] as const;
export const GAPS = [
  ['reverse charge', 'Circolare 14/E sul reverse charge'],
  ['ravvedimento operoso', 'Guida al ravvedimento operoso (Agenzia delle Entrate)'],
  ['split payment', 'Scheda split payment e fatturazione alla PA'],
  ['regime forfettario', 'Corso breve sul regime forfettario'],
  ['TFR', 'Esercizi di calcolo del TFR'],
  ['IMU', 'Simulazioni IMU su seconde case'],
  ['F24', 'Compilazione guidata del modello F24'],
  ['bilancio', 'Lettura del bilancio in 10 casi'],
  ['contratti di lavoro', 'CCNL commercio: le voci principali'],
  ['comunicazione col cliente', 'Role play: spiegare una cartella al cliente'],
] as const;
export const FEEDBACK_TEXTS = {
  technical: ['Conosce bene la normativa IVA.', 'Qualche incertezza sulle scadenze.', 'Basi tecniche da rinforzare.'],
  communication: ['Esposizione chiara e ordinata.', 'Tende a divagare.', 'Linguaggio troppo tecnico per il cliente.'],
  problemSolving: ['Approccio metodico ai casi.', 'Buona intuizione, poca verifica.', 'Si blocca sui casi nuovi.'],
  relevance: ['Risposte pertinenti.', 'A volte fuori tema.', 'Esempi ben scelti.'],
} as const;
export const OVERALL_COMMENTS = [
  'Candidato promettente, da rivedere tra un mese.',
  'Pronto per un colloquio reale.',
  'Consigliato un secondo colloquio tecnico.',
  'Richiamare al 02 1234 5678 per il riscontro',
  'Inviare il materiale a candidato.prova@example.it',
] as const;
