/**
 * Italian codice fiscale (persone fisiche) recogniser, after Presidio's ItFiscalCodeRecognizer: the structural
 * pattern (surname/name blocks, year, month letter, day with +40 for women, Belfiore municipality code) with
 * omocodia, and the official check character. A 16-character token whose check letter does not verify is left
 * alone.
 *
 * Layout (0-based): 0-2 surname, 3-5 name, 6-7 year, 8 month, 9-10 day, 11-14 municipality, 15 check.
 */
import {
  CF_DIGIT_POSITIONS,
  OMOCODIA_LETTERS,
  codiceFiscaleCheckChar,
  codiceFiscaleCheckCode,
  omocodiaToDigit,
} from './checksums.ts';
import { type Range, isAsciiAlnumCode, isAsciiLetterCode, wordAfter, wordBefore } from './scan.ts';

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

/** MONTH_DAYS indexed by letter (0 = A); 0 = not a month letter. */
const MONTH_DAYS_BY_LETTER = new Uint8Array(26);
for (const [letter, days] of Object.entries(MONTH_DAYS)) MONTH_DAYS_BY_LETTER[letter.charCodeAt(0) - 65] = days;

/** Digit value of each omocodia letter (0 = A), -1 for the other letters. */
const OMOCODIA_VALUE = new Int8Array(26).fill(-1);
for (let k = 0; k < OMOCODIA_LETTERS.length; k++) OMOCODIA_VALUE[OMOCODIA_LETTERS.charCodeAt(k) - 65] = k;

/** 1 where the layout has a letter, 0 where it has a digit slot (a digit, or an omocodia letter). */
const LETTER_SLOT: readonly number[] = [1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1];

function upperAsciiCode(c: number): number {
  return c >= 97 && c <= 122 ? c - 32 : c;
}

function upperAt(text: string, i: number): number {
  return upperAsciiCode(text.charCodeAt(i));
}

function isVowelCode(c: number): boolean {
  return c === 65 || c === 69 || c === 73 || c === 79 || c === 85;
}

/** NAME_BLOCK for three upper-case ASCII letters. */
function isNameBlock(a: number, b: number, c: number): boolean {
  return (
    (isVowelCode(b) && (isVowelCode(c) || c === 88)) ||
    (isVowelCode(a) && b === 88 && c === 88) ||
    (!isVowelCode(a) && !isVowelCode(b))
  );
}

/** Value of a digit slot at text[i]: the digit, or the digit an omocodia letter stands for; -1 otherwise. */
function slotDigit(text: string, i: number): number {
  const c = upperAt(text, i);
  if (c >= 48 && c <= 57) return c - 48;
  return c >= 65 && c <= 90 ? (OMOCODIA_VALUE[c - 65] as number) : -1;
}

/**
 * isValidCodiceFiscale(text.slice(i, i + 16)), read in place. All-ASCII windows (the usual case) are checked on
 * the character codes; a window with any other character goes through isValidCodiceFiscale, because toUpperCase
 * can change its length ("ß" becomes "SS") and so where each character lands. Until the first such character, the
 * prefix upper-cases the same either way, so a prefix that breaks the layout rejects the window at once.
 */
function isValidCodiceFiscaleAt(text: string, i: number): boolean {
  for (let k = 0; k < CF_LENGTH; k++) {
    const c = text.charCodeAt(i + k);
    if (c >= 128) return isValidCodiceFiscale(text.slice(i, i + CF_LENGTH));
    if (LETTER_SLOT[k] === 1 ? !isAsciiLetterCode(c) : slotDigit(text, i + k) < 0) return false;
  }
  const name = isNameBlock(upperAt(text, i), upperAt(text, i + 1), upperAt(text, i + 2));
  if (!name || !isNameBlock(upperAt(text, i + 3), upperAt(text, i + 4), upperAt(text, i + 5))) return false;
  const maxDay = MONTH_DAYS_BY_LETTER[upperAt(text, i + 8) - 65] as number;
  if (maxDay === 0) return false;
  const rawDay = slotDigit(text, i + 9) * 10 + slotDigit(text, i + 10);
  const day = rawDay > 40 ? rawDay - 40 : rawDay; // women: day + 40
  if (day < 1 || day > maxDay) return false;
  // Belfiore codes: A-M for Italian municipalities, Z for foreign countries (Z1xx-Z9xx); never 000.
  const place = upperAt(text, i + 11);
  const placeNumber = slotDigit(text, i + 12) * 100 + slotDigit(text, i + 13) * 10 + slotDigit(text, i + 14);
  if (place === 90 ? placeNumber < 100 : place > 77 || placeNumber === 0) return false;
  return codiceFiscaleCheckCode(text, i) === upperAt(text, i + 15);
}

/** A character outside ASCII right after an ASCII letter or digit (the match is that character). */
const NON_ASCII_AFTER_ALNUM = /[\u0080-\uffff](?<=[A-Za-z0-9][\u0080-\uffff])/g;

/** Reports the window at `i` if it passes the per-position test (see findTaxIds) and the full check. */
function pushIfValid(text: string, i: number, out: Range[]): void {
  if (!isAsciiLetterCode(text.charCodeAt(i)) || i + CF_LENGTH > text.length) return;
  if (wordBefore(text, i) || wordAfter(text, i + CF_LENGTH)) return;
  if (isValidCodiceFiscaleAt(text, i)) out.push({ start: i, end: i + CF_LENGTH });
}

/**
 * Finds codici fiscali delimited by non-word characters: every 16-character window starting with an ASCII letter,
 * not glued to a word on either side, that isValidCodiceFiscale accepts. Only two kinds of window can pass, and
 * only those are looked at:
 * - all ASCII: then all 16 characters are ASCII letters or digits and the neighbours are not, so the window is a
 *   whole run of exactly 16 ASCII letters and digits. Such a run covers exactly one index 15, 31, 47, ... (16k - 1),
 *   so only those characters are probed, and a probe that lands in a run measures it (at most 16 characters to
 *   either side, so the scan stays linear);
 * - with a non-ASCII character: the ASCII prefix before the first one must already fit the layout
 *   (isValidCodiceFiscaleAt), so the window starts a run of at most 15 ASCII letters and digits that ends right
 *   at that character. The regex engine finds those characters (rare in most text).
 */
export function findTaxIds(text: string): Range[] {
  const out: Range[] = [];
  const n = text.length;
  for (let p = CF_LENGTH - 1; p < n; p += CF_LENGTH) {
    if (!isAsciiAlnumCode(text.charCodeAt(p))) continue;
    let start = p;
    while (start > 0 && p - start < CF_LENGTH && isAsciiAlnumCode(text.charCodeAt(start - 1))) start--;
    let end = p + 1;
    while (end < n && end - start <= CF_LENGTH && isAsciiAlnumCode(text.charCodeAt(end))) end++;
    if (end - start === CF_LENGTH) pushIfValid(text, start, out);
  }
  const asciiWindows = out.length;
  NON_ASCII_AFTER_ALNUM.lastIndex = 0;
  while (NON_ASCII_AFTER_ALNUM.test(text)) {
    const q = NON_ASCII_AFTER_ALNUM.lastIndex - 1;
    let start = q;
    while (start > 0 && q - start < CF_LENGTH && isAsciiAlnumCode(text.charCodeAt(start - 1))) start--;
    if (start < q && q - start < CF_LENGTH) pushIfValid(text, start, out);
  }
  // Keep the windows in text order, as a left-to-right scan reports them.
  if (asciiWindows > 0 && out.length > asciiWindows) out.sort((a, b) => a.start - b.start);
  return out;
}
