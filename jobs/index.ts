import type { Config } from '../src/config.ts';
import type { JobDefinition } from './definition.ts';
import { exportJob } from './export.ts';
import { pruneAuditJob } from './pruneAudit.ts';
import { pruneIdempotencyJob } from './pruneIdempotency.ts';
import { pruneTombstonesJob } from './pruneTombstones.ts';

/** Every job the service knows, by name. */
export function jobDefinitions(config: Config): JobDefinition[] {
  return [exportJob(config), pruneIdempotencyJob, pruneTombstonesJob, pruneAuditJob];
}
