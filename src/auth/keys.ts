import { createHash, randomBytes } from 'node:crypto';
import type { Pool, PoolClient } from '../db/pool.ts';
import { sqlState, UNIQUE_VIOLATION } from '../db/sqlstate.ts';

export const SCOPES = ['ingest', 'read', 'query', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKey {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
}

/** A pool or a client inside a transaction. */
export type Queryable = Pool | PoolClient;

/**
 * What a key's name may be when it is created: it addresses the key in the CLI and in URLs
 * (`keys revoke NAME`, POST /api/v1/keys/{name}/revoke), so it is unique among active keys (0007_api_key_names.sql).
 */
export const KEY_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$';

/** The partial unique index on active keys' names (sql/migrations/0007_api_key_names.sql). */
export const ACTIVE_NAME_INDEX = 'api_keys_active_name_idx';

/** Another active key already has this name (names are unique among active keys). */
export class KeyNameTaken extends Error {
  override name = 'KeyNameTaken';
  constructor(readonly keyName: string) {
    super(`An active key is already named "${keyName}"; revoke or rotate it, or choose another name.`);
  }
}

export function checkKeyName(name: string): string {
  if (!new RegExp(KEY_NAME_PATTERN).test(name)) {
    throw new Error('a key name is 1 to 100 letters, digits and . _ @ -, starting with a letter or digit');
  }
  return name;
}

/** A new key in clear text: `fw_` and 32 random bytes, base64url. */
export function newKeySecret(): string {
  return `fw_${randomBytes(32).toString('base64url')}`;
}

/** Keys are 32 random bytes; only their SHA-256 is stored (docs/CONTRACT.md "Auth"). */
export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function parseScopes(text: string): Scope[] {
  const scopes = [
    ...new Set(
      text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (scopes.length === 0 || unknown.length > 0) {
    throw new Error(
      `scopes must be a comma-separated list of ${SCOPES.join(', ')}${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}`,
    );
  }
  return scopes as Scope[];
}

/** Creates a key and returns it in clear text: the only time anybody sees it. Example: `fw_3q2...`. */
export async function createApiKey(
  db: Queryable,
  name: string,
  scopes: readonly Scope[],
): Promise<{ key: string; apiKey: ApiKey }> {
  const key = newKeySecret();
  try {
    const { rows } = await db.query<{ id: string }>(
      'insert into api_keys (name, key_hash, scopes) values ($1::text, $2::text, $3::text[]) returning id',
      [name, hashKey(key), scopes],
    );
    return { key, apiKey: { id: rows[0]!.id, name, scopes } };
  } catch (error) {
    if (sqlState(error) === UNIQUE_VIOLATION && (error as { constraint?: string }).constraint === ACTIVE_NAME_INDEX) {
      throw new KeyNameTaken(name);
    }
    throw error;
  }
}

/** Creates the first admin key when the database has none; returns it in clear text, or null when keys exist. */
export async function ensureAdminKey(pool: Pool): Promise<string | null> {
  // The advisory lock keeps two first starts from both creating (and printing) an admin key.
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query("select pg_advisory_xact_lock(hashtext('feedback-warehouse:first-admin-key'))");
    const { rows } = await client.query('select 1 from api_keys limit 1');
    if (rows.length > 0) {
      await client.query('commit');
      return null;
    }
    const key = newKeySecret();
    await client.query("insert into api_keys (name, key_hash, scopes) values ('admin', $1::text, array['admin'])", [
      hashKey(key),
    ]);
    await client.query('commit');
    return key;
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Looks keys up by hash, with a short in-memory cache so the hot ingest path does not pay a round trip per request.
 * A key revoked on another server stops working here within `ttlMs` (README "Key rotation"); one revoked through
 * this server's API is forgotten at once. A lookup also records when the key was last used, at most once a minute
 * per key, in the same statement.
 */
export class ApiKeyStore {
  private readonly cache = new Map<string, { key: ApiKey | null; expires: number }>();
  /** Lookups in flight, so a burst of requests with one uncached key costs one query. */
  private readonly pending = new Map<string, Promise<ApiKey | null>>();

  constructor(
    private readonly pool: Pool,
    private readonly ttlMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  async find(key: string): Promise<ApiKey | null> {
    const hash = hashKey(key);
    const cached = this.cache.get(hash);
    if (cached && cached.expires > this.now()) return cached.key;
    let lookup = this.pending.get(hash);
    if (!lookup) {
      lookup = this.lookup(hash).finally(() => this.pending.delete(hash));
      this.pending.set(hash, lookup);
    }
    return lookup;
  }

  /** Drops a key from this server's cache (after it was revoked here), so it stops working at once. */
  forget(id: string): void {
    for (const [hash, entry] of this.cache) if (entry.key?.id === id) this.cache.delete(hash);
  }

  private async lookup(hash: string): Promise<ApiKey | null> {
    const { rows } = await this.pool.query<{ id: string; name: string; scopes: Scope[] }>(
      `with found as (
         select id, name, scopes, last_used_at from api_keys where key_hash = $1::text and revoked_at is null
       ), used as (
         update api_keys k set last_used_at = now()
           from found
          where k.id = found.id and (found.last_used_at is null or found.last_used_at < now() - interval '1 minute')
       )
       select id, name, scopes from found`,
      [hash],
    );
    const found = rows[0] ? { id: rows[0].id, name: rows[0].name, scopes: rows[0].scopes } : null;
    if (this.cache.size > 10_000) this.cache.clear();
    // Unknown keys are cached briefly too, so a flood of bad keys does not become a flood of queries.
    this.cache.set(hash, { key: found, expires: this.now() + (found ? this.ttlMs : 2_000) });
    return found;
  }
}
