/**
 * Payment card recogniser, after Presidio's CreditCardRecognizer: 13-19 digits, optionally grouped with single
 * spaces or dashes, a known issuer prefix, and a valid Luhn check digit. Luhn alone would accept 10% of random
 * digit strings, so the issuer prefix is what keeps order numbers and the like out.
 */
import { luhnValid } from './checksums.ts';
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
  const p2 = Number(digits.slice(0, 2));
  const p3 = Number(digits.slice(0, 3));
  const p4 = Number(digits.slice(0, 4));
  if (digits.charCodeAt(0) === 52) return true; // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return true; // Mastercard
  if (p2 === 34 || p2 === 37) return true; // American Express
  if (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649)) return true; // Discover
  if (p2 === 36 || p2 === 38 || (p3 >= 300 && p3 <= 305)) return true; // Diners Club
  return p2 === 35; // JCB
}

/** Validates a compact card number (digits only). */
export function isValidCardNumber(digits: string): boolean {
  return (
    /^\d+$/.test(digits) &&
    digits.length >= MIN_DIGITS &&
    digits.length <= MAX_DIGITS &&
    hasKnownIssuerPrefix(digits) &&
    luhnValid(digits)
  );
}

/**
 * Finds card numbers. The text is cut into runs of digit groups joined by a single space or dash; every
 * window of consecutive groups in a run is a candidate, so "ref 12 4111 1111 1111 1111" still yields the card.
 * A multi-group window must look like a printed card: a first group of 4 digits, then groups of 3-6
 * (4-4-4-4, 4-6-5 Amex, 4-6-4 Diners, 4-4-4-4-3); an ungrouped window must be 13-19 digits on its own.
 * Windows never exceed 19 digits, so the work per group is bounded.
 */
export function findCards(text: string): Range[] {
  const out: Range[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    if (!isDigitCode(text.charCodeAt(i))) {
      i++;
      continue;
    }
    // Collect the run's groups as [start, end) pairs.
    const starts: number[] = [];
    const ends: number[] = [];
    let j = i;
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
      let digits = '';
      for (let b = a; b < starts.length; b++) {
        const gs = starts[b] as number;
        const ge = ends[b] as number;
        const len = ge - gs;
        if (b > a && (firstLen !== 4 || len < 3 || len > 6)) break;
        digits += text.slice(gs, ge);
        if (digits.length > MAX_DIGITS) break;
        if (digits.length >= MIN_DIGITS && !wordAfter(text, ge) && isValidCardNumber(digits)) {
          out.push({ start: firstStart, end: ge });
        }
      }
    }
    i = j;
  }
  return out;
}
