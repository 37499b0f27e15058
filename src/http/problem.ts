import type { Context, Next } from 'koa';
import {
  CHECK_VIOLATION,
  DATA_EXCEPTION_CLASS,
  DEADLOCK_DETECTED,
  EXCLUSION_VIOLATION,
  FOREIGN_KEY_VIOLATION,
  NOT_NULL_VIOLATION,
  PROTOCOL_VIOLATION,
  QUERY_CANCELED,
  SERIALIZATION_FAILURE,
  UNIQUE_VIOLATION,
  isDatabaseUnavailable,
  sqlState,
} from '../db/sqlstate.ts';
import {
  Conflict,
  DomainError,
  MAX_PROBLEM_ERRORS,
  NotFound,
  TooLarge,
  Unprocessable,
  ValidationFailed,
  type FieldError,
} from '../errors.ts';
import type { Logger } from '../log.ts';
import { routeOf } from './routeDef.ts';

export { MAX_PROBLEM_ERRORS, type FieldError };

/**
 * An error that is an HTTP answer (RFC 9457 problem details). `expose` follows koa's contract: the detail is shown
 * to the client only when it is safe to; every 4xx built here is.
 */
export class HttpProblem extends Error {
  override name = 'HttpProblem';
  readonly status: number;
  readonly slug: string;
  readonly title: string;
  readonly expose: boolean;
  readonly errors?: readonly FieldError[];
  readonly headers: Readonly<Record<string, string>>;
  readonly extra: Readonly<Record<string, unknown>>;

  constructor(
    status: number,
    slug: string,
    title: string,
    detail: string,
    options: {
      errors?: readonly FieldError[];
      headers?: Record<string, string>;
      extra?: Record<string, unknown>;
      cause?: unknown;
      /** The errors are known to be incomplete (validation stopped early): say so even under the cap. */
      partial?: boolean;
    } = {},
  ) {
    super(detail, { cause: options.cause });
    this.status = status;
    this.slug = slug;
    this.title = title;
    this.expose = status < 500 || status === 503;
    const errors = options.errors;
    // An answer stays small whatever the body held: a 1 MB body of wrong values used to get a 26.9 MB answer.
    const truncated = errors !== undefined && (errors.length > MAX_PROBLEM_ERRORS || options.partial === true);
    this.errors = errors && errors.length > MAX_PROBLEM_ERRORS ? errors.slice(0, MAX_PROBLEM_ERRORS) : errors;
    this.headers = options.headers ?? {};
    this.extra = {
      ...options.extra,
      ...(truncated ? { errors_truncated: true, error_count: errors.length } : {}),
    };
  }
}

/**
 * Every problem type the API answers with, in the order of the /docs page (each `type` URI points at its entry
 * there): the one table the factories below and PROBLEM_TYPES read their slug, status and title from.
 */
const TYPES = {
  malformedJson: { slug: 'malformed-json', status: 400, title: 'Malformed JSON', when: 'the body is not valid JSON' },
  badRequest: {
    slug: 'bad-request',
    status: 400,
    title: 'Bad request',
    when: 'a header or query parameter is malformed',
  },
  unauthorized: { slug: 'unauthorized', status: 401, title: 'Unauthorized', when: 'no API key, or an unknown one' },
  forbidden: {
    slug: 'forbidden',
    status: 403,
    title: 'Forbidden',
    when: 'the API key lacks the scope the route needs',
  },
  notFound: { slug: 'not-found', status: 404, title: 'Not found', when: 'the route or the id does not exist' },
  methodNotAllowed: {
    slug: 'method-not-allowed',
    status: 405,
    title: 'Method not allowed',
    when: 'the route exists with other methods',
  },
  conflict: {
    slug: 'conflict',
    status: 409,
    title: 'Conflict',
    when: 'a unique rule, or an idempotent request still running',
  },
  warehouseNotExported: {
    slug: 'warehouse-not-exported',
    status: 409,
    title: 'Warehouse not exported',
    when: 'a query before the first export; run an export first',
  },
  tooLarge: { slug: 'payload-too-large', status: 413, title: 'Payload too large', when: 'the body is over 1 MB' },
  unsupportedMediaType: {
    slug: 'unsupported-media-type',
    status: 415,
    title: 'Unsupported media type',
    when: 'the body is not JSON',
  },
  validation: {
    slug: 'validation-error',
    status: 422,
    title: 'Validation failed',
    when: 'the body breaks the schema; see errors',
  },
  unprocessable: {
    slug: 'unprocessable',
    status: 422,
    title: 'Unprocessable request',
    when: 'valid JSON the rules refuse',
  },
  queryRefused: {
    slug: 'query-refused',
    status: 422,
    title: 'Query refused',
    when: 'the SQL is not one SELECT, or reads files, the network, extensions or settings',
  },
  queryError: {
    slug: 'query-error',
    status: 422,
    title: 'Query failed',
    when: "DuckDB could not run the SQL; detail is DuckDB's message",
  },
  queryTimeout: {
    slug: 'query-timeout',
    status: 422,
    title: 'Query timed out',
    when: 'the query ran past QUERY_TIMEOUT_MS and was interrupted',
  },
  tooManyQueries: {
    slug: 'too-many-queries',
    status: 429,
    title: 'Too many queries',
    when: 'the query slots are all busy; retry after Retry-After',
  },
  internal: {
    slug: 'internal',
    status: 500,
    title: 'Internal server error',
    when: 'a bug on our side; logged with request id',
  },
  unavailable: {
    slug: 'unavailable',
    status: 503,
    title: 'Service unavailable',
    when: 'the database is unreachable; retry',
  },
} as const satisfies Record<string, { slug: string; status: number; title: string; when: string }>;

type ProblemOptions = ConstructorParameters<typeof HttpProblem>[4];

/** A problem of one of the types above. */
function problem(type: keyof typeof TYPES, detail: string, options?: ProblemOptions): HttpProblem {
  const { status, slug, title } = TYPES[type];
  return new HttpProblem(status, slug, title, detail, options);
}

export const problems = {
  malformedJson: (detail: string) => problem('malformedJson', detail),
  badRequest: (detail: string) => problem('badRequest', detail),
  unauthorized: (detail: string) => problem('unauthorized', detail, { headers: { 'WWW-Authenticate': 'Bearer' } }),
  forbidden: (detail: string) => problem('forbidden', detail),
  notFound: (detail: string) => problem('notFound', detail),
  methodNotAllowed: (allow: string) =>
    problem('methodNotAllowed', `Allowed methods: ${allow}`, { headers: { Allow: allow } }),
  conflict: (detail: string, extra?: Record<string, unknown>, errors?: readonly FieldError[]) =>
    problem('conflict', detail, { extra, errors }),
  tooLarge: (detail: string) => problem('tooLarge', detail, { headers: { Connection: 'close' } }),
  unsupportedMediaType: (detail: string) => problem('unsupportedMediaType', detail),
  validation: (
    errors: readonly FieldError[],
    detail = 'The request body does not match the schema.',
    options: { partial?: boolean; extra?: Record<string, unknown> } = {},
  ) => problem('validation', detail, { errors, partial: options.partial, extra: options.extra }),
  unprocessable: (detail: string, errors?: readonly FieldError[]) => problem('unprocessable', detail, { errors }),
  /** The query endpoint (src/http/routes/query.ts): what the SQL asked for is not allowed; errors names /sql. */
  queryRefused: (detail: string) => problem('queryRefused', detail, { errors: [{ path: '/sql', message: detail }] }),
  /** DuckDB could not run the SQL (syntax, unknown table, failed cast, out of memory); detail is DuckDB's message. */
  queryError: (detail: string) => problem('queryError', detail, { errors: [{ path: '/sql', message: detail }] }),
  /**
   * 422 rather than 408: 408 means the client was too slow to send its request, and clients retry it on their own,
   * which would run the same slow query again. The request was understood and cannot succeed as it is.
   */
  queryTimeout: (detail: string, timeoutMs: number) =>
    problem('queryTimeout', detail, { errors: [{ path: '/sql', message: detail }], extra: { timeout_ms: timeoutMs } }),
  tooManyQueries: (detail: string) => problem('tooManyQueries', detail, { headers: { 'Retry-After': '1' } }),
  /**
   * 409, not 503: the service is healthy (readyz says so) and retrying will not help until somebody runs an export,
   * which is what the detail says to do (RFC 9110 section 15.5.10: a conflict with the state of the resource that the
   * user can resolve).
   */
  warehouseNotExported: (detail: string) => problem('warehouseNotExported', detail),
  internal: () => problem('internal', 'An unexpected error occurred.'),
  unavailable: (detail: string, cause?: unknown) =>
    problem('unavailable', detail, { headers: { 'Retry-After': '5' }, cause }),
} as const;

/** Every problem type the API answers with, for the /docs page (each `type` URI points at its entry there). */
export const PROBLEM_TYPES: readonly { slug: string; status: number; title: string; when: string }[] =
  Object.values(TYPES);

/** The answer to a domain error (src/errors.ts): each class has one problem type; the message is the detail. */
export function problemFromDomainError(error: unknown): HttpProblem | undefined {
  if (!(error instanceof DomainError)) return undefined;
  if (error instanceof ValidationFailed) {
    return problems.validation(error.errors, error.message, { partial: error.partial, extra: error.extra });
  }
  if (error instanceof NotFound) return problems.notFound(error.message);
  if (error instanceof Conflict) return problems.conflict(error.message, error.extra, error.errors);
  if (error instanceof Unprocessable) return problems.unprocessable(error.message, error.errors);
  if (error instanceof TooLarge) return problems.tooLarge(error.message);
  return undefined;
}

export function problemType(slug: string): string {
  return `/docs#problem-${slug}`;
}

/** Maps a database error to the HTTP answer a client should get, or undefined when it is our bug (500). */
export function problemFromDatabaseError(error: unknown): HttpProblem | undefined {
  if (isDatabaseUnavailable(error)) return problems.unavailable('The database is unreachable. Retry shortly.', error);
  const code = sqlState(error);
  if (code === undefined) return undefined;
  const constraint = (error as { constraint?: string }).constraint;
  switch (code) {
    case UNIQUE_VIOLATION:
    case EXCLUSION_VIOLATION:
      return problems.conflict(`The request conflicts with an existing record${constraint ? ` (${constraint})` : ''}.`);
    case FOREIGN_KEY_VIOLATION:
      return problems.unprocessable(`A referenced record does not exist${constraint ? ` (${constraint})` : ''}.`);
    case CHECK_VIOLATION:
    case NOT_NULL_VIOLATION:
      return problems.unprocessable(`The record breaks a database rule${constraint ? ` (${constraint})` : ''}.`);
    case SERIALIZATION_FAILURE:
    case DEADLOCK_DETECTED:
      return problems.conflict('A concurrent request changed the same records; retry.');
    case QUERY_CANCELED:
      return problems.unavailable('The database cancelled the statement (timeout). Retry shortly.', error);
    case PROTOCOL_VIOLATION:
      // The server could not read the message our data made (src/db/sqlstate.ts): this request's fault alone.
      return problems.unprocessable('A value was refused by the database.');
    default:
      if (code.startsWith(DATA_EXCEPTION_CLASS)) return problems.unprocessable('A value was refused by the database.');
      return undefined;
  }
}

/** Writes a problem+json response (RFC 9457 section 3). */
export function sendProblem(ctx: Context, problem: HttpProblem, requestId: string): void {
  ctx.status = problem.status;
  for (const [name, value] of Object.entries(problem.headers)) ctx.set(name, value);
  ctx.type = 'application/problem+json';
  ctx.body = {
    type: problemType(problem.slug),
    title: problem.title,
    status: problem.status,
    detail: problem.expose ? problem.message : 'An unexpected error occurred.',
    instance: ctx.path,
    request_id: requestId,
    ...(problem.errors ? { errors: problem.errors } : {}),
    ...problem.extra,
  };
}

/**
 * The outermost middleware: every error becomes problem+json. Unexpected errors are logged once, with the request
 * id and never with the body, and answered as a bare 500.
 */
export function problemMiddleware(logger: Logger) {
  return async function problemDetails(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined)
        throw problems.notFound(`No route for ${ctx.method} ${ctx.path}.`);
    } catch (error) {
      const requestId = String(ctx.state.requestId ?? '');
      let problem =
        error instanceof HttpProblem ? error : (problemFromDomainError(error) ?? problemFromDatabaseError(error));
      if (problem === undefined) {
        const status = (error as { status?: unknown }).status;
        if (typeof status === 'number' && status >= 400 && status < 500) {
          // koa's own errors (ctx.throw) carry status and expose.
          const expose = (error as { expose?: boolean }).expose === true;
          problem = new HttpProblem(
            status,
            TYPES.badRequest.slug,
            TYPES.badRequest.title,
            expose ? (error as Error).message : 'Bad request.',
          );
        } else {
          logger.error({ err: error, requestId, method: ctx.method, route: routeOf(ctx) }, 'unexpected error');
          problem = problems.internal();
        }
      } else if (problem.status === 503) {
        logger.warn({ requestId, err: error, method: ctx.method, route: routeOf(ctx) }, 'database unavailable');
      }
      sendProblem(ctx, problem, requestId);
    }
  };
}
