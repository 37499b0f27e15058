import { Type, type Static } from '@sinclair/typebox';
import {
  getApiKey,
  keyJson,
  KeyAlreadyRevoked,
  KeyNotFound,
  LastAdminKey,
  listApiKeys,
  revokeApiKey,
  rotateApiKey,
} from '../../auth/keyAdmin.ts';
import { createApiKey, KEY_NAME_PATTERN, KeyNameTaken, SCOPES } from '../../auth/keys.ts';
import { problems } from '../problem.ts';
import type { Db } from '../../db/pool.ts';
import { defineRoutes, type HandlerInput } from '../routeDef.ts';
import type { Reply } from '../../idempotency/store.ts';

// The keys API (admin scope; README "Key rotation"). A name is unique among active keys; the clear key is shown in
// the 201 that creates it and nowhere else: it is not stored, not even for an Idempotency-Key replay, which answers
// the same status and body with "key": null.

const KeyInfoSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  scopes: Type.Array(Type.Unsafe<string>({ type: 'string', enum: [...SCOPES] })),
  created_at: Type.String({ format: 'date-time' }),
  revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'When a server last authenticated a request with the key (to about a minute); null: never',
  }),
});

const ShownKey = Type.Union([Type.String({ pattern: '^fw_' }), Type.Null()], {
  description: 'The new key in clear text, shown once; null when an Idempotency-Key replays the answer',
});

const CreatedKey = Type.Intersect([KeyInfoSchema, Type.Object({ key: ShownKey })]);
const RotatedKey = Type.Intersect([KeyInfoSchema, Type.Object({ key: ShownKey, replaced: KeyInfoSchema })]);

const KeyCreate = Type.Object(
  {
    name: Type.String({
      pattern: KEY_NAME_PATTERN,
      description: 'Unique among active keys (409 when taken): letters, digits and . _ @ -, at most 100',
    }),
    scopes: Type.Array(Type.Unsafe<(typeof SCOPES)[number]>({ type: 'string', enum: [...SCOPES] }), {
      minItems: 1,
      maxItems: SCOPES.length,
      uniqueItems: true,
    }),
  },
  { additionalProperties: false },
);
type KeyCreate = Static<typeof KeyCreate>;

// Any name an older key may have: revoking or rotating is how such a key is retired.
const NameParams = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 100 }) },
  { additionalProperties: false },
);

/** Maps the key domain's errors to problem+json; others pass through to the error middleware. */
function keyProblem(error: unknown): unknown {
  if (error instanceof KeyNotFound) return problems.notFound(error.message);
  if (error instanceof KeyAlreadyRevoked || error instanceof LastAdminKey || error instanceof KeyNameTaken) {
    return problems.conflict(error.message);
  }
  return error;
}

/**
 * Runs a write that makes a new key: the stored (replayable) reply carries "key": null, and the clear key is added to
 * this answer only when the write ran now.
 */
async function withShownKey(
  write: HandlerInput['write'],
  fn: (db: Db) => Promise<{ reply: Reply; key: string }>,
): Promise<Reply> {
  let shown: string | null = null;
  try {
    const reply = await write(async (db) => {
      const made = await fn(db);
      shown = made.key;
      return made.reply;
    });
    return shown === null ? reply : { ...reply, body: { ...(reply.body as object), key: shown } };
  } catch (error) {
    throw keyProblem(error);
  }
}

export const keyRoutes = defineRoutes(
  {
    operationId: 'listKeys',
    method: 'GET',
    path: '/api/v1/keys',
    tag: 'keys',
    summary: 'Every API key: active ones by name, then revoked ones (never a key or its hash)',
    scope: 'admin',
    responses: { 200: { description: 'The keys', schema: Type.Object({ keys: Type.Array(KeyInfoSchema) }) } },
    async handle({ services }) {
      return { status: 200, body: { keys: (await listApiKeys(services.pool)).map(keyJson) } };
    },
  },
  {
    operationId: 'createKey',
    method: 'POST',
    path: '/api/v1/keys',
    tag: 'keys',
    summary: 'Create an API key; the answer shows it once',
    description: '409 when an active key already has the name.',
    scope: 'admin',
    body: KeyCreate,
    responses: {
      201: { description: 'Created', schema: CreatedKey },
      409: { description: 'An active key has this name' },
      422: { description: 'The body is invalid' },
    },
    async handle({ body, write }) {
      const { name, scopes } = body as KeyCreate;
      return withShownKey(write, async (db) => {
        const { key, apiKey } = await createApiKey(db, name, scopes);
        const created = keyJson(await getApiKey(db, apiKey.id));
        return { key, reply: { status: 201, body: { ...created, key: null } } };
      });
    },
  },
  {
    operationId: 'revokeKey',
    method: 'POST',
    path: '/api/v1/keys/{name}/revoke',
    tag: 'keys',
    summary: 'Revoke the active key of this name',
    description:
      'No body. The key stops working at once on this server and within 30 seconds (the key cache) on every other. ' +
      '409 when it is already revoked, or when it is the last active admin key (create another admin key first, or ' +
      'rotate it).',
    scope: 'admin',
    params: NameParams,
    responses: {
      200: { description: 'Revoked', schema: KeyInfoSchema },
      404: { description: 'No key has this name' },
      409: { description: 'Already revoked, or the last active admin key' },
    },
    async handle({ params, services, write }) {
      try {
        const reply = await write(async (db) => {
          const revoked = await revokeApiKey(db, params.name!);
          return { status: 200, body: keyJson(revoked) };
        });
        services.keys.forget((reply.body as { id: string }).id);
        return reply;
      } catch (error) {
        throw keyProblem(error);
      }
    },
  },
  {
    operationId: 'rotateKey',
    method: 'POST',
    path: '/api/v1/keys/{name}/rotate',
    tag: 'keys',
    summary: 'Replace the active key of this name by a new one with the same name and scopes',
    description:
      'No body. One transaction: the old key is revoked (at once on this server, within 30 seconds on every other) ' +
      'and the new one is shown once; `replaced` is the old key. 409 when no active key has the name any more.',
    scope: 'admin',
    params: NameParams,
    responses: {
      201: { description: 'Rotated', schema: RotatedKey },
      404: { description: 'No key has this name' },
      409: { description: 'Already revoked' },
    },
    async handle({ params, services, write }) {
      const reply = await withShownKey(write, async (db) => {
        const { key, created, revoked } = await rotateApiKey(db, params.name!);
        return { key, reply: { status: 201, body: { ...keyJson(created), key: null, replaced: keyJson(revoked) } } };
      });
      services.keys.forget((reply.body as { replaced: { id: string } }).replaced.id);
      return reply;
    },
  },
);
