/**
 * The SQLSTATE codes the service recognises, by name (PostgreSQL docs, Appendix A "PostgreSQL Error Codes").
 * They are mapped to HTTP in one place: src/http/problem.ts.
 */
export const UNIQUE_VIOLATION = '23505'; // unique_violation
export const FOREIGN_KEY_VIOLATION = '23503'; // foreign_key_violation
export const CHECK_VIOLATION = '23514'; // check_violation
export const NOT_NULL_VIOLATION = '23502'; // not_null_violation
export const EXCLUSION_VIOLATION = '23P01'; // exclusion_violation
export const RAISE_EXCEPTION = 'P0001'; // raise_exception
export const SERIALIZATION_FAILURE = '40001'; // serialization_failure
export const DEADLOCK_DETECTED = '40P01'; // deadlock_detected
export const QUERY_CANCELED = '57014'; // query_canceled
export const ADMIN_SHUTDOWN = '57P01'; // admin_shutdown
export const CRASH_SHUTDOWN = '57P02'; // crash_shutdown
export const CANNOT_CONNECT_NOW = '57P03'; // cannot_connect_now
export const TOO_MANY_CONNECTIONS = '53300'; // too_many_connections
export const IDLE_IN_TRANSACTION_TIMEOUT = '25P03'; // idle_in_transaction_session_timeout

/** Class 22, data_exception: a value the database refuses (bad uuid text, out of range, invalid json...). */
export const DATA_EXCEPTION_CLASS = '22';
/** Class 08, connection_exception. */
export const CONNECTION_EXCEPTION_CLASS = '08';
/**
 * protocol_violation: in class 08, but the server answers it to a message it could not read, which data can cause
 * (a NUL inside a simple-query text ends the string early: "invalid message format"). The connection stays up, so it
 * is the request's fault, not an outage.
 */
export const PROTOCOL_VIOLATION = '08P01';

const UNAVAILABLE_CODES = new Set([ADMIN_SHUTDOWN, CRASH_SHUTDOWN, CANNOT_CONNECT_NOW, TOO_MANY_CONNECTIONS]);
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Connection terminated unexpectedly',
  'Cannot use a pool after calling end',
  'Client was closed and is not queryable',
  // pg's own query_timeout (src/db/pool.ts): the server did not answer in time (frozen, or the network is gone).
  'Query read timeout',
];

export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * True when the error means "the database is not reachable right now" (a lost or refused connection, a server
 * shutting down, a timeout waiting for it) rather than "this request is wrong". Only these are 503; everything the
 * server refuses because of the data (class 22, 23, a protocol violation) is the request's own 4xx.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (UNAVAILABLE_CODES.has(code) || UNAVAILABLE_ERRNOS.has(code)) return true;
      if (code.startsWith(CONNECTION_EXCEPTION_CLASS) && code.length === 5 && code !== PROTOCOL_VIOLATION) return true;
    }
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((m) => message.includes(m))) return true;
    if (e instanceof AggregateError && e.errors.some((inner) => isDatabaseUnavailable(inner))) return true;
  }
  return false;
}
