import { isUtf8 } from 'node:buffer';
import type { Context } from 'koa';
import { MAX_PROBLEM_ERRORS, problems } from './problem.ts';

/** docs/CONTRACT.md "Errors": a body over 1 MB is 413. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Deeper JSON is refused: recursive code (validation, JSON.stringify) must never overflow the stack on input. */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether a parsed JSON value nests arrays and objects deeper than `limit`. Walks the parsed value with an explicit
 * stack (no recursion, so no overflow of its own), visiting each array and object once: a 1,000-item batch is a few
 * thousand nodes, where scanning its text would be half a million characters.
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > limit) return true;
    const children = Array.isArray(node) ? node : Object.values(node as Record<string, unknown>);
    for (const child of children) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}

const LONE_SURROGATE = 'must be well-formed Unicode: it holds a lone surrogate (\\ud800-\\udfff without its pair)';

const pointer = (parent: string, key: string | number) =>
  `${parent}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;

/**
 * The JSON Pointers of strings (values or object keys) that are not well-formed UTF-16, at most `limit`. JSON lets a
 * `\ud800` escape stand alone, but it is no character: Postgres text would store U+FFFD in its place (so two
 * different ids would become one) and jsonb refuses it, so such a body is refused with the paths named. Walks the
 * parsed value with an explicit stack, like nestsDeeperThan.
 */
export function malformedStrings(value: unknown, limit: number): { path: string; message: string }[] {
  const found: { path: string; message: string }[] = [];
  if (typeof value === 'string') {
    if (!value.isWellFormed()) found.push({ path: '/', message: LONE_SURROGATE });
    return found;
  }
  // Only containers go on the stack, and a path is built only for a container or a bad string: a 1 MB array of
  // half a million strings costs half a million isWellFormed calls and no allocation.
  const stack: [object, string][] = value !== null && typeof value === 'object' ? [[value, '']] : [];
  while (stack.length > 0 && found.length < limit) {
    const [node, path] = stack.pop()!;
    const visit = (key: string | number, child: unknown) => {
      if (typeof child === 'string') {
        if (!child.isWellFormed()) found.push({ path: pointer(path, key), message: LONE_SURROGATE });
      } else if (child !== null && typeof child === 'object') {
        stack.push([child, pointer(path, key)]);
      }
    };
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) visit(i, node[i]);
    } else {
      for (const [key, child] of Object.entries(node)) {
        if (!key.isWellFormed())
          found.push({ path: pointer(path, key.toWellFormed()), message: `its name ${LONE_SURROGATE.slice(5)}` });
        visit(key, child);
      }
    }
  }
  return found;
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
  const bytes = Buffer.concat(chunks, size);
  // isUtf8 (native, simdutf) then toString: the same strictness as a fatal TextDecoder, at a fraction of the cost.
  if (!isUtf8(bytes)) throw problems.malformedJson('The body is not valid UTF-8.');
  const decoded = bytes.toString('utf8');
  const raw = decoded.charCodeAt(0) === 0xfeff ? decoded.slice(1) : decoded; // a byte order mark, as TextDecoder drops it
  if (raw.trim() === '') throw problems.malformedJson('The body is empty; send a JSON object.');
  let value: unknown;
  try {
    value = JSON.parse(raw) as unknown;
  } catch (error) {
    throw problems.malformedJson(`The body is not valid JSON: ${(error as Error).message}`);
  }
  if (nestsDeeperThan(value, MAX_JSON_DEPTH)) {
    throw problems.validation([{ path: '/', message: `must not nest deeper than ${MAX_JSON_DEPTH} levels` }]);
  }
  const malformed = malformedStrings(value, MAX_PROBLEM_ERRORS + 1);
  if (malformed.length > 0) throw problems.validation(malformed, 'The body holds text that is not valid Unicode.');
  return { value, raw };
}
