import { pruneTombstones, TOMBSTONE_RETENTION_DAYS } from '../src/warehouse/export/tombstones.ts';
import type { JobDefinition } from './definition.ts';

/** Daily, after the nightly export: deletes the tombstones every recently exporting warehouse has already applied. */
export const pruneTombstonesJob: JobDefinition = {
  name: 'prune-tombstones',
  description: `Delete delete-markers (tombstones) that every warehouse exporting in the last ${TOMBSTONE_RETENTION_DAYS} days has applied`,
  schedule: '41 3 * * *',
  async run({ pool }) {
    const result = await pruneTombstones(pool);
    return { rows: { tombstones: result.deleted }, detail: { pruned_below: result.prunedBelow } };
  },
};
