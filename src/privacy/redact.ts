/**
 * PII redaction for free-text feedback, modelled on Microsoft Presidio's predefined recognisers
 * (EmailRecognizer, PhoneRecognizer, CreditCardRecognizer, IbanRecognizer, IpRecognizer,
 * ItFiscalCodeRecognizer): candidates are found by bounded scanners and kept only if they validate
 * (Luhn, ISO 7064 mod 97, codice fiscale check character, octet ranges, ...).
 *
 * Pipeline:
 * 1. Cards, IBANs, codici fiscali, e-mails and IP addresses are collected on the original text; overlaps are
 *    resolved (longest wins, then the more specific kind) and the winners replaced by placeholders.
 * 2. Phone numbers are searched in that result, so digits belonging to a card or IBAN are already gone.
 * Precedence: a valid IBAN, card or codice fiscale is replaced before phones are looked for, so the phone
 * recogniser never splits one; a string printed like an IBAN that is not a valid one (findIbanShapes) is left
 * whole: no card or phone candidate that overlaps it is taken; nor is a phone inside a string printed like a card
 * that fails its check (findCardShapes).
 *
 * Length: every recogniser's shortest match is at least half as long as its placeholder (MIN_MATCH, checked
 * again here), so for any input redact(text).length <= 2 * text.length (UTF-16 code units); the database's length
 * checks are sized for it (docs/decisions/0009).
 *
 * Guarantees: placeholders are never matched again and redact(redact(s)) === redact(s): a scanner rejects any
 * candidate touching a placeholder, and every scanner reports *all* valid candidates (not only the leftmost
 * regex match), so anything a second pass could find was already found by the first. Every scanner is linear
 * in the input length (bounded work per start position), so adversarial input cannot blow up.
 */
import { findCardShapes, findCards } from './card.ts';
import { findTaxIds } from './codiceFiscale.ts';
import { findEmails } from './email.ts';
import { findIbanShapes, findIbans } from './iban.ts';
import { findIps } from './ip.ts';
import { findPhones } from './phone.ts';
import { PLACEHOLDER_NAMES, type Range } from './scan.ts';

export type PiiKind = 'EMAIL' | 'PHONE' | 'CARD' | 'IBAN' | 'IP' | 'TAX_ID';

// Compile-time guard: the scanners' placeholder list and PiiKind must name the same kinds.
type SameKinds<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const kindsMatch: SameKinds<PiiKind, (typeof PLACEHOLDER_NAMES)[number]> = true;
void kindsMatch;

interface Match extends Range {
  kind: PiiKind;
}

/** Tie-break between equally long overlapping candidates: the more specific, checksum-backed kind wins. */
const PRIORITY: Readonly<Record<PiiKind, number>> = { IBAN: 0, CARD: 1, TAX_ID: 2, EMAIL: 3, IP: 4, PHONE: 5 };

/**
 * Shortest match each kind may replace: half its placeholder's length, rounded up. Each recogniser's own minimum is
 * far above it (e-mail "a@b.co" 6, IP "::1" 3, phone 7 digits, card 13, IBAN 15, codice fiscale 16); the check
 * makes the length bound hold by construction, whatever a recogniser or library returns.
 */
const MIN_MATCH: Readonly<Record<PiiKind, number>> = {
  EMAIL: 4, // [EMAIL]
  PHONE: 4, // [PHONE]
  CARD: 3, // [CARD]
  IBAN: 3, // [IBAN]
  IP: 2, // [IP]
  TAX_ID: 4, // [TAX_ID]
};

function overlaps(r: Range, blocked: readonly Range[]): boolean {
  for (const b of blocked) if (r.start < b.end && b.start < r.end) return true;
  return false;
}

function tag(kind: PiiKind, ranges: readonly Range[], into: Match[], blocked: readonly Range[] = []): void {
  for (const r of ranges) {
    if (r.end - r.start < MIN_MATCH[kind]) continue;
    if (blocked.length > 0 && overlaps(r, blocked)) continue;
    into.push({ start: r.start, end: r.end, kind });
  }
}

/** Strings printed like an IBAN but not valid ones, in `text`: they block cards and phones (see the top). */
function invalidIbanShapes(text: string, valid: readonly Range[]): Range[] {
  const shapes = findIbanShapes(text);
  return valid.length === 0 ? shapes : shapes.filter((s) => !overlaps(s, valid));
}

/**
 * Greedy overlap resolution: longest first, then priority, then leftmost. Every candidate that does not overlap
 * an accepted one is accepted (idempotence relies on this). Coverage is tracked per code unit, so the cost is
 * bounded by the total length of the candidates, which the scanners keep small per position.
 */
function resolve(length: number, candidates: Match[]): Match[] {
  if (candidates.length <= 1) return candidates;
  // Usual case: no two candidates overlap, so all are accepted whatever the order; only sort them by position.
  candidates.sort(byStart);
  let disjoint = true;
  for (let k = 1; k < candidates.length && disjoint; k++) {
    disjoint = (candidates[k] as Match).start >= (candidates[k - 1] as Match).end;
  }
  if (disjoint) return candidates;
  candidates.sort(
    (a, b) => b.end - b.start - (a.end - a.start) || PRIORITY[a.kind] - PRIORITY[b.kind] || a.start - b.start,
  );
  const taken = new Uint8Array(length);
  const accepted: Match[] = [];
  outer: for (const m of candidates) {
    for (let i = m.start; i < m.end; i++) if (taken[i] === 1) continue outer;
    taken.fill(1, m.start, m.end);
    accepted.push(m);
  }
  return accepted.sort(byStart);
}

function byStart(a: Range, b: Range): number {
  return a.start - b.start;
}

function replace(text: string, matches: readonly Match[], found: Partial<Record<PiiKind, number>>): string {
  if (matches.length === 0) return text;
  let out = '';
  let last = 0;
  for (const m of matches) {
    out += text.slice(last, m.start) + `[${m.kind}]`;
    last = m.end;
    found[m.kind] = (found[m.kind] ?? 0) + 1;
  }
  return out + text.slice(last);
}

/** Same as `redact`, but also reports what was found (counts by kind), for metrics; never the values. */
export function redactWithStats(text: string): { text: string; found: Partial<Record<PiiKind, number>> } {
  const found: Partial<Record<PiiKind, number>> = {};
  const validated: Match[] = [];
  const ibans = findIbans(text);
  tag('IBAN', ibans, validated);
  tag('CARD', findCards(text), validated, invalidIbanShapes(text, ibans));
  tag('TAX_ID', findTaxIds(text), validated);
  tag('EMAIL', findEmails(text), validated);
  tag('IP', findIps(text), validated);
  const stage1 = replace(text, resolve(text.length, validated), found);

  const phones: Match[] = [];
  const whole = [...invalidIbanShapes(stage1, []), ...findCardShapes(stage1)];
  tag('PHONE', findPhones(stage1, whole), phones, whole);
  const stage2 = replace(stage1, resolve(stage1.length, phones), found);
  return { text: stage2, found };
}

/** Replaces every PII occurrence in text by its placeholder ([EMAIL], [PHONE], [CARD], [IBAN], [IP], [TAX_ID]). */
export function redact(text: string): string {
  return redactWithStats(text).text;
}
