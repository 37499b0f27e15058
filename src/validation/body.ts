import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';
import type { TSchema, Static } from '@sinclair/typebox';
import { ValidationFailed, type FieldError } from '../errors.ts';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsImport as unknown as (ajv: Ajv) => Ajv;

function makeAjv(coerceTypes: boolean, allErrors: boolean): Ajv {
  const ajv = new Ajv({ allErrors, strict: true, coerceTypes, useDefaults: false, allowUnionTypes: true });
  addFormats(ajv);
  return ajv;
}

/**
 * Bodies are validated as sent (no coercion); query strings and path params are text, so they are coerced. Bodies
 * are checked first by a validator that stops at the first error (cheap, and all a valid body ever needs); only an
 * invalid body is checked again for every error, on a bounded view of it (boundedView).
 */
const firstErrorAjv = makeAjv(false, false);
const bodyAjv = makeAjv(false, true);
const textAjv = makeAjv(true, true);
const compiled = new WeakMap<TSchema, ValidateFunction>();
const compiledFirst = new WeakMap<TSchema, ValidateFunction>();

/**
 * Items of one array that are checked for errors: more than any `maxItems` of the API's schemas (a batch holds
 * 1,000 items), so every limit still reports, but a 1 MB array of wrong values costs a thousand errors, not half a
 * million (measured before: 480,000 errors, 2.6 s of a blocked event loop and 165 MB for one request).
 */
export const CHECKED_ITEMS_PER_ARRAY = 1_001;

/** The value with every array cut to CHECKED_ITEMS_PER_ARRAY items (a copy only where something is cut). */
function boundedView(value: unknown, depth = 0): { value: unknown; cut: boolean } {
  if (value === null || typeof value !== 'object' || depth > 64) return { value, cut: false };
  let cut = false;
  if (Array.isArray(value)) {
    const kept = value.length > CHECKED_ITEMS_PER_ARRAY ? value.slice(0, CHECKED_ITEMS_PER_ARRAY) : value;
    cut = kept !== value;
    const items = kept.map((item) => {
      const view = boundedView(item, depth + 1);
      cut ||= view.cut;
      return view.value;
    });
    return { value: cut ? items : value, cut };
  }
  const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => {
    const view = boundedView(v, depth + 1);
    cut ||= view.cut;
    return [k, view.value] as const;
  });
  return { value: cut ? Object.fromEntries(entries) : value, cut };
}

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

function firstErrorValidator(schema: TSchema): ValidateFunction {
  let fn = compiledFirst.get(schema);
  if (!fn) {
    fn = firstErrorAjv.compile(schema);
    compiledFirst.set(schema, fn);
  }
  return fn;
}

/**
 * The errors of a body, or [] when it is valid. `detailed: false` reports only the first error (a batch past its
 * error budget still learns which items fail, at the cost of a boolean check). `cut` says that arrays were too long
 * to check whole, so more errors may exist than are reported.
 */
function bodyErrors(
  schema: TSchema,
  value: unknown,
  prefix: string,
  detailed: boolean,
): { errors: FieldError[]; cut: boolean } {
  const first = firstErrorValidator(schema);
  if (first(value)) return { errors: [], cut: false };
  if (!detailed) return { errors: fieldErrors(first.errors ?? [], prefix), cut: false };
  const view = boundedView(value);
  const all = validator(schema, false);
  all(view.value);
  const errors = fieldErrors(all.errors ?? [], prefix);
  // The view keeps every limit, so it is invalid too; should it not be, the first error still is one.
  return { errors: errors.length > 0 ? errors : fieldErrors(first.errors ?? [], prefix), cut: view.cut };
}

/** Compiles once, validates, returns the typed value or throws a 422 naming the failing paths (at most 100). */
export function validateBody<S extends TSchema>(schema: S, value: unknown, prefix = ''): Static<S> {
  const { errors, cut } = bodyErrors(schema, value, prefix, true);
  if (errors.length > 0) throw new ValidationFailed(errors, undefined, { partial: cut });
  return value as Static<S>;
}

/**
 * Returns the failing paths of one value (empty when valid), for batch items that report every index. With
 * `detailed: false`, only the first error of an invalid value (cheap).
 */
export function checkBody(schema: TSchema, value: unknown, prefix = '', detailed = true): FieldError[] {
  return bodyErrors(schema, value, prefix, detailed).errors;
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
