/**
 * IP address recogniser, after Presidio's IpRecognizer (IPv4 and IPv6, validated rather than merely matched).
 *
 * IPv4 is strict dotted-quad as in inet_pton / Node's net.isIPv4: four decimal octets 0-255 without leading
 * zeros, so "999.1.1.1", "01.2.3.4" and version strings ("1.2.3", "1.2.3.4.5") are not addresses.
 * IPv6 follows RFC 4291 section 2.2: eight groups, "::" compression, and an IPv4 tail (::ffff:192.0.2.1).
 */
import {
  type Range,
  isDigitCode,
  isDigitOrPlaceholderAt,
  isWordAt,
  placeholderEndsAt,
  placeholderStartsAt,
  wordAfter,
  wordBefore,
} from './scan.ts';

const DOT = 46;
const COLON = 58;
const MAX_IPV6_LENGTH = 45; // 8 groups with an IPv4 tail: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"

/** Parses one IPv4 octet at `i`; returns its end, or -1 if it is not 1-3 digits, <= 255, without leading zero. */
function octetEnd(text: string, i: number): number {
  let j = i;
  while (j < text.length && isDigitCode(text.charCodeAt(j))) j++;
  const len = j - i;
  if (len === 0 || len > 3) return -1;
  if (len > 1 && text.charCodeAt(i) === 48) return -1;
  let value = 0;
  for (let k = i; k < j; k++) value = value * 10 + (text.charCodeAt(k) - 48);
  return value <= 255 ? j : -1;
}

/** End of a strict dotted-quad starting at `i`, or -1. */
function ipv4End(text: string, i: number): number {
  let pos = i;
  for (let k = 0; k < 4; k++) {
    if (k > 0) {
      if (text.charCodeAt(pos) !== DOT) return -1;
      pos++;
    }
    pos = octetEnd(text, pos);
    if (pos < 0) return -1;
  }
  return pos;
}

export function isValidIpv4(s: string): boolean {
  return ipv4End(s, 0) === s.length;
}

function isHexCode(c: number): boolean {
  return isDigitCode(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function isHexGroup(s: string): boolean {
  if (s.length < 1 || s.length > 4) return false;
  for (let i = 0; i < s.length; i++) if (!isHexCode(s.charCodeAt(i))) return false;
  return true;
}

export function isValidIpv6(s: string): boolean {
  if (s.length < 2 || s.length > MAX_IPV6_LENGTH) return false;
  const dbl = s.indexOf('::');
  if (dbl !== -1 && s.indexOf('::', dbl + 1) !== -1) return false; // at most one "::" (also rejects ":::")
  const head = dbl === -1 ? s : s.slice(0, dbl);
  const tail = dbl === -1 ? '' : s.slice(dbl + 2);
  const parts = [...(head === '' ? [] : head.split(':')), ...(tail === '' ? [] : tail.split(':'))];
  let groups = 0;
  let hasHexDigit = false;
  for (let k = 0; k < parts.length; k++) {
    const part = parts[k] as string;
    if (part.includes('.')) {
      // An embedded IPv4 address may only be the very last thing in the address.
      if (k !== parts.length - 1 || !s.endsWith(part) || !isValidIpv4(part)) return false;
      groups += 2;
      hasHexDigit = true;
    } else {
      if (!isHexGroup(part)) return false;
      groups += 1;
      hasHexDigit = true;
    }
  }
  // Without "::" we need exactly 8 groups; with it, "::" stands for at least one zero group.
  if (dbl === -1 ? groups !== 8 : groups > 7) return false;
  return hasHexDigit; // a bare "::" is more often C++ or prose than an address
}

/**
 * Where an IPv4 address can start: a digit at the start of a word, then what could be four dotted octets. The scan
 * jumps from one match to the next in the regex engine; the match is the first digit, so `lastIndex - 1` is the
 * start. (An octet of 4+ digits is rejected by ipv4End, so requiring 1-3 digits here loses nothing.)
 */
const IPV4_START = /\b\d(?=\d{0,2}\.\d{1,3}\.\d{1,3}\.\d)/g;

/**
 * A digit and three dotted octets: every IPv4 address contains this. The regex engine scans for a pattern of this
 * shape much faster than for one opening with \b and a lookahead, so it first tells whether there is any at all.
 */
const HAS_DOTTED_QUAD = /\d\.\d{1,3}\.\d{1,3}\.\d/;

/** Two colons in one run of hex digits, ':' and '.': every IPv6 candidate contains one. */
const IPV6_COLONS = /:[0-9A-Fa-f.]*:/g;

/** IPv4 addresses delimited by non-word characters and not part of a longer dotted number. */
function findIpv4(text: string, out: Range[]): void {
  if (!HAS_DOTTED_QUAD.test(text)) return;
  IPV4_START.lastIndex = 0;
  while (IPV4_START.test(text)) {
    const i = IPV4_START.lastIndex - 1;
    if (wordBefore(text, i)) continue;
    // "1.2.3.4.5": the dotted number goes on before us.
    if (text.charCodeAt(i - 1) === DOT && isWordAt(text, i - 2)) continue;
    const end = ipv4End(text, i);
    if (end < 0 || wordAfter(text, end)) continue;
    // ... or after us ("1.2.3.4.5"); a trailing full stop is fine.
    if (text.charCodeAt(end) === DOT && isDigitOrPlaceholderAt(text, end + 1)) continue;
    out.push({ start: i, end });
  }
}

function isIpv6RunCode(c: number): boolean {
  return isHexCode(c) || c === COLON || c === DOT;
}

/**
 * IPv6 addresses: each maximal run of hex digits, ':' and '.' is one candidate (so the scan is linear), trimmed
 * of sentence punctuation: trailing dots, one trailing ':' ("at fe80::1: ...") and one leading ':' ("ip:fe80::1").
 */
function findIpv6(text: string, out: Range[]): void {
  const n = text.length;
  // Runs with fewer than two colons are never candidates: jump to the next run with two, and back to its start.
  IPV6_COLONS.lastIndex = 0;
  while (IPV6_COLONS.test(text)) {
    let i = IPV6_COLONS.lastIndex - 1;
    while (i > 0 && isIpv6RunCode(text.charCodeAt(i - 1))) i--;
    const runStart = i;
    let colons = 0;
    while (i < n && isIpv6RunCode(text.charCodeAt(i))) {
      if (text.charCodeAt(i) === COLON) colons++;
      i++;
    }
    const runEnd = i;
    IPV6_COLONS.lastIndex = runEnd;
    if (colons < 2 || placeholderEndsAt(text, runStart - 1) || placeholderStartsAt(text, runEnd)) continue;
    let start = runStart;
    let end = runEnd;
    while (end > start && text.charCodeAt(end - 1) === DOT) end--;
    if (end - start < 2) continue;
    if (text.charCodeAt(end - 1) === COLON && text.charCodeAt(end - 2) !== COLON) end--;
    if (text.charCodeAt(start) === COLON && text.charCodeAt(start + 1) !== COLON) start++;
    // A leading ':' we trimmed is a separator ("ip:fe80::1"); otherwise the run must not be glued to a word.
    if (start === runStart && wordBefore(text, start)) continue;
    if (end === runEnd && wordAfter(text, end)) continue;
    if (end - start > MAX_IPV6_LENGTH || !isValidIpv6(text.slice(start, end))) continue;
    out.push({ start, end });
  }
}

export function findIps(text: string): Range[] {
  const out: Range[] = [];
  findIpv4(text, out);
  findIpv6(text, out);
  return out;
}
