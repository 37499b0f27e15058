import type { Context } from 'koa';
import { problems } from './problem.ts';

/** PRODUCT.md: a body over 1 MB is 413. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Deeper JSON is refused: recursive code (validation, JSON.stringify) must never overflow the stack on input. */
export const MAX_JSON_DEPTH = 64;

/** The deepest nesting of arrays and objects in a JSON text, counted without parsing (strings are skipped). */
export function jsonDepth(raw: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \\ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) max = Math.max(max, ++depth);
    else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return max;
}

/** What a JSON request carried: the parsed value and the raw text (the idempotency fingerprint hashes it). */
export interface JsonBody {
  readonly value: unknown;
  readonly raw: string;
}

/**
 * Reads and parses a JSON body with a hard size limit, without buffering more than the limit: 413 on a declared or
 * actual size over it, 415 on a non-JSON content type, 400 on malformed JSON or bad UTF-8.
 */
export async function readJsonBody(ctx: Context, limit = MAX_BODY_BYTES): Promise<JsonBody> {
  const declared = ctx.request.length;
  if (declared !== undefined && declared > limit) {
    throw problems.tooLarge(`The body is ${declared} bytes; the limit is ${limit} bytes.`);
  }
  const type = ctx.request.type;
  if (type !== '' && !/^application\/([a-z0-9.+-]*\+)?json$/i.test(type)) {
    throw problems.unsupportedMediaType(`Send the body as application/json, not ${type}.`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      ctx.req.unpipe();
      throw problems.tooLarge(`The body is over the limit of ${limit} bytes.`);
    }
    chunks.push(chunk);
  }
  let raw: string;
  try {
    raw = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks, size));
  } catch {
    throw problems.malformedJson('The body is not valid UTF-8.');
  }
  if (raw.trim() === '') throw problems.malformedJson('The body is empty; send a JSON object.');
  let value: unknown;
  try {
    value = JSON.parse(raw) as unknown;
  } catch (error) {
    throw problems.malformedJson(`The body is not valid JSON: ${(error as Error).message}`);
  }
  if (jsonDepth(raw) > MAX_JSON_DEPTH) {
    throw problems.validation([{ path: '/', message: `must not nest deeper than ${MAX_JSON_DEPTH} levels` }]);
  }
  return { value, raw };
}
