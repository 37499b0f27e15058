import { execFile } from 'node:child_process';
import { close as closeCallback, constants as fsConstants, createWriteStream, open as openCallback } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import type { DuckDBConnection } from '@duckdb/node-api';
import { to as copyTo } from 'pg-copy-streams';
import type { PoolClient } from '../../db/pool.ts';
import { literal } from '../shared/sqlText.ts';

const execFileAsync = promisify(execFile);
const openAsync = promisify(openCallback) as (file: string, flags: number) => Promise<number>;
const fsClose = promisify(closeCallback);

/**
 * CSV as Postgres writes it (COPY ... WITH (FORMAT csv)): comma, double quotes doubled inside quoted fields, NULL an
 * unquoted empty field and the empty string `""` (allow_quoted_nulls=false keeps the two apart). Every field is read
 * as VARCHAR and cast by the plan's DuckDB expression, so nothing is sniffed. A row is at most about twice a 1 MB
 * request body (CSV doubles quotes); 4 MB leaves room. The buffer is no larger than the longest line (DuckDB's
 * minimum): DuckDB holds a few buffers at once, so a smaller one lowers the exporter's loading peak (measured with
 * `npm run bench -- export`).
 */
const CSV_OPTIONS = `header = false, auto_detect = false, delim = ',', quote = '"', escape = '"', new_line = '\\n',
  allow_quoted_nulls = false, max_line_size = 4194304, buffer_size = 4194304`;

export interface CopyIntoDuckDB {
  readonly client: PoolClient;
  /** `copy (select ...) to stdout with (format csv)`. */
  readonly copySql: string;
  readonly duck: DuckDBConnection;
  /** The CSV field names, in order (all read as VARCHAR). */
  readonly fields: readonly string[];
  /** The DuckDB statement consuming `source`, a `read_csv(...)` table expression. */
  readonly statement: (source: string) => string;
  /** The export's pipe (makeRowPipe). */
  readonly pipe: RowPipe;
  /** Called with an approximate running row count (newlines seen) while the rows stream. */
  readonly onRows?: (rows: number) => void;
  readonly signal?: AbortSignal;
}

export interface CopyResult {
  /** Rows Postgres sent (the COPY command tag). */
  readonly rows: number;
  /** Rows the DuckDB statement changed. */
  readonly duckRows: number;
}

/** Where the rows pass: a named pipe, reused by every COPY of one export, or a spill file where pipes are missing. */
export interface RowPipe {
  readonly path: string;
  readonly kind: 'fifo' | 'file';
}

/** Makes the export's pipe in workDir (one `mkfifo` per export; a FIFO can be opened again after each COPY). */
export async function makeRowPipe(workDir: string): Promise<RowPipe> {
  const file = path.join(workDir, 'rows.csv');
  await fs.rm(file, { force: true });
  if (process.platform !== 'win32') {
    try {
      await execFileAsync('mkfifo', ['-m', '600', file]);
      return { path: file, kind: 'fifo' };
    } catch {
      // no mkfifo (or a filesystem without FIFOs): spill through a file instead
    }
  }
  return { path: file, kind: 'file' };
}

/** Counts newlines as the bytes pass, for progress only (a quoted newline inside a text counts too). */
function lineCounter(onRows: (rows: number) => void): Transform {
  let lines = 0;
  let last = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      const now = Date.now();
      if (now - last >= 200) {
        last = now;
        onRows(lines);
      }
      callback(null, chunk);
    },
  });
}

/**
 * Aborts a COPY that can no longer be consumed. pg-copy-streams stops reading the connection when its stream is
 * destroyed, so the connection would wait for ever; destroying the socket fails the transaction's remaining queries
 * and withTransaction then releases the client as broken.
 */
function abandonConnection(client: PoolClient): void {
  // The client reports the lost connection as an 'error' event later; it is discarded, so nothing is left to handle.
  client.on('error', () => {});
  client.connection.stream.destroy();
}

/** Opens the write end of the pipe once DuckDB has opened the read end, without blocking a libuv thread. */
async function openWriteEnd(fifo: string, reader: Promise<unknown>, signal?: AbortSignal): Promise<Writable> {
  let settled = false;
  void reader.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let attempt = 0; ; attempt++) {
    signal?.throwIfAborted();
    try {
      const fd = await openAsync(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
      // A libuv pipe on the fd: non-blocking writes with backpressure, closed with the socket.
      return new net.Socket({ fd, readable: false, writable: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw error;
      if (settled) {
        await reader; // DuckDB finished without opening the pipe: surface its error
        throw new Error('DuckDB finished without reading the rows');
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(1 + attempt, 20)));
    }
  }
}

/**
 * Makes sure DuckDB is not left blocked opening the pipe when the export gives up before writing (an abort): an
 * open-and-close of the write end hands it an empty input, and its statement ends.
 */
async function releaseReader(fifo: string, reader: Promise<unknown>): Promise<void> {
  let settled = false;
  const done = reader.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (!settled) {
    try {
      await fsClose(await openAsync(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK));
    } catch {
      // no reader yet (ENXIO): DuckDB has not reached the pipe, or is done
    }
    await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 5))]);
  }
}

/**
 * Streams one COPY TO STDOUT from Postgres into a DuckDB statement, with the memory of a pipe buffer: the rows go
 * through a named pipe that DuckDB's CSV reader consumes while Postgres is still sending (both run at once, so the
 * export costs about as long as the COPY itself). Where named pipes are unavailable, the rows are spilled to a file
 * in workDir first and read from there (still streaming: nothing is held in the Node heap).
 */
export async function copyIntoDuckDB(job: CopyIntoDuckDB): Promise<CopyResult> {
  const columns = job.fields.map((f) => `${literal(f)}: 'VARCHAR'`).join(', ');
  const source = (file: string) => `read_csv(${literal(file)}, columns = {${columns}}, ${CSV_OPTIONS})`;
  const file = job.pipe.path;
  const onClientError = () => {};
  job.client.on('error', onClientError);
  try {
    if (job.pipe.kind === 'fifo') {
      const duckRun = job.duck.run(job.statement(source(file)));
      duckRun.catch(() => {}); // observed below; avoid an unhandled rejection while the pipe opens
      const copy = job.client.query(copyTo(job.copySql));
      let sink: Writable;
      try {
        sink = await openWriteEnd(file, duckRun, job.signal);
      } catch (error) {
        copy.destroy();
        abandonConnection(job.client);
        await releaseReader(file, duckRun);
        throw error;
      }
      const streamed = job.onRows
        ? pipeline(copy, lineCounter(job.onRows), sink, { signal: job.signal })
        : pipeline(copy, sink, { signal: job.signal });
      const [streamResult, duckResult] = await Promise.allSettled([streamed, duckRun]);
      if (streamResult.status === 'rejected' || duckResult.status === 'rejected') {
        if (streamResult.status === 'rejected' && !copy.readableEnded) abandonConnection(job.client);
        if (duckResult.status === 'rejected' && !copy.readableEnded) abandonConnection(job.client);
        // A Postgres failure truncates the pipe, which DuckDB may read as a clean end: the Postgres error wins.
        throw streamResult.status === 'rejected' ? streamResult.reason : (duckResult as PromiseRejectedResult).reason;
      }
      return { rows: copy.rowCount, duckRows: Number(duckResult.value.rowsChanged) };
    }
    const copy = job.client.query(copyTo(job.copySql));
    try {
      const target = createWriteStream(file);
      await (job.onRows
        ? pipeline(copy, lineCounter(job.onRows), target, { signal: job.signal })
        : pipeline(copy, target, { signal: job.signal }));
    } catch (error) {
      if (!copy.readableEnded) abandonConnection(job.client);
      throw error;
    }
    const result = await job.duck.run(job.statement(source(file)));
    return { rows: copy.rowCount, duckRows: Number(result.rowsChanged) };
  } finally {
    job.client.off('error', onClientError);
    if (job.pipe.kind === 'file') await fs.rm(file, { force: true });
  }
}
