import { isDatabaseUnavailable } from '../db/sqlstate.ts';
import { GroupQueue } from '../db/groupQueue.ts';
import { withOwnTransaction, type Pool, type PoolClient } from '../db/pool.ts';
import { IDEMPOTENCY_TTL_HOURS, lockId, runIdempotent, type IdempotencyClaim, type Reply } from './idempotency.ts';
import { problems } from './problem.ts';

/** One request of a group. */
export interface GroupItem<Row> {
  readonly claim: IdempotencyClaim;
  readonly row: Row;
}

interface Pending<Row> extends GroupItem<Row> {
  resolve(reply: Reply & { replayed: boolean }): void;
  reject(error: unknown): void;
}

interface Stored {
  api_key_id: string;
  key: string;
  fingerprint: string;
  status: number;
  response: unknown;
  fresh: boolean;
}

const keyOf = (claim: IdempotencyClaim) => `${claim.apiKeyId}\u0000${claim.key}`;

/**
 * Group commit for single-row writes sent with an Idempotency-Key (the hot path: votes). It keeps the exact
 * semantics of `runIdempotent` (the key claimed in the same transaction as the write, 409 while a request with the
 * key runs, replay, 422 on another body) but serves every request waiting at that moment in ONE transaction of
 * two round trips: the claim (advisory locks and the lookup of stored replies), then the rows, the stored replies
 * and COMMIT. Each request is answered only after that commit. If the group's write fails, every
 * request of the group is retried on its own through `runIdempotent`, so one bad row fails alone.
 */
export class IdempotentGroupWriter<Row> {
  private readonly groups: GroupQueue<Pending<Row>>;

  /**
   * @param writeAndCommit inserts the rows, stores each reply under its claim and sends COMMIT (see
   *   insertVotesAndReplies: one round trip).
   * @param writeOne writes one row inside a transaction it is given: the path a request takes alone.
   */
  constructor(
    private readonly pool: Pool,
    private readonly writeAndCommit: (client: PoolClient, items: readonly GroupItem<Row>[]) => Promise<Reply[]>,
    private readonly writeOne: (client: PoolClient, row: Row) => Promise<Reply>,
  ) {
    // One group at a time: requests that arrive meanwhile form the next group. Measured with 32 clients, one group
    // in flight beat two or four (fewer commits, no lock contention between groups) at lower latency.
    this.groups = new GroupQueue((group) => this.flush(group), 1, 200);
  }

  write(claim: IdempotencyClaim, row: Row): Promise<Reply & { replayed: boolean }> {
    return new Promise((resolve, reject) => this.groups.push({ claim, row, resolve, reject }));
  }

  private async flush(group: Pending<Row>[]): Promise<void> {
    try {
      await this.runGroup(group);
    } catch (error) {
      if (isDatabaseUnavailable(error)) {
        for (const p of group) p.reject(error);
        return;
      }
      // One bad row must not fail its neighbours: each request again on its own, exactly as without grouping.
      await Promise.all(
        group.map((p) =>
          runIdempotent(this.pool, p.claim, (client) => this.writeOne(client, p.row)).then(p.resolve, p.reject),
        ),
      );
    }
  }

  /** One transaction for the whole group; resolves each request once it has committed. */
  private async runGroup(group: Pending<Row>[]): Promise<void> {
    const outcomes = new Map<Pending<Row>, { reply?: Reply & { replayed: boolean }; error?: unknown }>();
    await withOwnTransaction(this.pool, async (client) => {
      // A key twice in one group: the first claims it; the others are judged once the lookup is known.
      const first = new Map<string, Pending<Row>>();
      const duplicates: Pending<Row>[] = [];
      for (const p of group) {
        if (first.has(keyOf(p.claim))) duplicates.push(p);
        else first.set(keyOf(p.claim), p);
      }
      const claimants = [...first.values()];
      // Lock ids are derived here and keys are escaped by the driver, so the claim can travel as one simple-query
      // batch; each statement of a batch takes its own snapshot, so the lookup sees replies committed before the locks.
      const locks = claimants.map((p, i) => `(${i}, ${lockId(p.claim)}::bigint)`).join(', ');
      const pairs = claimants
        .map((p) => `(${client.escapeLiteral(p.claim.apiKeyId)}::uuid, ${client.escapeLiteral(p.claim.key)})`)
        .join(', ');
      const results = (await client.query(
        `begin;
         select l.i, pg_try_advisory_xact_lock(l.id) as locked from (values ${locks}) as l(i, id) order by l.i;
         select api_key_id::text, key, fingerprint, status, response,
                created_at > now() - make_interval(hours => ${IDEMPOTENCY_TTL_HOURS}) as fresh
           from idempotency_keys where (api_key_id, key) in (${pairs})`,
      )) as unknown as { rows: Record<string, unknown>[] }[];
      const locked = new Set((results[1]?.rows ?? []).filter((r) => r.locked === true).map((r) => Number(r.i)));
      const stored = new Map(
        (results[2]?.rows as unknown as Stored[]).map((s) => [`${s.api_key_id}\u0000${s.key}`, s]),
      );
      const writers: Pending<Row>[] = [];
      const stale: Pending<Row>[] = [];
      const inFlight = () => ({
        error: problems.conflict(
          'A request with this Idempotency-Key is still being processed; retry after it completes.',
        ),
      });
      const judge = (p: Pending<Row>, previous: Stored) =>
        previous.fingerprint === p.claim.fingerprint
          ? { reply: { status: previous.status, body: previous.response, replayed: true } }
          : {
              error: problems.unprocessable(
                'This Idempotency-Key was already used with a different request; use a new key for a new request.',
              ),
            };
      claimants.forEach((p, i) => {
        const previous = stored.get(keyOf(p.claim));
        if (!locked.has(i)) outcomes.set(p, inFlight());
        else if (previous?.fresh) outcomes.set(p, judge(p, previous));
        else {
          writers.push(p);
          if (previous) stale.push(p);
        }
      });
      // A duplicate of a key with a committed reply is judged like any later request; of a key being written now,
      // or locked elsewhere, it finds the first one still running (PRODUCT.md: 409).
      for (const p of duplicates) {
        const previous = stored.get(keyOf(p.claim));
        const claimant = first.get(keyOf(p.claim))!;
        const settledReply = previous?.fresh && locked.has(claimants.indexOf(claimant));
        outcomes.set(p, settledReply ? judge(p, previous) : inFlight());
      }
      if (stale.length > 0) {
        await client.query(
          `delete from idempotency_keys where (api_key_id, key) in (${stale
            .map((p) => `(${client.escapeLiteral(p.claim.apiKeyId)}::uuid, ${client.escapeLiteral(p.claim.key)})`)
            .join(', ')})`,
        );
      }
      if (writers.length > 0) {
        const replies = await this.writeAndCommit(client, writers);
        writers.forEach((p, i) => outcomes.set(p, { reply: { ...replies[i]!, replayed: false } }));
      } else {
        await client.query('commit');
      }
    });
    for (const [p, outcome] of outcomes) {
      if (outcome.reply) p.resolve(outcome.reply);
      else p.reject(outcome.error);
    }
  }
}
