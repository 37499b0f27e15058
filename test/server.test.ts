import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/auth/keys.ts';
import { configFromEnv } from '../src/config.ts';
import { serve, type RunningServer } from '../src/server.ts';
import { PII_SECRET } from './helpers/app.ts';
import { createTestDatabase, quietLogger, type TestDatabase } from './helpers/db.ts';

let db: TestDatabase;
let dataDir: string;
let server: RunningServer;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), 'fw-serve-'));
  const config = configFromEnv({
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    PII_HASH_SECRET: PII_SECRET,
    LOG_LEVEL: 'silent',
    HTTP_HEADERS_TIMEOUT_MS: '1000',
    HTTP_REQUEST_TIMEOUT_MS: '2000',
  });
  server = await serve(config, quietLogger, { port: 0, jobs: false, announce: () => {} });
});
afterAll(async () => {
  await server.close();
  await db.drop();
  await rm(dataDir, { recursive: true, force: true });
});

/** Sends `text` on a raw socket and resolves with what the server answered when it closed the connection. */
function slowClient(text: string, keepSending = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, '127.0.0.1');
    let answer = '';
    let drip: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => {
      socket.destroy();
      reject(new Error('the server kept the slow connection open for 15 s'));
    }, 15_000);
    socket.on('connect', () => {
      socket.write(text);
      // A slow sender: one byte of body every 200 ms, never finishing.
      if (keepSending) drip = setInterval(() => socket.write('x'), 200);
    });
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(guard);
      clearInterval(drip);
      resolve(answer);
    });
  });
}

describe('serve: slow clients', () => {
  it('a client that never finishes its headers gets a 408 and its connection closed (HTTP_HEADERS_TIMEOUT_MS)', async () => {
    const answer = await slowClient('POST /api/v1/votes HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it('a client that sends its body byte by byte is cut off (HTTP_REQUEST_TIMEOUT_MS)', async () => {
    const { key } = await createApiKey(db.pool, 'slow-sender', ['ingest']);
    const answer = await slowClient(
      'POST /api/v1/votes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        `Authorization: Bearer ${key}\r\nContent-Length: 100000\r\n\r\n`,
      true,
    );
    // The handler was reading the body when the time ran out: Node answers 408 and closes the connection.
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it('a normal request is still served', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
