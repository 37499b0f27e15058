import { createHash, randomBytes } from 'node:crypto';
import type { Pool } from '../db/pool.ts';

export const SCOPES = ['ingest', 'read', 'query', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKey {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
}

/** Keys are 32 random bytes; only their SHA-256 is stored (PRODUCT.md "Keys are stored hashed"). */
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
  pool: Pool,
  name: string,
  scopes: readonly Scope[],
): Promise<{ key: string; apiKey: ApiKey }> {
  const key = `fw_${randomBytes(32).toString('base64url')}`;
  const { rows } = await pool.query<{ id: string }>(
    'insert into api_keys (name, key_hash, scopes) values ($1::text, $2::text, $3::text[]) returning id',
    [name, hashKey(key), scopes],
  );
  return { key, apiKey: { id: rows[0]!.id, name, scopes } };
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
    const key = `fw_${randomBytes(32).toString('base64url')}`;
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
 * A revoked key stops working within `ttlMs`.
 */
export class ApiKeyStore {
  private readonly cache = new Map<string, { key: ApiKey | null; expires: number }>();

  constructor(
    private readonly pool: Pool,
    private readonly ttlMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  async find(key: string): Promise<ApiKey | null> {
    const hash = hashKey(key);
    const cached = this.cache.get(hash);
    if (cached && cached.expires > this.now()) return cached.key;
    const { rows } = await this.pool.query<{ id: string; name: string; scopes: Scope[] }>(
      'select id, name, scopes from api_keys where key_hash = $1::text and revoked_at is null',
      [hash],
    );
    const found = rows[0] ? { id: rows[0].id, name: rows[0].name, scopes: rows[0].scopes } : null;
    if (this.cache.size > 10_000) this.cache.clear();
    // Unknown keys are cached briefly too, so a flood of bad keys does not become a flood of queries.
    this.cache.set(hash, { key: found, expires: this.now() + (found ? this.ttlMs : 2_000) });
    return found;
  }
}
