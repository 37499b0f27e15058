import { pruneIdempotencyKeys } from '../src/idempotency/prune.ts';
import type { JobDefinition } from './definition.ts';

/** Hourly: deletes stored Idempotency-Key replies older than their 24 h window (src/idempotency/prune.ts). */
export const pruneIdempotencyJob: JobDefinition = {
  name: 'prune-idempotency',
  description: 'Delete stored Idempotency-Key replies older than 24 hours',
  schedule: '17 * * * *',
  async run({ pool }) {
    return { rows: { idempotency_keys: await pruneIdempotencyKeys(pool) } };
  },
};
