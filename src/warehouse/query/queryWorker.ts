// The entry of one query process (querySandbox.ts starts it under an OS memory limit): it opens the published
// warehouse in a locked-down DuckDB instance of its own (sandbox.ts) and runs one query at a time, sent over the IPC
// channel. A crash here ends this process only; the server answers the query and starts another.
import { changedSettings, runOnConnection, sandboxReader, settingsFingerprint, type QueryLimits } from './sandbox.ts';
import { QueryFailure } from './queryFailure.ts';
import { safeErrorMessage } from '../shared/safeError.ts';
import { readFileSync } from 'node:fs';
import type { WorkerReply, WorkerRequest } from './queryProtocol.ts';

const warehouseDir = process.argv[2];
if (!warehouseDir || !process.send) {
  process.stderr.write('usage: a query process is started by QuerySandbox, with the warehouse directory\n');
  process.exit(2);
}
const reader = sandboxReader(warehouseDir);
/** The settings as lockDown left them, read before this process ran any query. */
let baseline: Map<string, string> | null = null;

async function answer(sql: string, limits: QueryLimits): Promise<Omit<WorkerReply, 'id' | 'memoryBytes'>> {
  try {
    const outcome = await reader.withConnection(async (conn) => {
      baseline ??= await settingsFingerprint(conn);
      let reply: Omit<WorkerReply, 'id' | 'settingsChanged' | 'memoryBytes'>;
      try {
        reply = { result: await runOnConnection(conn, sql, limits) };
      } catch (error) {
        if (!(error instanceof QueryFailure)) throw error;
        reply = { failure: { outcome: error.outcome, message: error.message } };
      }
      // The query's own connection sees session settings as well as the instance's (SET cannot run: lockDown).
      const changed = changedSettings(baseline, await settingsFingerprint(conn));
      return { ...reply, settingsChanged: changed };
    });
    if (outcome === null) {
      const message =
        'The warehouse has not been exported yet: run `feedback-warehouse export` (or POST /api/v1/jobs/export/run) first.';
      return { failure: { outcome: 'not_exported', message }, settingsChanged: [] };
    }
    return outcome;
  } catch (error) {
    // Not the SQL's fault (the file, the library): scrubbed, as it may quote the SQL.
    return { fault: safeErrorMessage(error), settingsChanged: [] };
  }
}

/** VmData of this process (what RLIMIT_DATA counts), in bytes; 0 off Linux. */
function memoryBytes(): number {
  try {
    const kb = /^VmData:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kb === undefined ? 0 : Number(kb) * 1024;
  } catch {
    return 0;
  }
}

process.on('message', (message: WorkerRequest) => {
  void answer(message.sql, message.limits).then((reply) => {
    // A changed setting outlives the query: the parent discards this process on reading settingsChanged.
    process.send!({ id: message.id, ...reply, memoryBytes: memoryBytes() } satisfies WorkerReply);
  });
});
// The server went away: so does this process.
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
