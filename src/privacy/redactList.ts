import type { Counter } from 'prom-client';
import { redactFields } from './redactFields.ts';

/** Redacts each string of a list (knowledge_gaps, learning_recommendations) and counts what was found. */
export function redactList(items: readonly string[], counter?: Counter<'kind'>): string[] {
  return items.map((text) => redactFields({ text }, ['text'], counter).text);
}
