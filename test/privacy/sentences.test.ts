import { describe, it, expect, afterEach } from 'vitest';
import fc from 'fast-check';
import { ConfigError, DEFAULTS, configFromEnv } from '../../src/config.ts';
import { phoneRegions, setPhoneRegions } from '../../src/privacy/phone.ts';
import { redact, redactWithStats } from '../../src/privacy/redact.ts';

/**
 * Feedback as people write it, in Italian and English: the values of Presidio's suites in sentences, next to what
 * looks like them and is not personal (order numbers, dates, prices, version strings, wrong check digits).
 */
describe('feedback sentences', () => {
  it.each([
    // Cards of the brands the old issuer list missed.
    ['La mia carta Maestro è 6759 6498 2643 8453, scade a marzo.', 'La mia carta Maestro è [CARD], scade a marzo.'],
    ['Pagato con UnionPay 6200 0000 0000 0005 ieri sera', 'Pagato con UnionPay [CARD] ieri sera'],
    ['My Mir card 2200 0000 0000 0004 was charged twice', 'My Mir card [CARD] was charged twice'],
    ['my credit card: 122000000000003', 'my credit card: [CARD]'],
    ['Dankort 5019 7170 1010 3742 virker ikke', 'Dankort [CARD] virker ikke'],
    // Phones written without a country code, in the default regions.
    ['Call me at (415) 555-0132 or 415-555-0132 after 5pm', 'Call me at [PHONE] or [PHONE] after 5pm'],
    ['My office is 425 8829090, mobile 13812345678', 'My office is [PHONE], mobile [PHONE]'],
    ['From India: 91-415-555-0132', 'From India: [PHONE]'],
    ['Chiamatemi al 333 123 4567 oppure allo 06 678 4343', 'Chiamatemi al [PHONE] oppure allo [PHONE]'],
    ['Numero verde 800 123 456, fax 02 1234 5678', 'Numero verde [PHONE], fax [PHONE]'],
    ['Tel. +39 02 1234 5678 / +41 44 668 18 00', 'Tel. [PHONE] / [PHONE]'],
    ['Phone: +44 20 7946 0958, ext. 1234', 'Phone: [PHONE], ext. 1234'],
    // Internationalised e-mail domains.
    ['Scrivetemi a a@xn--d1acufc.xn--p1ai o a user@xn--80ak6aa92e.com', 'Scrivetemi a [EMAIL] o a [EMAIL]'],
    // Wrong checksums stay whole: no [PHONE] or [CARD] inside them.
    [
      'IBAN sbagliato NL91 ABNA 0417 1643 01, quello giusto è NL91 ABNA 0417 1643 00',
      'IBAN sbagliato NL91 ABNA 0417 1643 01, quello giusto è [IBAN]',
    ],
    ['Il conto NL12 4111111111111111 non esiste', 'Il conto NL12 4111111111111111 non esiste'],
    ['IBAN DE88 3704 0044 0532 0130 00 rifiutato', 'IBAN DE88 3704 0044 0532 0130 00 rifiutato'],
    [
      'Carta 4111 1111 1111 1112 rifiutata (numero sbagliato)',
      'Carta 4111 1111 1111 1112 rifiutata (numero sbagliato)',
    ],
    [
      'Il mio CF è RSSMRA85T10A562S, quello di mia moglie RSSMRA85T10A562A è sbagliato',
      'Il mio CF è [TAX_ID], quello di mia moglie RSSMRA85T10A562A è sbagliato',
    ],
    // Look-alikes that are not personal.
    [
      "L'ordine 1234567890 del 15/01/2024 è arrivato il 2024-01-20 alle 12:30",
      "L'ordine 1234567890 del 15/01/2024 è arrivato il 2024-01-20 alle 12:30",
    ],
    ['Order #100234567 shipped on 03.01.2024, total 1.234,56 EUR', null],
    ['Ho pagato € 1.234.567 di tasse nel 2023, rif. pratica 2023/000123', null],
    ['Updated to v2.3.14 and build 10.0.19041.1, still broken', null],
    ['Il ticket #3331234567 è ancora aperto', null],
    ['ISBN 978-88-04-12345-6 e CAP 20121 Milano', null],
    ['La partita IVA 01234567890 della ditta', null],
    ['Quantità 12 345 pezzi, peso 1 234 567 g', null],
    ['Il volo AZ 1234 parte alle 7:45 dal gate 12', null],
    ['Codice cliente 0012345678, contratto n. 987654321', null],
    ['I was born on 12/03/1985, ordine n. 100234567', null],
    ['Server 192.168.1.10, MAC aa:bb:cc:dd:ee:ff', 'Server [IP], MAC aa:bb:cc:dd:ee:ff'],
  ])('%s', (input, expected) => {
    expect(redact(input)).toBe(expected ?? input);
  });
});

describe('phone regions', () => {
  afterEach(() => setPhoneRegions(configFromEnv({}).piiPhoneRegions));

  it('defaults to IT, US, GB, DE, FR, ES, CH, CN, IN', () => {
    expect(configFromEnv({}).piiPhoneRegions).toEqual(['IT', 'US', 'GB', 'DE', 'FR', 'ES', 'CH', 'CN', 'IN']);
    expect(phoneRegions()).toEqual(DEFAULTS.PII_PHONE_REGIONS.split(','));
  });

  it('reads PII_PHONE_REGIONS, and only the regions it names find national numbers', () => {
    const config = configFromEnv({ PII_PHONE_REGIONS: ' it , jp ' });
    expect(config.piiPhoneRegions).toEqual(['IT', 'JP']);
    setPhoneRegions(config.piiPhoneRegions);
    // A Japanese mobile is found, a US number written without +1 is not; "+1 ..." still is.
    expect(redact('JP 090-1234-5678, US (415) 555-0132, +1 415 555 0132')).toBe(
      'JP [PHONE], US (415) 555-0132, [PHONE]',
    );
  });

  it.each(['I', 'ITA', 'IT,,US', 'XX', 'IT;US'])('refuses PII_PHONE_REGIONS=%j with a clear message', (value) => {
    expect(() => configFromEnv({ PII_PHONE_REGIONS: value })).toThrow(ConfigError);
    expect(() => configFromEnv({ PII_PHONE_REGIONS: value })).toThrow(/PII_PHONE_REGIONS must be comma-separated/);
  });
});

describe('length bound', () => {
  // The database's length checks are sized for this bound (docs/decisions/0009): placeholders are at most twice as
  // long as the shortest value each recogniser replaces.
  const shortest = ['a@b.co', '::1', '1.2.3.4', '3331234567', '4222222222222', 'NO9386011117947', 'RSSMRA85T10A562S'];
  const dense = fc
    .array(fc.oneof(fc.constantFrom(...shortest, ' ', ',', '.', '@', ':', '+'), fc.string({ maxLength: 3 })), {
      maxLength: 30,
    })
    .map((parts) => parts.join(''));

  it('never makes a text more than twice as long (UTF-16 code units), on any string', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 100 }), dense),
        (s) => {
          expect(redact(s).length).toBeLessThanOrEqual(2 * s.length);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('holds at the tightest case the recognisers allow', () => {
    expect(redact('::1')).toBe('[IP]');
    expect(redact('::1 ::1 ::1').length).toBeLessThanOrEqual(2 * '::1 ::1 ::1'.length);
    expect(redactWithStats('a@b.co').text).toBe('[EMAIL]');
  });
});
