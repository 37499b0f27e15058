import fs from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type { Logger } from '../log.ts';
import { isAlive } from '../processAlive.ts';

/**
 * Embedded Postgres: PGlite kept under DATA_DIR/pg and served on 127.0.0.1 by pglite-socket, so the service and the
 * CLI use the same `pg` code path with no server installed. One process owns the PGlite directory (a pid file guards
 * it); other processes of ours (a CLI `export` while `serve` runs) connect to the owner's socket.
 */
export interface EmbeddedDatabase {
  readonly url: string;
  /** True when this process started PGlite (and must stop it). */
  readonly owned: boolean;
  close(): Promise<void>;
}

interface ServerFile {
  readonly pid: number;
  readonly port: number;
}

async function readServerFile(file: string): Promise<ServerFile | null> {
  try {
    const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as ServerFile;
    return Number.isInteger(parsed.pid) && Number.isInteger(parsed.port) ? parsed : null;
  } catch {
    return null;
  }
}

function urlFor(port: number): string {
  return `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`;
}

export async function openEmbeddedDatabase(dataDir: string, logger: Logger): Promise<EmbeddedDatabase> {
  await fs.mkdir(dataDir, { recursive: true });
  const serverFile = path.join(dataDir, 'pg.server.json');
  const running = await readServerFile(serverFile);
  if (running && running.pid !== process.pid && isAlive(running.pid)) {
    logger.debug({ port: running.port }, 'using the embedded postgres of a running feedback-warehouse process');
    return { url: urlFor(running.port), owned: false, close: async () => {} };
  }
  const db = await PGlite.create(path.join(dataDir, 'pg'));
  // pglite-socket multiplexes connections at the query level and keeps a transaction's queries on its connection.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 32 });
  await server.start();
  const port = Number(server.getServerConn().split(':').pop());
  await fs.writeFile(serverFile, JSON.stringify({ pid: process.pid, port } satisfies ServerFile));
  logger.info({ dir: path.join(dataDir, 'pg') }, 'embedded postgres (PGlite) started');
  return {
    url: urlFor(port),
    owned: true,
    async close() {
      await server.stop();
      await db.close();
      const current = await readServerFile(serverFile);
      if (current?.pid === process.pid) await fs.rm(serverFile, { force: true });
    },
  };
}
