import type { FieldError } from '../errors.ts';

/**
 * The paths of strings holding U+0000, which Postgres text and jsonb cannot store: refused as 422 with their path
 * rather than as an anonymous database error.
 */
export function nulErrors(record: Readonly<Record<string, unknown>>, prefix = ''): FieldError[] {
  const errors: FieldError[] = [];
  for (const [field, value] of Object.entries(record)) {
    if (typeof value === 'string' && value.includes('\u0000')) {
      errors.push({ path: `${prefix}/${field}`, message: 'must not contain the NUL character' });
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => {
        if (typeof item === 'string' && item.includes('\u0000')) {
          errors.push({ path: `${prefix}/${field}/${i}`, message: 'must not contain the NUL character' });
        }
      });
    }
  }
  return errors;
}
