/**
 * The errors domain code throws (feedback, idempotency, validation): what went wrong in the product's own words.
 * Only src/http/problem.ts turns them into problem+json (docs/ARCHITECTURE.md "Layers"); each class there has one
 * problem type, and the detail is the message given here.
 */

/** One entry of a 422 response's `errors`: a JSON Pointer into the request body and what is wrong there. */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}

/** At most this many entries in a problem's `errors`; the rest are counted (`error_count`, `errors_truncated`). */
export const MAX_PROBLEM_ERRORS = 100;

interface DomainErrorOptions {
  readonly errors?: readonly FieldError[];
  readonly extra?: Record<string, unknown>;
}

/** The base of every domain error: a message safe to show the client, optional field errors and extra members. */
export abstract class DomainError extends Error {
  readonly errors?: readonly FieldError[];
  readonly extra?: Record<string, unknown>;

  constructor(message: string, options: DomainErrorOptions = {}) {
    super(message);
    this.errors = options.errors;
    this.extra = options.extra;
  }
}

/** The body breaks the schema or a rule the schema cannot say; `errors` names each path. */
export class ValidationFailed extends DomainError {
  override name = 'ValidationFailed';
  /** The errors are known to be incomplete (validation stopped early). */
  readonly partial: boolean;
  override readonly errors: readonly FieldError[];

  constructor(
    errors: readonly FieldError[],
    message = 'The request body does not match the schema.',
    options: { partial?: boolean; extra?: Record<string, unknown> } = {},
  ) {
    super(message, { errors, extra: options.extra });
    this.errors = errors;
    this.partial = options.partial === true;
  }
}

/** The record named by the request does not exist. */
export class NotFound extends DomainError {
  override name = 'NotFound';
}

/** The request conflicts with the state of a record (taken, already done, still running). */
export class Conflict extends DomainError {
  override name = 'Conflict';
}

/** Well-formed input the rules refuse. */
export class Unprocessable extends DomainError {
  override name = 'Unprocessable';
}

/** The input is larger than the product accepts. */
export class TooLarge extends DomainError {
  override name = 'TooLarge';
}
