import type { Counter } from 'prom-client';
import { redactWithStats } from './redact.ts';

/**
 * Redacts the named free-text fields of a record (docs/CONTRACT.md "Privacy") and counts what was found by kind in the
 * metrics, never the values. Nulls and absent fields pass through.
 */
export function redactFields<T extends Record<string, unknown>, K extends keyof T>(
  record: T,
  fields: readonly K[],
  counter?: Counter<'kind'>,
): T {
  const out: Record<string, unknown> = { ...record };
  for (const field of fields) {
    const value = record[field];
    if (typeof value !== 'string' || value === '') continue;
    const { text, found } = redactWithStats(value);
    out[field as string] = text;
    if (counter) for (const [kind, n] of Object.entries(found)) counter.inc({ kind }, n ?? 0);
  }
  return out as T;
}
