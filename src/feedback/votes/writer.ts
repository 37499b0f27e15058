import { isDatabaseUnavailable } from '../../db/sqlstate.ts';
import { GroupQueue } from '../../db/groupQueue.ts';
import type { Pool } from '../../db/pool.ts';
import type { IdempotencyClaim, Reply } from '../../idempotency/store.ts';
import { IdempotentGroupWriter } from '../../idempotency/groupWriter.ts';
import { claimAndInsertVotes } from './claimedInsert.ts';
import { insertVote, insertVotes, type VoteCreated, type VoteRow } from './service.ts';

interface Pending {
  readonly row: VoteRow;
  resolve(created: VoteCreated): void;
  reject(error: unknown): void;
}

/**
 * Group commit for single votes sent without an Idempotency-Key. While `maxInFlight` inserts are already running,
 * further votes wait and go together in the next multi-row insert: one statement and one commit for many requests,
 * which is what lets the HTTP path keep up with a raw single-row insert loop. Nothing changes for the client: each
 * request is answered only after the statement holding its row has committed, with its own id; under light load
 * every vote is inserted at once, alone, with no added latency.
 */
export class VoteWriter {
  private readonly plain: GroupQueue<Pending>;
  private readonly idempotent: IdempotentGroupWriter<VoteRow>;

  constructor(
    private readonly pool: Pool,
    maxInFlight = 2,
  ) {
    this.plain = new GroupQueue((batch) => this.flush(batch), maxInFlight, 500);
    this.idempotent = new IdempotentGroupWriter(pool, claimAndInsertVotes, async (client, row) => ({
      status: 201,
      body: await insertVote(client, row),
    }));
  }

  /** A vote under an Idempotency-Key: grouped the same way, with the key claimed in the group's transaction. */
  writeIdempotent(claim: IdempotencyClaim, row: VoteRow): Promise<Reply & { replayed: boolean }> {
    return this.idempotent.write(claim, row);
  }

  write(row: VoteRow): Promise<VoteCreated> {
    return new Promise<VoteCreated>((resolve, reject) => this.plain.push({ row, resolve, reject }));
  }

  private async flush(batch: Pending[]): Promise<void> {
    try {
      const created =
        batch.length === 1
          ? [await insertVote(this.pool, batch[0]!.row)]
          : await insertVotes(
              this.pool,
              batch.map((p) => p.row),
            );
      batch.forEach((p, i) => p.resolve(created[i]!));
    } catch (error) {
      if (batch.length === 1 || isDatabaseUnavailable(error)) {
        for (const p of batch) p.reject(error);
        return;
      }
      // One bad row must not fail its neighbours: retry each on its own, so only the bad one gets the error.
      await Promise.all(
        batch.map((p) =>
          insertVote(this.pool, p.row).then(
            (created) => p.resolve(created),
            (rowError: unknown) => p.reject(rowError),
          ),
        ),
      );
    }
  }
}
