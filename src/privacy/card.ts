/**
 * Payment card recogniser, after Presidio's CreditCardRecognizer: 13-19 digits, optionally grouped with single
 * spaces or dashes, a known issuer prefix, and a valid Luhn check digit. Luhn alone would accept 10% of random
 * digit strings, so the issuer prefix is what keeps order numbers and the like out.
 */
import { luhnValid, luhnValidDigits } from './checksums.ts';
import { type Range, isDigitCode, wordAfter, wordBefore } from './scan.ts';

const SPACE = 32;
const DASH = 45;
const MIN_DIGITS = 13;
const MAX_DIGITS = 19;

/**
 * Issuer identification ranges (ISO/IEC 7812 IIN) for the brands Presidio targets:
 * Visa 4; Mastercard 51-55 and 2221-2720; Amex 34, 37; Discover 6011, 644-649, 65;
 * Diners Club 300-305, 36, 38; JCB 35.
 */
export function hasKnownIssuerPrefix(digits: string): boolean {
  if (digits.length < 4) return false;
  if (digits.charCodeAt(0) === 52) return true; // Visa
  return isKnownNonVisaIssuer(Number(digits.slice(0, 2)), Number(digits.slice(0, 3)), Number(digits.slice(0, 4)));
}

/** The issuer ranges other than Visa, on the number formed by the first 2, 3 and 4 digits. */
function isKnownNonVisaIssuer(p2: number, p3: number, p4: number): boolean {
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return true; // Mastercard
  if (p2 === 34 || p2 === 37) return true; // American Express
  if (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649)) return true; // Discover
  if (p2 === 36 || p2 === 38 || (p3 >= 300 && p3 <= 305)) return true; // Diners Club
  return p2 === 35; // JCB
}

const ALL_DIGITS = /^\d+$/;

/** Validates a compact card number (digits only). */
export function isValidCardNumber(digits: string): boolean {
  return (
    ALL_DIGITS.test(digits) &&
    digits.length >= MIN_DIGITS &&
    digits.length <= MAX_DIGITS &&
    hasKnownIssuerPrefix(digits) &&
    luhnValid(digits)
  );
}

/**
 * isValidCardNumber for the first `count` digit values of `digits` (0-9 each), so findCards can extend a window
 * group by group in a reused buffer instead of building a string per window.
 */
function isValidCardDigits(digits: Uint8Array, count: number): boolean {
  if (count < MIN_DIGITS || count > MAX_DIGITS) return false;
  const d0 = digits[0] as number;
  const p2 = d0 * 10 + (digits[1] as number);
  const p3 = p2 * 10 + (digits[2] as number);
  const p4 = p3 * 10 + (digits[3] as number);
  return (d0 === 4 || isKnownNonVisaIssuer(p2, p3, p4)) && luhnValidDigits(digits, count);
}

/** Digits of the window findCards is extending (it never holds more than MAX_DIGITS). */
const windowDigits = new Uint8Array(MAX_DIGITS);

/**
 * The first digit of a run of digit groups (joined by single spaces or dashes, as findCards reads them) holding
 * at least 13 digits. Runs with fewer cannot contain a card, so findCards jumps from one such run to the next in
 * the regex engine. A match never starts inside a run: the run's first digit would match too, and further left.
 */
const CARD_RUN = /\d(?=(?:[ -]?\d){12})/g;

/**
 * The same 13 digits spelt out ("\d[ -]?\d[ -]?...\d"): the regex engine scans for a pattern of this shape much
 * faster than for one opening with a lookahead, so it first tells whether the text has any such run at all.
 */
const HAS_CARD_RUN = new RegExp(Array.from({ length: MIN_DIGITS }, () => '\\d').join('[ -]?'));

/**
 * Finds card numbers. The text is cut into runs of digit groups joined by a single space or dash; every
 * window of consecutive groups in a run is a candidate, so "ref 12 4111 1111 1111 1111" still yields the card.
 * A multi-group window must look like a printed card: a first group of 4 digits, then groups of 3-6
 * (4-4-4-4, 4-6-5 Amex, 4-6-4 Diners, 4-4-4-4-3); an ungrouped window must be 13-19 digits on its own.
 * Windows never exceed 19 digits, so the work per group is bounded.
 */
export function findCards(text: string): Range[] {
  const out: Range[] = [];
  if (!HAS_CARD_RUN.test(text)) return out;
  const n = text.length;
  CARD_RUN.lastIndex = 0;
  while (CARD_RUN.test(text)) {
    const i = CARD_RUN.lastIndex - 1;
    let j = i;
    // Collect the run's groups as [start, end) pairs.
    const starts: number[] = [];
    const ends: number[] = [];
    for (;;) {
      const gs = j;
      while (j < n && isDigitCode(text.charCodeAt(j))) j++;
      starts.push(gs);
      ends.push(j);
      const c = text.charCodeAt(j);
      if ((c === SPACE || c === DASH) && isDigitCode(text.charCodeAt(j + 1))) {
        j++;
      } else {
        break;
      }
    }
    for (let a = 0; a < starts.length; a++) {
      const firstStart = starts[a] as number;
      const firstLen = (ends[a] as number) - firstStart;
      if (wordBefore(text, firstStart)) continue;
      let count = 0; // digits in windowDigits
      for (let b = a; b < starts.length; b++) {
        const gs = starts[b] as number;
        const ge = ends[b] as number;
        const len = ge - gs;
        if (b > a && (firstLen !== 4 || len < 3 || len > 6)) break;
        if (count + len > MAX_DIGITS) break;
        for (let k = gs; k < ge; k++) windowDigits[count++] = text.charCodeAt(k) - 48;
        if (count >= MIN_DIGITS && !wordAfter(text, ge) && isValidCardDigits(windowDigits, count)) {
          out.push({ start: firstStart, end: ge });
        }
      }
    }
    CARD_RUN.lastIndex = j;
  }
  return out;
}
