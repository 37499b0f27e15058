import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/keys.ts';
import { connectionLost, createPool, withOwnTransaction, withTransaction, type Pool } from '../../src/db/pool.ts';
import { isDatabaseUnavailable } from '../../src/db/sqlstate.ts';
import type { VoteRow } from '../../src/feedback/votes/service.ts';
import { VoteWriter } from '../../src/feedback/votes/writer.ts';
import { fingerprint } from '../../src/idempotency/store.ts';
import { problemFromDatabaseError } from '../../src/http/problem.ts';
import { createTestDatabase, quietLogger, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
let admin: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase();
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
});
afterAll(async () => {
  await admin.end();
  await db.drop();
});

/** Ends a session from outside, as `pg_ctl stop -m fast` does to every session (57P01 admin_shutdown). */
async function terminate(pid: number): Promise<void> {
  await admin.query('select pg_terminate_backend($1::int)', [pid]);
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const row = (conversation: string, comment: string | null = null): VoteRow => ({
  conversation_id: conversation,
  vote: 'up',
  query: null,
  response: null,
  reasons: [],
  comment,
  expert_ids: [],
  email_hash: null,
  metadata: '{}',
});

/** A pool of the test's own, ended by the test: the kills must not reach the shared test pool. */
const ownPool = (): Pool =>
  createPool({ connectionString: db.url, max: 2, idleInTransactionTimeoutMs: 0, logger: quietLogger });

/** The error fn's promise rejects with, or null. */
const failureOf = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => null,
    (error: unknown) => error,
  );

describe('a connection lost while a client is checked out', () => {
  it('between two statements of a transaction: the transaction fails as "unavailable", the process lives, the pool recovers', async () => {
    const pool = ownPool();
    try {
      const failure = await failureOf(
        withTransaction(pool, async (client) => {
          const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
          // The client is idle inside its transaction, checked out of the pool (pg-pool's own listener is gone): the
          // server ends the session, and pg emits 'error' on the client. Without a listener that kills the process.
          await terminate(rows[0]!.pid);
          await until(() => connectionLost(client));
          await client.query('select 2');
        }),
      );
      expect(failure).not.toBeNull();
      expect(isDatabaseUnavailable(failure)).toBe(true);
      expect(problemFromDatabaseError(failure)?.status).toBe(503);
      // The broken client was destroyed, not returned: the next checkout works.
      expect((await pool.query('select 1 as one')).rows[0].one).toBe(1);
      expect(pool.totalCount).toBeLessThanOrEqual(1);
    } finally {
      await pool.end();
    }
  });

  it('while a statement of a transaction runs: it fails as "unavailable", and the next transaction succeeds', async () => {
    const pool = ownPool();
    try {
      const failure = await failureOf(
        withOwnTransaction(pool, async (client) => {
          await client.query('begin');
          const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
          // Settled at once, so the rejection is handled before the test awaits it.
          const running = failureOf(client.query('select pg_sleep(5)'));
          await new Promise((resolve) => setTimeout(resolve, 100));
          await terminate(rows[0]!.pid);
          const error = await running;
          if (error !== null) throw error;
        }),
      );
      expect(isDatabaseUnavailable(failure)).toBe(true);
      await withTransaction(pool, (client) => client.query('select 1'));
    } finally {
      await pool.end();
    }
  });
});

describe('a value the server refuses is not an outage', () => {
  it('a NUL inside a keyed vote group fails that vote alone with a 422; the others of its group are written', async () => {
    const { apiKey } = await createApiKey(db.pool, 'pool-test', ['ingest']);
    const writer = new VoteWriter(db.pool);
    // Straight to the writer, past the schema's own NUL check: the group's one-statement write carries the value
    // inline, and Postgres refuses the message (08P01 "invalid message format") while the connection stays up.
    const requests = Array.from({ length: 20 }, (_, i) => {
      const vote = row(`nul-group-${i}`, i === 7 ? 'before\u0000after' : `comment ${i}`);
      const claim = { apiKeyId: apiKey.id, key: `nul-${i}`, fingerprint: fingerprint('POST', '/api/v1/votes', vote) };
      return writer.writeIdempotent(claim, vote);
    });
    const results = await Promise.allSettled(requests);
    const statuses = results.map((r) =>
      r.status === 'fulfilled' ? r.value.status : (problemFromDatabaseError(r.reason)?.status ?? 500),
    );
    expect(statuses).toEqual(statuses.map((_, i) => (i === 7 ? 422 : 201)));
    const { rows } = await db.pool.query(
      "select count(*)::int as n from votes where conversation_id like 'nul-group-%'",
    );
    expect(rows[0].n).toBe(19);
  });
});
