import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { redactFields } from '../../src/privacy/redactFields.ts';

/**
 * `npm run bench -- redact`: single-thread throughput of the PII redactor on the three free-text fields of a vote
 * (query, response, comment), through `redactFields` as the ingestion path calls it, against the redactor of
 * BENCH_BASELINE_REF (default `main`; `none` to skip), taken from git into a temporary directory and measured in the
 * same run on the same rows, so the ratio holds even on a busy machine. Four workloads:
 * - typical: short questions, ~200-character answers and ~40-character comments, no PII;
 * - some PII: the same, with an e-mail, a phone number or an IBAN in one field of ~10% of the rows;
 * - dense PII: every field of every row has some (e-mails, phones, IBANs);
 * - long: 20,000-character answers (prose, some of it with PII).
 * The text mixes English and Italian, with a few characters outside Latin-1 ("€", "’"), as real feedback does.
 * Each workload runs ROUNDS times after a warm-up and the best round counts (the machine is shared).
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROWS = Number(process.env.BENCH_ROWS ?? 50_000);
const LONG_ROWS = Number(process.env.BENCH_LONG_ROWS ?? 500);
const FIELDS = ['query', 'response', 'comment'] as const;

interface Row extends Record<string, unknown> {
  query: string;
  response: string;
  comment: string;
}

const QUERIES = [
  'How do I file my taxes?',
  'When is the IMU deadline?',
  'Can I deduct my rent costs?',
  'Come pago il bollo auto?',
  'What is the 730 form for?',
  'Is VAT due on exports?',
  'Quando scade la TARI?',
  'Do I need a codice fiscale?',
];
const RESPONSES = [
  'You can file your tax return online through the Agenzia delle Entrate portal using SPID or CIE; the deadline for the 730 is 30 September, and a CAF can help you if your situation includes rental income or deductions.',
  'The IMU is paid in two instalments, on 16 June and 16 December, with the F24 form; the municipality publishes its rates each year, and a main home is exempt unless it is in the luxury cadastral categories.',
  "Il bollo auto si paga ogni anno alla regione di residenza: puoi usare pagoPA, l'app IO o un tabaccaio convenzionato. L'importo dipende dai kW e dalla classe ambientale del veicolo, ed è dovuto entro la fine del mese.",
  'Tenants under 31 with an income below € 15,493.71 can deduct part of the rent; keep the registered lease and the receipts, and claim the deduction in box E71 of the 730 or in the Redditi PF return.',
  'Exports of goods outside the EU are not subject to VAT in Italy, but the invoice must cite article 8 of DPR 633/72 and you need customs proof that the goods left the Union within ninety days.',
  'Yes: every person resident in Italy needs a codice fiscale for contracts, health care and tax returns. Foreign citizens can request one at any office of the Agenzia delle Entrate or at an Italian consulate.',
];
const COMMENTS = [
  'Helpful, but the deadline was wrong.',
  'Too vague, I needed the exact form.',
  'Perfetto, grazie mille per la risposta!',
  'It did not mention the 2024 changes.',
  'Great answer, very clear and complete.',
  'Non ho capito quale modulo usare.',
  'I’d like more detail on the F24 form.',
];
/** PII embedded the way people write it in feedback. */
const PII_COMMENTS = [
  'Please write to mario.rossi@example.com about it',
  'Call me back on +39 333 123 4567 please',
  'My IBAN is IT60 X054 2811 1010 0000 0123 456',
  'Refund to DE89 3704 0044 0532 0130 00 thanks',
  'Contact anna.bianchi+tax@studio-bianchi.it soon',
  'Chiamatemi al 02 1234 5678, grazie',
  'Call me at (415) 555-0132 after 5pm',
  'Paid with my Maestro 6759 6498 2643 8453',
];

function pick<T>(list: readonly T[], i: number): T {
  return list[i % list.length] as T;
}

/** Distinct strings per row (a row number in the text), so nothing can be cached across rows. */
function typicalRow(i: number): Row {
  return {
    query: pick(QUERIES, i),
    response: `${pick(RESPONSES, i)} (ref. ${i % 97})`,
    comment: pick(COMMENTS, i * 7),
  };
}

function piiRow(i: number): Row {
  const row = typicalRow(i);
  if (i % 10 !== 0) return row;
  const pii = pick(PII_COMMENTS, i / 10);
  switch ((i / 10) % 3) {
    case 0:
      return { ...row, comment: pii };
    case 1:
      return { ...row, response: `${row.response} ${pii}.` };
    default:
      return { ...row, query: `${row.query} ${pii}` };
  }
}

/** Every field carries PII, several kinds per row: the recognisers' slow path (validation) on every row. */
function densePiiRow(i: number): Row {
  return {
    query: `${pick(QUERIES, i)} ${pick(PII_COMMENTS, i)}`,
    response: `${pick(RESPONSES, i)} ${pick(PII_COMMENTS, i + 1)}, or ${pick(PII_COMMENTS, i + 2)}.`,
    comment: pick(PII_COMMENTS, i + 3),
  };
}

function longRow(i: number): Row {
  let response = '';
  for (let k = 0; response.length < 20_000; k++) {
    // One PII sentence in ~30 keeps the text realistic: mostly prose, a few identifiers.
    response += k % 30 === 29 ? `${pick(PII_COMMENTS, i + k)}. ` : `${pick(RESPONSES, i + k)} `;
  }
  return { ...typicalRow(i), response: response.slice(0, 20_000) };
}

/** The rows as the HTTP handler sees them: parsed from a JSON body (flat strings, not the ropes built above). */
function parsed(rows: Row[]): Row[] {
  return JSON.parse(JSON.stringify(rows)) as Row[];
}

interface Result {
  rowsPerSecond: number;
  charsPerRow: number;
  found: number;
}

type RedactFields = typeof redactFields;

function timeOnce(rows: readonly Row[], redactFields: RedactFields): number {
  const started = process.hrtime.bigint();
  let outChars = 0;
  for (const row of rows) {
    const out = redactFields(row, FIELDS);
    outChars += out.query.length + out.response.length + out.comment.length;
  }
  if (outChars < 0) throw new Error('unreachable');
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/**
 * Best of ROUNDS rounds for each redactor, after a warm-up (JIT, regexes, inline caches). The redactors take turns
 * round by round, so a burst of load on the shared machine hits both rather than one.
 */
function measure(rows: readonly Row[], redactors: readonly RedactFields[]): Result[] {
  for (const redactFields of redactors) timeOnce(rows, redactFields);
  const best = redactors.map(() => Infinity);
  for (let round = 0; round < ROUNDS; round++) {
    redactors.forEach((redactFields, k) => {
      best[k] = Math.min(best[k] as number, timeOnce(rows, redactFields));
    });
  }
  const chars = rows.reduce((acc, r) => acc + r.query.length + r.response.length + r.comment.length, 0);
  return redactors.map((redactFields, k) => {
    let found = 0;
    for (const row of rows) {
      const out = redactFields(row, FIELDS);
      for (const f of FIELDS) if (out[f] !== row[f]) found++;
    }
    return { rowsPerSecond: rows.length / (best[k] as number), charsPerRow: chars / rows.length, found };
  });
}

/** The baseline's redactFields, from `git archive REF src/privacy` (its recognisers import only each other). */
async function loadBaseline(ref: string): Promise<{ redactFields: RedactFields; cleanup: () => void } | null> {
  if (ref === 'none') return null;
  const dir = mkdtempSync(path.join(tmpdir(), 'redact-baseline-'));
  try {
    const archive = execFileSync('git', ['archive', ref, 'src/privacy', 'src/config.ts'], { maxBuffer: 64 << 20 });
    execFileSync('tar', ['-x', '-C', dir], { input: archive });
    const module = (await import(pathToFileURL(path.join(dir, 'src/privacy/redactFields.ts')).href)) as {
      redactFields: RedactFields;
    };
    return { redactFields: module.redactFields, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot load the baseline redactor from ${ref}`, { cause: err });
  }
}

export async function run(): Promise<void> {
  const baselineRef = process.env.BENCH_BASELINE_REF ?? 'main';
  const baseline = await loadBaseline(baselineRef);
  const workloads: [string, Row[]][] = [
    ['typical, no PII', parsed(Array.from({ length: ROWS }, (_, i) => typicalRow(i)))],
    ['some PII (~10% of rows)', parsed(Array.from({ length: ROWS }, (_, i) => piiRow(i)))],
    ['dense PII (every field)', parsed(Array.from({ length: ROWS / 5 }, (_, i) => densePiiRow(i)))],
    ['long 20,000-char answers', parsed(Array.from({ length: LONG_ROWS }, (_, i) => longRow(i)))],
  ];
  const out = process.stdout;
  out.write(`redact benchmark: redactFields(query, response, comment), best of ${ROUNDS} rounds, one thread\n`);
  const line = (label: string, rows: readonly Row[], r: Result): string =>
    `${label.padEnd(34)} ${r.rowsPerSecond.toFixed(0).padStart(9)} rows/s  ` +
    `${((r.rowsPerSecond * r.charsPerRow) / 1e6).toFixed(1).padStart(6)} MB/s  ` +
    `(${rows.length} rows, ${r.charsPerRow.toFixed(0)} chars/row, ${r.found} fields changed)`;
  try {
    for (const [name, rows] of workloads) {
      const [r, b] = measure(rows, baseline === null ? [redactFields] : [redactFields, baseline.redactFields]) as [
        Result,
        Result | undefined,
      ];
      out.write(`${line(name, rows, r)}\n`);
      if (b === undefined) continue;
      out.write(
        `${line(`  baseline (${baselineRef})`, rows, b)}  = ${(r.rowsPerSecond / b.rowsPerSecond).toFixed(2)}x\n`,
      );
    }
  } finally {
    baseline?.cleanup();
  }
}
