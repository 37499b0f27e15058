/**
 * Phone number recogniser. Presidio's PhoneRecognizer delegates to libphonenumber; we do not ship its metadata,
 * so we validate against the plans we care about:
 * - Italian numbers (Piano di numerazione nazionale, AGCOM): mobile 3xx + 7 digits (10 in all), landline
 *   0 + area code + subscriber (8-11 digits in all), optionally prefixed by +39 / 0039 / (+39).
 * - International numbers written with a leading "+" (ITU-T E.164: at most 15 digits including the country
 *   code), with exact national lengths for a few common country codes.
 * Without a "+" or an Italian prefix a digit string is never a phone, which keeps order numbers, prices,
 * years, dates and version strings out. This scanner runs after cards and IBANs have been replaced by
 * placeholders, so their digits cannot be mistaken for phone numbers.
 *
 * Separators: single space, dot or dash between digit groups, a slash after an Italian area code
 * ("06/1234567"), and one pair of parentheses around the area code or country code ("(02) 1234 5678",
 * "(+39) 333 1234567", "+1 (415) 555-2671", "+44 (0)20 7946 0958").
 */
import { type Range, isDigitAt, isDigitCode, isPlaceholderEdge, isWordAt, wordAfter, wordBefore } from './scan.ts';

const PLUS = 43;
const LPAREN = 40;
const RPAREN = 41;
const SPACE = 32;
const DOT = 46;
const DASH = 45;
const COMMA = 44;
const COLON = 58;
const SLASH = 47;
const HASH = 35;
/** E.164 allows 15 digits; "0039" + an 11-digit landline is 15 too; one more for a "(0)" trunk prefix. */
const MAX_DIGITS = 16;

/**
 * National significant number lengths for some common country codes (ITU-T E.164 national numbering plans).
 * Country codes not listed here only get the generic E.164 check (7-15 digits in all).
 */
const NSN_LENGTHS: Readonly<Record<string, readonly number[]>> = {
  '1': [10], // NANP (US, Canada, ...)
  '7': [10], // Russia, Kazakhstan
  '30': [10], // Greece
  '31': [9], // Netherlands
  '32': [8, 9], // Belgium
  '33': [9], // France
  '34': [9], // Spain
  '41': [9], // Switzerland
  '44': [9, 10], // United Kingdom
  '45': [8], // Denmark
  '47': [8], // Norway
  '48': [9], // Poland
  '351': [9], // Portugal
};

interface Group {
  start: number;
  end: number;
  inParens: boolean;
}

type ItalianKind = 'mobile' | 'landline';

const ITALIAN_MOBILE = /^3[1-9]\d{8}$/;
const ITALIAN_LANDLINE = /^0[1-9]\d{6,9}$/;

/** Classifies an Italian national number (the digits after +39, or as dialled inside Italy). */
export function italianNumberKind(nsn: string): ItalianKind | null {
  if (ITALIAN_MOBILE.test(nsn)) return 'mobile';
  if (ITALIAN_LANDLINE.test(nsn)) return 'landline';
  return null;
}

/** Generic E.164 check for "+" numbers outside Italy (digits include the country code). */
export function isPlausibleInternational(digits: string): boolean {
  if (digits.length < 7 || digits.length > 15 || digits.charCodeAt(0) === 48) return false;
  for (let k = 3; k >= 1; k--) {
    const lengths = NSN_LENGTHS[digits.slice(0, k)];
    if (lengths === undefined) continue;
    const nsn = digits.slice(k);
    if (!lengths.includes(nsn.length) || nsn.charCodeAt(0) === 48) return false;
    // NANP area codes never start with 0 or 1.
    return k !== 1 || digits.charCodeAt(0) !== 49 || nsn.charCodeAt(0) >= 50;
  }
  return true;
}

/**
 * Digit, or the edge of a [PHONE] placeholder. Only [PHONE] needs this: the other placeholders are already in
 * the text when phones are scanned for the first time, but a [PHONE] stands where digits used to be, so it
 * must keep counting as one for a second pass to reach the same decisions (idempotence).
 */
function digitLike(text: string, i: number): boolean {
  return isDigitAt(text, i) || isPlaceholderEdge(text, i, ['PHONE']);
}

/** A number starting at `s` is not glued to a preceding word or number ("ORD-333...", "1.333...", "12:30"). */
function startAllowed(text: string, s: number): boolean {
  if (wordBefore(text, s)) return false;
  const p = text.charCodeAt(s - 1);
  if (p === PLUS || p === HASH) return false; // "+39..." starts at the '+'; "#3331234567" is a reference
  if ((p === DASH || p === SLASH) && isWordAt(text, s - 2)) return false;
  if ((p === DOT || p === COMMA || p === COLON) && digitLike(text, s - 2)) return false;
  return true;
}

/** Mirror of startAllowed for the end of a window. */
function endAllowed(text: string, e: number): boolean {
  if (wordAfter(text, e)) return false;
  const c = text.charCodeAt(e);
  if ((c === DASH || c === SLASH) && isWordAt(text, e + 1)) return false;
  if ((c === DOT || c === COMMA || c === COLON) && digitLike(text, e + 1)) return false;
  return true;
}

/** "03.01.2024", "3-1-2024", "03 01 2024": day, month, four-digit year with one repeated separator. */
function looksLikeDate(text: string, groups: readonly Group[], seps: readonly number[]): boolean {
  if (groups.length !== 3 || seps[0] !== seps[1]) return false;
  const [d, m, y] = groups.map((g) => text.slice(g.start, g.end)) as [string, string, string];
  if (d.length > 2 || m.length > 2 || y.length !== 4) return false;
  const day = Number(d);
  const month = Number(m);
  const year = Number(y);
  return day >= 1 && day <= 31 && month >= 1 && month <= 12 && year >= 1900 && year <= 2099;
}

interface Window {
  groups: readonly Group[];
  seps: readonly number[];
  /** Every digit of the window, and the same without a "(0)" trunk prefix (see collectWindows). */
  all: string;
  withoutTrunk: string;
  plus: boolean;
  midRun: boolean;
}

function isValidWindow(text: string, w: Window): boolean {
  const { groups, all } = w;
  if (w.plus) {
    // Italian numbers keep their leading 0 after +39, so use every digit.
    if (all.startsWith('39')) return italianNumberKind(all.slice(2)) !== null;
    return isPlausibleInternational(w.withoutTrunk);
  }
  const first = groups[0] as Group;
  const firstLen = first.end - first.start;
  if (all.startsWith('0039')) return !w.midRun && firstLen >= 4 && italianNumberKind(all.slice(4)) !== null;
  const kind = italianNumberKind(all);
  if (kind === null) return false;
  // A landline right after another number ("0044 0532 0130 00", a badly typed IBAN, an account number) is
  // more likely a fragment of that number; mobiles are distinctive enough to be taken anyway.
  if (w.midRun && kind !== 'mobile') return false;
  if (groups.length === 1) return true;
  if (kind === 'mobile' ? firstLen !== 3 : firstLen > 4) return false;
  return !looksLikeDate(text, groups, w.seps);
}

/** Pushes every valid window (start `s`, ending after some digit group) of the number starting at `s`. */
function collectWindows(text: string, s: number, out: Range[]): void {
  const n = text.length;
  let i = s;
  let parenOpen = false;
  let parenUsed = false;
  let plus = false;
  if (text.charCodeAt(i) === LPAREN) {
    parenOpen = parenUsed = true;
    i++;
  }
  if (text.charCodeAt(i) === PLUS) {
    plus = true;
    i++;
  }
  if (!isDigitAt(text, i)) return;
  const w: Window = {
    groups: [],
    seps: [],
    all: '',
    withoutTrunk: '',
    plus,
    midRun: text.charCodeAt(s - 1) === SPACE && digitLike(text, s - 2),
  };
  const groups = w.groups as Group[];
  const seps = w.seps as number[];
  for (;;) {
    const gs = i;
    while (i < n && isDigitCode(text.charCodeAt(i))) {
      i++;
      if (i - gs + w.all.length > MAX_DIGITS) return;
    }
    const digits = text.slice(gs, i);
    if (!plus && groups.length > 0) {
      // National numbers: an area code / operator prefix of 2+ digits, then groups of 2+ digits, and only the
      // first group may be bracketed. Anything else rules out this window and every longer one.
      const first = groups[0] as Group;
      if (first.end - first.start < 2 || digits.length < 2 || parenOpen) return;
    }
    groups.push({ start: gs, end: i, inParens: parenOpen });
    w.all += digits;
    // "+44 (0)20 ...": the bracketed 0 is the national trunk prefix, not dialled from abroad.
    if (!(plus && groups.length > 1 && parenOpen && digits === '0')) w.withoutTrunk += digits;
    if (!parenOpen && w.all.length >= 7 && endAllowed(text, i) && isValidWindow(text, w)) {
      out.push({ start: s, end: i });
    }
    const c = text.charCodeAt(i);
    if (parenOpen) {
      if (c !== RPAREN) return;
      parenOpen = false;
      i++;
      const d = text.charCodeAt(i);
      if (d === SPACE || d === DASH) i++;
      if (!isDigitAt(text, i)) return;
      seps.push(RPAREN);
    } else if (c === SLASH && !plus && groups.length === 1 && text.charCodeAt(s) === 48 && isDigitAt(text, i + 1)) {
      // "06/12345678": Italian habit of a slash after the area code (only there, to stay clear of dates).
      seps.push(c);
      i++;
    } else if ((c === SPACE || c === DOT || c === DASH) && isDigitAt(text, i + 1)) {
      seps.push(c);
      i++;
    } else if (!parenUsed && c === SPACE && text.charCodeAt(i + 1) === LPAREN && isDigitAt(text, i + 2)) {
      parenOpen = parenUsed = true;
      seps.push(LPAREN);
      i += 2;
    } else if (!parenUsed && c === LPAREN && isDigitAt(text, i + 1)) {
      parenOpen = parenUsed = true;
      seps.push(LPAREN);
      i++;
    } else {
      return;
    }
  }
}

/**
 * Where a phone number can start, as findPhones and startAllowed decide but looser: '(' or '+' before a digit or
 * '+', or a '0' or '3'; not after a letter, digit, '_', '+' or '#'; and followed by at least 6 more digits with
 * at most two other characters before each (separators are at most two characters, ") " or " (": see
 * collectWindows), since no window with fewer than 7 digits is ever reported. findPhones jumps from one match to
 * the next in the regex engine and applies its own checks there; the match is the start character, so
 * `lastIndex - 1` is the start.
 */
const PHONE_START = /(?<![\w+#])(?:[(+](?=[\d+])|[03])(?=(?:\D{0,2}\d){6})/g;

/**
 * Finds phone numbers. Every position that can start a number ('+', '(' or a digit 0/3 not glued to what
 * precedes it) is tried, and every group boundary within 16 digits is a candidate end, so the work per start
 * is bounded and the scan is linear. Overlapping candidates are resolved by the caller (longest wins).
 */
export function findPhones(text: string): Range[] {
  const out: Range[] = [];
  PHONE_START.lastIndex = 0;
  while (PHONE_START.test(text)) {
    const s = PHONE_START.lastIndex - 1;
    const c = text.charCodeAt(s);
    if (c === PLUS || c === LPAREN) {
      if (!isDigitAt(text, s + 1) && text.charCodeAt(s + 1) !== PLUS) continue;
    } else if (c === 48 || c === 51) {
      // National numbers start with 0 (landline, or 0039) or 3 (mobile).
      if (isDigitAt(text, s - 1)) continue;
    } else {
      continue;
    }
    if (!startAllowed(text, s)) continue;
    collectWindows(text, s, out);
  }
  return out;
}
