import { describe, it, expect } from 'vitest';
import { redactWithStats, type PiiKind } from '../../src/privacy/redact.ts';
import {
  CARD_CASES,
  EMAIL_CASES,
  IBAN_CASES,
  IP_CASES,
  PHONE_CASES,
  PRESIDIO_COMMIT,
  TAX_ID_CASES,
  type PresidioCase,
} from './presidioCases.ts';

/**
 * Presidio's own recognizer test cases (see presidioCases.ts for the commit), run through our redactor: every
 * entity Presidio finds must be gone from the output, with a placeholder of the same kind in the text, and a text in
 * which Presidio finds nothing must come back unchanged. The exceptions below are deliberate, each with its reason;
 * a case listed here that starts to pass fails the test, so the list cannot go stale.
 */
const DIFFERENCES: Readonly<Record<string, string>> = {
  // Presidio's ItFiscalCodeRecognizer scores a code with a wrong check character at 0.3 and still reports it; we
  // redact only codes whose check character verifies, as we do for cards (Luhn) and IBANs (mod 97).
  'TAX_ID|AAAAAA00B11C333N': 'wrong check character: we require the checksum',
  'TAX_ID|AAAAAA00B11C333Y and AAAAAA00B11C333N': 'the second code has a wrong check character',
  // Presidio's leniency 0 (POSSIBLE) reads "is415-555-0132" as a number; its default (VALID, leniency 1) and we do
  // not: digits glued to a word are not a phone number for us ("x3331234567", "ORD-3331234567").
  'PHONE|My US number is (415) 555-0132, and my international one is415-555-0132|0':
    'leniency POSSIBLE only: a number glued to a word',
  // Not an IBAN (Presidio's IbanRecognizer is right), but the US number at its end is a phone number, which Presidio's
  // PhoneRecognizer finds too: the redactor as a whole redacts it.
  "IBAN|Dalla's Pizza | 3843 Peartree Road, Bamblee, SD 20241 440-600-5124": 'no IBAN, but a US phone number: [PHONE]',
  // Presidio's IBAN patterns want the BBAN in capitals; we read IBANs in any case (people type them in lower case,
  // "it60x0542811101000000123456"), and this one's checksum and BBAN format hold once upper-cased.
  'IBAN|LV80 bANK 0000 4351 9500 1': 'a valid IBAN typed with one lower-case letter: [IBAN]',
  // Five dotted numbers are a version or build string for us ("build 10.0.19041.1"), so we take no address out
  // of the middle of one; Presidio redacts the first four.
  'IP|192.168.1.1.1': 'five dotted numbers: a version string, left whole',
  // Presidio reports the unspecified address "::" at a score of 0.1, and we leave it: in prose, "::" is C++ scope
  // ("std::cout", which Presidio leaves too) far more often than an address. "::/0" and "::/128" are the same.
  'IP|Use local ipv6 ::': 'the unspecified address "::" alone',
  'IP|src=:: dst=::1': 'the unspecified address "::" alone (::1 is redacted)',
  'IP|Unspecified ::': 'the unspecified address "::" alone',
  'IP|::/0': 'the unspecified address "::" alone',
  'IP|::/128': 'the unspecified address "::" alone',
};

function key(kind: PiiKind, c: PresidioCase): string {
  return c.leniency === undefined ? `${kind}|${c.text}` : `${kind}|${c.text}|${c.leniency}`;
}

function agrees(kind: PiiKind, c: PresidioCase): boolean {
  const { text, found } = redactWithStats(c.text);
  if (c.count === 0) return text === c.text;
  if ((found[kind] ?? 0) < Math.min(c.count, c.spans.length || 1)) return false;
  return c.spans.every(([start, end]) => !text.includes(c.text.slice(start, end)));
}

const SUITES: [PiiKind, string, PresidioCase[]][] = [
  ['EMAIL', 'test_email_recognizer.py', EMAIL_CASES],
  ['PHONE', 'test_phone_recognizer.py', PHONE_CASES],
  ['CARD', 'test_credit_card_recognizer.py', CARD_CASES],
  ['IBAN', 'test_iban_recognizer.py', IBAN_CASES],
  ['IP', 'test_ip_recognizer.py', IP_CASES],
  ['TAX_ID', 'test_it_fiscal_code_recognizer.py', TAX_ID_CASES],
];

describe(`Presidio's recognizer tests (commit ${PRESIDIO_COMMIT.slice(0, 12)})`, () => {
  for (const [kind, file, cases] of SUITES) {
    describe(file, () => {
      it.each(cases.map((c) => [c.count === 0 ? 'leaves' : 'redacts', c.text, c] as const))(
        '%s %j',
        (_verb, _text, c) => {
          const difference = DIFFERENCES[key(kind, c)];
          if (difference === undefined) {
            expect(agrees(kind, c), `${JSON.stringify(redactWithStats(c.text))}`).toBe(true);
          } else {
            expect(agrees(kind, c), `listed as a deliberate difference (${difference}) but agrees now`).toBe(false);
          }
        },
      );
    });
  }

  it('lists only differences that name a case of the suite', () => {
    const keys = new Set(SUITES.flatMap(([kind, , cases]) => cases.map((c) => key(kind, c))));
    for (const k of Object.keys(DIFFERENCES)) expect(keys.has(k), k).toBe(true);
  });
});
