import type { Config } from '../src/config.ts';
import type { JobDefinition } from './definition.ts';
import { exportJob } from './export.ts';
import { pruneAuditJob } from './prune-audit.ts';
import { pruneIdempotencyJob } from './prune-idempotency.ts';
import { pruneTombstonesJob } from './prune-tombstones.ts';

/** Every job the service knows, by name. */
export function jobDefinitions(config: Config): JobDefinition[] {
  return [exportJob(config), pruneIdempotencyJob, pruneTombstonesJob, pruneAuditJob];
}
