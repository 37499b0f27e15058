import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { findCards, isValidCardNumber } from '../../src/privacy/card.ts';
import { codiceFiscaleCheckChar } from '../../src/privacy/checksums.ts';
import { findTaxIds, isValidCodiceFiscale } from '../../src/privacy/codiceFiscale.ts';
import { IBAN_LENGTHS, findIbans, isValidIban } from '../../src/privacy/iban.ts';
import { redact } from '../../src/privacy/redact.ts';
import {
  type Range,
  isAsciiAlnumCode,
  isAsciiLetterCode,
  isDigitCode,
  wordAfter,
  wordBefore,
} from '../../src/privacy/scan.ts';

// ---------------------------------------------------------------------------------------------------------------
// The scanners skip positions that cannot start a match (regex jumps, pre-filters, probing every 16th character for
// codici fiscali). These tests pin down that nothing is skipped that the plain definition would find: PII at the
// edges of the text and next to what the pre-filters look at, and property tests against per-position reference
// scanners written the straightforward way on top of the (unchanged) validators.
// ---------------------------------------------------------------------------------------------------------------

const CF = 'RSSMRA85T10A562S';
const IBAN = 'IT60X0542811101000000123456';
const IBAN_SPACED = 'DE89 3704 0044 0532 0130 00';
const CARD = '4111 1111 1111 1111';

describe('PII at the edges of the text', () => {
  it.each([
    ['e-mail', 'mario.rossi@example.com', 'EMAIL'],
    ['phone', '+39 333 123 4567', 'PHONE'],
    ['mobile without prefix', '3331234567', 'PHONE'],
    ['landline in parentheses', '(02) 12345678', 'PHONE'],
    ['card', CARD, 'CARD'],
    ['compact card', '4111111111111111', 'CARD'],
    ['IBAN', IBAN, 'IBAN'],
    ['spaced IBAN', IBAN_SPACED, 'IBAN'],
    ['codice fiscale', CF, 'TAX_ID'],
    ['IPv4', '192.168.1.1', 'IP'],
    ['IPv6', '2001:db8::1', 'IP'],
  ])('%s: alone, at the start and at the end', (_name, value, kind) => {
    expect(redact(value)).toBe(`[${kind}]`);
    expect(redact(`${value} tail`)).toBe(`[${kind}] tail`);
    expect(redact(`head ${value}`)).toBe(`head [${kind}]`);
    expect(redact(`${value}\n${value}`)).toBe(`[${kind}]\n[${kind}]`);
  });
});

describe('codice fiscale at every offset', () => {
  // Only every 16th character is probed for all-ASCII windows: try every alignment, and texts of every length.
  it.each(Array.from({ length: 34 }, (_, k) => k))('after %i characters of prose', (k) => {
    const head = 'abcde fghi jklmnopqrstuvwxyz0123456789'.slice(0, k);
    expect(redact(`${head} ${CF}`)).toBe(`${head} [TAX_ID]`);
    expect(redact(`${head} ${CF}.`)).toBe(`${head} [TAX_ID].`);
    expect(redact(`${head}(${CF}) ${'x'.repeat(k)}`)).toBe(`${head}([TAX_ID]) ${'x'.repeat(k)}`);
  });

  it('leaves 16 characters inside a longer run alone, at any offset', () => {
    for (let k = 0; k < 20; k++) {
      const text = `${'A'.repeat(k)}${CF}${'B'.repeat(20 - k)}`;
      expect(redact(text)).toBe(text);
      expect(redact(`${'a'.repeat(k + 1)}${CF}`)).toBe(`${'a'.repeat(k + 1)}${CF}`);
      expect(redact(`${CF}${'9'.repeat(k + 1)}`)).toBe(`${CF}${'9'.repeat(k + 1)}`);
    }
  });

  it('handles non-ASCII characters around and inside the window like the plain definition', () => {
    expect(redact(`è ${CF} è`)).toBe('è [TAX_ID] è');
    expect(redact(`è${CF}`)).toBe(`è${CF}`); // glued to a (non-ASCII) word character
    expect(redact(`${CF}è`)).toBe(`${CF}è`);
    expect(redact(`— ${CF} —`)).toBe('— [TAX_ID] —');
    expect(redact(`${CF}—`)).toBe('[TAX_ID]—'); // a dash is not a word character
    expect(redact('RSSMRè85T10A562S')).toBe('RSSMRè85T10A562S');
  });
});

describe('IBAN and card pre-filters', () => {
  it('finds an IBAN after two-letter words followed by numbers', () => {
    expect(redact(`it is 30 and ${IBAN}`)).toBe('it is 30 and [IBAN]');
    expect(redact(`IT 60 X 05428 11101 000000123456`)).toBe('[IBAN]');
    expect(redact(`iban:${IBAN_SPACED.toLowerCase()}.`)).toBe('iban:[IBAN].');
    expect(redact('DE-89-3704-0044-0532-0130-00')).toBe('[IBAN]');
    expect(redact('(gb82-west-1234-5698-7654-32)')).toBe('([IBAN])');
  });

  it('leaves an IBAN glued to a non-ASCII or placeholder word alone', () => {
    expect(redact(`è${IBAN}`)).toBe(`è${IBAN}`);
    expect(redact(`_${IBAN}`)).toBe(`_${IBAN}`);
  });

  it('finds a card at the end of a long run of digit groups', () => {
    expect(redact(`1 2 3 4 5 6 7 8 9 10 11 12 ${CARD}`)).toBe('1 2 3 4 5 6 7 8 9 10 11 12 [CARD]');
    expect(redact(`12 ${CARD} 34`)).toBe('12 [CARD] 34');
  });
});

describe('IPv6 runs', () => {
  it('takes the whole run of hex digits, colons and dots, and nothing glued to a word', () => {
    expect(redact('cafe fe80::1 babe')).toBe('cafe [IP] babe');
    expect(redact('cafefe80::1')).toBe('cafefe80::1');
    expect(redact('deadbeef fe80::1:')).toBe('deadbeef [IP]:');
    expect(redact('a: b: fe80::1')).toBe('a: b: [IP]');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Reference scanners: one candidate per position, exactly as the recognisers are specified (see their comments).
// ---------------------------------------------------------------------------------------------------------------

function referenceTaxIds(text: string): Range[] {
  const out: Range[] = [];
  for (let i = 0; i + 16 <= text.length; i++) {
    if (!isAsciiLetterCode(text.charCodeAt(i)) || wordBefore(text, i) || wordAfter(text, i + 16)) continue;
    if (isValidCodiceFiscale(text.slice(i, i + 16))) out.push({ start: i, end: i + 16 });
  }
  return out;
}

function referenceIbans(text: string): Range[] {
  const out: Range[] = [];
  for (let i = 0; i + 1 < text.length; i++) {
    if (!isAsciiLetterCode(text.charCodeAt(i)) || !isAsciiLetterCode(text.charCodeAt(i + 1))) continue;
    if (wordBefore(text, i)) continue;
    const expected = IBAN_LENGTHS[text.slice(i, i + 2).toUpperCase()];
    if (expected === undefined) continue;
    let compact = text.slice(i, i + 2);
    let j = i + 2;
    while (compact.length < expected && j < text.length) {
      const c = text.charCodeAt(j);
      if (isAsciiAlnumCode(c)) {
        compact += text.charAt(j++);
      } else if ((c === 32 || c === 45) && isAsciiAlnumCode(text.charCodeAt(j + 1))) {
        j++;
      } else {
        break;
      }
    }
    if (compact.length === expected && !wordAfter(text, j) && isValidIban(compact)) out.push({ start: i, end: j });
  }
  return out;
}

function referenceCards(text: string): Range[] {
  const out: Range[] = [];
  let i = 0;
  while (i < text.length) {
    if (!isDigitCode(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const groups: [number, number][] = [];
    let j = i;
    for (;;) {
      const gs = j;
      while (isDigitCode(text.charCodeAt(j))) j++;
      groups.push([gs, j]);
      const c = text.charCodeAt(j);
      if ((c === 32 || c === 45) && isDigitCode(text.charCodeAt(j + 1))) j++;
      else break;
    }
    groups.forEach(([firstStart, firstEnd], a) => {
      if (wordBefore(text, firstStart)) return;
      let digits = '';
      for (const [gs, ge] of groups.slice(a)) {
        if (digits !== '' && (firstEnd - firstStart !== 4 || ge - gs < 3 || ge - gs > 6)) break;
        digits += text.slice(gs, ge);
        if (digits.length > 19) break;
        if (!wordAfter(text, ge) && isValidCardNumber(digits)) out.push({ start: firstStart, end: ge });
      }
    });
    i = j;
  }
  return out;
}

describe('scanners agree with the per-position definition', () => {
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  /** Structurally plausible codici fiscali (valid or one character off), in either case, some omocodic. */
  const codiceFiscale = fc
    .record({
      name: fc.string({ unit: fc.constantFrom(...letters), minLength: 6, maxLength: 6 }),
      year: fc.integer({ min: 0, max: 99 }),
      month: fc.constantFrom(...'ABCDEHLMPRSTZ'),
      day: fc.integer({ min: 0, max: 72 }),
      place: fc.constantFrom(...'ABHLMNZ'),
      number: fc.integer({ min: 0, max: 999 }),
      omocodia: fc.array(fc.constantFrom(6, 7, 9, 10, 12, 13, 14), { maxLength: 3 }),
      valid: fc.boolean(),
      lower: fc.boolean(),
    })
    .map(({ name, year, month, day, place, number, omocodia, valid, lower }) => {
      const chars = [
        ...`${name}${String(year).padStart(2, '0')}${month}${String(day).padStart(2, '0')}${place}${String(number).padStart(3, '0')}`,
      ];
      for (const p of omocodia) chars[p] = 'LMNPQRSTUV'.charAt(Number(chars[p]));
      const first15 = chars.join('');
      const cf = first15 + (valid ? codiceFiscaleCheckChar(first15) : 'Z');
      return lower ? cf.toLowerCase() : cf;
    });
  /** The same with one character swapped for one whose upper case is different or longer ("ſ" -> "S", "ß" -> "SS"). */
  const unicodeCodiceFiscale = fc
    .tuple(codiceFiscale, fc.nat(15), fc.constantFrom('ß', 'ſ', 'ﬀ', 'ı', 'è', 'ŉ'))
    .map(([cf, k, ch]) => cf.slice(0, k) + ch + cf.slice(k + 1));
  const fragment = fc.oneof(
    unicodeCodiceFiscale,
    fc.constantFrom(
      CF,
      IBAN,
      IBAN_SPACED,
      CARD,
      '4111-1111-1111-1111',
      '378282246310005',
      'it60 x054 2811 1010 0000 0123 456',
      'DE-89-3704-0044-0532-0130-00',
    ),
    codiceFiscale,
    fc.string({ unit: fc.constantFrom(...'0123456789 -'), maxLength: 24 }),
    fc.string({ unit: fc.constantFrom(...'ITDEGBXaeo0123456789 -_.'), maxLength: 20 }),
    fc.string({ unit: fc.constantFrom(...'aZ09 ._-[]èßſﬀ—’\u0301'), maxLength: 20 }),
    fc.constantFrom('[CARD]', '[IBAN]', '[TAX_ID]', '[PHONE]'),
  );
  const text = fc.array(fragment, { maxLength: 8 }).map((parts) => parts.join(''));

  it.each([
    ['x RSSMRA85T10A562ß y'],
    ['RSſMRA85T10A562S'],
    ['rsſmra85t10a562s.'],
    ['ﬀ RSSMRA85T10A562S'],
    ['RSSﬀMRA85T10A562S'],
    ['RSSMRA85T10A562Sè'],
  ])('findTaxIds on windows with non-ASCII characters: %s', (s) => {
    expect(findTaxIds(s)).toEqual(referenceTaxIds(s));
  });

  it('findTaxIds', () => {
    fc.assert(
      fc.property(text, (s) => {
        expect(findTaxIds(s)).toEqual(referenceTaxIds(s));
      }),
      { numRuns: 1500 },
    );
  });

  it('findIbans', () => {
    fc.assert(
      fc.property(text, (s) => {
        expect(findIbans(s)).toEqual(referenceIbans(s));
      }),
      { numRuns: 1500 },
    );
  });

  it('findCards', () => {
    fc.assert(
      fc.property(text, (s) => {
        expect(findCards(s)).toEqual(referenceCards(s));
      }),
      { numRuns: 1500 },
    );
  });

  it('on arbitrary UTF-16 (including lone surrogates)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 120 }), (s) => {
        expect(findTaxIds(s)).toEqual(referenceTaxIds(s));
        expect(findIbans(s)).toEqual(referenceIbans(s));
        expect(findCards(s)).toEqual(referenceCards(s));
      }),
      { numRuns: 500 },
    );
  });
});
