import pino, { type Logger } from 'pino';

export type { Logger };

// Postgres puts row values into `detail` ("Failing row contains (...)", "Key (x)=(...) already exists") and `where`;
// those may be personal, so they never reach a log. Causes are walked the same way.
const UNSAFE_ERROR_FIELDS = ['detail', 'where', 'internalQuery', 'parameters', 'query', 'values', 'body'];

function safeError(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
  return scrub(serialized, 0);
}

function scrub(value: Record<string, unknown>, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (UNSAFE_ERROR_FIELDS.includes(key)) continue;
    out[key] =
      key === 'cause' && field && typeof field === 'object' && depth < 5
        ? scrub(field as Record<string, unknown>, depth + 1)
        : field;
  }
  return out;
}

/**
 * JSON logs on stdout (or the given destination). Request bodies and PII never reach a log: the HTTP logger writes
 * only method, route, status, duration and request id, and the serializers below drop anything else a caller might
 * pass by mistake.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'feedback-warehouse' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['body', 'req.body', 'request.body', 'headers.authorization', 'req.headers.authorization', 'email'],
        censor: '[redacted]',
      },
      serializers: { err: safeError },
    },
    destination,
  );
}
