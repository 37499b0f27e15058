import { Type, type TSchema, type TUnsafe } from '@sinclair/typebox';

/** Small schema builders shared by every kind of feedback, so limits read the same everywhere. */

/** A string or null, with code-point length limits (JSON Schema and Postgres char_length both count code points). */
export function NullableString(options: {
  minLength?: number;
  maxLength: number;
  format?: string;
  description?: string;
}): TUnsafe<string | null> {
  return Type.Unsafe<string | null>({ type: ['string', 'null'], ...options });
}

/** A closed list of strings; errors name the allowed values. */
export function StringEnum<const T extends readonly string[]>(values: T, description?: string): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...(description ? { description } : {}) });
}

export function Nullable<T extends TSchema>(schema: T): TUnsafe<T['static'] | null> {
  return Type.Unsafe({ anyOf: [schema, { type: 'null' }] });
}

export const Timestamp = Type.String({ format: 'date-time', description: 'RFC 3339 timestamp, UTC' });
export const Uuid = Type.String({ format: 'uuid' });
