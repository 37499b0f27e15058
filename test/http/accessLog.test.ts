import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const lines: string[] = [];
let app: TestApp;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  app = await startTestApp({}, undefined, createLogger('info', sink));
});
afterAll(() => app.close());

describe('the access log', () => {
  it('names the route template, never the path: a conversation id does not reach a log line', async () => {
    const admin = await app.key('admin');
    const id = 'conv-of-ann.rossi-7f3a';
    const body = { conversation_id: id, vote: 'down', comment: 'write to ann.rossi@example.com' };
    expect((await app.request('POST', '/api/v1/votes', { key: admin, body })).status).toBe(201);
    expect((await app.request('GET', `/api/v1/conversations/${id}/votes`, { key: admin })).status).toBe(200);
    expect((await app.request('DELETE', `/api/v1/conversations/${id}`, { key: admin })).status).toBe(204);
    expect((await app.request('GET', `/nowhere/${id}`)).status).toBe(404);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const requests = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
    expect(requests.map((r) => r.route)).toEqual(
      expect.arrayContaining([
        '/api/v1/votes',
        '/api/v1/conversations/{conversation_id}/votes',
        '/api/v1/conversations/{conversation_id}',
        '(unmatched)',
      ]),
    );
    for (const line of lines) expect(line).not.toMatch(/ann\.rossi|7f3a/);
  });
});
