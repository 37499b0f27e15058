/**
 * Italian codice fiscale (persone fisiche) recogniser, after Presidio's ItFiscalCodeRecognizer: the structural
 * pattern (surname/name blocks, year, month letter, day with +40 for women, Belfiore municipality code) with
 * omocodia, and the official check character. A 16-character token whose check letter does not verify is left
 * alone.
 *
 * Layout (0-based): 0-2 surname, 3-5 name, 6-7 year, 8 month, 9-10 day, 11-14 municipality, 15 check.
 */
import { CF_DIGIT_POSITIONS, OMOCODIA_LETTERS, codiceFiscaleCheckChar, omocodiaToDigit } from './checksums.ts';
import { type Range, isAsciiLetterCode, wordAfter, wordBefore } from './scan.ts';

const CF_LENGTH = 16;
/** Month letters A=Jan .. T=Dec, with their maximum day (29 for February: leap years exist). */
// prettier-ignore
const MONTH_DAYS: Readonly<Record<string, number>> = {
  A: 31, B: 29, C: 31, D: 30, E: 31, H: 30, L: 31, M: 31, P: 30, R: 31, S: 30, T: 31,
};

/**
 * Surname / name block shape, as in Presidio's pattern: consonants first, then vowels, then X padding.
 * (any letter, vowel, vowel-or-X) | (vowel, X, X) | (two consonants, any letter).
 */
const NAME_BLOCK = /^(?:[A-Z][AEIOU][AEIOUX]|[AEIOU]XX|[B-DF-HJ-NP-TV-Z]{2}[A-Z])$/;
const LETTER_POSITIONS: readonly number[] = [0, 1, 2, 3, 4, 5, 8, 11, 15];

function decodeNumber(cf: string, from: number, to: number): number {
  let s = '';
  for (let i = from; i < to; i++) s += omocodiaToDigit(cf.charAt(i));
  return Number(s);
}

/** Validates a 16-character codice fiscale (any case), including omocodic variants. */
export function isValidCodiceFiscale(input: string): boolean {
  if (input.length !== CF_LENGTH) return false;
  const cf = input.toUpperCase();
  for (const p of LETTER_POSITIONS) {
    if (!isAsciiLetterCode(cf.charCodeAt(p))) return false;
  }
  for (const p of CF_DIGIT_POSITIONS) {
    const c = cf.charAt(p);
    if (!(c >= '0' && c <= '9') && !OMOCODIA_LETTERS.includes(c)) return false;
  }
  if (!NAME_BLOCK.test(cf.slice(0, 3)) || !NAME_BLOCK.test(cf.slice(3, 6))) return false;
  const maxDay = MONTH_DAYS[cf.charAt(8)];
  if (maxDay === undefined) return false;
  const rawDay = decodeNumber(cf, 9, 11);
  const day = rawDay > 40 ? rawDay - 40 : rawDay; // women: day + 40
  if (day < 1 || day > maxDay) return false;
  // Belfiore codes: A-M for Italian municipalities, Z for foreign countries (Z1xx-Z9xx); never 000.
  const place = cf.charAt(11);
  const placeNumber = decodeNumber(cf, 12, 15);
  if (place === 'Z' ? placeNumber < 100 : place > 'M' || placeNumber === 0) return false;
  return codiceFiscaleCheckChar(cf.slice(0, 15)) === cf.charAt(15);
}

/** Finds codici fiscali delimited by non-word characters. One 16-character window per start position. */
export function findTaxIds(text: string): Range[] {
  const out: Range[] = [];
  for (let i = 0; i + CF_LENGTH <= text.length; i++) {
    if (!isAsciiLetterCode(text.charCodeAt(i)) || wordBefore(text, i) || wordAfter(text, i + CF_LENGTH)) continue;
    if (isValidCodiceFiscale(text.slice(i, i + CF_LENGTH))) out.push({ start: i, end: i + CF_LENGTH });
  }
  return out;
}
