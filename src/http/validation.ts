import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';
import type { TSchema, Static } from '@sinclair/typebox';
import { problems, type FieldError } from './problem.ts';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsImport as unknown as (ajv: Ajv) => Ajv;

function makeAjv(coerceTypes: boolean): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, coerceTypes, useDefaults: false, allowUnionTypes: true });
  addFormats(ajv);
  return ajv;
}

/** Bodies are validated as sent (no coercion); query strings and path params are text, so they are coerced. */
const bodyAjv = makeAjv(false);
const textAjv = makeAjv(true);
const compiled = new WeakMap<TSchema, ValidateFunction>();

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** ajv errors as `[{ path, message }]` with `path` a JSON Pointer to the offending value (RFC 6901). */
export function fieldErrors(errors: readonly ErrorObject[], prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    let path = e.instancePath;
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'required') {
      path += `/${escapePointer(String(e.params.missingProperty))}`;
      message = 'is required';
    } else if (e.keyword === 'additionalProperties') {
      path += `/${escapePointer(String(e.params.additionalProperty))}`;
      message = 'is not a known field';
    } else if (e.keyword === 'enum') {
      message = `must be one of: ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    }
    const full = prefix + path;
    const key = `${full}\u0000${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ path: full === '' ? '/' : full, message });
    }
  }
  return out;
}

function validator(schema: TSchema, coerce: boolean): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = (coerce ? textAjv : bodyAjv).compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

/** Compiles once, validates, returns the typed value or throws a 422 naming every failing path. */
export function validateBody<S extends TSchema>(schema: S, value: unknown, prefix = ''): Static<S> {
  const fn = validator(schema, false);
  if (!fn(value)) throw problems.validation(fieldErrors(fn.errors ?? [], prefix));
  return value as Static<S>;
}

/** Returns the failing paths of one value (empty when valid), for batch items that report every index. */
export function checkBody(schema: TSchema, value: unknown, prefix = ''): FieldError[] {
  const fn = validator(schema, false);
  return fn(value) ? [] : fieldErrors(fn.errors ?? [], prefix);
}

/** Path params and query strings: coerced from text; a bad one is 400 or 404 as the caller decides. */
export function validateText<S extends TSchema>(
  schema: S,
  value: Record<string, unknown>,
): { ok: true; value: Static<S> } | { ok: false; errors: FieldError[] } {
  const copy = { ...value };
  const fn = validator(schema, true);
  return fn(copy) ? { ok: true, value: copy as Static<S> } : { ok: false, errors: fieldErrors(fn.errors ?? []) };
}
