/**
 * Character-level helpers shared by the recognisers.
 *
 * Every recogniser in this folder is a hand-written, bounded scanner rather than one big regex: the input is
 * user-supplied free text, and a backtracking regex over 20k adversarial characters (all digits, all '@', all
 * dots) can go quadratic or worse. Each scanner looks at a bounded window around each start position, so the
 * whole pass is linear in the input.
 *
 * Speed: most text has no PII, so the scanners do not visit every position in JavaScript. Each one lets a small
 * module-level regex (compiled once, stepped with `lastIndex`) jump to the next place a match could start, or tells
 * it at once that there is none, and runs its exact checks only there. Those regexes only state conditions every
 * match already satisfies (each says why), so they change no result, and they are linear too: bounded repetition,
 * nothing nested. The hot paths read character codes and build no strings per position.
 *
 * Boundaries: a match must not touch a "word" character on either side (letters, digits, '_'), like `\b` in
 * Presidio's patterns. Our own placeholders ([EMAIL], [PHONE], ...) count as word characters too, so that a
 * second redaction pass can never find a match that the first pass rejected because of what used to be there.
 * That is what makes `redact` idempotent.
 */

/** A half-open [start, end) range of UTF-16 code units in the scanned text. */
export interface Range {
  start: number;
  end: number;
}

/** Names of the placeholders written by `redact`; kept here so the scanners can recognise (and skip) them. */
export const PLACEHOLDER_NAMES = ['EMAIL', 'PHONE', 'CARD', 'IBAN', 'IP', 'TAX_ID'] as const;

const NON_ASCII_WORD = /[\p{L}\p{N}\p{M}]/u;

/**
 * isWordCode for code units >= 128, filled lazily: 0 = not computed yet, 1 = word character, 2 = not one. Testing
 * the regex allocates a one-character string each time, and the scanners ask about the same few accented letters
 * over and over, so each code unit is tested once per process.
 */
const NON_ASCII_WORD_CACHE = new Uint8Array(0x10000);

export function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function isAsciiLetterCode(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

export function isAsciiAlnumCode(c: number): boolean {
  return isDigitCode(c) || isAsciiLetterCode(c);
}

/** Word character for boundary purposes: ASCII alnum, '_', or any non-ASCII letter/digit/mark. */
export function isWordCode(c: number): boolean {
  if (c < 128) return isAsciiAlnumCode(c) || c === 95;
  if (c <= 0xffff && Number.isInteger(c)) {
    const known = NON_ASCII_WORD_CACHE[c];
    if (known !== 0) return known === 1;
    const word = NON_ASCII_WORD.test(String.fromCharCode(c));
    NON_ASCII_WORD_CACHE[c] = word ? 1 : 2;
    return word;
  }
  return !Number.isNaN(c) && NON_ASCII_WORD.test(String.fromCharCode(c));
}

export function isDigitAt(text: string, i: number): boolean {
  return i >= 0 && i < text.length && isDigitCode(text.charCodeAt(i));
}

/** True when text[i] is the closing ']' of one of our placeholders (or of one of `names`). */
export function placeholderEndsAt(text: string, i: number, names: readonly string[] = PLACEHOLDER_NAMES): boolean {
  if (i < 0 || i >= text.length || text.charCodeAt(i) !== 93) return false;
  for (const name of names) {
    const start = i - name.length - 1;
    if (start >= 0 && text.charCodeAt(start) === 91 && text.startsWith(name, start + 1)) return true;
  }
  return false;
}

/** True when text[i] is the opening '[' of one of our placeholders (or of one of `names`). */
export function placeholderStartsAt(text: string, i: number, names: readonly string[] = PLACEHOLDER_NAMES): boolean {
  if (i < 0 || i >= text.length || text.charCodeAt(i) !== 91) return false;
  for (const name of names) {
    if (text.startsWith(name, i + 1) && text.charCodeAt(i + 1 + name.length) === 93) return true;
  }
  return false;
}

/** True when text[i] is the first or last character of a placeholder (so it must be treated as "taken"). */
export function isPlaceholderEdge(text: string, i: number, names: readonly string[] = PLACEHOLDER_NAMES): boolean {
  return placeholderEndsAt(text, i, names) || placeholderStartsAt(text, i, names);
}

/** Word character or placeholder edge at index i (false outside the text). */
export function isWordAt(text: string, i: number): boolean {
  if (i < 0 || i >= text.length) return false;
  const c = text.charCodeAt(i);
  // Only '[' and ']' can be placeholder edges.
  return isWordCode(c) || ((c === 91 || c === 93) && isPlaceholderEdge(text, i));
}

/** Digit or placeholder edge at index i: used by "is this number glued to another number?" checks. */
export function isDigitOrPlaceholderAt(text: string, i: number): boolean {
  return isDigitAt(text, i) || isPlaceholderEdge(text, i);
}

/** A match starting at `start` is glued to the preceding text. */
export function wordBefore(text: string, start: number): boolean {
  return isWordAt(text, start - 1);
}

/** A match ending (exclusive) at `end` is glued to the following text. */
export function wordAfter(text: string, end: number): boolean {
  return isWordAt(text, end);
}
