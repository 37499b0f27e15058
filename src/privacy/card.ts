/**
 * Payment card recogniser, after Presidio's CreditCardRecognizer: 13-19 digits, optionally grouped with single
 * spaces or dashes, a valid Luhn check digit, and an issuer whose range and card lengths the number fits. Luhn alone
 * would accept 10% of random digit strings, so the issuer table is what keeps order numbers and the like out.
 *
 * The issuer table is Braintree's `credit-card-type` (Visa, Mastercard, Amex, Diners, Discover, JCB, UnionPay,
 * Maestro, Mir, Elo, Hiper, Hipercard, Troy, Verve, ...: ISO/IEC 7812 IIN ranges with each brand's lengths), plus
 * the few ranges it does not list (ISSUERS_NOT_IN_TABLE).
 */
import creditCardType from 'credit-card-type';
import { luhnValid, luhnValidDigits } from './checksums.ts';
import { type Range, isDigitCode, wordAfter, wordBefore } from './scan.ts';

const SPACE = 32;
const DASH = 45;
const MIN_DIGITS = 13;
const MAX_DIGITS = 19;

/**
 * Issuers missing from credit-card-type: UATP (airline cards, prefix 1, 15 digits, ISO/IEC 7812 major industry
 * identifier 1) and the 13-digit Visa numbers still printed on old cards (credit-card-type lists 16, 18, 19).
 */
const ISSUERS_NOT_IN_TABLE: readonly { prefix: string; length: number }[] = [
  { prefix: '1', length: 15 },
  { prefix: '4', length: 13 },
];

/** True when some issuer's range holds the number's prefix and that issuer prints cards of its length. */
export function hasKnownIssuer(digits: string): boolean {
  const length = digits.length;
  for (const issuer of ISSUERS_NOT_IN_TABLE) {
    if (length === issuer.length && digits.startsWith(issuer.prefix)) return true;
  }
  return creditCardType(digits).some((brand) => brand.lengths.includes(length));
}

const ALL_DIGITS = /^\d+$/;

/** Validates a compact card number (digits only). */
export function isValidCardNumber(digits: string): boolean {
  return (
    ALL_DIGITS.test(digits) &&
    digits.length >= MIN_DIGITS &&
    digits.length <= MAX_DIGITS &&
    luhnValid(digits) &&
    hasKnownIssuer(digits)
  );
}

/**
 * isValidCardNumber for the first `count` digit values of `digits` (0-9 each), so findCards can extend a window
 * group by group in a reused buffer. Luhn first: it is cheap and rejects nine windows in ten before the issuer
 * table is consulted.
 */
function isValidCardDigits(digits: Uint8Array, count: number): boolean {
  if (count < MIN_DIGITS || count > MAX_DIGITS || !luhnValidDigits(digits, count)) return false;
  let s = '';
  for (let k = 0; k < count; k++) s += String.fromCharCode(48 + (digits[k] as number));
  return hasKnownIssuer(s);
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

/**
 * Strings printed like a card that are not valid ones ("3782 822463 10006", a wrong check digit): a first group of
 * four digits then two to four groups of 4-6 digits, or 13-19 digits in one run, 13-19 digits in all, not starting
 * with 0 (no issuer does). The redactor leaves them whole rather than find a [PHONE] in their first groups.
 */
const CARD_SHAPE = /(?<![\p{L}\p{N}\p{M}_])[1-9](?:\d{3}(?:[ -]\d{4,6}){2,4}|\d{12,18})(?![\p{L}\p{N}\p{M}_])/gu;

/**
 * Account numbers printed in blocks of four ("0102 0000 0012 1002 9690"): four or more blocks of four digits, the
 * last one possibly shorter, 16 digits or more; no phone number is that long and so grouped, unless it is
 * written with its international prefix ("0049 3012 3456 7890"), which is left out.
 */
const BLOCKS_OF_FOUR = /(?<![\p{L}\p{N}\p{M}_])(?!00)\d{4}(?: \d{4}){3,}(?: \d{1,3})?(?![\p{L}\p{N}\p{M}_])/gu;

export function findCardShapes(text: string): Range[] {
  const out: Range[] = [];
  BLOCKS_OF_FOUR.lastIndex = 0;
  for (let m = BLOCKS_OF_FOUR.exec(text); m !== null; m = BLOCKS_OF_FOUR.exec(text)) {
    out.push({ start: m.index, end: m.index + m[0].length });
  }
  CARD_SHAPE.lastIndex = 0;
  for (let m = CARD_SHAPE.exec(text); m !== null; m = CARD_SHAPE.exec(text)) {
    let digits = 0;
    for (let k = 0; k < m[0].length; k++) if (isDigitCode(m[0].charCodeAt(k))) digits++;
    if (digits >= MIN_DIGITS && digits <= MAX_DIGITS) out.push({ start: m.index, end: m.index + m[0].length });
  }
  return out;
}
