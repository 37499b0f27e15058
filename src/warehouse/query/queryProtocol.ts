import type { QueryOutcome } from './queryFailure.ts';
import type { QueryLimits, SandboxResult } from './sandbox.ts';

/** What the server sends a query process (queryWorker.ts): one query at a time. */
export interface WorkerRequest {
  readonly id: number;
  readonly sql: string;
  readonly limits: QueryLimits;
}

/** What a query process answers: a result, a failure for the client, or a fault that is not the SQL's. */
export interface WorkerReply {
  readonly id: number;
  readonly result?: SandboxResult;
  readonly failure?: { readonly outcome: Exclude<QueryOutcome, 'ok'>; readonly message: string };
  /** A scrubbed message (safeErrorMessage): no SQL, no values. */
  readonly fault?: string;
  /** Settings that differ from what the process set: it exits after this reply, and is replaced. */
  readonly settingsChanged: string[];
  /** The process's writable memory after the query (VmData; 0 where /proc is not there). */
  readonly memoryBytes: number;
}
