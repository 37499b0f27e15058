import type { DuckDBConnection } from '@duckdb/node-api';
import { lakeDayExpr } from './lakeColumns.ts';
import type { LakeChange } from './lakeTypes.ts';
import type { PendingMerge } from './tableCopy.ts';
import { ident } from '../shared/sqlText.ts';

/**
 * Called for an incrementally merged table just BEFORE its merge (the old row versions are still in the table, as
 * for captureRollupChanges): which lake partitions the merge changes. A partition changes when a row version enters
 * it (an insert, the new version of an update) or leaves it (the old version of an update, a delete); a version
 * that left makes the partition "erasing": its old file holds a row no longer in Postgres, so it is deleted as soon
 * as the new manifest is published (docs/decisions/0018). An update that moves a row to another day touches both.
 */
export async function captureLakeChange(conn: DuckDBConnection, merge: PendingMerge): Promise<LakeChange> {
  if (!merge.stage && !merge.gone) return { kind: 'unchanged' };
  const table = ident(merge.plan.table);
  const pk = ident(merge.plan.primaryKey!.name);
  const leaving = [
    merge.stage ? `select ${pk} from ${merge.stage}` : null,
    merge.gone ? `select id from ${merge.gone}` : null,
  ]
    .filter((s) => s !== null)
    .join(' union all ');
  const day = lakeDayExpr(merge.plan);
  if (day === null) {
    const reader = await conn.runAndReadAll(`select count(*)::integer as n from ${table} where ${pk} in (${leaving})`);
    return { kind: 'single', erasing: Number(reader.getRowObjects()[0]!.n) > 0 };
  }
  const entering = merge.stage ? `union all select ${day} as day, false as left_it from ${merge.stage}` : '';
  const reader = await conn.runAndReadAll(
    `select strftime(day, '%Y-%m-%d') as day, bool_or(left_it) as erasing from (
       select ${day} as day, true as left_it from ${table} where ${pk} in (${leaving})
       ${entering}
     ) where day is not null group by day`,
  );
  const days = new Map<string, boolean>();
  for (const row of reader.getRowObjects()) days.set(String(row.day), row.erasing === true);
  // A row whose day is null is written to no partition (the partition column is not null in every exported table).
  return { kind: 'days', days };
}
