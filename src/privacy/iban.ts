/**
 * IBAN recogniser, after Presidio's IbanRecognizer: country code + 2 check digits + BBAN, accepted only when
 * the length matches the country's registered length, the ISO 7064 MOD 97-10 checksum equals 1, and the BBAN has
 * the country's registered format (letters and digits in their places, from `ibantools`' copy of the SWIFT IBAN
 * Registry). The scan and the checksum are ours (linear, no strings built per position); ibantools only sees the
 * few candidates whose checksum already holds.
 */
import { isValidBBAN } from 'ibantools';
import { ibanMod97Valid } from './checksums.ts';
import { type Range, isAsciiAlnumCode, isDigitCode, wordAfter, wordBefore } from './scan.ts';

/**
 * Total IBAN length per country, from the SWIFT IBAN Registry (ISO 13616). Covers all SEPA countries and the
 * other registry members; an unknown country code is never redacted as an IBAN.
 */
// prettier-ignore
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28,
  CH: 21, CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18,
  FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22,
  IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20,
  LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28, NL: 18,
  NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24, SC: 31,
  SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29,
  VA: 22, VG: 24, XK: 20, YE: 30,
};

const SPACE = 32;
const DASH = 45;

/** IBAN_LENGTHS indexed by country code, (first letter - 'A') * 26 + (second letter - 'A'); 0 = not a member. */
const LENGTH_BY_COUNTRY = new Uint8Array(26 * 26);
for (const [country, length] of Object.entries(IBAN_LENGTHS)) {
  LENGTH_BY_COUNTRY[(country.charCodeAt(0) - 65) * 26 + (country.charCodeAt(1) - 65)] = length;
}

/** Validates a compact IBAN (any case, no separators). */
export function isValidIban(compact: string): boolean {
  const iban = compact.toUpperCase();
  const expected = IBAN_LENGTHS[iban.slice(0, 2)];
  if (expected === undefined || iban.length !== expected) return false;
  if (!isDigitCode(iban.charCodeAt(2)) || !isDigitCode(iban.charCodeAt(3))) return false;
  return ibanMod97Valid(iban) && isValidBBAN(iban.slice(4), iban.slice(0, 2));
}

/** The candidate text[start, end) with its separators removed, upper case: the electronic form. */
function compactAt(text: string, start: number, end: number): string {
  let out = '';
  for (let k = start; k < end; k++) if (isAsciiAlnumCode(text.charCodeAt(k))) out += text[k];
  return out.toUpperCase();
}

/** Value of an ASCII letter in the MOD 97-10 expansion: A/a = 10 .. Z/z = 35. */
function letterValue(c: number): number {
  return (c | 32) - 87;
}

/**
 * The start of an IBAN: two ASCII letters at the start of a word, then (after at most one separator) a digit, its
 * first check digit. Every IBAN findIbans reports starts like this, so the scan jumps from one match to the next
 * (in the regex engine, without building strings) instead of looking at every letter of the text. No other start
 * position can hide inside a match (its other characters are not word-initial letters).
 */
const IBAN_START = /\b[A-Za-z]{2}[ -]?\d/g;

/**
 * Finds IBANs written compactly ("IT60X0542811101000000123456") or in groups ("IT60 X054 2811 ...").
 * Like Presidio we accept a single space (or dash) between any two characters after the country code, so
 * "IT 60 X 05428 11101 000000123456" (the Italian CIN/ABI/CAB layout) is found as well. Reading stops as soon
 * as the country's length is reached, so the scan per start position is bounded by ~2 x 34 characters.
 *
 * Same result as collecting each candidate and calling isValidIban on it, without building any string: the
 * check digits must be digits (so a candidate is dropped as soon as either is not), and the MOD 97-10 remainder
 * is folded in while reading (BBAN first, then country code and check digits, as the rearrangement requires).
 */
export function findIbans(text: string): Range[] {
  const out: Range[] = [];
  const n = text.length;
  IBAN_START.lastIndex = 0;
  while (IBAN_START.test(text)) {
    const matchEnd = IBAN_START.lastIndex;
    const sep = text.charCodeAt(matchEnd - 2);
    const i = matchEnd - (sep === SPACE || sep === DASH ? 4 : 3);
    const c0 = text.charCodeAt(i);
    const c1 = text.charCodeAt(i + 1);
    if (wordBefore(text, i)) continue; // \b only knows ASCII: "è" or a placeholder may precede
    const expected = LENGTH_BY_COUNTRY[((c0 | 32) - 97) * 26 + ((c1 | 32) - 97)] as number;
    if (expected === 0) continue;
    let length = 2; // characters of the compact form read so far
    let checkDigits = 0;
    let rem = 0;
    let j = i + 2;
    while (length < expected && j < n) {
      const c = text.charCodeAt(j);
      if (isAsciiAlnumCode(c)) {
        const digit = isDigitCode(c);
        if (length < 4) {
          if (!digit) break; // not a check digit: isValidIban would reject this candidate
          checkDigits = checkDigits * 10 + (c - 48);
        } else if (digit) {
          rem = (rem * 10 + (c - 48)) % 97;
        } else {
          rem = (rem * 100 + letterValue(c)) % 97; // letters expand to two digits
        }
        length++;
        j++;
      } else if ((c === SPACE || c === DASH) && isAsciiAlnumCode(text.charCodeAt(j + 1))) {
        j++; // single separator between groups
      } else {
        break;
      }
    }
    if (length !== expected || wordAfter(text, j)) continue;
    rem = (rem * 100 + letterValue(c0)) % 97;
    rem = (rem * 100 + letterValue(c1)) % 97;
    rem = (rem * 100 + checkDigits) % 97;
    if (rem === 1 && isValidIban(compactAt(text, i, j))) out.push({ start: i, end: j });
  }
  return out;
}

/** ISO 13616: no IBAN is longer than 34 characters. */
const MAX_IBAN = 34;
/** The shortest registered IBAN (Norway) has 15. */
const MIN_IBAN = 15;

/** An upper-case registry country code at the start of a word, glued to two digits: how an IBAN is printed. */
const IBAN_SHAPE_START = /\b[A-Z]{2}\d\d/g;

function isUpperAlnumCode(c: number): boolean {
  return isDigitCode(c) || (c >= 65 && c <= 90);
}

/**
 * Strings printed like an IBAN ("NL91 ABNA 0417 1643 01": a registry country code in capitals glued to two digits,
 * then upper-case letters and digits in groups, at least 15 characters in all) that are not valid IBANs: a wrong
 * checksum, a character too many or too few. The redactor leaves such a string whole, so that no [PHONE] or [CARD]
 * lands in the middle of someone's mistyped account number (README "Privacy"). A shape is read for at most 34
 * characters (the longest IBAN), so a valid number printed right after it is still found. Shapes that start where
 * a valid IBAN starts are not reported (that IBAN is redacted instead).
 */
export function findIbanShapes(text: string): Range[] {
  const out: Range[] = [];
  const n = text.length;
  IBAN_SHAPE_START.lastIndex = 0;
  while (IBAN_SHAPE_START.test(text)) {
    const i = IBAN_SHAPE_START.lastIndex - 4;
    if (wordBefore(text, i)) continue;
    if (LENGTH_BY_COUNTRY[(text.charCodeAt(i) - 65) * 26 + (text.charCodeAt(i + 1) - 65)] === 0) continue;
    let length = 4;
    let j = i + 4;
    while (length < MAX_IBAN && j < n) {
      const c = text.charCodeAt(j);
      if (isUpperAlnumCode(c)) {
        length++;
        j++;
      } else if ((c === SPACE || c === DASH) && isUpperAlnumCode(text.charCodeAt(j + 1))) {
        j++;
      } else if (c === SPACE && text.charCodeAt(j + 1) === SPACE && isUpperAlnumCode(text.charCodeAt(j + 2))) {
        j += 2; // a doubled space, as typing slips ("EE38 2200 2210  014 5686")
      } else {
        break;
      }
    }
    IBAN_SHAPE_START.lastIndex = j;
    if (length < MIN_IBAN) continue;
    out.push({ start: i, end: j });
  }
  return out;
}
