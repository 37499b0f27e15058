import { withTransaction, type PoolClient } from '../db/pool.ts';
import { hashKey, newKeySecret, type Queryable, type Scope } from './keys.ts';

/**
 * Listing, revoking and rotating API keys (README "Key rotation"). A key is addressed by its name, unique among
 * active keys; revoked keys keep their row (audits name them) and are never used again.
 */

/** A key as operators see it: never its hash. */
export interface KeyInfo {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
  /** When a server last looked the key up to authenticate a request (to about a minute). */
  readonly lastUsedAt: Date | null;
}

export class KeyNotFound extends Error {
  override name = 'KeyNotFound';
  constructor(readonly keyName: string) {
    super(`No key is named "${keyName}".`);
  }
}

export class KeyAlreadyRevoked extends Error {
  override name = 'KeyAlreadyRevoked';
  constructor(readonly keyName: string) {
    super(`The key "${keyName}" is already revoked (no active key has this name).`);
  }
}

/** Revoking the last active admin key would leave nobody able to manage keys or jobs. */
export class LastAdminKey extends Error {
  override name = 'LastAdminKey';
  constructor(readonly keyName: string) {
    super(
      `"${keyName}" is the last active admin key; create another admin key first, or rotate this one instead of revoking it.`,
    );
  }
}

const COLUMNS = 'id, name, scopes, created_at, revoked_at, last_used_at';

interface KeyRow {
  id: string;
  name: string;
  scopes: Scope[];
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

function info(row: KeyRow): KeyInfo {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  };
}

/** Every key, active ones first (by name), then revoked ones, most recently revoked first. */
export async function listApiKeys(db: Queryable): Promise<KeyInfo[]> {
  const { rows } = await db.query<KeyRow>(
    `select ${COLUMNS} from api_keys order by revoked_at is not null, revoked_at desc, name, created_at`,
  );
  return rows.map(info);
}

/** One key by id (it exists: the caller just made it). */
export async function getApiKey(db: Queryable, id: string): Promise<KeyInfo> {
  const { rows } = await db.query<KeyRow>(`select ${COLUMNS} from api_keys where id = $1::uuid`, [id]);
  return info(rows[0]!);
}

/** Runs fn in the caller's transaction (a checked-out client is one, as route writes give it) or in a new one. */
function inTransaction<T>(db: Queryable, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  return 'release' in db ? fn(db) : withTransaction(db, fn);
}

/** Why no active key has this name: it never existed (404) or every key of that name is revoked (409). */
async function missing(client: PoolClient, name: string): Promise<never> {
  const { rows } = await client.query('select 1 from api_keys where name = $1::text limit 1', [name]);
  throw rows.length > 0 ? new KeyAlreadyRevoked(name) : new KeyNotFound(name);
}

/**
 * Revokes the active key of this name; refuses to revoke the last active admin key. The key and every active admin
 * key are locked in id order in one statement, so two revocations of the last two admin keys cannot both succeed.
 */
export async function revokeApiKey(db: Queryable, name: string): Promise<KeyInfo> {
  return inTransaction(db, async (client) => {
    const { rows } = await client.query<KeyRow>(
      `select ${COLUMNS} from api_keys
        where revoked_at is null and (name = $1::text or 'admin' = any (scopes))
        order by id for update`,
      [name],
    );
    const target = rows.find((r) => r.name === name);
    if (!target) return missing(client, name);
    if (target.scopes.includes('admin') && rows.filter((r) => r.scopes.includes('admin')).length === 1) {
      throw new LastAdminKey(name);
    }
    const revoked = await client.query<KeyRow>(
      `update api_keys set revoked_at = now() where id = $1::uuid returning ${COLUMNS}`,
      [target.id],
    );
    return info(revoked.rows[0]!);
  });
}

/**
 * Replaces the active key of this name by a new one with the same name and scopes, in one transaction: the old key
 * is revoked and the new one returned in clear text (the only time anybody sees it).
 */
export async function rotateApiKey(
  db: Queryable,
  name: string,
): Promise<{ key: string; created: KeyInfo; revoked: KeyInfo }> {
  return inTransaction(db, async (client) => {
    const old = await client.query<KeyRow>(
      `update api_keys set revoked_at = now() where name = $1::text and revoked_at is null returning ${COLUMNS}`,
      [name],
    );
    const revoked = old.rows[0];
    if (!revoked) return missing(client, name);
    const key = newKeySecret();
    const created = await client.query<KeyRow>(
      `insert into api_keys (name, key_hash, scopes) values ($1::text, $2::text, $3::text[]) returning ${COLUMNS}`,
      [name, hashKey(key), revoked.scopes],
    );
    return { key, created: info(created.rows[0]!), revoked: info(revoked) };
  });
}

/** A key as JSON for the API and `keys list --json`. */
export function keyJson(key: KeyInfo): Record<string, unknown> {
  return {
    id: key.id,
    name: key.name,
    scopes: key.scopes,
    created_at: key.createdAt.toISOString(),
    revoked_at: key.revokedAt?.toISOString() ?? null,
    last_used_at: key.lastUsedAt?.toISOString() ?? null,
  };
}
