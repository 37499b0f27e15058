import type { Context } from 'koa';
import type { TSchema } from '@sinclair/typebox';
import type { ApiKey, Scope } from '../auth/keys.ts';
import type { Db } from '../db/pool.ts';
import type { IdempotencyClaim, Reply } from '../idempotency/store.ts';
import type { Services } from './services.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * The Allow header of a path whose routes have these methods: HEAD comes with GET (Koa answers it), and OPTIONS is
 * always there (src/http/app.ts). One order, so the 405, the OPTIONS answer and the OpenAPI document agree.
 * Example: allowHeader(['PATCH', 'GET']) is "GET, HEAD, PATCH, OPTIONS".
 */
export function allowHeader(methods: Iterable<Method>): string {
  const has = new Set<string>(methods);
  if (has.has('GET')) has.add('HEAD');
  return [...['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'].filter((m) => has.has(m)), 'OPTIONS'].join(', ');
}

export interface WriteOptions {
  /**
   * The write is one SQL statement: without an Idempotency-Key it runs in autocommit on the pool, saving the
   * BEGIN/COMMIT round trips on the hot ingest path (a single statement is atomic on its own).
   */
  readonly singleStatement?: boolean;
}

export interface HandlerInput {
  readonly ctx: Context;
  readonly services: Services;
  readonly apiKey: ApiKey | null;
  readonly params: Record<string, string>;
  readonly query: Record<string, unknown>;
  readonly body: unknown;
  /** The request's Idempotency-Key claim, or null; a write under a claim must go through `write` (or keep its rules). */
  readonly idempotency: IdempotencyClaim | null;
  /**
   * Runs a write transactionally; under an Idempotency-Key the key is claimed in the same transaction, and a stored
   * reply is returned without calling fn.
   */
  write(fn: (db: Db) => Promise<Reply>, options?: WriteOptions): Promise<Reply>;
}

/** One documented answer of a route (the OpenAPI document's `responses`). */
export interface RouteResponse {
  readonly description: string;
  /** The application/json body. */
  readonly schema?: TSchema;
  /** Other media types of the same answer (the query endpoint's text/csv). */
  readonly content?: Readonly<Record<string, TSchema>>;
  readonly headers?: Readonly<Record<string, { readonly description: string; readonly schema: TSchema }>>;
  /** The answer is RFC 9457 problem+json. */
  readonly problem?: boolean;
}

/**
 * One API operation: the single source for routing, auth, validation and the OpenAPI document, so the docs cannot
 * drift from the code (docs/STYLE.md "Errors and HTTP").
 */
export interface RouteDef {
  readonly operationId: string;
  readonly method: Method;
  /** OpenAPI-style path: `/api/v1/conversations/{conversation_id}/votes`. */
  readonly path: string;
  readonly tag: string;
  readonly summary: string;
  readonly description?: string;
  /** null: no key needed. */
  readonly scope: Scope | null;
  readonly params?: TSchema;
  readonly query?: TSchema;
  readonly body?: TSchema;
  readonly responses: Readonly<Record<number, RouteResponse>>;
  /**
   * A POST that writes nothing but its audit (the query endpoint): an Idempotency-Key is checked like everywhere
   * but not stored, and a repeat runs again on the current snapshot instead of replaying an older answer.
   */
  readonly writesNothing?: boolean;
  handle(input: HandlerInput): Promise<Reply>;
}

export function defineRoutes(...routes: RouteDef[]): RouteDef[] {
  return routes;
}

/** The route label of a request that matched no route template: one value, whatever the path was. */
const UNMATCHED_ROUTE = '(unmatched)';

/**
 * The route template a metric or a log line names for this request, never its path (paths carry ids, which may be
 * personal, and would mint a label value per id).
 */
export function routeOf(ctx: Context): string {
  return (ctx.state.routeTemplate as string | undefined) ?? UNMATCHED_ROUTE;
}
