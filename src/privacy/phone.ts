/**
 * Phone number recogniser. Like Presidio's PhoneRecognizer, numbers are validated with Google's libphonenumber
 * metadata (the `libphonenumber-js` port with its `max` metadata: the same digit patterns Google's library and
 * python-phonenumbers use). A number written with "+" or an international prefix ("0039", "(+39)") is judged by its
 * own country code; one written without is tried in each region of PII_PHONE_REGIONS in turn (README "Privacy").
 *
 * Finding: a bounded regex cuts the text into clusters of digits joined by phone punctuation; in a cluster of
 * MIN_DIGITS digits or more, every window of up to MAX_GROUPS consecutive digit groups is a candidate, parsed as a
 * whole number (libphonenumber's own matcher reads "333 1234567 333 7654321" as one invalid number and finds
 * neither). Overlapping readings are settled by rank (country code, then region order), then length.
 *
 * Speed: a parse costs about 30 microseconds, so the parser never sees text without a cluster, a region whose own
 * numbering-plan pattern rules the digits out (prefilter), or a window inside a number already found that could not
 * outrank it.
 *
 * On top of the metadata, rules of our own keep out what feedback is full of and a phone number rarely is (each one
 * has a case in test/privacy): dates ("03 01 2024", "2024.01.15"), amounts ("1.234.567"), dotted quads, national
 * numbers of more than 12 digits (the German plan accepts almost any length), numbers glued to a word or a
 * reference ("ORD-3331234567", "#3331234567", "x3331234567"), slashes other than after an Italian area code, and
 * national numbers right after an order or reference label ("ordine 1234567890").
 *
 * Idempotence: a cluster that touches a [PHONE] placeholder is left alone, so digits left next to a phone on the
 * first pass are judged the same way on the second (see scan.ts).
 */
import { Metadata, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { DEFAULTS } from '../config.ts';
import { type Range, isDigitAt, isPlaceholderEdge, isWordAt, wordAfter, wordBefore } from './scan.ts';

/** Fewer digits than this are never a phone (E.164 numbers of our regions have 7 or more, country code included). */
const MIN_DIGITS = 7;
/** A number dialled without a country code has at most this many digits (trunk prefix included). */
const MAX_NATIONAL_DIGITS = 12;
/** Written as one run of digits, it has at most this many (CN mobiles and IT landlines: 11). */
const MAX_UNGROUPED_NATIONAL_DIGITS = 11;

const PLUS = 43;
const HASH = 35;
const DASH = 45;
const SLASH = 47;
const DOT = 46;
const COMMA = 44;
const COLON = 58;

/**
 * A cluster: an optional lead ("+", "(") then digit runs joined by at most three of the punctuation characters
 * libphonenumber accepts inside a number (space, no-break space, dot, dash, slash, parentheses). The parts are
 * disjoint (a digit is never punctuation), so matching is linear.
 */
const CLUSTER = /[(+]{0,3}\d(?:[ \u00a0().\-/]{0,3}\d)*/g;

/** Same condition, spelt out for a quick "is there any cluster of MIN_DIGITS digits at all" test on the text. */
const HAS_CLUSTER = new RegExp(Array.from({ length: MIN_DIGITS }, () => '\\d').join('[ \\u00a0().\\-/]{0,3}'));

/**
 * Labels after which a national number is an order, contract or reference number, not a phone (English and
 * Italian): "ordine n. 100234567", "contratto 987654321", "rif. pratica 2023/000123", "partita IVA 01234567890".
 */
const REFERENCE_LABEL =
  /(?:^|[^\p{L}\p{N}])(?:order|ordine|ord|ref|rif|riferimento|invoice|fattura|pratica|ticket|tracking|protocollo|prot|id|codice|code|cod|cliente|customer|contratto|contract|spedizione|shipment|transaction|transazione|iva|p\.\s?iva|piva|vat)\.?(?:\s*(?:pratica|cliente|n|nr|no|num)\.?)*[\s:#°.-]*$/iu;

let regions: readonly CountryCode[] = parseRegions(DEFAULTS.PII_PHONE_REGIONS);

/** The parts of a region's numbering plan the prefilter reads (present at run time, not in the typings). */
interface PlanPatterns {
  nationalNumberPattern(): string;
  nationalPrefixForParsing(): unknown;
  nationalPrefixTransformRule(): string | undefined;
}

const plans = new Metadata();
const prefilters = new Map<string, RegExp | null>();

/**
 * A necessary condition for a national number to be valid in `region`, from the same metadata: its digits are an
 * optional national prefix (the plan's own "national prefix for parsing") and then a number matching the plan's
 * general pattern, which every valid number of every type matches. One precompiled regex test instead of a parse
 * (about 30 microseconds each) for every region a number does not belong to; null where the plan rewrites its
 * prefix (a transform rule, or an end anchor inside it) and only the parser can tell.
 */
function prefilter(region: CountryCode): RegExp | null {
  let re = prefilters.get(region);
  if (re !== undefined) return re;
  plans.selectNumberingPlan(region);
  const plan = plans.numberingPlan as unknown as PlanPatterns;
  const prefix = String(plan.nationalPrefixForParsing() ?? '');
  re =
    plan.nationalPrefixTransformRule() || prefix.includes('$')
      ? null
      : new RegExp(`^(?:${prefix === '' ? '' : `(?:${prefix})?`})(?:${plan.nationalNumberPattern()})$`);
  prefilters.set(region, re);
  return re;
}

function parseRegions(list: string): CountryCode[] {
  return list.split(',').map((r) => r.trim().toUpperCase() as CountryCode);
}

/**
 * Sets the regions tried for numbers written without a country code (PII_PHONE_REGIONS, validated by
 * configFromEnv), in order of preference: where two regions read overlapping numbers, the earlier region wins.
 */
export function setPhoneRegions(list: readonly string[]): void {
  regions = list.map((r) => r.toUpperCase() as CountryCode);
}

export function phoneRegions(): readonly string[] {
  return regions;
}

/** A number starting at `s` is not glued to a preceding word, reference or number ("ORD-333...", "1.333..."). */
function startAllowed(text: string, s: number): boolean {
  if (wordBefore(text, s)) return false;
  const p = text.charCodeAt(s - 1);
  if (p === PLUS || p === HASH) return false;
  if ((p === DASH || p === SLASH) && isWordAt(text, s - 2)) return false;
  if ((p === DOT || p === COMMA || p === COLON) && isDigitAt(text, s - 2)) return false;
  return true;
}

/** Mirror of startAllowed for the end of a number ("...4567-B", "...4567,89", "12:30"). */
function endAllowed(text: string, e: number): boolean {
  if (wordAfter(text, e)) return false;
  const c = text.charCodeAt(e);
  if ((c === DASH || c === SLASH) && isWordAt(text, e + 1)) return false;
  if ((c === DOT || c === COMMA || c === COLON) && isDigitAt(text, e + 1)) return false;
  return true;
}

const DMY = /^(\d{1,2})([ ./-])(\d{1,2})\2(\d{4})$/;
const YMD = /^(\d{4})([ ./-])(\d{1,2})\2(\d{1,2})$/;

/** "03.01.2024", "3-1-2024", "03 01 2024", "2024.01.15": day, month and year with one repeated separator. */
export function looksLikeDate(s: string): boolean {
  const dmy = DMY.exec(s);
  const ymd = dmy === null ? YMD.exec(s) : null;
  if (dmy === null && ymd === null) return false;
  const [day, month, year] = dmy ? [dmy[1], dmy[3], dmy[4]] : [ymd?.[4], ymd?.[3], ymd?.[1]];
  const d = Number(day);
  const m = Number(month);
  const y = Number(year);
  return d >= 1 && d <= 31 && m >= 1 && m <= 12 && y >= 1900 && y <= 2099;
}

const NON_DIGITS = /\D/g;
/** "256.256.256.256": printed like an IPv4 address (a valid one is an [IP] already). */
const DOTTED_QUAD = /^\d{1,3}(?:\.\d{1,3}){3}$/;
/** "1.234.567" or "1 234 567": an amount with thousands separators (no phone number is grouped so). */
const THOUSANDS = /^(?:\d{1,3}(?:\.\d{3})+|\d(?:[ \u00a0]\d{3})+)$/;

/** Our own rules on a number the metadata accepts (see the top of this file). */
function acceptable(text: string, start: number, end: number, international: boolean): boolean {
  if (!startAllowed(text, start) || !endAllowed(text, end)) return false;
  const written = text.slice(start, end);
  const digits = written.replace(NON_DIGITS, '');
  if (digits.length < MIN_DIGITS) return false;
  if (looksLikeDate(written) || DOTTED_QUAD.test(written) || THOUSANDS.test(written)) return false;
  if (international) return true;
  if (digits.length > MAX_NATIONAL_DIGITS) return false;
  if (digits.length === written.length && digits.length > MAX_UNGROUPED_NATIONAL_DIGITS) return false;
  // "06/12345678": a slash only right after an Italian area code (elsewhere it is a date, a year or a file number).
  const slash = written.indexOf('/');
  if (
    slash >= 0 &&
    (written.charCodeAt(0) !== 48 || written.indexOf('/', slash + 1) >= 0 || /\D/.test(written.slice(0, slash)))
  ) {
    return false;
  }
  return !REFERENCE_LABEL.test(text.slice(Math.max(0, start - 40), start));
}

/** True when the cluster [start, end) has a [PHONE] placeholder right before or after it (at most 3 characters away). */
function touchesPhonePlaceholder(text: string, start: number, end: number): boolean {
  for (let k = 1; k <= 4; k++) {
    if (isPlaceholderEdge(text, start - k, ['PHONE']) || isPlaceholderEdge(text, end + k - 1, ['PHONE'])) return true;
  }
  return false;
}

/** At most this many digit groups in one number ("+33 1 42 68 53 00" has six). */
const MAX_GROUPS = 6;
/** E.164: 15 digits, plus "00" written for the "+". */
const MAX_INTERNATIONAL_DIGITS = 17;
/**
 * Parses per text, at most: one costs about 30 microseconds, and a text of thousands of digit groups (nobody's
 * feedback, but anyone's input) must stay linear and fast. Real feedback needs a few per phone number.
 */
const PARSE_BUDGET = 2000;

interface Candidate extends Range {
  /** 0 for a number with its own country code, else 1 + the index of the first region it is valid in. */
  rank: number;
}

interface Group {
  start: number;
  end: number;
}

const DIGIT_RUN = /\d+/g;

class Search {
  parses = 0;
  private readonly cache = new Map<string, number>();

  constructor(
    private readonly text: string,
    private readonly blocked: readonly Range[],
  ) {}

  /** The rank of `written` as a number (see Candidate), or -1; only regions ranked below `below` are tried. */
  rank(written: string, international: boolean, below: number): number {
    const key = `${below}|${written}`;
    const known = this.cache.get(key);
    if (known !== undefined) return known;
    let rank = -1;
    if (international) {
      // "+..." needs no region; "00..." is dialled from a region whose international prefix is 00 (all but US).
      for (const region of written.startsWith('+') ? regions.slice(0, 1) : regions) {
        if (this.valid(written, region)) {
          rank = 0;
          break;
        }
      }
    } else {
      for (let r = 0; r < regions.length && r + 1 < below; r++) {
        if (this.valid(written, regions[r] as CountryCode, true)) {
          rank = r + 1;
          break;
        }
      }
    }
    this.cache.set(key, rank);
    return rank;
  }

  private valid(written: string, region: CountryCode, national = false): boolean {
    if (national && prefilter(region)?.test(written.replace(NON_DIGITS, '')) === false) return false;
    if (this.parses >= PARSE_BUDGET) return false;
    this.parses++;
    // "(+39) 333 1234567": the parser wants the country code outside the brackets.
    const parseable = written.startsWith('(+') ? written.slice(1).replace(')', '') : written;
    return parsePhoneNumberFromString(parseable, { defaultCountry: region, extract: false })?.isValid() === true;
  }

  /** Every valid window of consecutive digit groups of the cluster at [base, base + cluster.length). */
  windows(cluster: string, base: number, out: Candidate[]): void {
    const text = this.text;
    const groups: Group[] = [];
    DIGIT_RUN.lastIndex = 0;
    for (let m = DIGIT_RUN.exec(cluster); m !== null; m = DIGIT_RUN.exec(cluster)) {
      groups.push({ start: base + m.index, end: base + m.index + m[0].length });
    }
    let clusterInternational = false;
    for (let a = 0; a < groups.length; a++) {
      const g = groups[a] as Group;
      // The number may open with "+", "(" or "(+" right before its first digit.
      let start = g.start;
      while (
        start > base &&
        start > g.start - 2 &&
        (text.charCodeAt(start - 1) === PLUS || text.charCodeAt(start - 1) === 40)
      ) {
        start--;
      }
      if (!startAllowed(text, start)) continue;
      const international =
        text.charCodeAt(start) === PLUS || text.charCodeAt(start + 1) === PLUS || text.startsWith('00', g.start);
      if (a === 0) clusterInternational = international;
      // After "+1 ", "123 456 7890" is the rest of that number, not a number of its own.
      else if (clusterInternational && !international) continue;
      // National numbers open with a group of 2+ digits (an area code or operator prefix).
      if (!international && g.end - g.start < 2) continue;
      let best = Infinity; // rank of the longest valid window from this start: shorter ones must beat it
      for (let b = Math.min(groups.length, a + MAX_GROUPS) - 1; b >= a; b--) {
        const end = (groups[b] as Group).end;
        const count = countDigits(text.slice(g.start, end));
        if (count < MIN_DIGITS || count > (international ? MAX_INTERNATIONAL_DIGITS : MAX_NATIONAL_DIGITS)) continue;
        if (!international && !nationalGrouping(groups, a, b)) continue;
        if (!acceptable(text, start, end, international)) continue;
        if (this.blocked.length > 0 && overlapsAny(this.blocked, start, end)) continue;
        // A window inside a number already found must outrank it to matter (choose: rank first, then length).
        const within = out.reduce((r, c) => (c.start <= start && end <= c.end && c.rank < r ? c.rank : r), best);
        const rank = this.rank(text.slice(start, end), international, within);
        if (rank < 0) continue;
        best = rank;
        out.push({ start, end, rank });
        if (rank <= 1) break; // nothing shorter from this start can outrank it
      }
    }
  }
}

function overlapsAny(ranges: readonly Range[], start: number, end: number): boolean {
  for (const r of ranges) if (start < r.end && r.start < end) return true;
  return false;
}

function nationalGrouping(groups: readonly Group[], a: number, b: number): boolean {
  for (let k = a + 1; k <= b; k++) {
    const g = groups[k] as Group;
    if (g.end - g.start < 2) return false;
  }
  return true;
}

function countDigits(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

/** Greedy choice among overlapping candidates: best rank, then longest, then leftmost. */
function choose(candidates: Candidate[]): Range[] {
  candidates.sort((x, y) => x.rank - y.rank || y.end - y.start - (x.end - x.start) || x.start - y.start);
  const taken: Range[] = [];
  for (const c of candidates) {
    if (taken.some((t) => c.start < t.end && t.start < c.end)) continue;
    taken.push({ start: c.start, end: c.end });
  }
  return taken.sort((x, y) => x.start - y.start);
}

/**
 * Finds phone numbers: non-overlapping ranges, in order, none overlapping `blocked` (strings the caller leaves whole). Each cluster's windows of consecutive digit groups are
 * parsed with the regions' metadata (libphonenumber's own matcher reads a run of numbers, "333 1234567 333
 * 7654321", as one invalid number and finds neither), and overlapping readings are settled by rank: a number with a
 * country code first, then the region order of PII_PHONE_REGIONS, then the longer reading.
 */
export function findPhones(text: string, blocked: readonly Range[] = []): Range[] {
  if (!HAS_CLUSTER.test(text)) return [];
  const search = new Search(text, blocked);
  const out: Range[] = [];
  CLUSTER.lastIndex = 0;
  for (let m = CLUSTER.exec(text); m !== null; m = CLUSTER.exec(text)) {
    const cluster = m[0];
    if (countDigits(cluster) < MIN_DIGITS) continue;
    if (touchesPhonePlaceholder(text, m.index, m.index + cluster.length)) continue;
    const candidates: Candidate[] = [];
    search.windows(cluster, m.index, candidates);
    if (candidates.length > 0) out.push(...choose(candidates));
  }
  return out;
}
