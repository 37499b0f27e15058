/**
 * E-mail recogniser, after Presidio's EmailRecognizer (RFC 5322 dot-atom local part + a domain whose TLD is
 * real-looking). Presidio validates the TLD with tldextract; we require the last label to be 2+ letters, or an
 * internationalised TLD in its ASCII form ("xn--p1ai", RFC 3490 ACE prefix), which rejects "foo@bar" and
 * "user@10.0.0.1" without shipping a public-suffix list.
 *
 * Linear time: we anchor on each '@' and walk outwards over the characters that may belong to the address.
 * The runs on either side of an '@' end at the neighbouring '@' (it is not an address character), so every
 * character is visited at most twice, whatever the input.
 */
import {
  type Range,
  isAsciiAlnumCode,
  isAsciiLetterCode,
  isWordCode,
  placeholderEndsAt,
  placeholderStartsAt,
  wordAfter,
} from './scan.ts';

const DOT = 46;
const DASH = 45;
const MAX_LOCAL = 64; // RFC 5321 section 4.5.3.1.1
const MAX_DOMAIN = 253; // RFC 1035 (text form, without the trailing dot)
const MAX_LABEL = 63;

/** RFC 5322 atext specials, plus '.', allowed in an unquoted local part. */
const LOCAL_SPECIALS = "!#$%&'*+/=?^_`{|}~-.";

/** ASCII code units allowed in an unquoted local part (letters, digits, LOCAL_SPECIALS): 1 = allowed. */
const LOCAL_ASCII = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if (isAsciiAlnumCode(c) || LOCAL_SPECIALS.includes(String.fromCharCode(c))) LOCAL_ASCII[c] = 1;
}

const NUMBER = /\p{N}/u;

function isLocalCode(c: number): boolean {
  if (c < 128) return LOCAL_ASCII[c] === 1;
  return isWordCode(c); // RFC 6531 internationalised local parts
}

function isDomainCode(c: number): boolean {
  if (c < 128) return isAsciiAlnumCode(c) || c === DASH || c === DOT;
  return isWordCode(c); // IDN labels
}

function isLetterCode(c: number): boolean {
  return c < 128 ? isAsciiLetterCode(c) : isWordCode(c) && !NUMBER.test(String.fromCharCode(c));
}

/**
 * Start of the local part for the '@' at `at`, or -1. The local part is the longest valid dot-atom suffix of the
 * run of address characters before the '@': it starts after the last "..", on a letter or digit (so quotes and
 * other punctuation around the address are not swallowed), and does not end with '.'.
 */
function localStart(text: string, at: number): number {
  let runStart = at;
  while (runStart > 0 && isLocalCode(text.charCodeAt(runStart - 1))) runStart--;
  // A run cut short by one of our placeholders depends on text we already replaced: see scan.ts.
  if (runStart === at || placeholderEndsAt(text, runStart - 1)) return -1;
  if (text.charCodeAt(at - 1) === DOT) return -1;
  let start = runStart;
  for (let k = at - 2; k >= runStart; k--) {
    if (text.charCodeAt(k) === DOT && text.charCodeAt(k + 1) === DOT) {
      start = k + 2;
      break;
    }
  }
  while (start < at && !isWordCode(text.charCodeAt(start))) start++;
  if (start === at || at - start > MAX_LOCAL) return -1;
  return start;
}

/**
 * End (exclusive) of the domain for the '@' at `at`, or -1: the longest prefix of the run of domain characters
 * that is 2+ valid labels (1-63 chars, letters/digits/hyphens, no leading or trailing hyphen) ending in an
 * all-letter TLD of 2+ characters. "x@example.com." stops before the sentence's full stop.
 */
function domainEnd(text: string, at: number): number {
  const n = text.length;
  let runEnd = at + 1;
  while (runEnd < n && runEnd - at <= MAX_DOMAIN + 1 && isDomainCode(text.charCodeAt(runEnd))) runEnd++;
  if (placeholderStartsAt(text, runEnd)) return -1;
  let best = -1;
  let labels = 0;
  let pos = at + 1;
  while (pos < runEnd) {
    const labelStart = pos;
    let allLetters = true;
    while (pos < runEnd && text.charCodeAt(pos) !== DOT) {
      if (!isLetterCode(text.charCodeAt(pos))) allLetters = false;
      pos++;
    }
    const len = pos - labelStart;
    if (len === 0 || len > MAX_LABEL) break;
    if (text.charCodeAt(labelStart) === DASH || text.charCodeAt(pos - 1) === DASH) break;
    if (pos - (at + 1) > MAX_DOMAIN) break;
    labels++;
    if (labels >= 2 && ((allLetters && len >= 2) || isAceLabel(text, labelStart, pos))) best = pos;
    pos++; // skip the dot
  }
  if (best === -1 || (best === runEnd && wordAfter(text, best))) return -1;
  return best;
}

/** "xn--" then at least two ASCII letters, digits or hyphens: an IDN label in its ASCII form (RFC 3490). */
function isAceLabel(text: string, start: number, end: number): boolean {
  if (end - start < 6 || !/^xn--$/i.test(text.slice(start, start + 4))) return false;
  for (let k = start + 4; k < end; k++) {
    const c = text.charCodeAt(k);
    if (!isAsciiAlnumCode(c) && c !== DASH) return false;
  }
  return true;
}

export function findEmails(text: string): Range[] {
  const out: Range[] = [];
  for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
    const start = localStart(text, at);
    if (start < 0) continue;
    const end = domainEnd(text, at);
    if (end < 0) continue;
    out.push({ start, end });
  }
  return out;
}
