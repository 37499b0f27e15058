/**
 * Check-digit algorithms used by the PII recognisers. Like Microsoft Presidio's recognisers
 * (CreditCardRecognizer, IbanRecognizer, ItFiscalCodeRecognizer) we only redact a candidate whose
 * check digits verify: a bare regex has far too many false positives on order numbers and the like.
 *
 * All functions expect already-normalised input (separators removed, upper case) and never throw.
 */

/** Luhn / ISO/IEC 7812-1 mod-10 check over a string of ASCII digits (payment card numbers). */
export function luhnValid(digits: string): boolean {
  if (digits.length === 0) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** luhnValid over the first `count` entries of `digits`, digit values 0-9 (not character codes). */
export function luhnValidDigits(digits: ArrayLike<number>, count: number): boolean {
  if (count <= 0) return false;
  let sum = 0;
  let double = false;
  for (let i = count - 1; i >= 0; i--) {
    let d = digits[i] as number;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/**
 * ISO 13616 / ISO 7064 MOD 97-10 over an IBAN (upper case, no spaces): move the first four characters
 * to the end, map letters to 10..35, and the resulting number mod 97 must be 1. The remainder is folded
 * in character by character so we never need a bignum.
 */
export function ibanMod97Valid(iban: string): boolean {
  if (iban.length < 5) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let rem = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const c = rearranged.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      rem = (rem * 10 + (c - 48)) % 97;
    } else if (c >= 65 && c <= 90) {
      // Letters expand to two digits (A=10 .. Z=35).
      rem = (rem * 100 + (c - 55)) % 97;
    } else {
      return false;
    }
  }
  return rem === 1;
}

/**
 * Codice fiscale check character (DM 23/12/1976, art. 7): characters in odd positions (1st, 3rd, ...,
 * 15th, i.e. even 0-based indices) are converted with the "dispari" table, those in even positions with
 * the "pari" table (digit value, or A=0..Z=25); the sum mod 26 is the check letter. Digits and letters
 * share a slot in each table (0 ~ A, 1 ~ B, ... 9 ~ J), which is why omocodic codes still verify.
 */
const CF_ODD: readonly number[] = [
  // A/0 B/1 C/2 D/3 E/4 F/5  G/6  H/7  I/8  J/9  K  L  M   N   O   P  Q  R  S   T   U   V   W   X   Y   Z
  1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
];

function cfIndex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 90) return c - 65;
  return -1;
}

/** Computes the check letter for the first 15 characters of an upper-case codice fiscale, or '' if malformed. */
export function codiceFiscaleCheckChar(first15: string): string {
  if (first15.length !== 15) return '';
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    const idx = cfIndex(first15.charCodeAt(i));
    if (idx < 0) return '';
    sum += i % 2 === 0 ? (CF_ODD[idx] ?? 0) : idx;
  }
  return String.fromCharCode(65 + (sum % 26));
}

/**
 * codiceFiscaleCheckChar over text[start, start + 15), read in place: the character code of the check letter, or -1
 * if a character is not an ASCII letter (either case) or digit. Same answer as
 * `codiceFiscaleCheckChar(text.slice(start, start + 15).toUpperCase())` for ASCII text, without the strings.
 */
export function codiceFiscaleCheckCode(text: string, start: number): number {
  if (start < 0 || start + 15 > text.length) return -1;
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    let c = text.charCodeAt(start + i);
    if (c >= 97 && c <= 122) c -= 32;
    const idx = cfIndex(c);
    if (idx < 0) return -1;
    sum += i % 2 === 0 ? (CF_ODD[idx] ?? 0) : idx;
  }
  return 65 + (sum % 26);
}

/**
 * Omocodia (DM 12/03/1974): when two people would get the same code, the Agenzia delle Entrate replaces
 * digits, starting from the rightmost, with letters: 0-9 -> L M N P Q R S T U V.
 * These are the 0-based indices of the seven digit slots (year, day, municipality number).
 */
export const CF_DIGIT_POSITIONS: readonly number[] = [6, 7, 9, 10, 12, 13, 14];
export const OMOCODIA_LETTERS = 'LMNPQRSTUV';

/** Maps an omocodic letter back to its digit; returns the character unchanged if it is already a digit. */
export function omocodiaToDigit(ch: string): string {
  const k = OMOCODIA_LETTERS.indexOf(ch);
  return k >= 0 ? String(k) : ch;
}

/** Replaces the digit at 0-based index `pos` of a codice fiscale by its omocodia letter (no check-char update). */
export function omocodiaSubstitute(cf: string, pos: number): string {
  const ch = cf.charAt(pos);
  const d = ch.charCodeAt(0) - 48;
  if (d < 0 || d > 9) return cf;
  return cf.slice(0, pos) + OMOCODIA_LETTERS.charAt(d) + cf.slice(pos + 1);
}
